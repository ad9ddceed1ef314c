//! `c10k lab`: every echo model against the tokio reference, measured the same way.
//!
//! Protocol:
//!
//! 1. For each model, start its server as a child (`c10k echo --model M --threads 1`, or
//!    the hidden `c10k __tokio-echo` which links the tokio reference, so a fresh clone needs
//!    no second binary), pinned to the first CPU; read the address it prints. Memory:
//!    server RSS at zero connections, then at N idle connections (each has done one round
//!    trip), `(RSS_N - RSS_0) / N`. Then pause it (SIGSTOP): a paused server takes no CPU,
//!    so a busy-polling one cannot steal from another model's measurement.
//! 2. For each connection count, payload size and run, for each model in turn (the order
//!    rotating with the run): resume its server, read its utime+stime from `/proc`, run
//!    `c10k load echo` as a child pinned to the second CPU, read the CPU time again, pause
//!    the server. CPU per request = CPU delta / requests served. Interleaving keeps a
//!    cell's measurements close in time, so drift on a shared machine hits every model.
//! 3. Resume and stop every server with SIGINT (SIGKILL after 5 s).
//!
//! Then medians over runs, ratios against tokio from the same lab run, and the files:
//! `results.md` (the table), `runs.csv` (every run), `summary.csv`, `results.json`,
//! `chart.svg`, `setup.md`, and one `server-<model>.log` each.
//! A model the machine lacks (its server exits with code 2) is listed as unavailable; a
//! cell a model cannot hold (select past `FD_SETSIZE`) too.

mod chart;
mod child;
mod idle;
mod output;
mod procfs;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use clap::{Args as ClapArgs, ValueEnum};
use serde::Serialize;

use crate::load::Report;
use crate::shutdown;

/// A model the lab measures: an echo model, or the tokio reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LabModel {
    /// Blocking sockets, a thread per connection.
    Threads,
    /// Busy-polling over non-blocking sockets.
    Nonblocking,
    /// The c10k runtime on select(2).
    Select,
    /// The c10k runtime on poll(2).
    Poll,
    /// The c10k runtime on epoll(7), edge-triggered, a task per connection.
    Epoll,
    /// The hand-written callback loop on the epoll selector (no tasks).
    Reactor,
    /// Signal-driven IO.
    Sigio,
    /// io_uring.
    Uring,
    /// The tokio reference (a task and a 1 KiB buffer per connection).
    Tokio,
}

impl LabModel {
    const ALL: [LabModel; 9] = [
        LabModel::Threads,
        LabModel::Nonblocking,
        LabModel::Select,
        LabModel::Poll,
        LabModel::Epoll,
        LabModel::Reactor,
        LabModel::Sigio,
        LabModel::Uring,
        LabModel::Tokio,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            LabModel::Threads => "threads",
            LabModel::Nonblocking => "nonblocking",
            LabModel::Select => "select",
            LabModel::Poll => "poll",
            LabModel::Epoll => "epoll",
            LabModel::Reactor => "reactor",
            LabModel::Sigio => "sigio",
            LabModel::Uring => "uring",
            LabModel::Tokio => "tokio",
        }
    }

    pub(crate) fn server_args(self) -> Vec<String> {
        let mut args: Vec<String> = match self {
            LabModel::Tokio => vec!["__tokio-echo".into()],
            m => vec!["echo".into(), "--model".into(), m.name().into()],
        };
        args.extend(["--listen", "127.0.0.1:0", "--threads", "1"].map(String::from));
        args
    }

    /// Connections this model cannot hold, or `None`.
    fn limit(self) -> Option<usize> {
        // select(2) watches descriptors below FD_SETSIZE; a few are taken by stdio, the
        // listener and the selector's own wake-up descriptors.
        (self == LabModel::Select).then_some(c10k::selector::FD_SETSIZE - 24)
    }
}

