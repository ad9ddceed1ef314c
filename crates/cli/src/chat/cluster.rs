//! `c10k chat --redis URL`: chat nodes that share rooms, nicks and private messages through
//! Redis.
//!
//! # What goes where
//!
//! - **Lines for a room** (messages, join/leave/rename notices) are delivered to the local
//!   members at once, as in one process, and published with `PUBLISH` on the room's channel,
//!   `c10k:chat:room:<room>`. A node subscribes to the channels of the rooms it has members
//!   in (and always to the lobby's), and unsubscribes when a room empties on it: a node hears
//!   only the rooms it serves. A `/join` to a room new on the node is answered once Redis
//!   confirmed the subscription (at most [`HEAR_WAIT`]), so the joiner hears everything said
//!   after its "you joined". Its own lines come back from Redis too (pub/sub has no "not to
//!   me"); they are recognised by the node id and skipped.
//! - **Private messages** to a nick of another node are published on that node's channel,
//!   `c10k:chat:node:<node>` (the nick's key says which node has it).
//! - **Nicks** are unique across nodes: `c10k:chat:nick:<lowercased nick>` holds
//!   `<node>:<client>` and is claimed with `SET NX`; it expires after `--member-ttl`
//!   unless refreshed.
//! - **Membership** for `/who` and `/rooms`: the sorted set `c10k:chat:who:<room>` scores each
//!   nick with the time (Unix ms) its entry expires; `c10k:chat:rooms` does the same for
//!   rooms. Readers ignore expired entries, so the members of a node that died disappear
//!   within `--member-ttl`, without anybody cleaning up after it.
//! - Every node **refreshes** its members' keys every third of `--member-ttl`, and at once
//!   after (re)connecting to Redis: a Redis that restarted empty is filled again. A refresh
//!   is a few commands per 500 members (one script call for the nicks, one `ZADD` per room),
//!   not three per member: a burst of thousands of commands every few seconds held up the
//!   publishes queued behind it.
//! - A refresh never takes a nick: the script keeps a nick key only if it is free or still
//!   ours. If another client holds it (this node was cut off from Redis for longer than
//!   `--member-ttl` and the nick expired and was claimed meanwhile, or Redis restarted empty
//!   and the other node registered first), the local client gives it up: it is told
//!   `! your nick X was claimed on another node while this node was cut off from the cluster;
//!   you are NODE-guestN now (/nick to pick another)`, then `* you are now NODE-guestN`, and
//!   its room hears `* X is now NODE-guestN`.
//! - The "N others" of the welcome and join lines count this node's members only, and say
//!   so (`(N others on this node)`): the line is written under the node's lock, with no time
//!   to ask Redis. `/who` and `/rooms` count every node.
//!
//! # Guarantees
//!
//! Pub/sub is at-most-once: a line published while Redis is unreachable, or while a node is
//! reconnecting (or before it heard a room it just got a member in: see `/join` above), is
//! not seen by the other nodes and is not replayed. Local members always
//! get their room's lines. While Redis is away, `/nick` is refused (uniqueness cannot be
//! checked), `/msg` reaches local nicks only, and `/who` and `/rooms` answer for this node.
//! Expiry compares the nodes' wall clocks: keep them in sync (NTP) to within a fraction of
//! `--member-ttl`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis_protocol::resp2::types::OwnedFrame;

use std::sync::Arc;

use c10k::sync::Event;

use super::hub::{ClientId, LOBBY};
use super::redis::{self, cmd, Commands, Down, RedisUrl, Subscriptions};

/// Longest wait, on a `/join` to a room new on this node, for Redis to confirm that the node
/// hears the room.
pub(crate) const HEAR_WAIT: Duration = Duration::from_secs(2);

/// Members refreshed per pipelined request.
const REFRESH_SLICE: usize = 500;

/// Prefix of every key and channel.
const PREFIX: &str = "c10k:chat:";

