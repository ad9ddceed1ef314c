//! `c10k load`: the load generator.
//!
//! `echo` mode: every connection sends `--size` bytes, reads them back (checking every
//! byte; the payload is uppercase ASCII so `--upper` servers answer it unchanged) and starts
//! over, for `-d` seconds. `http` mode: keep-alive `GET`s of `--path`, responses framed by
//! `Content-Length` or chunked encoding. `chat` mode: clients of `c10k chat` nodes talking
//! in rooms, with delivery latency and lost and duplicated counts ([`chat`]).
//!
//! Each thread (`--threads`, default 1: the lab pins it to one CPU) runs its share of the
//! connections on an edge-triggered epoll loop, or with `--backend uring` on an io_uring
//! completion loop ([`uring`]: multishot receives into provided buffers, one
//! `io_uring_enter` per turn); see [`driver`] for the cost per request.
//! The report gives requests/s, latency percentiles (HdrHistogram, 3 significant digits),
//! connect time and errors by kind, as a table or `--json`.
//!
//! Exit code: 1 when any request failed (an error of any kind: a refused connection, a
//! reset, a wrong echo, an HTTP status outside 2xx, a request still unanswered after the
//! drain), saying how many and of which kinds, unless `--max-errors` tolerates that many;
//! 1 also when no request completed at all. The report is printed in full either way.

mod chat;
mod driver;
mod http;
mod report;
mod uring;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args as ClapArgs, ValueEnum};

pub(crate) use report::Report;

/// What each connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// Ping-pong of --size bytes against an echo server.
    Echo,
    /// Keep-alive HTTP/1.1 GETs of --path.
    Http,
    /// Chat clients in rooms of --room-size across --nodes, --rate messages/s each.
    Chat,
}

/// Longest the generator waits for requests in flight after the run's duration.
const DRAIN: Duration = Duration::from_secs(2);

/// Load generator.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples:\n  c10k load echo --target 127.0.0.1:7007 -c 1000 -d 10 --size 1024\n  \
c10k load http --target 127.0.0.1:8080 -c 100 -d 5 --path /plaintext --json\n\n\
Exit code 1 when any request failed (refused, reset, wrong bytes, an HTTP status outside 2xx, \
no answer by the end of the drain), with how many on stderr; --max-errors N tolerates N."
)]
pub(crate) struct Args {
    /// echo: ping-pong of --size bytes; http: keep-alive GETs of --path.
    #[arg(value_enum)]
    pub(crate) mode: Mode,
    /// Server address, IP:PORT or HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:7007", value_parser = crate::net::parse_addr)]
    pub(crate) target: SocketAddr,
    /// Concurrent connections.
    #[arg(short = 'c', long = "connections", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub(crate) connections: u32,
    /// Duration of the run in seconds (fractions allowed).
    #[arg(short = 'd', long = "duration", default_value = "5", value_parser = parse_secs)]
    pub(crate) duration: Duration,
    /// Echo payload size in bytes.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=16 * 1024 * 1024))]
    pub(crate) size: u32,
    /// HTTP path to GET.
    #[arg(long, default_value = "/plaintext")]
    pub(crate) path: String,
    /// Threads, each with its own event loop and share of the connections.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) threads: u16,
    /// Failed requests tolerated before the exit code becomes 1 (the report always counts
    /// them; the lab, which reads the counts itself, passes its maximum).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) max_errors: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// The event loops' backend: `epoll` (the default) or `uring`; select and poll are
    /// refused (exit 2). The generator is not on the c10k runtime: on epoll it is a
    /// hand-written edge-triggered loop on `c10k::selector` (one `read` and one `write` per
    /// request, so that its own cost per request is known and steady; select(2) and poll(2)
    /// have no edge mode); on uring a completion loop on `c10k-uring` (one multishot receive
    /// per connection, one send submission per request, one `io_uring_enter` per turn).
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub(crate) backend: Option<crate::model::RuntimeBackend>,
    /// chat: the chat nodes, comma-separated (default: --target); client i goes to node
    /// i mod the number of nodes.
    #[arg(long, value_delimiter = ',', value_parser = crate::net::parse_addr, value_name = "ADDRS")]
    pub(crate) nodes: Vec<SocketAddr>,
    /// chat: members per room (consecutive clients share a room).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(2..=1_000_000))]
    pub(crate) room_size: u32,
    /// chat: messages per second each client sends (0.01 with rooms of 100: one message a
    /// second per room); at most the server's --flood-limit.
    #[arg(long, default_value_t = 1.0, value_name = "MSGS")]
    pub(crate) rate: f64,
    /// chat: how long clients keep reading after the sending, for late deliveries (seconds).
    #[arg(long, default_value = "3", value_parser = parse_secs, value_name = "SECS")]
    pub(crate) drain: Duration,
}

/// The loop `load --backend` chose: the epoll readiness loop (`None`) or io_uring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loop {
    Epoll,
    Uring,
}

