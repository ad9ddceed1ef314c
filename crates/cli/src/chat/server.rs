//! The chat server's tasks, and where the lines wait.
//!
//! Each connection has two tasks on the runtime:
//!
//! - a **reader** that frames lines, applies the flood limit and the idle timeout, and runs
//!   each line through the [`Hub`] under the server lock;
//! - a **writer** that writes what waits for its client, batching up to [`BATCH`] bytes into
//!   one write.
//!
//! # Where lines wait (why a join costs O(1), whatever the room's size)
//!
//! A line said to a room is appended once to the room's **log** ([`Log`]), shared by its
//! members; each member keeps a **cursor** into it. Lines for one client (its welcome,
//! answers, errors, private messages) go to its **direct queue**, each tagged with the log
//! position it follows, so the writer interleaves both in the order they were produced. A
//! join, a message or a notice is thus one append, plus waking the writers that were idle:
//! a writer that was woken and has not caught up yet is not woken again, so a burst of 500
//! joins wakes each writer about once, not 500 times. (Before, each notice was copied into
//! each member's bounded queue: O(n) per join under the lock, and a burst of joins filled
//! the queues before their writers ran, kicking readers as "not reading".)
//!
//! The log forgets the lines every member has written: when it has grown by [`TRIM_STEP`]
//! bytes since the last look, the oldest cursor is found (O(members), amortised over that
//! many bytes) and the lines before it are dropped.
//!
//! # Who is "not reading" (the limits)
//!
//! - `--send-timeout`: a writer whose socket takes no byte for that long (the socket stayed
//!   unwritable) drops its client: the room hears `* nick left (not reading)`. This is the
//!   rule that normally acts, and it is about time, not about how much was said meanwhile:
//!   a burst of joins or messages never kicks a client that reads.
//! - `--queue-bytes`, a hard cap on memory: a client whose unwritten lines (its share of the
//!   log behind its cursor, plus its direct queue) exceed it is dropped with
//!   `* nick left (too far behind)`.
//!
//! Nobody ever waits on another client's socket, so one stuck client never slows the room.
//!
//! # Closing protocol
//!
//! 1. *Orderly* (`/quit`, flooding, idle, end of file): the reader queues a last line if
//!    any, then leaves: the client is removed from the hub (its room hears it), the lines it
//!    had not written yet move to its direct queue, and it is marked closing. Its writer
//!    writes them, removes the connection and drops its half (shutting down the write side).
//! 2. *Dropped* (not reading, too far behind, a write error): the connection is removed at
//!    once and its `kick` event stops both tasks.
//! 3. *Server shutdown* (Ctrl-C, [`Shutdown`]): the accept loop stops, everyone is told
//!    `* server shutting down, bye`, every connection is marked closing as in 1 (without a
//!    notice per client), and the server waits for the writers to finish
//!    ([`Shutdown::drain`] over a `JoinSet` of them), at most `--grace`.

use std::collections::{HashMap, VecDeque};
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use c10k::runtime::net::tcp::split::{OwnedReadHalf, OwnedWriteHalf};
use c10k::runtime::net::TcpListener;
use c10k::runtime::race::{select, Either};
use c10k::runtime::time;
use c10k::runtime::JoinHandle;
use c10k::shutdown::Shutdown;
use c10k::sync::Event;
use c10k::task::JoinSet;

use super::cluster::{Cluster, Remote};
use super::command::{self, Command};
use super::flood::FloodGate;
use super::hub::{printable, stamp, ClientId, Delivery, Flow, Hub, To};
use super::line::LineBuffer;
use super::redis::RedisUrl;

/// How long a partial line (no newline yet) may stay quiet before it is taken as a line.
pub(crate) const FLUSH: Duration = Duration::from_millis(300);

/// Bytes asked for per read.
const READ_SIZE: usize = 4096;

/// Most bytes a writer gathers into one write.
const BATCH: usize = 64 * 1024;

/// Bytes a room log grows by between two looks for lines every member has written.
const TRIM_STEP: usize = 64 * 1024;