/// Deletes a key only if it still holds our value (a nick we gave up may have expired and
/// been claimed by another node meanwhile).
const DEL_IF_OURS: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/// For each key `KEYS[i]`: sets it to `ARGV[i]` with a fresh expiry of `ARGV[#ARGV]` seconds
/// if it is free or already holds `ARGV[i]`, and answers 1; answers 0 (and leaves it alone)
/// when another client holds it. A plain `SET` here would take a nick that another node
/// claimed while this one was cut off from Redis (or after Redis restarted empty and the
/// other node registered first). One call for many keys keeps a refresh of thousands of
/// members to a few commands.
const KEEP_IF_FREE_OR_OURS: &str = "local ttl = ARGV[#ARGV] local out = {} \
     for i, k in ipairs(KEYS) do local v = redis.call('GET', k) \
     if v == false or v == ARGV[i] then redis.call('SET', k, ARGV[i], 'EX', ttl) out[i] = 1 \
     else out[i] = 0 end end return out";

/// A node of the cluster: its id, its Redis connection and the expiry of its entries.
#[derive(Debug)]
pub(crate) struct Cluster {
    node: String,
    ttl: Duration,
    redis: Commands,
    subs: Arc<Subscriptions>,
}

/// A line another node published.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Remote {
    /// For the members of a room.
    Room { room: String, line: String },
    /// For one nick.
    Private { nick: String, line: String },
}

/// A member as Redis knows it: its nick and room.
pub(crate) type Place = (String, String);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn nick_key(nick: &str) -> String {
    format!("{PREFIX}nick:{}", nick.to_ascii_lowercase())
}

fn who_key(room: &str) -> String {
    format!("{PREFIX}who:{room}")
}

fn rooms_key() -> String {
    format!("{PREFIX}rooms")
}

/// The channel of a room's lines; a node listens on those of the rooms it has members in.
fn room_channel(room: &str) -> Vec<u8> {
    format!("{PREFIX}room:{room}").into_bytes()
}

/// The channel of the private lines for a node's clients.
fn node_channel(node: &str) -> Vec<u8> {
    format!("{PREFIX}node:{node}").into_bytes()
}

impl Cluster {
    /// Connects (in the background) to Redis; `on_up` runs after each (re)connection.
    pub(crate) fn start(
        url: RedisUrl,
        node: String,
        ttl: Duration,
        on_up: impl Fn() + Send + Sync + 'static,
    ) -> Cluster {
        // The lobby always exists, so it is always heard: a client that connects hears it
        // from its first line.
        let subs = Subscriptions::new([node_channel(&node), room_channel(LOBBY)]);
        Cluster {
            node,
            ttl,
            redis: Commands::start(url, on_up),
            subs: Arc::new(subs),
        }
    }

    /// Runs the subscriber connection (forever): `on_message` gets the lines other nodes
    /// published for this one, `on_up` runs once this node hears the others again after
    /// each (re)connection.
    pub(crate) async fn listen(&self, url: RedisUrl, on_message: impl Fn(&[u8]), on_up: impl Fn()) {
        let first = node_channel(&self.node);
        redis::subscribe(url, self.subs.clone(), first, on_message, on_up).await;
    }

    /// Starts hearing a room (it got its first member here) and returns the event set once
    /// Redis confirmed; `None` while the subscriber connection is down (it subscribes again
    /// once it is back).
    pub(crate) fn hear(&self, room: &str) -> Option<Arc<Event>> {
        let confirmed = self.subs.want(room_channel(room));
        self.subs.is_up().then_some(confirmed)
    }

    /// Stops hearing the rooms `here` says this node has no member in (a `/join` that
    /// subscribed and then did not happen, because its client was dropped meanwhile).
    pub(crate) fn forget_absent(&self, here: impl Fn(&str) -> bool) {
        let prefix = room_channel("");
        self.subs.retain(|channel| {
            let Some(room) = channel.strip_prefix(prefix.as_slice()) else {
                return true; // the node's own channel
            };
            let room = std::str::from_utf8(room).unwrap_or_default();
            room == LOBBY || here(room)
        });
    }

    /// Stops hearing a room (its last member here left); never the lobby.
    pub(crate) fn forget(&self, room: &str) {
        if room != LOBBY {
            self.subs.unwant(&room_channel(room));
        }
    }

    /// The node id.
    pub(crate) fn node(&self) -> &str {
        &self.node
    }

    /// How often entries are refreshed: a third of their lifetime.
    pub(crate) fn refresh_every(&self) -> Duration {
        self.ttl / 3
    }

    fn owner(&self, id: ClientId) -> String {
        format!("{}:{id}", self.node)
    }

    fn ttl_secs(&self) -> String {
        self.ttl.as_secs().max(1).to_string()
    }

