//! `c10k load chat`: clients of `c10k chat` (one node or a cluster) talking in rooms, and
//! what every receiver got.
//!
//! # The run
//!
//! 1. `-c N` clients connect, client `i` to node `i mod nodes` of `--nodes`, and join room
//!    `load<i / room-size>`: consecutive clients share a room and alternate nodes, so every
//!    room has members on every node. At most [`CONNECTING`] clients are between their
//!    connect and their join at once, which keeps the lobby small.
//! 2. Once every client is in its room, each sends `--rate` messages a second (the first at a
//!    random offset within one period, so that the room's messages are spread out) for `-d`
//!    seconds. A message is `L <client> <seq> <microseconds since the start>`.
//! 3. Every client reads all the time; a message line from its room is checked against the
//!    set of messages it already got (a second copy is a **duplicate**) and its delivery
//!    latency (send to receive, one clock: the generator is one process) is recorded, apart
//!    for a sender on the same node and on another node.
//! 4. After the sending, the clients keep reading for `--drain` seconds. Every message sent
//!    should reach the other members of its room: what did not is **lost**.
//!
//! Exit code 1 when any message was lost or duplicated, or a client failed.

use std::collections::HashSet;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use c10k::runtime::net::TcpStream;
use c10k::runtime::race::{select, Either};
use c10k::runtime::time::{self, Instant};
use c10k::sync::{Event, Semaphore};
use futures_util::io::{AsyncBufReadExt, BufReader};
use futures_util::StreamExt;
use hdrhistogram::Histogram;

use crate::sync::lock;

/// Most clients between connecting and having joined their room at once. Every client starts
/// in the lobby, and each arrival and departure there is told to everyone in it: with all
/// 10 000 clients connecting at once the lobby held thousands, and the setup cost O(clients²)
/// lobby lines, for the nodes and for this generator (about 67 s for 10 000 clients).
const CONNECTING: usize = 200;

/// What the run is.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The chat nodes.
    pub(crate) nodes: Vec<SocketAddr>,
    /// Clients.
    pub(crate) clients: usize,
    /// Members per room.
    pub(crate) room_size: usize,
    /// Messages per second per client.
    pub(crate) rate: f64,
    /// Sending time.
    pub(crate) duration: Duration,
    /// Reading time after the sending.
    pub(crate) drain: Duration,
}

/// Counters shared by the clients.
struct Tally {
    sent: AtomicU64,
    /// Deliveries the sends call for (the other members of the room, each).
    expected: AtomicU64,
    received: AtomicU64,
    duplicated: AtomicU64,
    failed: AtomicU64,
    joined: AtomicUsize,
    /// Clients between connecting and having joined their room (see [`CONNECTING`]).
    connecting: Semaphore,
    /// Latency, microseconds: sender on the same node, on another node.
    local: Mutex<Histogram<u64>>,
    cross: Mutex<Histogram<u64>>,
    errors: Mutex<Vec<String>>,
}