/// Lab: measure every echo model against the tokio reference.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Writes results.md, runs.csv, summary.csv, results.json, chart.svg and \
setup.md into OUT/<YYYY-MM-DD-HHMMSS>/.\nThe server runs on the first CPU and the load \
generator on the second when there are two.\n--quick: conns 100,1000, size 64, 1 run of 3 s, \
memory at 1000 idle connections (about a minute on 2 cores)."
)]
pub(crate) struct Args {
    /// A short run (about a minute): the defaults of the other options shrink.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Models to measure, comma-separated [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) models: Vec<LabModel>,
    /// Connection counts, comma-separated [default: 1,100,1000,10000; quick: 100,1000].
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) conns: Vec<u32>,
    /// Payload sizes in bytes, comma-separated [default: 64,1024; quick: 64].
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub(crate) sizes: Vec<u32>,
    /// Seconds per measurement [default: 5; quick: 3].
    #[arg(long, value_parser = crate::load::parse_secs)]
    pub(crate) duration: Option<Duration>,
    /// Runs per cell; the table shows medians [default: 3; quick: 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) runs: Option<u32>,
    /// Idle connections for the memory figure [default: largest --conns; quick: 1000].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) idle: Option<u32>,
    /// Parent directory of the run directory.
    #[arg(long, default_value = "bench/runs")]
    pub(crate) out: PathBuf,
    /// Print the summary as JSON instead of a markdown table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The lab's settings once defaults are applied.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Settings {
    pub(crate) models: Vec<LabModel>,
    pub(crate) conns: Vec<u32>,
    pub(crate) sizes: Vec<u32>,
    pub(crate) duration_secs: f64,
    pub(crate) runs: u32,
    pub(crate) idle: u32,
    pub(crate) server_cpu: Option<usize>,
    pub(crate) load_cpu: Option<usize>,
}

impl Settings {
    fn from_args(args: &Args) -> Settings {
        let or = |v: &Vec<u32>, full: &[u32], quick: &[u32]| {
            if !v.is_empty() {
                v.clone()
            } else if args.quick {
                quick.to_vec()
            } else {
                full.to_vec()
            }
        };
        let conns = or(&args.conns, &[1, 100, 1000, 10_000], &[100, 1000]);
        let sizes = or(&args.sizes, &[64, 1024], &[64]);
        let models = if args.models.is_empty() {
            LabModel::ALL.to_vec()
        } else {
            args.models.clone()
        };
        let duration = args
            .duration
            .unwrap_or(Duration::from_secs(if args.quick { 3 } else { 5 }));
        let cpus = child::cpus();
        let (server_cpu, load_cpu) = match cpus.as_slice() {
            [a, b, ..] => (Some(*a), Some(*b)),
            _ => (None, None),
        };
        Settings {
            models,
            idle: args.idle.unwrap_or(if args.quick {
                1000
            } else {
                conns.iter().copied().max().unwrap_or(1000)
            }),
            conns,
            sizes,
            duration_secs: duration.as_secs_f64(),
            runs: args.runs.unwrap_or(if args.quick { 1 } else { 3 }),
            server_cpu,
            load_cpu,
        }
    }
}

/// One load run against one model.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Sample {
    pub(crate) model: LabModel,
    pub(crate) conns: u32,
    pub(crate) size: u32,
    pub(crate) run: u32,
    /// `ok`, `unavailable: why` or `failed: why`.
    pub(crate) status: String,
    pub(crate) requests: u64,
    pub(crate) requests_per_sec: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) server_cpu_secs: f64,
    pub(crate) cpu_us_per_request: f64,
    pub(crate) errors: u64,
    /// The load generator's errors by kind, plus `unfinished` requests.
    pub(crate) error_kinds: std::collections::BTreeMap<String, u64>,
}

/// What the lab learnt about a model outside the load runs.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ModelInfo {
    pub(crate) model: LabModel,
    /// `ok`, `unavailable: why` or `failed: why`.
    pub(crate) status: String,
    pub(crate) idle_conns: u32,
    pub(crate) rss_base_bytes: Option<u64>,
    pub(crate) bytes_per_idle_conn: Option<f64>,
}

