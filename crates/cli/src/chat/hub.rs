//! The chat room state, free of IO: who is connected, under which nick, in which room, and
//! which lines each command sends to whom.
//!
//! Every operation appends [`Delivery`]s (a client and a line) to an output vector; the
//! server pushes them into the clients' bounded outbound queues. Keeping the state pure lets
//! the protocol be tested (and fuzzed) without sockets, and keeps the lock that guards it
//! short: no IO and no waiting happen while it is held.
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

/// A line (without its `\n`) for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// The receiving client.
    pub(crate) to: ClientId,
    /// The line; shared between the receivers of one broadcast.
    pub(crate) line: Arc<str>,
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
}

impl Hub {
    /// An empty hub.
    #[cfg(test)]
    pub(crate) fn new() -> Hub {
        Hub::default()
    }

    /// The nick of a client.
    #[cfg(test)]
    pub(crate) fn nick(&self, id: ClientId) -> Option<&str> {
        self.members.get(&id).map(|m| m.nick.as_str())
    }

    /// Adds a client under a fresh guest nick in the lobby.
    pub(crate) fn connect(&mut self, id: ClientId, out: &mut Vec<Delivery>) {
        let nick = loop {
            self.guests += 1;
            let nick = format!("guest{}", self.guests);
            if !self.nicks.contains_key(&nick) {
                break nick;
            }
        };
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
                "* welcome to c10k chat, you are {nick} in {LOBBY} ({others} other{}); commands: {COMMANDS}",
                if others == 1 { "" } else { "s" }
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

    /// Sends a line to every connected client.
    pub(crate) fn to_all(&self, line: &str, out: &mut Vec<Delivery>) {
        let line: Arc<str> = Arc::from(line);
        out.extend(self.members.keys().map(|&to| Delivery {
            to,
            line: line.clone(),
        }));
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
                    send(out, target, format!("{stamp} <{nick}> (private) {text}"));
                }
                None => send(out, id, format!("! no such nick: {to}")),
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
                send(out, id, format!("! unknown command: /{word} (try /help)"));
            }
        }
        Flow::Continue
    }

    fn rename(&mut self, id: ClientId, old: &str, room: &str, new: &str, out: &mut Vec<Delivery>) {
        if !command::valid_name(new) {
            send(
                out,
                id,
                format!("! invalid nick: {new} (1 to 32 letters, digits, _ or -)"),
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
                format!("! invalid room: {target} (1 to 32 letters, digits, _ or -)"),
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
                "* you joined {target} ({others} other{})",
                if others == 1 { "" } else { "s" }
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

    fn to_room(&self, room: &str, except: Option<ClientId>, line: &str, out: &mut Vec<Delivery>) {
        let Some(members) = self.rooms.get(room) else {
            return;
        };
        let line: Arc<str> = Arc::from(line);
        out.extend(
            members
                .iter()
                .filter(|&&m| Some(m) != except)
                .map(|&to| Delivery {
                    to,
                    line: line.clone(),
                }),
        );
    }
}

fn send(out: &mut Vec<Delivery>, to: ClientId, line: String) {
    out.push(Delivery {
        to,
        line: Arc::from(line),
    });
}

/// The `HH:MM:SS` (UTC) of a time, as messages carry it.
pub(crate) fn stamp(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(out: &mut Vec<Delivery>) -> Vec<(ClientId, String)> {
        out.drain(..).map(|d| (d.to, d.line.to_string())).collect()
    }

    #[test]
    fn guests_join_the_lobby_and_talk_without_echo() {
        let mut hub = Hub::new();
        let mut out = Vec::new();
        hub.connect(1, &mut out);
        let got = lines(&mut out);
        assert_eq!(got.len(), 1);
        assert!(got[0]
            .1
            .starts_with("* welcome to c10k chat, you are guest1 in lobby"));
        hub.connect(2, &mut out);
        let got = lines(&mut out);
        assert_eq!(got[1], (1, "* guest2 joined lobby".to_owned()));
        assert_eq!(
            hub.handle(1, "hi all", "12:00:00", &mut out),
            Flow::Continue
        );
        assert_eq!(
            lines(&mut out),
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
        assert_eq!(lines(&mut out)[0], (1, "* you are now Alice".to_owned()));
        hub.handle(2, "/nick alice", "t", &mut out);
        assert_eq!(
            lines(&mut out),
            vec![(2, "! nick alice is taken".to_owned())]
        );
        hub.handle(2, "/join rust", "t", &mut out);
        let got = lines(&mut out);
        assert!(got.contains(&(2, "* you joined rust (0 others)".to_owned())));
        assert!(got.contains(&(1, "* guest2 left lobby".to_owned())));
        hub.handle(1, "only lobby", "t", &mut out);
        assert_eq!(
            lines(&mut out),
            vec![(3, "t <Alice> only lobby".to_owned())]
        );
        hub.handle(3, "/msg GUEST2 psst", "t", &mut out);
        assert_eq!(
            lines(&mut out),
            vec![(2, "t <guest3> (private) psst".to_owned())]
        );
        hub.handle(3, "/rooms", "t", &mut out);
        assert_eq!(
            lines(&mut out),
            vec![(3, "* rooms: lobby (2), rust (1)".to_owned())]
        );
        hub.handle(3, "/who", "t", &mut out);
        assert_eq!(
            lines(&mut out),
            vec![(3, "* in lobby: Alice, guest3".to_owned())]
        );
        hub.disconnect(2, "quit", &mut out);
        hub.handle(3, "/rooms", "t", &mut out);
        assert_eq!(lines(&mut out), vec![(3, "* rooms: lobby (2)".to_owned())]);
        hub.disconnect(1, "quit", &mut out);
        assert_eq!(lines(&mut out), vec![(3, "* Alice left (quit)".to_owned())]);
        hub.handle(3, "/nick alice", "t", &mut out);
        assert_eq!(lines(&mut out), vec![(3, "* you are now alice".to_owned())]);
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
        let got = lines(&mut out);
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
                    proptest::prop_assert!(hub.members.contains_key(&d.to) || d.line.starts_with("* bye"));
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
