//! The chat room state, free of IO: who is connected, under which nick, in which room, and
//! which lines each command sends to whom.
//!
//! Every operation appends [`Delivery`]s to an output vector: a line for one client, or a
//! line for a whole room (sent once, whatever the room's size: the server appends it to the
//! room's shared log, so a join costs the same in a room of 5 as in a room of 5 000).
//! Keeping the state pure lets the protocol be tested (and fuzzed) without sockets, and
//! keeps the lock that guards it short: no IO and no waiting happen while it is held.
//!
//! Text that clients typed (messages, private messages, and the words quoted back in error
//! lines) is relayed through [`printable`]: control characters are shown, not sent, so
//! that no client can move the cursor, clear the screen or forge lines on another's
//! terminal.
//!
//! Rules (the protocol of `DESIGN.md`):
//! - a new client gets a guest nick (`guest1`, `guest2`, ...; taken nicks are skipped) and
//!   joins `lobby`; the welcome line names the nick and the commands;
//! - nicks are unique, compared without ASCII case; nicks and room names are 1 to 32 ASCII
//!   letters, digits, `_` or `-`;
//! - a message goes to every other member of the sender's room as `HH:MM:SS <nick> text`
//!   (no echo to the sender); `/msg` goes to one client as `HH:MM:SS <nick> (private) text`;
//! - notices start with `* `, errors with `! `; an error never closes the connection;
//! - a room other than `lobby` disappears when its last member leaves.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::command::{self, Command};

/// Identifies a connection for the lifetime of the server.
pub(crate) type ClientId = u64;

/// The room every client starts in.
pub(crate) const LOBBY: &str = "lobby";

/// The commands, as listed in the welcome line and by `/help`.
pub(crate) const COMMANDS: &str =
    "/nick NAME, /join ROOM, /rooms, /who, /msg NICK TEXT, /help, /quit";

/// Who receives a [`Delivery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum To {
    /// One client.
    Client(ClientId),
    /// Every member of a room but `except`.
    Room {
        /// The room.
        room: Arc<str>,
        /// The member left out (the sender: no echo).
        except: Option<ClientId>,
    },
}

/// A line (without its `\n`) for one client or one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// The receivers.
    pub(crate) to: To,
    /// The line.
    pub(crate) line: Arc<str>,
}

impl Delivery {
    /// A line for one client.
    pub(crate) fn client(to: ClientId, line: impl Into<Arc<str>>) -> Delivery {
        Delivery {
            to: To::Client(to),
            line: line.into(),
        }
    }
}

/// What the connection does after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Keep reading.
    Continue,
    /// The client said `/quit`: flush its queue and close.
    Quit,
}

#[derive(Debug)]
struct Member {
    nick: String,
    room: String,
}

/// All clients, nicks and rooms.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    members: HashMap<ClientId, Member>,
    /// Lowercased nick to client.
    nicks: HashMap<String, ClientId>,
    rooms: BTreeMap<String, BTreeSet<ClientId>>,
    guests: u64,
    /// Guest nicks are this plus a number (`guest`; a cluster node adds its id, so that two
    /// nodes never hand out the same guest nick).
    guest_prefix: Option<String>,
    /// After the "N others" of welcome and join lines: empty in one process; a cluster node
    /// counts its own members only (the others' are in Redis, and the line is written under
    /// the lock, with no time to ask), and says so.
    count_scope: &'static str,
}

impl Hub {
    /// An empty hub.
    #[cfg(test)]
    pub(crate) fn new() -> Hub {
        Hub::default()
    }

    /// An empty hub for cluster node `node`: its guests are named `<node>-guest<N>`, and its
    /// welcome and join lines count the room's members on this node only, saying so.
    pub(crate) fn for_node(node: &str) -> Hub {
        Hub {
            guest_prefix: Some(format!("{node}-guest")),
            count_scope: " on this node",
            ..Hub::default()
        }
    }

    /// The client that has a nick here (compared without ASCII case).
    pub(crate) fn id_of(&self, nick: &str) -> Option<ClientId> {
        self.nicks.get(&nick.to_ascii_lowercase()).copied()
    }

    /// A client's nick and room.
    pub(crate) fn place(&self, id: ClientId) -> Option<(String, String)> {
        self.members
            .get(&id)
            .map(|m| (m.nick.clone(), m.room.clone()))
    }

    /// Every client's nick and room.
    pub(crate) fn places(&self) -> Vec<(ClientId, (String, String))> {
        self.members
            .iter()
            .map(|(id, m)| (*id, (m.nick.clone(), m.room.clone())))
            .collect()
    }

