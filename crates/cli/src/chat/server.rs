//! The chat server's tasks.
//!
//! Each connection has two tasks on the runtime:
//!
//! - a **reader** that frames lines, applies the flood limit and the idle timeout, and runs
//!   each line through the [`Hub`] under the room lock;
//! - a **writer** that drains the connection's bounded outbound queue into the socket,
//!   batching whatever lines are queued into one write.
//!
//! Nobody ever waits on another client's socket: deliveries are `try_send`s into the
//! receivers' queues. When a queue is full, its client has stopped reading: it is removed
//! from the room (the room hears `* nick left (not reading)`) and its `kick` event makes both
//! of its tasks drop the socket at once. So one stuck client costs at most its queue and
//! never slows the room.
//!
//! Closing protocol:
//! 1. *Orderly* (`/quit`, flooding, idle, end of file): the reader queues a last line if
//!    any, then removes the client, which drops the queue's sender. The writer drains what
//!    is queued, sees the channel closed, and drops its half (shutting down the write side).
//! 2. *Kicked* (not reading): the kick event stops both tasks immediately.
//! 3. *Server shutdown* (Ctrl-C, [`Shutdown`]): the accept loop stops, everyone is told
//!    `* server shutting down`, every client is removed as in 1, and the server waits for the
//!    writers to drain ([`Shutdown::drain`] over a `JoinSet` of them), at most `--grace`.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use c10k::runtime::net::tcp::split::{OwnedReadHalf, OwnedWriteHalf};
use c10k::runtime::net::TcpListener;
use c10k::runtime::race::{select, Either};
use c10k::runtime::time;
use c10k::runtime::JoinHandle;
use c10k::shutdown::Shutdown;
use c10k::sync::channel::mpsc;
use c10k::sync::channel::TrySendError;
use c10k::sync::Event;
use c10k::task::JoinSet;

use super::flood::FloodGate;
use super::hub::{stamp, ClientId, Delivery, Flow, Hub};
use super::line::LineBuffer;

/// How long a partial line (no newline yet) may stay quiet before it is taken as a line.
pub(crate) const FLUSH: Duration = Duration::from_millis(300);

/// Bytes asked for per read.
const READ_SIZE: usize = 4096;

/// Most bytes a writer gathers into one write.
const BATCH: usize = 64 * 1024;

/// Server settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    /// Idle timeout.
    pub(crate) idle: Duration,
    /// Lines per second.
    pub(crate) flood_limit: u32,
    /// Outbound queue capacity, in lines.
    pub(crate) queue: usize,
}

/// A connected client's outbound side.
#[derive(Debug)]
struct Conn {
    tx: mpsc::Sender<Arc<str>>,
    kick: Arc<Event>,
    writer: Option<JoinHandle<()>>,
}

/// Everything under the room lock.
#[derive(Debug, Default)]
struct Room {
    hub: Hub,
    conns: HashMap<ClientId, Conn>,
}

impl Room {
    /// Queues deliveries; clients whose queue is full are kicked (and their room told).
    fn dispatch(&mut self, mut out: Vec<Delivery>) {
        while !out.is_empty() {
            let mut slow = Vec::new();
            for d in out.drain(..) {
                let Some(conn) = self.conns.get(&d.to) else {
                    continue;
                };
                // Sent, or the writer is gone and the reader will clean up, or full: slow.
                if let Err(TrySendError::Full(_)) = conn.tx.try_send(d.line) {
                    slow.push(d.to);
                }
            }
            for id in slow {
                if let Some(conn) = self.conns.remove(&id) {
                    conn.kick.set();
                    self.hub.disconnect(id, "not reading", &mut out);
                }
            }
        }
    }

    /// Removes a client after an orderly end; its queued lines are still written.
    fn leave(&mut self, id: ClientId, reason: &str) -> Option<Conn> {
        let conn = self.conns.remove(&id);
        let mut out = Vec::new();
        self.hub.disconnect(id, reason, &mut out);
        self.dispatch(out);
        conn
    }

    /// Queues one line for one client.
    fn tell(&mut self, id: ClientId, line: String) {
        self.dispatch(vec![Delivery {
            to: id,
            line: Arc::from(line),
        }]);
    }
}

#[derive(Debug)]
struct Shared {
    room: Mutex<Room>,
    config: Config,
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
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let shared = Arc::new(Shared {
        room: Mutex::new(Room::default()),
        config,
    });
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
    }
    drop(listener);
    let mut writers = JoinSet::new();
    {
        let mut room = shared.room();
        let mut out = Vec::new();
        room.hub.to_all("* server shutting down, bye", &mut out);
        room.dispatch(out);
        let ids: Vec<ClientId> = room.conns.keys().copied().collect();
        for id in ids {
            if let Some(writer) = room.conns.remove(&id).and_then(|mut c| c.writer.take()) {
                writers.insert(writer);
            }
        }
    }
    shutdown.drain(&mut writers).await;
    Ok(())
}

fn start_client(shared: &Arc<Shared>, id: ClientId, stream: c10k::runtime::net::TcpStream) {
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::bounded(shared.config.queue);
    let kick = Arc::new(Event::new());
    let writer = c10k::runtime::spawn(writer(write, rx, kick.clone()));
    {
        let mut room = shared.room();
        room.conns.insert(
            id,
            Conn {
                tx,
                kick: kick.clone(),
                writer: Some(writer),
            },
        );
        let mut out = Vec::new();
        room.hub.connect(id, &mut out);
        room.dispatch(out);
    }
    let _reader = c10k::runtime::spawn(reader(read, id, shared.clone(), kick));
}

/// Writes queued lines until the queue closes or the client is kicked.
async fn writer(write: OwnedWriteHalf, mut rx: mpsc::Receiver<Arc<str>>, kick: Arc<Event>) {
    loop {
        let first = {
            let recv = pin!(rx.recv());
            let kicked = pin!(kick.wait());
            match select(recv, kicked).await {
                Either::Left((Ok(line), _)) => line,
                Either::Left((Err(_), _)) | Either::Right(_) => return,
            }
        };
        // A fresh buffer per batch: a client waiting for messages holds none.
        let mut buf = Vec::with_capacity(first.len() + 1);
        buf.extend_from_slice(first.as_bytes());
        buf.push(b'\n');
        while buf.len() < BATCH {
            match rx.try_recv() {
                Ok(line) => {
                    buf.extend_from_slice(line.as_bytes());
                    buf.push(b'\n');
                }
                Err(_) => break,
            }
        }
        let write_all = pin!(write.write_all(&buf));
        let kicked = pin!(kick.wait());
        match select(write_all, kicked).await {
            Either::Left((Ok(()), _)) => {}
            Either::Left((Err(_), _)) | Either::Right(_) => return,
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
        if let Some(reason) = handle_lines(&shared, id, batch, &mut gate, &mut last_line) {
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
    batch: Vec<Result<String, super::line::LineError>>,
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
    for line in batch {
        if !gate.allow(now) {
            room.tell(id, "! flooding, bye".to_owned());
            room.leave(id, "flooding");
            return Some("flooding");
        }
        let mut out = Vec::new();
        let flow = match line {
            Ok(text) => room.hub.handle(id, &text, &stamp, &mut out),
            Err(e) => {
                out.push(Delivery {
                    to: id,
                    line: Arc::from(format!("! {e}")),
                });
                Flow::Continue
            }
        };
        room.dispatch(out);
        if !room.conns.contains_key(&id) {
            // Kicked while we were dispatching (our own queue was full).
            return Some("gone");
        }
        if flow == Flow::Quit {
            room.leave(id, "quit");
            return Some("quit");
        }
    }
    None
}
