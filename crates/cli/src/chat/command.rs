//! Parsing one chat line into a [`Command`].
//!
//! A line starting with `/` is a command; any other line is said to the room. `//text`
//! says `/text` (the escape for a message that starts with a slash). Command words are
//! case-insensitive; arguments are separated by runs of spaces or tabs.

/// What a client asked for with one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    /// Say the text to the room.
    Say(&'a str),
    /// `/nick NAME`.
    Nick(&'a str),
    /// `/join ROOM`.
    Join(&'a str),
    /// `/rooms`.
    Rooms,
    /// `/who`.
    Who,
    /// `/msg NICK TEXT`.
    Msg(&'a str, &'a str),
    /// `/help`.
    Help,
    /// `/quit`.
    Quit,
    /// A known command with wrong arguments: the text is the usage line.
    Usage(&'static str),
    /// An unknown `/word`.
    Unknown(&'a str),
    /// An empty (or blank) line: ignored.
    Empty,
}

/// Parses one line (without its terminator).
pub(crate) fn parse(line: &str) -> Command<'_> {
    if line.starts_with("//") {
        return Command::Say(&line[1..]);
    }
    let Some(rest) = line.strip_prefix('/') else {
        return if line.trim().is_empty() {
            Command::Empty
        } else {
            Command::Say(line)
        };
    };
    let (word, args) = split_word(rest);
    let word_lower = word.to_ascii_lowercase();
    match word_lower.as_str() {
        "nick" => match one_arg(args) {
            Some(name) => Command::Nick(name),
            None => Command::Usage("/nick NAME"),
        },
        "join" => match one_arg(args) {
            Some(room) => Command::Join(room),
            None => Command::Usage("/join ROOM"),
        },
        "rooms" if args.is_empty() => Command::Rooms,
        "rooms" => Command::Usage("/rooms"),
        "who" if args.is_empty() => Command::Who,
        "who" => Command::Usage("/who"),
        "help" => Command::Help,
        "quit" => Command::Quit,
        "msg" => {
            let (nick, text) = split_word(args);
            if nick.is_empty() || text.is_empty() {
                Command::Usage("/msg NICK TEXT")
            } else {
                Command::Msg(nick, text)
            }
        }
        _ => Command::Unknown(word),
    }
}

/// Splits off the first word; the rest has its leading blanks removed.
fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches([' ', '\t']);
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], s[i..].trim_start_matches([' ', '\t'])),
        None => (s, ""),
    }
}

/// Exactly one argument word.
fn one_arg(args: &str) -> Option<&str> {
    let (word, rest) = split_word(args);
    let rest = rest.trim_end_matches([' ', '\t']);
    (!word.is_empty() && rest.is_empty()).then_some(word)
}

/// Checks a nick or room name: 1 to 32 ASCII letters, digits, `_` or `-`.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(parse("hello"), Command::Say("hello"));
        assert_eq!(parse("  "), Command::Empty);
        assert_eq!(parse("//etc"), Command::Say("/etc"));
        assert_eq!(parse("/nick  bob "), Command::Nick("bob"));
        assert_eq!(parse("/NICK bob"), Command::Nick("bob"));
        assert_eq!(parse("/nick"), Command::Usage("/nick NAME"));
        assert_eq!(parse("/nick a b"), Command::Usage("/nick NAME"));
        assert_eq!(parse("/join rust"), Command::Join("rust"));
        assert_eq!(parse("/rooms"), Command::Rooms);
        assert_eq!(parse("/who"), Command::Who);
        assert_eq!(parse("/msg bob hi there"), Command::Msg("bob", "hi there"));
        assert_eq!(parse("/msg bob"), Command::Usage("/msg NICK TEXT"));
        assert_eq!(parse("/quit"), Command::Quit);
        assert_eq!(parse("/x y"), Command::Unknown("x"));
        assert_eq!(parse("/"), Command::Unknown(""));
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("bob_2-x"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name("é"));
        assert!(!valid_name(&"a".repeat(33)));
    }

    proptest::proptest! {
        #[test]
        fn any_line_parses(line in proptest::prelude::any::<String>()) {
            let _ = parse(&line);
        }
    }
}
