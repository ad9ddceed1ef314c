//! `c10k chat`: the tutorials' chat room, on the c10k runtime.
//!
//! The protocol is in `DESIGN.md`: UTF-8 lines, commands `/nick`, `/join`, `/rooms`,
//! `/who`, `/msg`, `/quit`, messages `HH:MM:SS <nick> text` to the other members of the room
//! (times in UTC), notices `* ...`, errors `! ...`. The pieces:
//!
//! | file | role |
//! |---|---|
//! | `line.rs` | bytes to lines: 4 KiB limit, `\r\n`, invalid UTF-8 |
//! | `command.rs` | a line to a command |
//! | `hub.rs` | nicks, rooms, and who receives what (no IO) |
//! | `flood.rs` | the per-client token bucket |
//! | `server.rs` | tasks, room logs and direct queues, timeouts, shutdown |
//! | `cluster.rs` | `--redis`: what nodes share through Redis, and what is guaranteed |
//! | `redis.rs` | the Redis client: pipelined commands, a subscriber, reconnection |
//!
//! The tutorials' Python client sends text without a newline; a partial line that stays
//! quiet for [`server::FLUSH`] is taken as a whole line, so it works as well as `nc`.

mod client;
mod cluster;
mod command;
mod flood;
mod hub;
mod line;
mod redis;
mod server;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args as ClapArgs;

use crate::errors::usage;

/// Chat-room server: line protocol for `nc`, `telnet` and the tutorials' client.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Protocol: one UTF-8 line per message (at most 4 KiB). Commands: /nick NAME, \
/join ROOM, /rooms, /who, /msg NICK TEXT, /help, /quit; any other line is said to the room \
as 'HH:MM:SS <nick> text' (UTC). Notices start with '* ', errors with '! '.\n\
The first line on stdout is the bound address (useful with port 0).\n\
Ctrl-C tells every client the server is shutting down, flushes their queues (at most \
--grace seconds), and exits 0; a second Ctrl-C exits 130 at once."
)]
pub(crate) struct Args {
    /// Address to listen on, IP:PORT or HOST:PORT (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3333", value_parser = crate::net::parse_addr)]
    pub(crate) listen: SocketAddr,
    /// Close a connection that sends no line for this many seconds.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub(crate) idle_timeout: u64,
    /// Lines per second a client may send (bursts of twice that); past it: `! flooding, bye`.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub(crate) flood_limit: u32,
    /// Disconnect a client whose socket takes no byte for this many seconds (it is not
    /// reading); nginx's `send_timeout` is 60 s too.
    #[arg(long, default_value_t = 60.0, value_name = "SECS", value_parser = crate::net::parse_secs)]
    pub(crate) send_timeout: f64,
    /// Hard cap on the bytes waiting to be written to one client (its share of its room's
    /// conversation and its own notices); past it: `* nick left (too far behind)`.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub(crate) queue_bytes: usize,
    /// After Ctrl-C, how long the clients' queues may take to flush (seconds).
    #[arg(long, default_value_t = 5.0, value_name = "SECS", value_parser = crate::net::parse_secs)]
    pub(crate) grace: f64,
    /// The runtime's IO backend (default: epoll, the runtime's default on Linux).
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub(crate) backend: Option<crate::model::RuntimeBackend>,
    /// Be a client instead: connect to this chat server, send the lines typed on stdin and
    /// print the lines received (the tutorials' chat client).
    #[arg(long, value_name = "ADDR", value_parser = crate::net::parse_addr)]
    pub(crate) connect: Option<SocketAddr>,
    /// With --connect: a sending and a receiving thread sharing a lock and a stop flag
    /// (threads), or one task racing the keyboard against the socket (task).
    #[arg(long, value_enum, default_value = "threads", requires = "connect")]
    pub(crate) client: client::Client,
    /// Be one node of a cluster sharing rooms, nicks and private messages through this
    /// Redis: redis://HOST:PORT[/DB]. Pub/sub is at-most-once: what is said while Redis is
    /// unreachable reaches this node's clients only.
    #[arg(long, value_name = "URL", value_parser = redis::parse_url)]
    pub(crate) redis: Option<redis::RedisUrl>,
    /// With --redis: this node's id, unique in the cluster (1 to 16 letters, digits, _ or -);
    /// guests are named ID-guestN (default: n and the process id).
    #[arg(long, value_name = "ID", requires = "redis")]
    pub(crate) node_id: Option<String>,
    /// With --redis: a node's members and nicks expire from Redis this long after its last
    /// refresh (it refreshes every third of it), so a dead node's members leave /who and
    /// free their nicks within this time.
    #[arg(long, default_value_t = 30, value_name = "SECS", requires = "redis")]
    pub(crate) member_ttl: u64,
}

/// Runs `c10k chat`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    if let Some(addr) = args.connect {
        return client::run(addr, args.client);
    }
    if args.idle_timeout == 0 {
        return Err(usage("--idle-timeout must be at least 1 second"));
    }
    if args.flood_limit == 0 {
        return Err(usage("--flood-limit must be at least 1 line per second"));
    }
    if args.send_timeout <= 0.0 {
        return Err(usage("--send-timeout must be more than 0 seconds"));
    }
    if args.queue_bytes < line::MAX_LINE + 1 {
        return Err(usage(format!(
            "--queue-bytes must be at least {} (one line)",
            line::MAX_LINE + 1
        )));
    }
    let cluster = match &args.redis {
        Some(url) => {
            let node = args
                .node_id
                .clone()
                .unwrap_or_else(|| format!("n{}", std::process::id()));
            if !cluster::valid_node_id(&node) {
                return Err(usage(format!(
                    "--node-id {node}: 1 to 16 letters, digits, _ or -"
                )));
            }
            if args.member_ttl < 3 {
                return Err(usage("--member-ttl must be at least 3 seconds"));
            }
            Some(server::ClusterConfig {
                url: url.clone(),
                node,
                ttl: Duration::from_secs(args.member_ttl),
            })
        }
        None => None,
    };
    let backend = crate::model::RuntimeBackend::resolve(args.backend)?;
    crate::sys::raise_fd_limit();
    // Before the runtime exists; a task of the runtime reads Ctrl-C.
    let shutdown = crate::shutdown::install_with(Duration::from_secs_f64(args.grace), true)?;
    let listener = crate::net::listeners(args.listen, 1, true)?.remove(0);
    let bound = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{bound}")?;
        out.flush()?;
    }
    let config = server::Config {
        idle: Duration::from_secs(args.idle_timeout),
        flood_limit: args.flood_limit,
        send_timeout: Duration::from_secs_f64(args.send_timeout),
        queue_bytes: args.queue_bytes,
    };
    let rt = c10k::runtime::Runtime::builder()
        .current_thread()
        .backend(backend)
        .thread_name("c10k-chat")
        .build()?;
    rt.block_on(server::serve(listener, config, cluster, shutdown))
}
