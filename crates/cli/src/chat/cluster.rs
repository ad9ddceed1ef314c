//! `c10k chat --redis URL`: chat nodes that share rooms, nicks and private messages through
//! Redis.
//!
//! # What goes where
//!
//! - **Lines for a room** (messages, join/leave/rename notices) are delivered to the local
//!   members at once, as in one process, and published on one channel, `c10k:chat:bus`,
//!   with `PUBLISH`; every node subscribes to it and hands the lines of rooms it has members
//!   in to them (its own lines, recognised by the node id, are skipped).
//! - **Private messages** to a nick of another node are published on the same channel; the
//!   node that has the nick delivers it.
//! - **Nicks** are unique across nodes: `c10k:chat:nick:<lowercased nick>` holds
//!   `<node>:<client>` and is claimed with `SET NX`; it expires after `--member-ttl`
//!   unless refreshed.
//! - **Membership** for `/who` and `/rooms`: the sorted set `c10k:chat:who:<room>` scores each
//!   nick with the time (Unix ms) its entry expires; `c10k:chat:rooms` does the same for
//!   rooms. Readers ignore expired entries, so the members of a node that died disappear
//!   within `--member-ttl`, without anybody cleaning up after it.
//! - Every node **refreshes** its members' keys every third of `--member-ttl`, and at once
//!   after (re)connecting to Redis: a Redis that restarted empty is filled again.
//!
//! # Guarantees
//!
//! Pub/sub is at-most-once: a line published while Redis is unreachable, or while a node is
//! reconnecting, is not seen by the other nodes and is not replayed. Local members always
//! get their room's lines. While Redis is away, `/nick` is refused (uniqueness cannot be
//! checked), `/msg` reaches local nicks only, and `/who` and `/rooms` answer for this node.
//! Expiry compares the nodes' wall clocks: keep them in sync (NTP) to within a fraction of
//! `--member-ttl`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis_protocol::resp2::types::OwnedFrame;

use super::hub::ClientId;
use super::redis::{self, cmd, Commands, Down, RedisUrl};

/// Prefix of every key and channel.
const PREFIX: &str = "c10k:chat:";

/// Deletes a key only if it still holds our value (a nick we gave up may have expired and
/// been claimed by another node meanwhile).
const DEL_IF_OURS: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/// A node of the cluster: its id, its Redis connection and the expiry of its entries.
#[derive(Debug)]
pub(crate) struct Cluster {
    node: String,
    ttl: Duration,
    redis: Commands,
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

/// The channel every node publishes to and listens on.
pub(crate) fn channel() -> Vec<u8> {
    format!("{PREFIX}bus").into_bytes()
}

impl Cluster {
    /// Connects (in the background) to Redis; `on_up` runs after each (re)connection.
    pub(crate) fn start(
        url: RedisUrl,
        node: String,
        ttl: Duration,
        on_up: impl Fn() + Send + Sync + 'static,
    ) -> Cluster {
        Cluster {
            node,
            ttl,
            redis: Commands::start(url, on_up),
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

    fn publish(&self, payload: String) -> OwnedFrame {
        cmd([b"PUBLISH".to_vec(), channel(), payload.into_bytes()])
    }

    /// Publishes a room line to the other nodes.
    pub(crate) fn publish_room(&self, room: &str, line: &str) {
        let msg = format!("R\n{}\n{room}\n{line}", self.node);
        self.redis.send(vec![self.publish(msg)]);
    }

    /// Publishes a private line for a nick of another node.
    pub(crate) fn publish_private(&self, nick: &str, line: &str) {
        let msg = format!("P\n{}\n{}\n{line}", self.node, nick.to_ascii_lowercase());
        self.redis.send(vec![self.publish(msg)]);
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
            self.register(id, place, &mut cmds);
        }
        self.redis.send(cmds);
    }

    fn register(&self, id: ClientId, (nick, room): &Place, cmds: &mut Vec<OwnedFrame>) {
        let deadline = self.deadline();
        cmds.push(cmd([
            "SET",
            &nick_key(nick),
            &self.owner(id),
            "EX",
            &self.ttl_secs(),
        ]));
        cmds.push(cmd(["ZADD", &who_key(room), &deadline, nick]));
        cmds.push(cmd(["ZADD", &rooms_key(), &deadline, room]));
    }

    /// Refreshes every local member's entries, and drops expired ones.
    pub(crate) fn refresh(&self, members: &[(ClientId, Place)]) {
        let mut cmds = Vec::new();
        let now = now_ms().to_string();
        let mut rooms: Vec<&str> = Vec::new();
        for (id, place) in members {
            self.register(*id, place, &mut cmds);
            if !rooms.contains(&place.1.as_str()) {
                rooms.push(&place.1);
            }
            // Pipelined in slices, so that one huge write does not hold Redis up.
            if cmds.len() >= 3000 {
                self.redis.send(std::mem::take(&mut cmds));
            }
        }
        for room in rooms {
            cmds.push(cmd(["ZREMRANGEBYSCORE", &who_key(room), "-inf", &now]));
        }
        cmds.push(cmd(["ZREMRANGEBYSCORE", &rooms_key(), "-inf", &now]));
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

    /// True when some node has the nick.
    pub(crate) async fn exists(&self, nick: &str) -> Result<bool, Down> {
        let replies = self
            .redis
            .call(vec![cmd(["EXISTS", &nick_key(nick)])])
            .await?;
        Ok(redis::int(&replies[0]) == Some(1))
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