/// Server settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    /// Idle timeout.
    pub(crate) idle: Duration,
    /// Lines per second.
    pub(crate) flood_limit: u32,
    /// A socket that takes no byte for this long belongs to a client that is not reading.
    pub(crate) send_timeout: Duration,
    /// Most unwritten bytes a client may have waiting.
    pub(crate) queue_bytes: usize,
}

/// One room's shared lines.
#[derive(Debug, Default)]
struct Log {
    /// Position of `lines[0]`; positions only grow.
    base: u64,
    /// The lines and the member each one is not for (its sender).
    lines: VecDeque<(Arc<str>, Option<ClientId>)>,
    /// Bytes in `lines`, newlines counted.
    bytes: usize,
    /// `bytes` at which to look for lines everyone has written.
    trim_at: usize,
    /// Members whose writer waits for a line.
    sleepers: Vec<ClientId>,
}

impl Log {
    fn end(&self) -> u64 {
        self.base + self.lines.len() as u64
    }

    /// Bytes from position `from` to the end.
    fn bytes_from(&self, from: u64) -> usize {
        let skip = from.saturating_sub(self.base) as usize;
        self.lines.iter().skip(skip).map(|(l, _)| l.len() + 1).sum()
    }
}

/// A line for one client, written once its cursor reached `after`.
#[derive(Debug)]
struct Direct {
    after: u64,
    line: Arc<str>,
}

/// A connected client's outbound side.
#[derive(Debug)]
struct Conn {
    /// The room whose log it reads (`None` once it left).
    room: Option<Arc<str>>,
    /// Next position of `room`'s log to write.
    cursor: u64,
    direct: VecDeque<Direct>,
    direct_bytes: usize,
    /// Left in order: write what waits, then end.
    closing: bool,
    /// The writer, while it waits for lines.
    waker: Option<Waker>,
    /// True while its id is in its room log's `sleepers`.
    sleeping: bool,
    kick: Arc<Event>,
    writer: Option<JoinHandle<()>>,
}

impl Conn {
    fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// What a writer found waiting.
enum Gathered {
    /// Bytes to write.
    Bytes(Vec<u8>),
    /// Nothing yet: the waker is registered.
    Wait,
    /// Nothing more will come: end.
    Done,
}

/// Everything under the server lock.
#[derive(Debug, Default)]
struct Room {
    hub: Hub,
    conns: HashMap<ClientId, Conn>,
    logs: HashMap<Arc<str>, Log>,
    queue_bytes: usize,
    /// With `--redis`: where room lines and membership changes also go.
    cluster: Option<Arc<Cluster>>,
}

impl Room {
    /// Queues deliveries made here (and publishes the room lines to the other nodes);
    /// clients past the byte cap are dropped (and their room told).
    fn dispatch(&mut self, out: Vec<Delivery>) {
        self.deliver(out, true);
    }

    /// Queues deliveries; `publish`: room lines go to the other nodes too (false for the
    /// lines that came from them).
    fn deliver(&mut self, mut out: Vec<Delivery>, mut publish: bool) {
        while !out.is_empty() {
            let mut behind = Vec::new();
            for d in out.drain(..) {
                match d.to {
                    To::Client(id) => self.push_direct(id, d.line, &mut behind),
                    To::Room { room, except } => {
                        if let (true, Some(cluster)) = (publish, &self.cluster) {
                            cluster.publish_room(&room, &d.line);
                        }
                        if self.hub.has_room(&room) {
                            self.push_room(room, except, d.line, &mut behind);
                        }
                    }
                }
            }
            for id in behind {
                self.drop_client(id, "too far behind", &mut out);
            }
            // The notices of clients dropped here are news for every node.
            publish = true;
        }
    }

