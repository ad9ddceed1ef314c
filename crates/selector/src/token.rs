//! [`Token`]: the caller's name for a registered descriptor.

/// Identifies a registration in the [`Selector`](crate::Selector).
///
/// The selector never interprets a token: it hands back, in each
/// [`Event`](crate::Event), the token given to
/// [`register`](crate::Selector::register). Callers usually use it as an index
/// into a table of connections (a `Vec` or a `slab`), as the tutorials' echo
/// server uses its callback dictionary.
///
/// `Token(usize::MAX)` is reserved for the selector's internal notifier:
/// registering a descriptor with it fails with
/// [`io::ErrorKind::InvalidInput`](std::io::ErrorKind::InvalidInput). A
/// [`Waker`](crate::Waker) may use any token, `usize::MAX` included, because
/// wakers are not descriptors the kernel reports.
///
/// # Examples
///
/// ```
/// use c10k_selector::Token;
///
/// let listener = Token(0);
/// let first_client = Token(1);
/// assert!(listener < first_client);
/// assert_eq!(usize::from(first_client), 1);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub usize);

impl Token {
    /// The token the selector keeps for itself (see the type's docs).
    pub(crate) const RESERVED: Token = Token(usize::MAX);
}

impl From<Token> for usize {
    fn from(token: Token) -> usize {
        token.0
    }
}

impl From<usize> for Token {
    fn from(value: usize) -> Token {
        Token(value)
    }
}
