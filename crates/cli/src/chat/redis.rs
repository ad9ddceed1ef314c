//! A small Redis client on c10k's runtime: the RESP2 codec is `redis-protocol`'s, the IO is
//! c10k's `TcpStream`.
//!
//! Two connections, never mixed, so that a reply can never be taken for another's:
//!
//! - [`Commands`]: one connection for every command. Requests are pipelined: the writer takes
//!   every request queued so far, records how many replies each one expects in a FIFO, and
//!   writes them in one go; the reader hands the replies out in the FIFO's order (Redis
//!   answers the commands of one connection in the order they were sent). A request that
//!   wants no answer (a `PUBLISH`, a membership update) still has its FIFO entry, its replies
//!   are read and dropped. This is what makes a `/who` right after a `/rooms` safe: both go
//!   through the same FIFO, each gets its own replies.
//! - [`subscribe`]: a connection in subscriber mode, reading pushed messages and following
//!   the set of channels the node wants ([`Subscriptions`]).
//!
//! # Reconnecting
//!
//! When a connection fails (Redis restarted, network cut) every request waiting for a reply
//! gets [`Down`], the requests sent meanwhile get [`Down`] at once (nothing is queued while
//! Redis is away: pub/sub is at-most-once anyway), and the connection is tried again after
//! [`BACKOFF_MIN`], doubling up to [`BACKOFF_MAX`]. After each successful (re)connection the
//! `on_up` callback runs: the chat node re-registers its members there, and the subscriber
//! is subscribed again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use c10k::runtime::net::TcpStream;
use c10k::runtime::race::select;
use c10k::runtime::time;
use c10k::sync::channel::{mpsc, oneshot};
use c10k::sync::{Event, Notify};
use redis_protocol::resp2::decode::decode;
use redis_protocol::resp2::encode::encode;
use redis_protocol::resp2::types::{OwnedFrame, Resp2Frame};

use crate::sync::lock;

/// First wait before reconnecting.
pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(50);

/// Longest wait between two connection attempts.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Most bytes gathered into one pipelined write.
const PIPELINE_BYTES: usize = 256 * 1024;

/// Where Redis is: `redis://HOST:PORT[/DB]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedisUrl {
    /// `HOST:PORT`.
    pub(crate) addr: String,
    /// The database number (`SELECT`), 0 by default.
    pub(crate) db: u32,
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis://{}/{}", self.addr, self.db)
    }
}

/// Parses `redis://HOST[:PORT][/DB]` (port 6379 by default).
pub(crate) fn parse_url(s: &str) -> Result<RedisUrl, String> {
    let rest = s
        .strip_prefix("redis://")
        .ok_or_else(|| format!("{s}: expected redis://HOST:PORT[/DB]"))?;
    let (hostport, db) = match rest.split_once('/') {
        Some((h, "")) => (h, 0),
        Some((h, db)) => (
            h,
            db.parse()
                .map_err(|_| format!("{s}: the database must be a number"))?,
        ),
        None => (rest, 0),
    };
    if hostport.is_empty() || hostport.contains('@') {
        return Err(format!(
            "{s}: expected redis://HOST:PORT[/DB] (no user or password)"
        ));
    }
    let port = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split_once(']')
            .ok_or_else(|| format!("{s}: unclosed ["))?
            .1
            .strip_prefix(':')
    } else {
        hostport.split_once(':').map(|(_, p)| p)
    };
    let addr = match port {
        Some(port) => {
            port.parse::<u16>()
                .map_err(|_| format!("{s}: bad port {port:?}"))?;
            hostport.to_owned()
        }
        None => format!("{hostport}:6379"),
    };
    Ok(RedisUrl { addr, db })
}

/// A command as RESP: an array of bulk strings.
pub(crate) fn cmd<I, A>(args: I) -> OwnedFrame
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    OwnedFrame::Array(
        args.into_iter()
            .map(|a| OwnedFrame::BulkString(a.as_ref().to_vec()))
            .collect(),
    )
}

fn encode_into(buf: &mut Vec<u8>, frame: &OwnedFrame) {
    let start = buf.len();
    buf.resize(start + frame.encode_len(false), 0);
    // The buffer was sized by the codec itself: encoding cannot run out of room.
    let n = encode(&mut buf[start..], frame, false).unwrap_or(0);
    buf.truncate(start + n);
}

/// Redis could not be reached: the request was not (or not surely) carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Down;

impl fmt::Display for Down {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redis is unreachable")
    }
}

/// The replies to one request, one frame per command.
pub(crate) type Replies = Result<Vec<OwnedFrame>, Down>;

struct Request {
    cmds: Vec<OwnedFrame>,
    reply: Option<oneshot::Sender<Replies>>,
}