    /// Runs a change of the hub for client `id` and tells Redis where the client is now.
    fn track<R>(&mut self, id: ClientId, change: impl FnOnce(&mut Hub) -> R) -> R {
        let Some(cluster) = self.cluster.clone() else {
            return change(&mut self.hub);
        };
        let before = self.hub.place(id);
        let r = change(&mut self.hub);
        let after = self.hub.place(id);
        cluster.moved(id, before.as_ref(), after.as_ref());
        // Hear the rooms this node has members in, and only those.
        if let Some((_, room)) = &after {
            if before.as_ref().map(|(_, r)| r) != Some(room) {
                drop(cluster.hear(room));
            }
        }
        if let Some((_, room)) = &before {
            if !self.hub.has_room(room) {
                cluster.forget(room);
            }
        }
        r
    }

    fn push_direct(&mut self, id: ClientId, line: Arc<str>, behind: &mut Vec<ClientId>) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let after = conn
            .room
            .as_ref()
            .and_then(|r| self.logs.get(r))
            .map_or(conn.cursor, Log::end);
        conn.direct_bytes += line.len() + 1;
        conn.direct.push_back(Direct { after, line });
        if conn.direct_bytes > self.queue_bytes && !behind.contains(&id) {
            behind.push(id);
        }
        conn.wake();
    }