    fn deadline(&self) -> String {
        (now_ms() + self.ttl.as_millis() as u64).to_string()
    }

    fn publish(&self, channel: Vec<u8>, payload: String) -> OwnedFrame {
        cmd([b"PUBLISH".to_vec(), channel, payload.into_bytes()])
    }

    /// Publishes a room line to the nodes that have members in the room.
    pub(crate) fn publish_room(&self, room: &str, line: &str) {
        let msg = format!("R\n{}\n{room}\n{line}", self.node);
        self.redis.send(vec![self.publish(room_channel(room), msg)]);
    }

    /// Publishes a private line for a nick of node `to`.
    pub(crate) fn publish_private(&self, to: &str, nick: &str, line: &str) {
        let msg = format!("P\n{}\n{}\n{line}", self.node, nick.to_ascii_lowercase());
        self.redis.send(vec![self.publish(node_channel(to), msg)]);
    }

    /// Reads a published payload; `None` for our own lines and for garbage.
    pub(crate) fn parse(&self, payload: &[u8]) -> Option<Remote> {
        let text = std::str::from_utf8(payload).ok()?;
        let mut parts = text.splitn(4, '\n');
        let (kind, node, to, line) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if node == self.node {
            return None;
        }
        let (to, line) = (to.to_owned(), line.to_owned());
        match kind {
            "R" => Some(Remote::Room { room: to, line }),
            "P" => Some(Remote::Private { nick: to, line }),
            _ => None,
        }
    }

    /// Tells Redis that a member moved: connected (`before` is `None`), renamed, changed
    /// rooms, or left (`after` is `None`).
    pub(crate) fn moved(&self, id: ClientId, before: Option<&Place>, after: Option<&Place>) {
        if before == after {
            return;
        }
        let mut cmds = Vec::new();
        let same_nick =
            matches!((before, after), (Some(b), Some(a)) if b.0.eq_ignore_ascii_case(&a.0));
        if let Some((nick, room)) = before {
            if !same_nick {
                cmds.push(cmd([
                    "EVAL",
                    DEL_IF_OURS,
                    "1",
                    &nick_key(nick),
                    &self.owner(id),
                ]));
            }
            cmds.push(cmd(["ZREM", &who_key(room), nick]));
        }
        if let Some(place) = after {
            self.register(&[(id, place)], &mut cmds);
        }
        self.redis.send(cmds);
    }

    /// Queues the commands that (re)register members: one for their nicks (its reply is an
    /// array with, per member, 1 when the nick is still ours and 0 when another client holds
    /// it now), then their `/who` and room entries, one `ZADD` per room.
    fn register(&self, members: &[(ClientId, &Place)], cmds: &mut Vec<OwnedFrame>) {
        if members.is_empty() {
            return;
        }
        let deadline = self.deadline();
        let n = members.len().to_string();
        let mut keep: Vec<Vec<u8>> = vec![b"EVAL".to_vec(), KEEP_IF_FREE_OR_OURS.into(), n.into()];
        keep.extend(
            members
                .iter()
                .map(|(_, (nick, _))| nick_key(nick).into_bytes()),
        );
        keep.extend(members.iter().map(|(id, _)| self.owner(*id).into_bytes()));
        keep.push(self.ttl_secs().into_bytes());
        cmds.push(cmd(keep));
        let mut by_room: Vec<(&str, Vec<&str>)> = Vec::new();
        for (_, (nick, room)) in members {
            match by_room.iter_mut().find(|(r, _)| r == room) {
                Some((_, nicks)) => nicks.push(nick),
                None => by_room.push((room, vec![nick])),
            }
        }
        let mut rooms = vec![b"ZADD".to_vec(), rooms_key().into_bytes()];
        for (room, nicks) in &by_room {
            let mut zadd = vec![b"ZADD".to_vec(), who_key(room).into_bytes()];
            for nick in nicks {
                zadd.push(deadline.clone().into_bytes());
                zadd.push(nick.as_bytes().to_vec());
            }
            cmds.push(cmd(zadd));
            rooms.push(deadline.clone().into_bytes());
            rooms.push(room.as_bytes().to_vec());
        }
        cmds.push(cmd(rooms));
    }