/// Runs `c10k lab`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let settings = Settings::from_args(args);
    crate::sys::raise_fd_limit();
    shutdown::install()?;
    let exe = std::env::current_exe()?;
    let dir = args.out.join(output::timestamp());
    std::fs::create_dir_all(&dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create {}: {}",
            dir.display(),
            crate::errors::short(&e)
        )
    })?;
    let started = std::time::Instant::now();
    let loadavg_start = loadavg();
    let mut infos = Vec::new();
    let mut servers = Vec::new();
    for &model in &settings.models {
        if shutdown::requested() {
            break;
        }
        eprintln!(
            "lab: starting {} (memory at {} idle connections)",
            model.name(),
            settings.idle
        );
        let (info, server) = start_model(&exe, &dir, &settings, model);
        infos.push(info);
        servers.push((model, server));
    }
    eprintln!(
        "lab: measuring {} cells",
        settings.conns.len() * settings.sizes.len() * settings.runs as usize * servers.len()
    );
    let mut samples = measure_all(&exe, &settings, &mut servers);
    for (info, (_, server)) in infos.iter().zip(servers) {
        match server {
            Some(server) => server.stop(),
            // Give unavailable models their reason in every cell.
            None => {
                for sample in samples.iter_mut().filter(|s| s.model == info.model) {
                    sample.status.clone_from(&info.status);
                }
            }
        }
    }
    let summary = output::summarize(&settings, &infos, &samples);
    let args_line: Vec<String> = std::env::args().collect();
    // The machine's load average at the start and end: figures vary with other work.
    let command_line = format!(
        "`{}` (load average at start: {loadavg_start}; at end: {})",
        args_line.join(" "),
        loadavg()
    );
    output::write_all(&dir, &settings, &infos, &samples, &summary, &command_line)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        std::io::Write::write_all(&mut out, b"\n")?;
    } else {
        output::write_table(&mut out, &summary)?;
    }
    std::io::Write::flush(&mut out)?;
    eprintln!(
        "lab: {:.0} s, results in {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn empty_sample(model: LabModel, conns: u32, size: u32, run: u32, status: String) -> Sample {
    Sample {
        model,
        conns,
        size,
        run,
        status,
        requests: 0,
        requests_per_sec: 0.0,
        p50_us: 0.0,
        p99_us: 0.0,
        server_cpu_secs: 0.0,
        cpu_us_per_request: 0.0,
        errors: 0,
        error_kinds: std::collections::BTreeMap::new(),
    }
}

/// Starts a model's server and measures its memory per idle connection; the server is left
/// paused (SIGSTOP) so that it takes no CPU while the others are measured.
fn start_model(
    exe: &std::path::Path,
    dir: &std::path::Path,
    settings: &Settings,
    model: LabModel,
) -> (ModelInfo, Option<child::Server>) {
    let log = dir.join(format!("server-{}.log", model.name()));
    let mut info = ModelInfo {
        model,
        status: "ok".into(),
        idle_conns: 0,
        rss_base_bytes: None,
        bytes_per_idle_conn: None,
    };
    let server = match child::Server::start(exe, &model.server_args(), settings.server_cpu, &log) {
        Ok(server) => server,
        Err(status) => {
            info.status = status;
            return (info, None);
        }
    };
    let pid = server.pid();
    let idle = settings
        .idle
        .min(model.limit().map_or(u32::MAX, |l| l as u32));
    info.idle_conns = idle;
    match procfs::rss_bytes(pid) {
        Ok(base) => {
            info.rss_base_bytes = Some(base);
            match idle::open(server.addr, idle as usize) {
                Ok(streams) => {
                    if let Ok(full) = procfs::rss_bytes(pid) {
                        info.bytes_per_idle_conn =
                            Some((full as f64 - base as f64) / f64::from(idle));
                    }
                    drop(streams);
                }
                Err(e) => {
                    info.status = format!("failed: idle connections: {}", crate::errors::short(&e))
                }
            }
        }
        Err(e) => info.status = format!("failed: reading /proc: {e}"),
    }
    server.pause();
    (info, Some(server))
}