    fn push_room(
        &mut self,
        room: Arc<str>,
        except: Option<ClientId>,
        line: Arc<str>,
        behind: &mut Vec<ClientId>,
    ) {
        let log = self.logs.entry(room.clone()).or_default();
        log.bytes += line.len() + 1;
        log.lines.push_back((line, except));
        for id in std::mem::take(&mut log.sleepers) {
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.sleeping = false;
                conn.wake();
            }
        }
        if log.bytes >= log.trim_at {
            self.trim(&room, behind);
        }
    }

    /// Drops the lines every member of `room` has written; past the byte cap, finds the
    /// members that are too far behind (module docs).
    fn trim(&mut self, room: &str, behind: &mut Vec<ClientId>) {
        let Some(log) = self.logs.get_mut(room) else {
            return;
        };
        let mut oldest = log.end();
        for id in self.hub.members_of(room) {
            if let Some(conn) = self.conns.get(&id) {
                oldest = oldest.min(conn.cursor);
            }
        }
        while log.base < oldest {
            if let Some((line, _)) = log.lines.pop_front() {
                log.bytes -= line.len() + 1;
            }
            log.base += 1;
        }
        if log.bytes > self.queue_bytes {
            for id in self.hub.members_of(room) {
                let Some(conn) = self.conns.get(&id) else {
                    continue;
                };
                if log.bytes_from(conn.cursor) + conn.direct_bytes > self.queue_bytes
                    && !behind.contains(&id)
                {
                    behind.push(id);
                }
            }
        }
        log.trim_at = log.bytes + TRIM_STEP;
    }

    /// Removes a client at once (closing protocol, 2).
    fn drop_client(&mut self, id: ClientId, reason: &str, out: &mut Vec<Delivery>) {
        if let Some(conn) = self.conns.remove(&id) {
            conn.kick.set();
            self.track(id, |hub| hub.disconnect(id, reason, out));
            self.forget_empty_logs();
        }
    }

    /// Moves the lines of its room that `id` has not written yet to its direct queue, to be
    /// written before anything else, and detaches it from the room's log.
    fn detach(&mut self, id: ClientId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let mut merged = VecDeque::new();
        if let Some(log) = conn.room.take().and_then(|r| self.logs.get(&r)) {
            let mut pos = conn.cursor.max(log.base);
            for d in std::mem::take(&mut conn.direct) {
                while pos < d.after.min(log.end()) {
                    let (line, except) = &log.lines[(pos - log.base) as usize];
                    if *except != Some(id) {
                        merged.push_back(line.clone());
                    }
                    pos += 1;
                }
                merged.push_back(d.line);
            }
            while pos < log.end() {
                let (line, except) = &log.lines[(pos - log.base) as usize];
                if *except != Some(id) {
                    merged.push_back(line.clone());
                }
                pos += 1;
            }
        } else {
            merged.extend(std::mem::take(&mut conn.direct).into_iter().map(|d| d.line));
        }
        conn.direct_bytes = merged.iter().map(|l| l.len() + 1).sum();
        conn.direct = merged
            .into_iter()
            .map(|line| Direct { after: 0, line })
            .collect();
        conn.cursor = 0;
        // Its id may still sit in the old log's sleepers: harmless, and forgotten with it.
        conn.sleeping = false;
    }

    /// Points `id`'s cursor at the end of the log of the room the hub says it is in (after
    /// a connect or a `/join`), keeping the lines of its old room it has not written.
    fn follow(&mut self, id: ClientId) {
        let Some(now) = self.hub.room_of(id).map(Arc::<str>::from) else {
            return;
        };
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        if conn.room.as_deref() == Some(&*now) {
            return;
        }
        self.detach(id);
        let end = self.logs.entry(now.clone()).or_default().end();
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.room = Some(now);
            conn.cursor = end;
            for d in &mut conn.direct {
                d.after = end;
            }
        }
        self.forget_empty_logs();
    }

    /// Drops the logs of rooms that no longer exist.
    fn forget_empty_logs(&mut self) {
        let hub = &self.hub;
        self.logs.retain(|room, _| hub.has_room(room));
    }

    /// Removes a client after an orderly end (closing protocol, 1); its lines are still
    /// written.
    fn leave(&mut self, id: ClientId, reason: &str) {
        if !self.conns.contains_key(&id) {
            return;
        }
        self.detach(id);
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.closing = true;
            conn.wake();
        }
        let mut out = Vec::new();
        self.track(id, |hub| hub.disconnect(id, reason, &mut out));
        self.forget_empty_logs();
        self.dispatch(out);
    }

    /// Queues one line for one client.
    fn tell(&mut self, id: ClientId, line: String) {
        self.dispatch(vec![Delivery::client(id, line)]);
    }

    /// Takes what waits for `id`, up to [`BATCH`] bytes, in order (module docs).
    fn gather(&mut self, id: ClientId, waker: &Waker) -> Gathered {
        let Some(conn) = self.conns.get_mut(&id) else {
            return Gathered::Done;
        };
        let log = conn.room.as_ref().and_then(|r| self.logs.get_mut(r));
        let mut buf = Vec::new();
        let push = |buf: &mut Vec<u8>, line: &str| {
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        };
        match log {
            Some(log) => {
                conn.cursor = conn.cursor.max(log.base);
                while buf.len() < BATCH {
                    let next_direct = conn.direct.front().map(|d| d.after);
                    if conn.cursor < log.end() && next_direct.is_none_or(|a| conn.cursor < a) {
                        let (line, except) = &log.lines[(conn.cursor - log.base) as usize];
                        if *except != Some(id) {
                            push(&mut buf, line);
                        }
                        conn.cursor += 1;
                    } else if let Some(d) = conn.direct.pop_front() {
                        conn.direct_bytes -= d.line.len() + 1;
                        push(&mut buf, &d.line);
                    } else {
                        break;
                    }
                }
                if buf.is_empty() && !conn.sleeping {
                    conn.sleeping = true;
                    log.sleepers.push(id);
                }
            }
            None => {
                while buf.len() < BATCH {
                    let Some(d) = conn.direct.pop_front() else {
                        break;
                    };
                    conn.direct_bytes -= d.line.len() + 1;
                    push(&mut buf, &d.line);
                }
            }
        }
        if !buf.is_empty() {
            return Gathered::Bytes(buf);
        }
        if conn.closing {
            self.conns.remove(&id);
            return Gathered::Done;
        }
        conn.waker = Some(waker.clone());
        Gathered::Wait
    }
}

#[derive(Debug)]
struct Shared {
    room: Mutex<Room>,
    config: Config,
    cluster: Option<Arc<Cluster>>,
}

/// With `--redis`: where Redis is, this node's id, and how long its entries live.
#[derive(Debug, Clone)]
pub(crate) struct ClusterConfig {
    /// Redis.
    pub(crate) url: RedisUrl,
    /// This node's id.
    pub(crate) node: String,
    /// Lifetime of the node's entries in Redis without a refresh.
    pub(crate) ttl: Duration,
}

