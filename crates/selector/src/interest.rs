//! [`Interest`]: which readiness a registration asks to be told about.

use std::fmt;
use std::io;
use std::ops::{BitOr, BitOrAssign};

/// The readiness a registration asks for: readable, writable or both, and
/// whether notification is level-triggered (the default) or edge-triggered.
///
/// An `Interest` always contains at least one of readable or writable: there
/// is no empty interest, so [`remove`](Interest::remove) returns an `Option`.
/// To stop watching a descriptor, [`deregister`](crate::Selector::deregister)
/// it.
///
/// # Level and edge
///
/// *Level-triggered* (the default, and the only mode of `select(2)` and
/// `poll(2)`): every call to [`select`](crate::Selector::select) reports the
/// descriptor for as long as it *is* ready. Reading part of the available data
/// is fine: the rest is reported again next time.
///
/// *Edge-triggered* ([`edge`](Interest::edge), `EPOLLET`): the descriptor is
/// reported when it *becomes* ready (new data arrived, buffer space freed),
/// and not again until the next such change. The caller must therefore read
/// (or write) until the call returns [`io::ErrorKind::WouldBlock`]; otherwise
/// the data left in the buffer produces no further event and the connection
/// stalls. Edge mode is supported by the epoll backend only; the select and
/// poll backends refuse it with [`io::ErrorKind::Unsupported`] rather than
/// emulate it (see [`Backend::supports_edge`](crate::Backend::supports_edge)
/// and the [guide](crate::guide)).
///
/// # Examples
///
/// ```
/// use c10k_selector::Interest;
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert_eq!(both.remove(Interest::WRITABLE), Some(Interest::READABLE));
/// assert_eq!(Interest::READABLE.remove(Interest::READABLE), None);
///
/// let edge = Interest::READABLE.edge();
/// assert!(edge.is_edge() && !Interest::READABLE.is_edge());
/// ```
///
/// There is no empty interest to register:
///
/// ```compile_fail
/// let nothing = c10k_selector::Interest(0);
/// ```
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Interest(u8);

const READABLE: u8 = 0b001;
const WRITABLE: u8 = 0b010;
const EDGE: u8 = 0b100;

impl Interest {
    /// Interest in the descriptor becoming readable (data, a pending
    /// connection on a listener, end of stream, or an error).
    pub const READABLE: Interest = Interest(READABLE);

    /// Interest in the descriptor becoming writable (buffer space, a
    /// completed non-blocking connect, or an error).
    pub const WRITABLE: Interest = Interest(WRITABLE);

    /// Both interests together; `const` version of `self | other`.
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// Whether readable readiness is requested.
    pub const fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }

    /// Whether writable readiness is requested.
    pub const fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }

    /// The same interest, edge-triggered (see the type's docs: drain until
    /// `WouldBlock`). Only the epoll backend accepts it.
    pub const fn edge(self) -> Interest {
        Interest(self.0 | EDGE)
    }

    /// Whether edge-triggered notification is requested.
    pub const fn is_edge(self) -> bool {
        self.0 & EDGE != 0
    }

    /// `self` without the flags set in `other` (the edge flag included), or
    /// `None` if neither readable nor writable would remain.
    pub fn remove(self, other: Interest) -> Option<Interest> {
        let left = self.0 & !other.0;
        if left & (READABLE | WRITABLE) == 0 {
            None
        } else {
            Some(Interest(left))
        }
    }

    /// `Err(Unsupported)` if this interest asks for edge mode and `backend`
    /// has no edge mode.
    pub(crate) fn check(self, backend: crate::Backend) -> io::Result<()> {
        if self.is_edge() && !backend.supports_edge() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "edge-triggered interest is not supported by the {backend} backend \
                     (only epoll has it); register level-triggered instead"
                ),
            ));
        }
        Ok(())
    }
}

impl BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for (bit, name) in [
            (READABLE, "READABLE"),
            (WRITABLE, "WRITABLE"),
            (EDGE, "EDGE"),
        ] {
            if self.0 & bit != 0 {
                write!(f, "{sep}{name}")?;
                sep = " | ";
            }
        }
        Ok(())
    }
}