    /// The nicks in a room here.
    pub(crate) fn nicks_in(&self, room: &str) -> Vec<String> {
        self.members_of(room)
            .filter_map(|m| self.members.get(&m).map(|m| m.nick.clone()))
            .collect()
    }

    /// The rooms here and their sizes.
    pub(crate) fn room_sizes(&self) -> Vec<(String, usize)> {
        self.rooms
            .iter()
            .map(|(name, m)| (name.clone(), m.len()))
            .collect()
    }

    /// The nick of a client.
    #[cfg(test)]
    pub(crate) fn nick(&self, id: ClientId) -> Option<&str> {
        self.members.get(&id).map(|m| m.nick.as_str())
    }

    /// The room a client is in.
    pub(crate) fn room_of(&self, id: ClientId) -> Option<&str> {
        self.members.get(&id).map(|m| m.room.as_str())
    }

    /// The members of a room.
    pub(crate) fn members_of(&self, room: &str) -> impl Iterator<Item = ClientId> + '_ {
        self.rooms.get(room).into_iter().flatten().copied()
    }

    /// True while the room exists (the lobby always does once someone joined it).
    pub(crate) fn has_room(&self, room: &str) -> bool {
        self.rooms.contains_key(room)
    }

    /// A guest nick nobody here has.
    fn fresh_guest(&mut self) -> String {
        loop {
            self.guests += 1;
            let prefix = self.guest_prefix.as_deref().unwrap_or("guest");
            let nick = format!("{prefix}{}", self.guests);
            if !self.nicks.contains_key(&nick) {
                return nick;
            }
        }
    }

    /// Adds a client under a fresh guest nick in the lobby.
    pub(crate) fn connect(&mut self, id: ClientId, out: &mut Vec<Delivery>) {
        let nick = self.fresh_guest();
        self.nicks.insert(nick.clone(), id);
        self.members.insert(
            id,
            Member {
                nick: nick.clone(),
                room: LOBBY.to_owned(),
            },
        );
        let others = self.room_size(LOBBY);
        self.rooms.entry(LOBBY.to_owned()).or_default().insert(id);
        send(
            out,
            id,
            format!(
                "* welcome to c10k chat, you are {nick} in {LOBBY} ({others} other{}{}); commands: {COMMANDS}",
                if others == 1 { "" } else { "s" },
                self.count_scope
            ),
        );
        self.to_room(LOBBY, Some(id), &format!("* {nick} joined {LOBBY}"), out);
    }

    /// Removes a client; its room hears `* nick left (reason)`.
    pub(crate) fn disconnect(&mut self, id: ClientId, reason: &str, out: &mut Vec<Delivery>) {
        let Some(member) = self.members.remove(&id) else {
            return;
        };
        self.nicks.remove(&member.nick.to_ascii_lowercase());
        self.leave_room(id, &member.room);
        self.to_room(
            &member.room,
            None,
            &format!("* {} left ({reason})", member.nick),
            out,
        );
    }

    /// Sends a line to every connected client (once per room).
    pub(crate) fn to_all(&self, line: &str, out: &mut Vec<Delivery>) {
        for room in self.rooms.keys() {
            self.to_room(room, None, line, out);
        }
    }

    /// Handles one line from a client; `stamp` is the `HH:MM:SS` of its arrival.
    pub(crate) fn handle(
        &mut self,
        id: ClientId,
        line: &str,
        stamp: &str,
        out: &mut Vec<Delivery>,
    ) -> Flow {
        let Some(member) = self.members.get(&id) else {
            return Flow::Quit;
        };
        let nick = member.nick.clone();
        let room = member.room.clone();
        match command::parse(line) {
            Command::Empty => {}
            Command::Say(text) => {
                let text = printable(text);
                self.to_room(&room, Some(id), &format!("{stamp} <{nick}> {text}"), out);
            }
            Command::Nick(new) => self.rename(id, &nick, &room, new, out),
            Command::Join(target) => self.join(id, &nick, &room, target, out),
            Command::Rooms => {
                let list: Vec<String> = self
                    .rooms
                    .iter()
                    .map(|(name, m)| format!("{name} ({})", m.len()))
                    .collect();
                send(out, id, format!("* rooms: {}", list.join(", ")));
            }
            Command::Who => {
                let mut nicks: Vec<&str> = self.rooms[&room]
                    .iter()
                    .filter_map(|m| self.members.get(m).map(|m| m.nick.as_str()))
                    .collect();
                nicks.sort_unstable();
                send(out, id, format!("* in {room}: {}", nicks.join(", ")));
            }
            Command::Msg(to, text) => match self.nicks.get(&to.to_ascii_lowercase()) {
                Some(&target) if target == id => {
                    send(out, id, "! you cannot /msg yourself".to_owned());
                }
                Some(&target) => {
                    let text = printable(text);
                    send(out, target, format!("{stamp} <{nick}> (private) {text}"));
                }
                None => send(out, id, format!("! no such nick: {}", printable(to))),
            },
            Command::Help => send(
                out,
                id,
                format!("* commands: {COMMANDS} (//text says /text)"),
            ),
            Command::Quit => {
                send(out, id, "* bye".to_owned());
                return Flow::Quit;
            }
            Command::Usage(usage) => send(out, id, format!("! usage: {usage}")),
            Command::Unknown(word) => {
                let word = printable(word);
                send(out, id, format!("! unknown command: /{word} (try /help)"));
            }
        }
        Flow::Continue
    }

    /// A cluster node learned that another client holds `nick` now (it was claimed on
    /// another node while this one was cut off from Redis): if client `id` still goes by it,
    /// it becomes a guest again, is told why, and its room hears the rename. `true` when it
    /// was renamed.
    pub(crate) fn lose_nick(&mut self, id: ClientId, nick: &str, out: &mut Vec<Delivery>) -> bool {
        let Some((old, room)) = self.place(id) else {
            return false;
        };
        if !old.eq_ignore_ascii_case(nick) {
            return false;
        }
        let guest = self.fresh_guest();
        send(
            out,
            id,
            format!(
                "! your nick {old} was claimed on another node while this node was cut off \
                 from the cluster; you are {guest} now (/nick to pick another)"
            ),
        );
        self.rename(id, &old, &room, &guest, out);
        true
    }

    fn rename(&mut self, id: ClientId, old: &str, room: &str, new: &str, out: &mut Vec<Delivery>) {
        if !command::valid_name(new) {
            send(
                out,
                id,
                format!(
                    "! invalid nick: {} (1 to 32 letters, digits, _ or -)",
                    printable(new)
                ),
            );
            return;
        }
        let key = new.to_ascii_lowercase();
        match self.nicks.get(&key) {
            Some(&owner) if owner != id => {
                send(out, id, format!("! nick {new} is taken"));
                return;
            }
            _ => {}
        }
        self.nicks.remove(&old.to_ascii_lowercase());
        self.nicks.insert(key, id);
        if let Some(m) = self.members.get_mut(&id) {
            m.nick = new.to_owned();
        }
        send(out, id, format!("* you are now {new}"));
        self.to_room(room, Some(id), &format!("* {old} is now {new}"), out);
    }

    fn join(
        &mut self,
        id: ClientId,
        nick: &str,
        room: &str,
        target: &str,
        out: &mut Vec<Delivery>,
    ) {
        if !command::valid_name(target) {
            send(
                out,
                id,
                format!(
                    "! invalid room: {} (1 to 32 letters, digits, _ or -)",
                    printable(target)
                ),
            );
            return;
        }
        if target == room {
            send(out, id, format!("! you are already in {room}"));
            return;
        }
        self.leave_room(id, room);
        self.to_room(room, None, &format!("* {nick} left {room}"), out);
        let others = self.room_size(target);
        self.rooms.entry(target.to_owned()).or_default().insert(id);
        if let Some(m) = self.members.get_mut(&id) {
            m.room = target.to_owned();
        }
        send(
            out,
            id,
            format!(
                "* you joined {target} ({others} other{}{})",
                if others == 1 { "" } else { "s" },
                self.count_scope
            ),
        );
        self.to_room(target, Some(id), &format!("* {nick} joined {target}"), out);
    }

    fn room_size(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, BTreeSet::len)
    }

    fn leave_room(&mut self, id: ClientId, room: &str) {
        if let Some(members) = self.rooms.get_mut(room) {
            members.remove(&id);
            if members.is_empty() && room != LOBBY {
                self.rooms.remove(room);
            }
        }
    }

    /// A line for a room; also for a room that just lost its last member here, since members
    /// on other nodes of a cluster may still hear it (the server skips rooms it no longer
    /// has).
    fn to_room(&self, room: &str, except: Option<ClientId>, line: &str, out: &mut Vec<Delivery>) {
        out.push(Delivery {
            to: To::Room {
                room: Arc::from(room),
                except,
            },
            line: Arc::from(line),
        });
    }
}