impl Shared {
    fn room(&self) -> MutexGuard<'_, Room> {
        // A panic while holding the lock leaves consistent-enough state for a chat room.
        self.room
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Accepts clients until Ctrl-C, then shuts down (protocol step 3).
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    config: Config,
    cluster: Option<ClusterConfig>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let refresh = Arc::new(c10k::sync::Notify::new());
    let (hub, url, cluster) = match cluster {
        Some(c) => {
            let refresh = refresh.clone();
            let hub = Hub::for_node(&c.node);
            let node = Cluster::start(c.url.clone(), c.node, c.ttl, move || refresh.notify_one());
            (hub, Some(c.url), Some(Arc::new(node)))
        }
        None => (Hub::default(), None, None),
    };
    let shared = Arc::new(Shared {
        room: Mutex::new(Room {
            hub,
            queue_bytes: config.queue_bytes,
            cluster: cluster.clone(),
            ..Room::default()
        }),
        config,
        cluster,
    });
    if let (Some(cluster), Some(url)) = (shared.cluster.clone(), url) {
        drop(c10k::runtime::spawn(keep_fresh(
            shared.clone(),
            cluster.clone(),
            refresh,
        )));
        let on_message = {
            let shared = shared.clone();
            move |payload: &[u8]| relay(&shared, &cluster, payload)
        };
        let node = shared.cluster.as_ref().map(|c| c.node().to_owned());
        let subscribed = {
            let url = url.clone();
            let count = std::sync::atomic::AtomicU64::new(0);
            move || {
                let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                let node = node.as_deref().unwrap_or_default();
                // Tests and operators wait for this line: the node hears the others now.
                eprintln!("c10k: chat: node {node} subscribed to {url} (subscription {n})");
            }
        };
        let listener_cluster = shared.cluster.clone();
        drop(c10k::runtime::spawn(async move {
            if let Some(c) = listener_cluster {
                c.listen(url, on_message, subscribed).await;
            }
        }));
    }
    // Detached: it ends the process on the second Ctrl-C, or lives as long as the runtime.
    drop(shutdown.listen()?);
    let mut next_id: ClientId = 0;
    loop {
        let accepted = {
            let accept = pin!(listener.accept());
            match select(accept, shutdown.requested()).await {
                Either::Left((accepted, _)) => accepted,
                Either::Right(_) => break,
            }
        };
        match accepted {
            Ok((stream, _peer)) => {
                next_id += 1;
                start_client(&shared, next_id, stream);
            }
            // Out of descriptors is waited out inside `accept` (it backs off on the timer);
            // what remains is worth a line and no more.
            Err(e) => eprintln!("c10k: chat: accept: {}", crate::errors::short(&e)),
        }
        // Let the new client's writer (and everyone else) run between two accepts: a burst
        // of connections must not starve the room.
        c10k::task::yield_now().await;
    }
    drop(listener);
    let mut writers = JoinSet::new();
    {
        let mut room = shared.room();
        let mut out = Vec::new();
        room.hub.to_all("* server shutting down, bye", &mut out);
        // For this node's clients only.
        room.deliver(out, false);
        let ids: Vec<ClientId> = room.conns.keys().copied().collect();
        for id in ids {
            room.detach(id);
            if let Some(conn) = room.conns.get_mut(&id) {
                conn.closing = true;
                conn.wake();
                if let Some(writer) = conn.writer.take() {
                    writers.insert(writer);
                }
            }
        }
    }
    shutdown.drain(&mut writers).await;
    Ok(())
}