fn choose_loop(choice: Option<crate::model::RuntimeBackend>) -> anyhow::Result<Loop> {
    use c10k::runtime::driver::Backend;
    let Some(choice) = choice else {
        return Ok(Loop::Epoll);
    };
    let backend = crate::model::RuntimeBackend::resolve(Some(choice))?;
    match backend {
        Backend::Uring => Ok(Loop::Uring),
        _ if backend.selector() == Some(c10k::selector::Backend::Epoll) => Ok(Loop::Epoll),
        _ => Err(crate::errors::usage(format!(
            "--backend {backend}: the load generator's readiness loop is edge-triggered and              {backend}(2) has no edge mode; use epoll or uring (see `c10k load --help`)"
        ))),
    }
}

/// Parses a positive duration in (possibly fractional) seconds, at most one hour.
pub(crate) fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err(format!(
            "`{text}` must be more than 0 and at most 3600 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The request a connection sends: an uppercase ASCII payload ending in a newline (so
/// line-based servers answer it too), or an HTTP GET.
fn request_bytes(args: &Args) -> anyhow::Result<Vec<u8>> {
    Ok(match args.mode {
        Mode::Echo => {
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            let size = args.size as usize;
            let mut payload: Vec<u8> = ALPHABET.iter().copied().cycle().take(size).collect();
            payload[size - 1] = b'\n';
            payload
        }
        Mode::Chat => Vec::new(), // chat mode writes its own lines (chat.rs)
        Mode::Http => {
            if !args.path.starts_with('/') || args.path.bytes().any(|b| b <= b' ' || b == 0x7f) {
                return Err(crate::errors::usage(format!(
                    "--path must start with / and contain no spaces or control characters: {:?}",
                    args.path
                )));
            }
            format!(
                "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
                args.path, args.target
            )
            .into_bytes()
        }
    })
}

/// Runs `c10k load`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    if args.mode == Mode::Chat {
        if !(args.rate > 0.0 && args.rate <= 1000.0) {
            return Err(crate::errors::usage(
                "--rate must be more than 0 and at most 1000",
            ));
        }
        crate::sys::raise_fd_limit();
        let nodes = if args.nodes.is_empty() {
            vec![args.target]
        } else {
            args.nodes.clone()
        };
        let plan = chat::Plan {
            nodes,
            clients: args.connections as usize,
            room_size: args.room_size as usize,
            rate: args.rate,
            duration: args.duration,
            drain: args.drain,
        };
        return chat::run(plan, args.json);
    }
    let request: Arc<[u8]> = request_bytes(args)?.into();
    let backend = choose_loop(args.backend)?;
    crate::sys::raise_fd_limit();
    crate::shutdown::install()?;
    let report = generate(args, backend, request)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        report.write_table(&mut out)?;
    }
    out.flush()?;
    if report.requests == 0 {
        anyhow::bail!("no request completed against {}", args.target);
    }
    let failed = report.error_count() + report.unfinished;
    if failed > args.max_errors {
        anyhow::bail!("{}", failure_line(&report, failed));
    }
    Ok(())
}

/// `41292 requests failed (41292 × http: status 404)`: how many, and the main kinds.
fn failure_line(report: &Report, failed: u64) -> String {
    let mut kinds: Vec<(u64, &str)> = report
        .errors
        .iter()
        .map(|(kind, n)| (*n, kind.as_str()))
        .collect();
    if report.unfinished > 0 {
        kinds.push((report.unfinished, "unanswered after the drain"));
    }
    kinds.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let shown: Vec<String> = kinds
        .iter()
        .take(3)
        .map(|(n, kind)| format!("{n} × {kind}"))
        .collect();
    let more = if kinds.len() > 3 { ", ..." } else { "" };
    let plural = if failed == 1 { "" } else { "s" };
    format!(
        "{failed} request{plural} failed ({}{more}); {} completed",
        shown.join(", "),
        report.requests
    )
}

fn generate(args: &Args, backend: Loop, request: Arc<[u8]>) -> anyhow::Result<Report> {
    let total = args.connections as usize;
    let threads = usize::from(args.threads).min(total);
    let start = Instant::now();
    let deadline = start + args.duration;
    let mut handles = Vec::with_capacity(threads);
    let mut first = 0;
    for t in 0..threads {
        let count = total / threads + usize::from(t < total % threads);
        let plan = driver::Plan {
            mode: args.mode,
            backend: c10k::selector::Backend::Epoll,
            uring: backend == Loop::Uring,
            target: args.target,
            first,
            count,
            total,
            request: Arc::clone(&request),
            deadline,
            drain_deadline: deadline + DRAIN,
        };
        first += count;
        handles.push(
            std::thread::Builder::new()
                .name(format!("c10k-load-{t}"))
                .spawn(move || driver::run(plan))?,
        );
    }
    let mut tally = driver::Tally::new();
    for handle in handles {
        let part = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
        tally.merge(part);
    }
    let end = tally
        .last_completion
        .unwrap_or(deadline)
        .max(start + Duration::from_millis(1));
    Ok(Report::new(args, &tally, end.duration_since(start)))
}