/// Runs the plan and prints the report; an error when anything was lost or duplicated.
pub(crate) fn run(plan: Plan, json: bool) -> anyhow::Result<()> {
    let histogram = || Histogram::new_with_bounds(1, 600_000_000, 3).map(Mutex::new);
    let tally = Arc::new(Tally {
        sent: AtomicU64::new(0),
        expected: AtomicU64::new(0),
        received: AtomicU64::new(0),
        duplicated: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        joined: AtomicUsize::new(0),
        connecting: Semaphore::new(CONNECTING),
        local: histogram()?,
        cross: histogram()?,
        errors: Mutex::new(Vec::new()),
    });
    let rt = c10k::runtime::Runtime::builder()
        .current_thread()
        .thread_name("c10k-load-chat")
        .build()?;
    let plan = Arc::new(plan);
    let setup_started = std::time::Instant::now();
    let setup = Arc::new(Mutex::new(Duration::ZERO));
    rt.block_on({
        let setup = setup.clone();
        let (plan, tally) = (plan.clone(), tally.clone());
        async move {
            let ready = Arc::new(Event::new());
            let base = Instant::now();
            let mut tasks = Vec::with_capacity(plan.clients);
            for i in 0..plan.clients {
                tasks.push(c10k::runtime::spawn(client(
                    i,
                    plan.clone(),
                    tally.clone(),
                    ready.clone(),
                    base,
                )));
            }
            // Everyone joined (or failed): start sending.
            let limit = Instant::now() + Duration::from_secs(120);
            let settled = || {
                let failed = tally.failed.load(Ordering::Acquire) as usize;
                tally.joined.load(Ordering::Acquire) + failed >= plan.clients
            };
            while !settled() && Instant::now() < limit {
                time::sleep(Duration::from_millis(10)).await;
            }
            // The join notices cross the cluster too: let them settle.
            time::sleep(Duration::from_millis(500)).await;
            // Scripts sample the nodes' CPU time between these two lines (the steady state,
            // without the connects and joins).
            *lock(&setup) = setup_started.elapsed();
            eprintln!("c10k: load chat: sending");
            ready.set();
            for t in tasks {
                let _ = t.await;
            }
            eprintln!("c10k: load chat: done");
        }
    });
    let setup = *lock(&setup);
    let report = Report::new(&plan, &tally, setup);
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        report.write(&mut out)?;
    }
    out.flush()?;
    let errors = lock(&tally.errors);
    if let Some(first) = errors.first() {
        anyhow::bail!("{} client(s) failed; first: {first}", errors.len());
    }
    if report.lost > 0 || report.duplicated > 0 {
        anyhow::bail!(
            "{} deliveries lost, {} duplicated",
            report.lost,
            report.duplicated
        );
    }
    if report.sent == 0 {
        anyhow::bail!("no message was sent (raise -d or --rate)");
    }
    Ok(())
}

/// A small generator for the start offsets (no need for a random crate).
fn spread(i: usize) -> f64 {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    (x % 1_000_000) as f64 / 1_000_000.0
}

async fn client(i: usize, plan: Arc<Plan>, tally: Arc<Tally>, ready: Arc<Event>, base: Instant) {
    if let Err(e) = talk(i, &plan, &tally, &ready, base).await {
        tally.failed.fetch_add(1, Ordering::AcqRel);
        lock(&tally.errors).push(format!("client {i}: {e}"));
    }
}

async fn talk(
    i: usize,
    plan: &Plan,
    tally: &Tally,
    ready: &Event,
    base: Instant,
) -> anyhow::Result<()> {
    let nodes = plan.nodes.len();
    let node = i % nodes;
    let room = i / plan.room_size;
    let room_first = room * plan.room_size;
    let room_len = plan.room_size.min(plan.clients - room_first);
    let permit = tally
        .connecting
        .acquire()
        .await
        .map_err(|_| anyhow::anyhow!("the connect limiter closed"))?;
    let stream = time::timeout(
        Duration::from_secs(60),
        TcpStream::connect(plan.nodes[node]),
    )
    .await
    .map_err(|_| anyhow::anyhow!("connect timed out"))??;
    let mut lines = BufReader::new(&stream).lines();
    let writer = &stream;
    let mut next_line = async || -> anyhow::Result<String> {
        match time::timeout(Duration::from_secs(60), lines.next()).await {
            Ok(Some(line)) => Ok(line?),
            Ok(None) => anyhow::bail!("the server closed the connection"),
            Err(_) => anyhow::bail!("no line for 60 s"),
        }
    };
    next_line().await?; // the welcome
    writer
        .write_all(format!("/join load{room}\n").as_bytes())
        .await?;
    loop {
        if next_line().await?.starts_with("* you joined") {
            break;
        }
    }
    tally.joined.fetch_add(1, Ordering::AcqRel);
    drop(permit);
    ready.wait().await;

    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / plan.rate);
    let mut next_send = start + period.mul_f64(spread(i));
    let stop_sending = start + plan.duration;
    let stop = stop_sending + plan.drain;
    let mut seen: HashSet<u64> = HashSet::new();
    let mut seq: u64 = 0;
    loop {
        let now = Instant::now();
        if now >= stop {
            return Ok(());
        }
        let wake = if next_send < stop_sending {
            next_send
        } else {
            stop
        };
        let line = {
            let read = pin!(next_line());
            match select(read, pin!(time::sleep_until(wake))).await {
                Either::Left((line, _)) => Some(line?),
                Either::Right(_) => None,
            }
        };
        match line {
            Some(line) => {
                let Some((sender, n, sent_us)) = parse(&line) else {
                    continue;
                };
                let at = base.elapsed().as_micros() as u64;
                if !seen.insert(((sender as u64) << 32) | n) {
                    tally.duplicated.fetch_add(1, Ordering::AcqRel);
                    continue;
                }
                tally.received.fetch_add(1, Ordering::AcqRel);
                let hist = if sender % nodes == node {
                    &tally.local
                } else {
                    &tally.cross
                };
                let _ = lock(hist).record(at.saturating_sub(sent_us).max(1));
            }
            None if next_send < stop_sending && Instant::now() >= next_send => {
                let us = base.elapsed().as_micros();
                writer
                    .write_all(format!("L {i} {seq} {us}\n").as_bytes())
                    .await?;
                seq += 1;
                tally.sent.fetch_add(1, Ordering::AcqRel);
                tally
                    .expected
                    .fetch_add(room_len as u64 - 1, Ordering::AcqRel);
                next_send += period;
            }
            None => {}
        }
    }
}