/// Refreshes this node's entries in Redis every third of their lifetime, and at once after
/// each (re)connection.
async fn keep_fresh(shared: Arc<Shared>, cluster: Arc<Cluster>, now: Arc<c10k::sync::Notify>) {
    loop {
        {
            let tick = pin!(time::sleep(cluster.refresh_every()));
            let _ = select(tick, pin!(now.notified())).await;
        }
        let places = {
            let room = shared.room();
            cluster.forget_absent(|r| room.hub.has_room(r));
            room.hub.places()
        };
        let lost = cluster.refresh(&places).await;
        if lost.is_empty() {
            continue;
        }
        let mut room = shared.room();
        for (id, nick) in lost {
            let mut out = Vec::new();
            if room.hub.lose_nick(id, &nick, &mut out) {
                if let Some(place) = room.hub.place(id) {
                    cluster.renamed_after_conflict(id, &place);
                }
                room.dispatch(out);
            }
        }
    }
}

/// Hands a line published by another node to the local clients it is for.
fn relay(shared: &Shared, cluster: &Cluster, payload: &[u8]) {
    let Some(remote) = cluster.parse(payload) else {
        return;
    };
    let mut room = shared.room();
    let out = match remote {
        Remote::Room { room: name, line } if room.hub.has_room(&name) => Delivery {
            to: To::Room {
                room: Arc::from(name),
                except: None,
            },
            line: Arc::from(line),
        },
        Remote::Private { nick, line } => match room.hub.id_of(&nick) {
            Some(to) => Delivery::client(to, line),
            None => return,
        },
        Remote::Room { .. } => return,
    };
    room.deliver(vec![out], false);
}

/// How the cluster answered a line before the hub saw it.
enum Answered {
    /// Send this line to the client instead.
    Line(String),
    /// Done; nothing to say.
    Silent,
}

/// The commands that need the other nodes: `/nick` (unique across nodes), `/msg` to a nick
/// of another node, `/who` and `/rooms` (every node's members). `None`: the hub handles the
/// line as in one process.
async fn ask_cluster(
    shared: &Shared,
    cluster: &Cluster,
    id: ClientId,
    text: &str,
) -> Option<Answered> {
    match command::parse(text) {
        Command::Nick(new) if command::valid_name(new) => {
            if shared.room().hub.id_of(new).is_some() {
                return None; // taken here, or the client's own nick in another case
            }
            if reserved(new) {
                return Some(Answered::Line(format!(
                    "! nick {new} is reserved for guests"
                )));
            }
            Some(match cluster.claim(id, new).await {
                Ok(true) => return None,
                Ok(false) => Answered::Line(format!("! nick {new} is taken")),
                Err(_) => Answered::Line(
                    "! nick changes wait for the cluster (Redis is unreachable); try again".into(),
                ),
            })
        }
        Command::Msg(to, text) => {
            let (local, me) = {
                let room = shared.room();
                (room.hub.id_of(to).is_some(), room.hub.place(id))
            };
            if local || !command::valid_name(to) {
                return None;
            }
            match cluster.node_of(to).await {
                Ok(Some(node)) => {
                    let (nick, _) = me?;
                    let stamp = stamp(SystemTime::now());
                    let line = format!("{stamp} <{nick}> (private) {}", printable(text));
                    cluster.publish_private(&node, to, &line);
                    Some(Answered::Silent)
                }
                Ok(None) => None,
                Err(_) => Some(Answered::Line(format!(
                    "! no such nick on this node: {to} (Redis is unreachable)"
                ))),
            }
        }
        Command::Join(target) if command::valid_name(target) => {
            // A room new on this node: answer once the node hears it (module docs of
            // `cluster`), so that the joiner misses nothing said after its "you joined".
            if shared.room().hub.has_room(target) {
                return None;
            }
            if let Some(confirmed) = cluster.hear(target) {
                let _ = time::timeout(super::cluster::HEAR_WAIT, confirmed.wait()).await;
            }
            None
        }
        Command::Who => {
            let (_, room) = shared.room().hub.place(id)?;
            let remote = cluster.who(&room).await.ok()?;
            let mut nicks = shared.room().hub.nicks_in(&room);
            for nick in remote {
                if !nicks.iter().any(|n| n.eq_ignore_ascii_case(&nick)) {
                    nicks.push(nick);
                }
            }
            nicks.sort_unstable();
            Some(Answered::Line(format!("* in {room}: {}", nicks.join(", "))))
        }
        Command::Rooms => {
            let remote = cluster.rooms().await.ok()?;
            let mut rooms: std::collections::BTreeMap<String, usize> =
                shared.room().hub.room_sizes().into_iter().collect();
            for (name, n) in remote {
                let size = rooms.entry(name).or_default();
                *size = (*size).max(n);
            }
            let list: Vec<String> = rooms
                .into_iter()
                .filter(|(name, n)| *n > 0 || name == super::hub::LOBBY)
                .map(|(name, n)| format!("{name} ({n})"))
                .collect();
            Some(Answered::Line(format!("* rooms: {}", list.join(", "))))
        }
        _ => None,
    }
}