/// A request written, waiting for its replies.
struct Pending {
    want: usize,
    got: Vec<OwnedFrame>,
    reply: Option<oneshot::Sender<Replies>>,
}

impl Pending {
    fn fail(self) {
        if let Some(tx) = self.reply {
            let _ = tx.send(Err(Down));
        }
    }
}

/// The command connection (module docs): cheap to clone, usable from any task.
#[derive(Clone)]
pub(crate) struct Commands {
    tx: mpsc::Sender<Request>,
    up: Arc<AtomicBool>,
}

impl fmt::Debug for Commands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Commands")
            .field("up", &self.is_up())
            .finish()
    }
}

impl Commands {
    /// Starts the connection task; `on_up` runs after every successful (re)connection.
    pub(crate) fn start(url: RedisUrl, on_up: impl Fn() + Send + Sync + 'static) -> Commands {
        let (tx, rx) = mpsc::unbounded();
        let up = Arc::new(AtomicBool::new(false));
        drop(c10k::runtime::spawn(run_commands(
            url,
            rx,
            up.clone(),
            Arc::new(on_up),
        )));
        Commands { tx, up }
    }

    /// True while the connection is established.
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Sends commands without waiting for their replies (at most once: dropped while Redis is
    /// away).
    pub(crate) fn send(&self, cmds: Vec<OwnedFrame>) {
        if cmds.is_empty() || !self.is_up() {
            return;
        }
        let _ = self.tx.try_send(Request { cmds, reply: None });
    }

    /// Sends commands and waits for their replies, in order.
    pub(crate) async fn call(&self, cmds: Vec<OwnedFrame>) -> Replies {
        if !self.is_up() {
            return Err(Down);
        }
        let (reply, rx) = oneshot::channel();
        let n = cmds.len();
        if self
            .tx
            .try_send(Request {
                cmds,
                reply: Some(reply),
            })
            .is_err()
        {
            return Err(Down);
        }
        match rx.await {
            Ok(Ok(frames)) if frames.len() == n => Ok(frames),
            _ => Err(Down),
        }
    }
}

async fn connect(url: &RedisUrl) -> std::io::Result<TcpStream> {
    let addr = url.addr.clone();
    let stream = time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

async fn run_commands(
    url: RedisUrl,
    mut rx: mpsc::Receiver<Request>,
    up: Arc<AtomicBool>,
    on_up: Arc<dyn Fn() + Send + Sync>,
) {
    let mut backoff = BACKOFF_MIN;
    let mut warned = false;
    loop {
        match connect(&url).await {
            Ok(stream) => {
                backoff = BACKOFF_MIN;
                if warned {
                    eprintln!("c10k: chat: Redis at {url} is back");
                    warned = false;
                }
                let pending = Mutex::new(VecDeque::new());
                // SELECT first: its reply is the FIFO's first entry.
                let mut first = Vec::new();
                if url.db != 0 {
                    let select_db = cmd([b"SELECT".to_vec(), url.db.to_string().into_bytes()]);
                    encode_into(&mut first, &select_db);
                    lock(&pending).push_back(Pending {
                        want: 1,
                        got: Vec::new(),
                        reply: None,
                    });
                }
                up.store(true, Ordering::Release);
                on_up();
                let writing = pin!(write_requests(&stream, &mut rx, &pending, first));
                let reading = pin!(read_replies(&stream, &pending));
                let _ = select(writing, reading).await;
                up.store(false, Ordering::Release);
                for p in lock(&pending).drain(..) {
                    p.fail();
                }
            }
            Err(e) if !warned => {
                eprintln!(
                    "c10k: chat: Redis at {url}: {}; retrying every {} s at most, local clients \
                     are served meanwhile",
                    crate::errors::short(&e),
                    BACKOFF_MAX.as_secs()
                );
                warned = true;
            }
            Err(_) => {}
        }
        if !warned {
            eprintln!("c10k: chat: lost Redis at {url}; reconnecting");
            warned = true;
        }
        // Requests that raced the failure are answered now, not after the backoff.
        while let Ok(req) = rx.try_recv() {
            if let Some(tx) = req.reply {
                let _ = tx.send(Err(Down));
            }
        }
        time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Writes queued requests, batching all that wait into one write.
async fn write_requests(
    stream: &TcpStream,
    rx: &mut mpsc::Receiver<Request>,
    pending: &Mutex<VecDeque<Pending>>,
    first: Vec<u8>,
) -> std::io::Result<()> {
    let mut buf = first;
    loop {
        if buf.is_empty() {
            let Some(req) = rx.recv().await.ok() else {
                // Every sender is gone: the node is shutting down.
                return std::future::pending().await;
            };
            queue(&mut buf, req, pending);
        }
        while buf.len() < PIPELINE_BYTES {
            match rx.try_recv() {
                Ok(req) => queue(&mut buf, req, pending),
                Err(_) => break,
            }
        }
        stream.write_all(&buf).await?;
        buf.clear();
    }
}

fn queue(buf: &mut Vec<u8>, req: Request, pending: &Mutex<VecDeque<Pending>>) {
    for c in &req.cmds {
        encode_into(buf, c);
    }
    lock(pending).push_back(Pending {
        want: req.cmds.len(),
        got: Vec::with_capacity(req.cmds.len()),
        reply: req.reply,
    });
}

/// Reads replies and hands them to the oldest pending request.
async fn read_replies(
    stream: &TcpStream,
    pending: &Mutex<VecDeque<Pending>>,
) -> std::io::Result<()> {
    let mut frames = FrameReader::default();
    loop {
        let frame = frames.next(stream).await?;
        let mut pending = lock(pending);
        let Some(front) = pending.front_mut() else {
            return Err(std::io::Error::other("a reply nobody asked for"));
        };
        front.got.push(frame);
        if front.got.len() == front.want {
            if let Some(done) = pending.pop_front() {
                if let Some(tx) = done.reply {
                    let _ = tx.send(Ok(done.got));
                }
            }
        }
    }
}

/// Frames from a socket.
#[derive(Default)]
struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    async fn next(&mut self, stream: &TcpStream) -> std::io::Result<OwnedFrame> {
        loop {
            if !self.buf.is_empty() {
                match decode(&self.buf) {
                    Ok(Some((frame, used))) => {
                        self.buf.drain(..used);
                        return Ok(frame);
                    }
                    Ok(None) => {}
                    Err(e) => return Err(std::io::Error::other(format!("RESP: {e:?}"))),
                }
            }
            let start = self.buf.len();
            self.buf.resize(start + 64 * 1024, 0);
            let n = stream.read(&mut self.buf[start..]).await;
            let n = match n {
                Ok(n) => n,
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e);
                }
            };
            self.buf.truncate(start + n);
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

/// The channels a node wants to hear, shared between the node (which changes the set as rooms
/// appear and empty on it) and [`subscribe`] (which makes the subscriber connection follow the
/// set, and subscribes to all of it again after reconnecting).
pub(crate) struct Subscriptions {
    state: Mutex<SubState>,
    /// Tells the subscriber task that `wanted` changed.
    changed: Notify,
    /// True while the subscriber connection is up.
    up: AtomicBool,
}

struct SubState {
    /// Channel to the event set once Redis confirmed the subscription (on any connection
    /// since the channel was wanted).
    wanted: HashMap<Vec<u8>, Arc<Event>>,
}

impl fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriptions")
            .field("channels", &lock(&self.state).wanted.len())
            .finish()
    }
}

impl Subscriptions {
    /// Wants `always` from the start.
    pub(crate) fn new(always: impl IntoIterator<Item = Vec<u8>>) -> Subscriptions {
        Subscriptions {
            state: Mutex::new(SubState {
                wanted: always
                    .into_iter()
                    .map(|c| (c, Arc::new(Event::new())))
                    .collect(),
            }),
            changed: Notify::new(),
            up: AtomicBool::new(false),
        }
    }

    /// Subscribes to a channel (in the background); the event is set once Redis confirmed.
    pub(crate) fn want(&self, channel: Vec<u8>) -> Arc<Event> {
        let mut state = lock(&self.state);
        if let Some(confirmed) = state.wanted.get(&channel) {
            return confirmed.clone();
        }
        let confirmed = Arc::new(Event::new());
        state.wanted.insert(channel, confirmed.clone());
        drop(state);
        self.changed.notify_one();
        confirmed
    }

    /// Unsubscribes from a channel (in the background).
    pub(crate) fn unwant(&self, channel: &[u8]) {
        if lock(&self.state).wanted.remove(channel).is_some() {
            self.changed.notify_one();
        }
    }

    /// True while the subscriber connection is up.
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Unsubscribes from every channel `keep` says no to.
    pub(crate) fn retain(&self, keep: impl Fn(&[u8]) -> bool) {
        let mut state = lock(&self.state);
        let before = state.wanted.len();
        state.wanted.retain(|c, _| keep(c));
        let changed = state.wanted.len() != before;
        drop(state);
        if changed {
            self.changed.notify_one();
        }
    }
}

/// Keeps a subscriber connection on the channels `subs` wants, forever, reconnecting (and
/// subscribing again) after failures, and calls `on_message` with each message's payload;
/// `on_up` runs when Redis confirms the subscription to `first` on a new connection (the
/// node's own channel: from then on the node hears the others).
pub(crate) async fn subscribe(
    url: RedisUrl,
    subs: Arc<Subscriptions>,
    first: Vec<u8>,
    on_message: impl Fn(&[u8]),
    on_up: impl Fn(),
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        if let Ok(stream) = connect(&url).await {
            backoff = BACKOFF_MIN;
            subs.up.store(true, Ordering::Release);
            // The writer only writes (UN)SUBSCRIBE commands; the reader only reads: neither
            // is ever cancelled while the connection lives.
            let writing = pin!(follow_wanted(&stream, &subs, &first));
            let reading = pin!(async {
                let mut frames = FrameReader::default();
                while let Ok(frame) = frames.next(&stream).await {
                    let OwnedFrame::Array(parts) = frame else {
                        continue;
                    };
                    match parts.as_slice() {
                        [OwnedFrame::BulkString(kind), _, OwnedFrame::BulkString(payload)]
                            if kind == b"message" =>
                        {
                            on_message(payload);
                        }
                        [OwnedFrame::BulkString(kind), OwnedFrame::BulkString(channel), ..]
                            if kind == b"subscribe" =>
                        {
                            if let Some(confirmed) = lock(&subs.state).wanted.get(channel) {
                                confirmed.set();
                            }
                            if *channel == first {
                                on_up();
                            }
                        }
                        _ => {}
                    }
                }
            });
            let _ = select(writing, reading).await;
            subs.up.store(false, Ordering::Release);
        }
        time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Subscribes and unsubscribes so that the connection's channels follow what `subs` wants;
/// returns on a write error.
async fn follow_wanted(stream: &TcpStream, subs: &Subscriptions, first: &[u8]) {
    // What this connection asked Redis for so far.
    let mut asked: HashSet<Vec<u8>> = HashSet::new();
    loop {
        let (add, remove) = {
            let state = lock(&subs.state);
            let mut add: Vec<Vec<u8>> = state
                .wanted
                .keys()
                .filter(|c| !asked.contains(*c))
                .cloned()
                .collect();
            // The node's own channel first: its confirmation means "subscribed".
            add.sort_by_key(|c| c.as_slice() != first);
            let remove: Vec<Vec<u8>> = asked
                .iter()
                .filter(|c| !state.wanted.contains_key(*c))
                .cloned()
                .collect();
            (add, remove)
        };
        if add.is_empty() && remove.is_empty() {
            subs.changed.notified().await;
            continue;
        }
        let mut buf = Vec::new();
        // In slices, so that one command never carries thousands of arguments.
        for chunk in add.chunks(256) {
            let mut args = vec![b"SUBSCRIBE".to_vec()];
            args.extend(chunk.iter().cloned());
            encode_into(&mut buf, &cmd(args));
        }
        for chunk in remove.chunks(256) {
            let mut args = vec![b"UNSUBSCRIBE".to_vec()];
            args.extend(chunk.iter().cloned());
            encode_into(&mut buf, &cmd(args));
        }
        if stream.write_all(&buf).await.is_err() {
            return;
        }
        asked.extend(add);
        for c in &remove {
            asked.remove(c);
        }
    }
}

/// A bulk string or simple string reply as text.
pub(crate) fn text(frame: &OwnedFrame) -> Option<&str> {
    match frame {
        OwnedFrame::BulkString(b) | OwnedFrame::SimpleString(b) => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

/// An array reply's strings.
pub(crate) fn texts(frame: &OwnedFrame) -> Vec<String> {
    match frame {
        OwnedFrame::Array(items) => items
            .iter()
            .filter_map(|f| text(f).map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// An integer reply.
pub(crate) fn int(frame: &OwnedFrame) -> Option<i64> {
    match frame {
        OwnedFrame::Integer(i) => Some(*i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(
            parse_url("redis://127.0.0.1:7000/2"),
            Ok(RedisUrl {
                addr: "127.0.0.1:7000".into(),
                db: 2
            })
        );
        assert_eq!(
            parse_url("redis://localhost").unwrap().addr,
            "localhost:6379"
        );
        assert_eq!(parse_url("redis://[::1]:6380/").unwrap().addr, "[::1]:6380");
        assert!(parse_url("http://x:1").is_err());
        assert!(parse_url("redis://x:1/db").is_err());
        assert!(parse_url("redis://x:99999").is_err());
        assert!(parse_url("redis://u:p@x:1").is_err());
    }

    #[test]
    fn commands_encode_as_arrays_of_bulk_strings() {
        let mut buf = Vec::new();
        encode_into(&mut buf, &cmd(["GET", "k"]));
        assert_eq!(buf, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }
}