/// `HH:MM:SS <nick> L client seq micros`.
fn parse(line: &str) -> Option<(usize, u64, u64)> {
    let rest = &line[line.find("> L ")? + 4..];
    let mut parts = rest.split(' ');
    let sender = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    let us = parts.next()?.parse().ok()?;
    Some((sender, seq, us))
}

/// What the run measured.
#[derive(Debug, serde::Serialize)]
struct Report {
    clients: usize,
    nodes: usize,
    room_size: usize,
    rate_per_client: f64,
    duration_s: f64,
    setup_s: f64,
    sent: u64,
    expected: u64,
    received: u64,
    lost: u64,
    duplicated: u64,
    failed_clients: u64,
    /// Microseconds: p50, p99, p99.9, max; all deliveries, same node, other node.
    all_us: [u64; 4],
    local_us: [u64; 4],
    cross_us: [u64; 4],
}

fn quantiles(h: &Histogram<u64>) -> [u64; 4] {
    if h.is_empty() {
        return [0; 4];
    }
    [
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max(),
    ]
}

impl Report {
    fn new(plan: &Plan, tally: &Tally, setup: Duration) -> Report {
        let local = lock(&tally.local);
        let cross = lock(&tally.cross);
        let mut all = local.clone();
        let _ = all.add(&*cross);
        let expected = tally.expected.load(Ordering::Acquire);
        let received = tally.received.load(Ordering::Acquire);
        Report {
            clients: plan.clients,
            nodes: plan.nodes.len(),
            room_size: plan.room_size,
            rate_per_client: plan.rate,
            duration_s: plan.duration.as_secs_f64(),
            setup_s: setup.as_secs_f64(),
            sent: tally.sent.load(Ordering::Acquire),
            expected,
            received,
            lost: expected.saturating_sub(received),
            duplicated: tally.duplicated.load(Ordering::Acquire),
            failed_clients: tally.failed.load(Ordering::Acquire),
            all_us: quantiles(&all),
            local_us: quantiles(&local),
            cross_us: quantiles(&cross),
        }
    }

    fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{} clients on {} node(s), rooms of {}, {} msg/s each, {} s (+ setup {:.1} s)",
            self.clients,
            self.nodes,
            self.room_size,
            self.rate_per_client,
            self.duration_s,
            self.setup_s
        )?;
        writeln!(
            out,
            "sent {}  deliveries expected {}  received {}  lost {}  duplicated {}  failed clients {}",
            self.sent, self.expected, self.received, self.lost, self.duplicated, self.failed_clients
        )?;
        writeln!(out, "latency (ms)      p50      p99    p99.9      max")?;
        for (name, q) in [
            ("all", self.all_us),
            ("same node", self.local_us),
            ("other node", self.cross_us),
        ] {
            writeln!(
                out,
                "{name:<12} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                q[0] as f64 / 1000.0,
                q[1] as f64 / 1000.0,
                q[2] as f64 / 1000.0,
                q[3] as f64 / 1000.0
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_lines_parse() {
        assert_eq!(
            parse("12:00:00 <a-guest1> L 7 3 123456"),
            Some((7, 3, 123456))
        );
        assert_eq!(parse("* a-guest1 joined load0"), None);
        assert_eq!(parse("12:00:00 <x> hello"), None);
    }

    #[test]
    fn offsets_stay_within_a_period() {
        assert!((0..1000).map(spread).all(|x| (0.0..1.0).contains(&x)));
    }
}