/// Guest nicks of cluster nodes (`<node>-guest<N>`) are handed out without a claim: nobody
/// may take one.
fn reserved(nick: &str) -> bool {
    let lower = nick.to_ascii_lowercase();
    lower.rsplit_once("-guest").is_some_and(|(node, n)| {
        !node.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    })
}

fn start_client(shared: &Arc<Shared>, id: ClientId, stream: c10k::runtime::net::TcpStream) {
    let (read, write) = stream.into_split();
    let kick = Arc::new(Event::new());
    let writer = c10k::runtime::spawn(writer(write, id, shared.clone(), kick.clone()));
    {
        let mut room = shared.room();
        room.conns.insert(
            id,
            Conn {
                room: None,
                cursor: 0,
                direct: VecDeque::new(),
                direct_bytes: 0,
                closing: false,
                waker: None,
                sleeping: false,
                kick: kick.clone(),
                writer: Some(writer),
            },
        );
        let mut out = Vec::new();
        room.track(id, |hub| hub.connect(id, &mut out));
        room.follow(id);
        room.dispatch(out);
    }
    let _reader = c10k::runtime::spawn(reader(read, id, shared.clone(), kick));
}

/// Writes what waits for the client until it leaves or is dropped; drops it when its socket
/// takes no byte for the send timeout, or fails.
async fn writer(write: OwnedWriteHalf, id: ClientId, shared: Arc<Shared>, kick: Arc<Event>) {
    let send_timeout = shared.config.send_timeout;
    loop {
        let gathered = std::future::poll_fn(|cx| match shared.room().gather(id, cx.waker()) {
            Gathered::Bytes(buf) => Poll::Ready(Some(buf)),
            Gathered::Done => Poll::Ready(None),
            Gathered::Wait => Poll::Pending,
        });
        let kicked = pin!(kick.wait());
        let buf = match select(pin!(gathered), kicked).await {
            Either::Left((Some(buf), _)) => buf,
            Either::Left((None, _)) | Either::Right(_) => return,
        };
        let mut written = 0;
        while written < buf.len() {
            let step = time::timeout(send_timeout, write.write(&buf[written..]));
            let kicked = pin!(kick.wait());
            let reason = match select(pin!(step), kicked).await {
                Either::Left((Ok(Ok(n)), _)) => {
                    written += n;
                    continue;
                }
                Either::Right(_) => return,
                Either::Left((Ok(Err(_)), _)) => "connection error",
                Either::Left((Err(_elapsed), _)) => "not reading",
            };
            let mut room = shared.room();
            let mut out = Vec::new();
            room.drop_client(id, reason, &mut out);
            room.dispatch(out);
            return;
        }
    }
}

/// What ended a wait for input.
enum Input {
    Bytes(Vec<u8>),
    Quiet,
    Kicked,
    Failed,
}