    /// Refreshes every local member's entries, and drops expired ones. Returns the members
    /// whose nick another client holds now (claimed while this node could not reach Redis):
    /// their entries were left alone, and the caller renames them.
    pub(crate) async fn refresh(&self, members: &[(ClientId, Place)]) -> Vec<(ClientId, String)> {
        let mut lost = Vec::new();
        let now = now_ms().to_string();
        let mut rooms: Vec<&str> = Vec::new();
        // Pipelined in slices, so that one huge write does not hold Redis (and the
        // publishes queued behind it) up.
        for slice in members.chunks(REFRESH_SLICE) {
            let slice: Vec<(ClientId, &Place)> = slice.iter().map(|(id, p)| (*id, p)).collect();
            for (_, (_, room)) in &slice {
                if !rooms.contains(&room.as_str()) {
                    rooms.push(room);
                }
            }
            let mut cmds = Vec::new();
            self.register(&slice, &mut cmds);
            let Ok(replies) = self.redis.call(cmds).await else {
                // Redis went away: it refreshes again once it is back.
                return lost;
            };
            let kept = match replies.first() {
                Some(OwnedFrame::Array(kept)) => kept.as_slice(),
                _ => &[],
            };
            for ((id, (nick, _)), reply) in slice.iter().zip(kept) {
                if redis::int(reply) == Some(0) {
                    lost.push((*id, nick.clone()));
                }
            }
        }
        let mut cmds = Vec::new();
        for room in rooms {
            cmds.push(cmd(["ZREMRANGEBYSCORE", &who_key(room), "-inf", &now]));
        }
        cmds.push(cmd(["ZREMRANGEBYSCORE", &rooms_key(), "-inf", &now]));
        self.redis.send(cmds);
        lost
    }

    /// Registers a member that had to give up its nick (see [`Cluster::refresh`]) under its
    /// new one. Unlike [`Cluster::moved`] it leaves the old nick's `/who` entry alone: it
    /// belongs to the member that holds the nick now.
    pub(crate) fn renamed_after_conflict(&self, id: ClientId, place: &Place) {
        let mut cmds = Vec::new();
        self.register(&[(id, place)], &mut cmds);
        self.redis.send(cmds);
    }

    /// Claims a nick for a client; `Ok(false)` when another client (on any node) has it.
    pub(crate) async fn claim(&self, id: ClientId, nick: &str) -> Result<bool, Down> {
        let key = nick_key(nick);
        let owner = self.owner(id);
        let replies = self
            .redis
            .call(vec![
                cmd(["SET", &key, &owner, "NX", "EX", &self.ttl_secs()]),
                cmd(["GET", &key]),
            ])
            .await?;
        Ok(redis::text(&replies[1]) == Some(owner.as_str()))
    }

    /// The node that has the nick, if any.
    pub(crate) async fn node_of(&self, nick: &str) -> Result<Option<String>, Down> {
        let replies = self.redis.call(vec![cmd(["GET", &nick_key(nick)])]).await?;
        Ok(redis::text(&replies[0])
            .and_then(|owner| owner.rsplit_once(':'))
            .map(|(node, _)| node.to_owned()))
    }

    /// The nicks in a room, on every node.
    pub(crate) async fn who(&self, room: &str) -> Result<Vec<String>, Down> {
        let now = format!("({}", now_ms());
        let replies = self
            .redis
            .call(vec![cmd(["ZRANGEBYSCORE", &who_key(room), &now, "+inf"])])
            .await?;
        Ok(redis::texts(&replies[0]))
    }

    /// The rooms and their sizes, on every node (two round trips, pipelined each).
    pub(crate) async fn rooms(&self) -> Result<Vec<(String, usize)>, Down> {
        let now = format!("({}", now_ms());
        let replies = self
            .redis
            .call(vec![cmd(["ZRANGEBYSCORE", &rooms_key(), &now, "+inf"])])
            .await?;
        let names = redis::texts(&replies[0]);
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let counts = self
            .redis
            .call(
                names
                    .iter()
                    .map(|r| cmd(["ZCOUNT", &who_key(r), &now, "+inf"]))
                    .collect(),
            )
            .await?;
        Ok(names
            .into_iter()
            .zip(
                counts
                    .iter()
                    .map(|c| redis::int(c).unwrap_or(0).max(0) as usize),
            )
            .collect())
    }
}

/// Checks a node id: 1 to 16 ASCII letters, digits, `_` or `-`.
pub(crate) fn valid_node_id(id: &str) -> bool {
    (1..=16).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