/// Measures every cell: for each connection count, size and run, every model in turn
/// (the order rotating with the run), each server resumed only for its own measurement.
/// Interleaving puts the models' runs of a cell close together in time, so that the
/// machine's drift (other work on shared CPUs) spreads over all of them instead of
/// favouring whichever model ran in a quiet minute.
fn measure_all(
    exe: &std::path::Path,
    settings: &Settings,
    servers: &mut [(LabModel, Option<child::Server>)],
) -> Vec<Sample> {
    let mut samples = Vec::new();
    let total =
        settings.conns.len() * settings.sizes.len() * settings.runs as usize * servers.len();
    for &conns in &settings.conns {
        for &size in &settings.sizes {
            for run in 1..=settings.runs {
                for k in 0..servers.len() {
                    let index = (k + run as usize - 1) % servers.len();
                    let (model, server) = &mut servers[index];
                    let model = *model;
                    let status = match server {
                        None => Some("unavailable".to_owned()),
                        Some(_) if shutdown::requested() => Some("failed: interrupted".to_owned()),
                        Some(_) => model
                            .limit()
                            .filter(|&l| conns as usize > l)
                            .map(|l| format!("unavailable: more than {l} descriptors")),
                    };
                    if let Some(status) = status {
                        samples.push(empty_sample(model, conns, size, run, status));
                        continue;
                    }
                    let server = server.as_mut().expect("checked above");
                    server.resume();
                    if !server.alive() {
                        samples.push(empty_sample(
                            model,
                            conns,
                            size,
                            run,
                            "failed: server exited".into(),
                        ));
                        continue;
                    }
                    let sample = measure_cell(exe, settings, server, model, conns, size, run);
                    server.pause();
                    eprintln!(
                        "lab: [{}/{total}] {} {conns} conns {size} B run {run}: {:.0} req/s, {:.2} µs CPU/req{}",
                        samples.len() + 1,
                        model.name(),
                        sample.requests_per_sec,
                        sample.cpu_us_per_request,
                        if sample.status == "ok" { String::new() } else { format!(" ({})", sample.status) },
                    );
                    samples.push(sample);
                }
            }
        }
    }
    samples
}

fn measure_cell(
    exe: &std::path::Path,
    settings: &Settings,
    server: &child::Server,
    model: LabModel,
    conns: u32,
    size: u32,
    run: u32,
) -> Sample {
    let pid = server.pid();
    let mut command = Command::new(exe);
    command.args([
        "load".to_string(),
        "echo".into(),
        "--target".into(),
        server.addr.to_string(),
        "-c".into(),
        conns.to_string(),
        "-d".into(),
        format!("{}", settings.duration_secs),
        "--size".into(),
        size.to_string(),
        "--threads".into(),
        "1".into(),
        "--json".into(),
    ]);
    let limit = Duration::from_secs_f64(settings.duration_secs + 30.0);
    let cpu_before = procfs::cpu_secs(pid);
    let outcome = child::run_bounded(&mut command, settings.load_cpu, limit);
    let cpu_after = procfs::cpu_secs(pid);
    let mut sample = empty_sample(model, conns, size, run, "ok".into());
    let report: Report = match outcome
        .and_then(|text| serde_json::from_str(&text).map_err(|e| format!("bad load report: {e}")))
    {
        Ok(report) => report,
        Err(why) => {
            sample.status = format!("failed: {why}");
            return sample;
        }
    };
    sample.requests = report.requests;
    sample.requests_per_sec = report.requests_per_sec;
    sample.p50_us = report.latency_us.p50;
    sample.p99_us = report.latency_us.p99;
    sample.errors = report.error_count() + report.unfinished;
    sample.error_kinds.clone_from(&report.errors);
    if report.unfinished > 0 {
        sample.error_kinds.insert(
            "unfinished at the end of the drain".into(),
            report.unfinished,
        );
    }
    if let (Ok(before), Ok(after)) = (cpu_before, cpu_after) {
        sample.server_cpu_secs = after - before;
        if report.requests > 0 {
            sample.cpu_us_per_request = (after - before) * 1e6 / report.requests as f64;
        }
    }
    sample
}