/// Reads lines, runs them through the hub, and ends the connection in order.
async fn reader(read: OwnedReadHalf, id: ClientId, shared: Arc<Shared>, kick: Arc<Event>) {
    let config = shared.config;
    let mut lines = LineBuffer::new();
    let mut gate = FloodGate::new(config.flood_limit, Instant::now());
    let mut last_line = Instant::now();
    let reason = loop {
        let idle_left = config.idle.saturating_sub(last_line.elapsed());
        let wait = if lines.has_partial() {
            idle_left.min(FLUSH)
        } else {
            idle_left
        };
        let input = {
            // Wait for readiness before taking a buffer: an idle client holds none.
            let read = pin!(time::timeout(wait, async {
                read.readable().await?;
                let mut chunk = vec![0u8; READ_SIZE];
                let n = read.read(&mut chunk).await?;
                chunk.truncate(n);
                Ok::<_, std::io::Error>(chunk)
            }));
            let kicked = pin!(kick.wait());
            match select(read, kicked).await {
                Either::Left((Ok(Ok(chunk)), _)) => Input::Bytes(chunk),
                Either::Left((Ok(Err(_)), _)) => Input::Failed,
                Either::Left((Err(_elapsed), _)) => Input::Quiet,
                Either::Right(_) => Input::Kicked,
            }
        };
        let mut batch = Vec::new();
        let mut eof = false;
        match input {
            Input::Kicked => return,
            Input::Failed => break "connection error",
            Input::Bytes(chunk) if chunk.is_empty() => {
                batch.extend(lines.take_partial());
                eof = true;
            }
            Input::Bytes(chunk) => {
                lines.push(&chunk);
                batch.extend(std::iter::from_fn(|| lines.next_line()));
            }
            Input::Quiet if lines.has_partial() && last_line.elapsed() < config.idle => {
                batch.extend(lines.take_partial());
            }
            Input::Quiet => {
                let mut room = shared.room();
                let secs = config.idle.as_secs();
                room.tell(id, format!("! idle for {secs} s, bye"));
                room.leave(id, "idle");
                return;
            }
        }
        let ended = match shared.cluster.clone() {
            Some(cluster) => {
                let mut ended = None;
                for line in batch {
                    let answered = match &line {
                        Ok(text) => ask_cluster(&shared, &cluster, id, text).await,
                        Err(_) => None,
                    };
                    ended = handle_lines(
                        &shared,
                        id,
                        vec![(line, answered)],
                        &mut gate,
                        &mut last_line,
                    );
                    if ended.is_some() {
                        break;
                    }
                }
                ended
            }
            None => {
                let batch = batch.into_iter().map(|l| (l, None)).collect();
                handle_lines(&shared, id, batch, &mut gate, &mut last_line)
            }
        };
        if let Some(reason) = ended {
            break reason;
        }
        if eof {
            break "connection closed";
        }
    };
    shared.room().leave(id, reason);
}

/// Handles received lines under one lock; `Some(reason)` when the connection must end (the
/// client is then already out of the room).
fn handle_lines(
    shared: &Shared,
    id: ClientId,
    batch: Vec<(Result<String, super::line::LineError>, Option<Answered>)>,
    gate: &mut FloodGate,
    last_line: &mut Instant,
) -> Option<&'static str> {
    if batch.is_empty() {
        return None;
    }
    let now = Instant::now();
    *last_line = now;
    let stamp = stamp(SystemTime::now());
    let mut room = shared.room();
    if !room.conns.contains_key(&id) {
        return Some("gone");
    }
    for (line, answered) in batch {
        if !gate.allow(now) {
            room.tell(id, "! flooding, bye".to_owned());
            room.leave(id, "flooding");
            return Some("flooding");
        }
        let mut out = Vec::new();
        let flow = match (line, answered) {
            (_, Some(Answered::Line(answer))) => {
                out.push(Delivery::client(id, answer));
                Flow::Continue
            }
            (_, Some(Answered::Silent)) => Flow::Continue,
            (Ok(text), None) => room.track(id, |hub| hub.handle(id, &text, &stamp, &mut out)),
            (Err(e), None) => {
                out.push(Delivery::client(id, format!("! {e}")));
                Flow::Continue
            }
        };
        // A `/join` moved the client: read the new room's log from now on.
        room.follow(id);
        room.dispatch(out);
        if !room.conns.contains_key(&id) {
            // Dropped while we were dispatching (too far behind).
            return Some("gone");
        }
        if flow == Flow::Quit {
            room.leave(id, "quit");
            return Some("quit");
        }
    }
    None
}