fn send(out: &mut Vec<Delivery>, to: ClientId, line: String) {
    out.push(Delivery::client(to, line));
}

/// `text` with its control characters made visible the way `cat -v` shows them: C0 controls
/// other than TAB as `^@`..`^_` (ESC is `^[`, BEL `^G`, a bare CR `^M`), DEL as `^?`, and the
/// C1 controls U+0080..U+009F (which 8-bit terminals obey: U+009B is a CSI) as `M-^@`..`M-^_`.
/// Everything else, TAB included, is kept.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let is_control = |c: char| c.is_control() && c != '\t';
    if !text.chars().any(is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c as u32 {
            0x09 => out.push(c),
            n @ 0x00..=0x1f => {
                out.push('^');
                out.push(char::from(b'@' + n as u8));
            }
            0x7f => out.push_str("^?"),
            n @ 0x80..=0x9f => {
                out.push_str("M-^");
                out.push(char::from(b'@' + (n - 0x80) as u8));
            }
            _ => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The `HH:MM:SS` (UTC) of a time, as messages carry it.
pub(crate) fn stamp(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deliveries as (client, line), a room line expanded to the room's members now (as
    /// the server's room log hands it to them).
    fn expand(hub: &Hub, out: &mut Vec<Delivery>) -> Vec<(ClientId, String)> {
        let mut got = Vec::new();
        for d in out.drain(..) {
            match d.to {
                To::Client(id) => got.push((id, d.line.to_string())),
                To::Room { room, except } => got.extend(
                    hub.members_of(&room)
                        .filter(|&m| Some(m) != except)
                        .map(|m| (m, d.line.to_string())),
                ),
            }
        }
        got
    }

    macro_rules! lines {
        ($hub:expr, $out:expr) => {
            expand(&$hub, $out)
        };
    }

    #[test]
    fn guests_join_the_lobby_and_talk_without_echo() {
        let mut hub = Hub::new();
        let mut out = Vec::new();
        hub.connect(1, &mut out);
        let got = lines!(hub, &mut out);
        assert_eq!(got.len(), 1);
        assert!(got[0]
            .1
            .starts_with("* welcome to c10k chat, you are guest1 in lobby"));
        hub.connect(2, &mut out);
        let got = lines!(hub, &mut out);
        assert_eq!(got[1], (1, "* guest2 joined lobby".to_owned()));
        assert_eq!(
            hub.handle(1, "hi all", "12:00:00", &mut out),
            Flow::Continue
        );
        assert_eq!(
            lines!(hub, &mut out),
            vec![(2, "12:00:00 <guest1> hi all".to_owned())]
        );
    }

    #[test]
    fn nicks_are_unique_and_rooms_separate() {
        let mut hub = Hub::new();
        let mut out = Vec::new();
        for id in 1..=3 {
            hub.connect(id, &mut out);
        }
        out.clear();
        hub.handle(1, "/nick Alice", "t", &mut out);
        assert_eq!(
            lines!(hub, &mut out)[0],
            (1, "* you are now Alice".to_owned())
        );
        hub.handle(2, "/nick alice", "t", &mut out);
        assert_eq!(
            lines!(hub, &mut out),
            vec![(2, "! nick alice is taken".to_owned())]
        );
        hub.handle(2, "/join rust", "t", &mut out);
        let got = lines!(hub, &mut out);
        assert!(got.contains(&(2, "* you joined rust (0 others)".to_owned())));
        assert!(got.contains(&(1, "* guest2 left lobby".to_owned())));
        hub.handle(1, "only lobby", "t", &mut out);
        assert_eq!(
            lines!(hub, &mut out),
            vec![(3, "t <Alice> only lobby".to_owned())]
        );
        hub.handle(3, "/msg GUEST2 psst", "t", &mut out);
        assert_eq!(
            lines!(hub, &mut out),
            vec![(2, "t <guest3> (private) psst".to_owned())]
        );
        hub.handle(3, "/rooms", "t", &mut out);
        assert_eq!(
            lines!(hub, &mut out),
            vec![(3, "* rooms: lobby (2), rust (1)".to_owned())]
        );
        hub.handle(3, "/who", "t", &mut out);
        assert_eq!(
            lines!(hub, &mut out),
            vec![(3, "* in lobby: Alice, guest3".to_owned())]
        );
        hub.disconnect(2, "quit", &mut out);
        hub.handle(3, "/rooms", "t", &mut out);
        assert_eq!(
            lines!(hub, &mut out),
            vec![(3, "* rooms: lobby (2)".to_owned())]
        );
        hub.disconnect(1, "quit", &mut out);
        assert_eq!(
            lines!(hub, &mut out),
            vec![(3, "* Alice left (quit)".to_owned())]
        );
        hub.handle(3, "/nick alice", "t", &mut out);
        assert_eq!(
            lines!(hub, &mut out),
            vec![(3, "* you are now alice".to_owned())]
        );
    }

    #[test]
    fn errors_answer_only_the_sender() {
        let mut hub = Hub::new();
        let mut out = Vec::new();
        hub.connect(1, &mut out);
        hub.connect(2, &mut out);
        out.clear();
        hub.handle(1, "/frobnicate", "t", &mut out);
        hub.handle(1, "/msg nobody hi", "t", &mut out);
        hub.handle(1, "/nick bad nick", "t", &mut out);
        hub.handle(1, "/nick b@d", "t", &mut out);
        hub.handle(1, "/join lobby", "t", &mut out);
        let got = lines!(hub, &mut out);
        assert_eq!(got.len(), 5);
        assert!(
            got.iter().all(|(to, l)| *to == 1 && l.starts_with("! ")),
            "{got:?}"
        );
        assert_eq!(hub.handle(1, "/quit", "t", &mut out), Flow::Quit);
    }

    #[test]
    fn guest_numbers_skip_taken_nicks() {
        let mut hub = Hub::new();
        let mut out = Vec::new();
        hub.connect(1, &mut out);
        hub.handle(1, "/nick guest2", "t", &mut out);
        hub.connect(2, &mut out);
        assert_eq!(hub.nick(2), Some("guest3"));
    }

    /// Regression: a client could send ESC sequences (`\x1b[2J` clears the screen), BEL,
    /// NUL or a bare CR (which rewrites the receiver's line) to every member of its room.
    #[test]
    fn control_characters_are_shown_not_relayed() {
        let mut hub = Hub::new();
        let mut out = Vec::new();
        hub.connect(1, &mut out);
        hub.connect(2, &mut out);
        out.clear();
        hub.handle(
            1,
            "\x1b[2Jhi\x07\0there\rforged\ttab\u{9b}31m\x7f",
            "t",
            &mut out,
        );
        assert_eq!(
            lines!(hub, &mut out),
            vec![(
                2,
                "t <guest1> ^[[2Jhi^G^@there^Mforged\ttabM-^[31m^?".to_owned()
            )]
        );
        hub.handle(1, "/msg guest2 \x1b]0;owned\x07", "t", &mut out);
        assert_eq!(
            lines!(hub, &mut out),
            vec![(2, "t <guest1> (private) ^[]0;owned^G".to_owned())]
        );
        hub.handle(1, "/\x1bx", "t", &mut out);
        assert_eq!(
            lines!(hub, &mut out),
            vec![(1, "! unknown command: /^[x (try /help)".to_owned())]
        );
        assert_eq!(printable("plain\ttext é"), "plain\ttext é");
    }

    #[test]
    fn stamps_are_utc_wall_clock() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(86_400 * 3 + 3600 * 13 + 60 * 5 + 9);
        assert_eq!(stamp(t), "13:05:09");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any sequence of connects, lines and disconnects keeps the state consistent: nicks
        /// unique, every member in exactly one room, deliveries only to connected clients.
        #[test]
        fn hub_invariants_hold_under_any_input(
            ops in proptest::collection::vec((0u8..4, 0u64..6, proptest::prelude::any::<String>(), 0usize..12), 0..80)
        ) {
            const LINES: [&str; 12] = ["/nick a", "/nick B", "/join r", "/join lobby", "/rooms", "/who",
                "/msg a hi", "/msg guest1 x", "/quit", "/", "//x", "hello"];
            let mut hub = Hub::new();
            let mut out = Vec::new();
            for (op, id, text, pick) in ops {
                match op {
                    0 => { if hub.nick(id).is_none() { hub.connect(id, &mut out) } }
                    1 => hub.disconnect(id, "gone", &mut out),
                    2 => { hub.handle(id, LINES[pick], "t", &mut out); }
                    _ => { hub.handle(id, &text, "t", &mut out); }
                }
                for d in out.drain(..) {
                    match d.to {
                        To::Client(to) => proptest::prop_assert!(hub.members.contains_key(&to) || d.line.starts_with("* bye")),
                        // A room line may name a room that just emptied (for other nodes).
                        To::Room { .. } => {}
                    }
                }
                let mut seen = std::collections::HashSet::new();
                for (id, m) in &hub.members {
                    proptest::prop_assert!(seen.insert(m.nick.to_ascii_lowercase()));
                    proptest::prop_assert_eq!(hub.nicks.get(&m.nick.to_ascii_lowercase()), Some(id));
                    let rooms = hub.rooms.values().filter(|r| r.contains(id)).count();
                    proptest::prop_assert_eq!(rooms, 1);
                    proptest::prop_assert!(hub.rooms[&m.room].contains(id));
                }
                proptest::prop_assert_eq!(hub.nicks.len(), hub.members.len());
            }
        }
    }
}
