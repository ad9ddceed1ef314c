//! `c10k lab`: every echo model against the tokio reference, measured the same way.
//!
//! The lab has two protocols, one per lab run: side by side (`--quick`, `--side-by-side`)
//! measures each model at the same time as tokio and gives ratios that a shared machine's
//! drift cannot move much; sequential (a full run without `--side-by-side`, or
//! `--quick --sequential`) measures each server alone and gives absolute figures, but its
//! ratios move by tens of percent from one run to the next on a shared machine (four
//! sequential `--quick` runs put epoll's p99 at 0.34× to 4.46× tokio's).
//!
//! Both start the same way:
//!
//! 1. For each model, start its server as a child (`c10k echo --model M --threads 1`, or
//!    the hidden `c10k __tokio-echo` which links the tokio reference, so a fresh clone needs
//!    no second binary), pinned to the first CPU; read the address it prints. A model this
//!    build lacks ([`IoModel::unavailable`]) is not started and is listed with the reason.
//!    Memory: the server's resident anonymous memory (`RssAnon`: heap, stacks, buffer
//!    pools; not the executable's pages, which are shared and paged in as code first runs)
//!    with one connection open (its fixed costs paid), then with N idle connections more
//!    (each has done one round trip), `(RSS_N - RSS_0) / N`. A server that spins when idle
//!    (`nonblocking`) is then paused (SIGSTOP) so that it cannot steal the CPU from another
//!    model's measurement; the others are never paused (they take no CPU while idle, and a
//!    pause in the middle of a task's poll would show in the server's log as a false
//!    long-poll report, see `child`).
//!
//! Sequential protocol:
//!
//! 2. For each connection count, payload size and run, for each model in turn (the order
//!    rotating with the run): resume its server if paused, read its CPU time from `/proc`,
//!    run `c10k load echo` as a child pinned to the second CPU, read the CPU time again,
//!    pause the server if it spins. CPU per request = CPU delta / requests served.
//!    Interleaving keeps a cell's measurements close in time, so drift on a shared machine
//!    hits every model.
//!
//! Side-by-side protocol (tokio is always measured, as the reference):
//!
//! 2. For each connection count, payload size and run, for each model but tokio in turn
//!    (the order rotating with the run): resume that model's server if paused, read both
//!    CPU times, start two `c10k load echo` children with the same arguments, both pinned
//!    to the second CPU (which one is spawned first alternates with the run), read each
//!    server's CPU time as soon as its own load generator exits, pause the model's server
//!    again if it spins. The per-run
//!    ratios model ÷ tokio (CPU per request, p99, p50, req/s) are the figures: steal time,
//!    frequency changes and other tenants hit both servers within the same seconds, so
//!    they cancel in the ratio. A cell's figure is the median of its per-run ratios, with
//!    their min and max. Absolute figures are not comparable with sequential ones: the two
//!    servers share one CPU and the load CPU, so each gets about half, and latency includes
//!    waiting for the other server's time slice.
//!
//! Then:
//!
//! 3. Resume and stop every server with SIGINT (SIGKILL after 5 s).
//!
//! Ctrl-C (SIGINT or SIGTERM to the lab): the load generators running are killed, no new
//! measurement starts, the servers are stopped, what was measured is written (the cells
//! not measured say `failed: interrupted`), and the lab exits with code 130. A second
//! Ctrl-C exits at once (the children die with the lab).
//!
//! CPU time is the per-thread `schedstat` sum (nanoseconds) when the server's threads were
//! the same at both readings and the sum agrees with utime+stime, and utime+stime (clock
//! ticks, exited threads included) otherwise (see `procfs`).
//!
//! Then medians over runs (sequential) or statistics of per-run ratios (side by side), and
//! the files: `results.md` (the table), `runs.csv` (every sample), `summary.csv`,
//! `results.json`, `chart.svg`, `setup.md`, and one `server-<model>.log` each, in
//! `OUT/<YYYY-MM-DD-HHMMSS>/` (`OUT` is `target/lab` unless `--out` says otherwise:
//! ignored by git; recorded runs go to `--out bench/runs`).
//! A model the machine lacks (its server exits with code 2) is listed as unavailable; a
//! cell a model cannot hold (select past `FD_SETSIZE`) too.

mod chart;
mod child;
mod idle;
mod output;
mod pairs;
mod procfs;
mod progress;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use clap::{Args as ClapArgs, ValueEnum};
use serde::Serialize;

use crate::load::Report;
use crate::model::IoModel;
use crate::shutdown;
use pairs::Pair;
use procfs::CpuSource;

/// How the lab drives the servers (one mode per lab run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Mode {
    /// One server at a time: absolute figures, ratios of medians against tokio.
    Sequential,
    /// Each model at the same time as tokio: per-run ratios only.
    SideBySide,
}

/// A model the lab measures: an echo model ([`IoModel`], the one list of models), or the
/// tokio reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LabModel {
    /// `c10k echo --model M`.
    Io(IoModel),
    /// The tokio reference (a task and a 1 KiB buffer per connection).
    Tokio,
}

impl LabModel {
    /// Every echo model in the order of [`IoModel::ALL`], then tokio.
    pub(crate) const ALL: [LabModel; IoModel::ALL.len() + 1] = {
        let mut all = [LabModel::Tokio; IoModel::ALL.len() + 1];
        let mut i = 0;
        while i < IoModel::ALL.len() {
            all[i] = LabModel::Io(IoModel::ALL[i]);
            i += 1;
        }
        all
    };

    pub(crate) const fn name(self) -> &'static str {
        match self {
            LabModel::Io(m) => m.name(),
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

    /// Whether the model's server takes CPU while idle (the lab pauses it then).
    fn spins_when_idle(self) -> bool {
        matches!(self, LabModel::Io(m) if m.spins_when_idle())
    }

    /// Why this build cannot run the model, or `None`.
    fn unavailable(self) -> Option<&'static str> {
        match self {
            LabModel::Io(m) => m.unavailable(),
            LabModel::Tokio => None,
        }
    }

    /// Connections this model cannot hold, or `None`.
    fn limit(self) -> Option<usize> {
        // select(2) watches descriptors below FD_SETSIZE; a few are taken by stdio, the
        // listener and the selector's own wake-up descriptors.
        (self == LabModel::Io(IoModel::Select)).then_some(c10k::selector::FD_SETSIZE - 24)
    }
}

impl Serialize for LabModel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl ValueEnum for LabModel {
    fn value_variants<'a>() -> &'a [Self] {
        &LabModel::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(match self {
            LabModel::Io(m) => m.to_possible_value()?,
            LabModel::Tokio => clap::builder::PossibleValue::new("tokio")
                .help("the tokio reference server (a task and a 1 KiB buffer per connection)"),
        })
    }
}

/// Lab: measure every echo model against the tokio reference.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Writes results.md, runs.csv, summary.csv, results.json, chart.svg and \
setup.md into OUT/<YYYY-MM-DD-HHMMSS>/ (OUT: target/lab, which git ignores; record a run \
with --out bench/runs).\nThe servers run on the first CPU and the load generators on the \
second when there are two.\n--quick: side by side, conns 100,1000, size 64, 3 runs of 1.5 s, \
memory at 1000 idle connections (about a minute on 2 cores).\nSide by side: each model \
runs at the same time as tokio (both servers on the first CPU, both load generators on the \
second); the figures are the per-run ratios model ÷ tokio, which a shared machine's drift \
hits on both sides alike; the table gives their median and [min–max] over the runs.\n\
Ctrl-C stops the lab: what was measured is written, and it exits with code 130."
)]
pub(crate) struct Args {
    /// A short run (about a minute), side by side: the defaults of the other options shrink.
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
    /// Seconds per measurement [default: 5; quick: 1.5].
    #[arg(long, value_parser = crate::load::parse_secs)]
    pub(crate) duration: Option<Duration>,
    /// Runs per cell; the table shows medians [default: 3].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) runs: Option<u32>,
    /// Idle connections for the memory figure [default: largest --conns; quick: 1000].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) idle: Option<u32>,
    /// Parent directory of the run directory (`bench/runs` to record a run in the repository).
    #[arg(long, default_value = "target/lab")]
    pub(crate) out: PathBuf,
    /// Print the summary as JSON instead of a markdown table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Measure each model at the same time as tokio; report per-run ratios model ÷ tokio.
    ///
    /// Instead of one server at a time, each model's server runs together with tokio's and
    /// both are driven at once; the table gives the median [min–max] of the per-run ratios.
    /// Absolute figures then count two servers sharing the CPUs. tokio is measured even
    /// when not in --models. The default with --quick.
    #[arg(long, conflicts_with = "sequential")]
    pub(crate) side_by_side: bool,
    /// Measure one server at a time: absolute figures, but ratios that move by tens of
    /// percent between runs on a shared machine. The default without --quick.
    #[arg(long)]
    pub(crate) sequential: bool,
}

/// The lab's settings once defaults are applied.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Settings {
    pub(crate) mode: Mode,
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
        let mut models = if args.models.is_empty() {
            LabModel::ALL.to_vec()
        } else {
            args.models.clone()
        };
        let mut seen = Vec::new();
        models.retain(|m| {
            let new = !seen.contains(m);
            seen.push(*m);
            new
        });
        let side_by_side = args.side_by_side || (args.quick && !args.sequential);
        // Side by side, every model is measured against tokio: it must run.
        if side_by_side && !models.contains(&LabModel::Tokio) {
            models.push(LabModel::Tokio);
        }
        let duration = args
            .duration
            .unwrap_or(Duration::from_millis(if args.quick { 1500 } else { 5000 }));
        let cpus = child::cpus();
        let (server_cpu, load_cpu) = match cpus.as_slice() {
            [a, b, ..] => (Some(*a), Some(*b)),
            _ => (None, None),
        };
        Settings {
            mode: if side_by_side {
                Mode::SideBySide
            } else {
                Mode::Sequential
            },
            models,
            idle: args.idle.unwrap_or(if args.quick {
                1000
            } else {
                conns.iter().copied().max().unwrap_or(1000)
            }),
            conns,
            sizes,
            duration_secs: duration.as_secs_f64(),
            runs: args.runs.unwrap_or(3),
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
    /// Side by side: the model of the pair this sample belongs to (tokio's samples name
    /// the model they ran beside).
    pub(crate) pair: Option<LabModel>,
    /// Where `server_cpu_secs` came from.
    pub(crate) cpu_source: Option<CpuSource>,
}

/// What the lab learnt about a model outside the load runs.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ModelInfo {
    pub(crate) model: LabModel,
    /// `ok`, `unavailable: why` or `failed: why`.
    pub(crate) status: String,
    pub(crate) idle_conns: u32,
    /// Resident anonymous memory with one connection open (the base of the idle figure).
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
    let (mut samples, pairs) = match settings.mode {
        Mode::Sequential => (measure_all(&exe, &settings, &mut servers), Vec::new()),
        Mode::SideBySide => measure_side_by_side(&exe, &settings, &infos, &mut servers),
    };
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
    let summary = output::summarize(&settings, &infos, &samples, &pairs);
    let args_line: Vec<String> = std::env::args().collect();
    // The machine's load average at the start and end: figures vary with other work.
    let command_line = format!(
        "`{}` (load average at start: {loadavg_start}; at end: {})",
        args_line.join(" "),
        loadavg()
    );
    output::write_all(
        &dir,
        &settings,
        &infos,
        &samples,
        &pairs,
        &summary,
        &command_line,
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        std::io::Write::write_all(&mut out, b"\n")?;
    } else {
        output::write_table(&mut out, &summary)?;
    }
    std::io::Write::flush(&mut out)?;
    let interrupted = shutdown::requested();
    eprintln!(
        "lab: {}{:.0} s; table in {}, chart in {}",
        if interrupted {
            "interrupted after "
        } else {
            ""
        },
        started.elapsed().as_secs_f64(),
        dir.join("results.md").display(),
        dir.join("chart.svg").display(),
    );
    if interrupted {
        return Err(anyhow::Error::new(crate::errors::Interrupted));
    }
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
        pair: None,
        cpu_source: None,
    }
}

/// Starts a model's server and measures its memory per idle connection; a server that
/// spins when idle is left paused (SIGSTOP) so that it takes no CPU while the others are
/// measured.
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
    if let Some(why) = model.unavailable() {
        info.status = format!("unavailable: {why}");
        return (info, None);
    }
    let server = match child::Server::start(
        exe,
        &model.server_args(),
        settings.server_cpu,
        &log,
        model.spins_when_idle(),
    ) {
        Ok(server) => server,
        Err(status) => {
            info.status = status;
            return (info, None);
        }
    };
    let pid = server.pid();
    let idle = settings.idle.min(
        model
            .limit()
            .map_or(u32::MAX, |l| l.saturating_sub(1) as u32),
    );
    info.idle_conns = idle;
    // One connection first, kept open: the server's fixed costs (its first read buffer,
    // lazily built state) are paid before the base reading, not spread over the N.
    let measured = idle::open(server.addr, 1).and_then(|warm| {
        let base = procfs::anon_rss_bytes(pid)?;
        info.rss_base_bytes = Some(base);
        let streams = idle::open(server.addr, idle as usize)?;
        let full = procfs::anon_rss_bytes(pid)?;
        drop((warm, streams));
        Ok((full as f64 - base as f64) / f64::from(idle))
    });
    match measured {
        Ok(per_conn) => info.bytes_per_idle_conn = Some(per_conn),
        Err(e) => info.status = format!("failed: idle connections: {}", crate::errors::short(&e)),
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
    let mut progress = progress::Progress::start(
        total,
        &format!("lab: measuring {total} cells, one server at a time"),
    );
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
                        progress.skip();
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
                        progress.skip();
                        continue;
                    }
                    let load = Load {
                        conns,
                        size,
                        run,
                        pair: None,
                    };
                    let sample = measure_together(exe, settings, &[(&*server, model)], &load)
                        .pop()
                        .expect("one sample per server");
                    server.pause();
                    progress.done(&format!(
                        "{} {conns} conns {size} B run {run}: {:.0} req/s, {:.2} µs CPU/req{}",
                        model.name(),
                        sample.requests_per_sec,
                        sample.cpu_us_per_request,
                        if sample.status == "ok" {
                            String::new()
                        } else {
                            format!(" ({})", sample.status)
                        },
                    ));
                    samples.push(sample);
                }
            }
        }
    }
    samples
}

/// Measures every cell side by side: for each connection count, size and run, every
/// model but tokio in turn (the order rotating with the run) is resumed together with
/// tokio, and both are driven at once; see the module docs. Returns the samples (two per
/// measured pair) and the pairs with their per-run ratios.
fn measure_side_by_side(
    exe: &std::path::Path,
    settings: &Settings,
    infos: &[ModelInfo],
    servers: &mut [(LabModel, Option<child::Server>)],
) -> (Vec<Sample>, Vec<Pair>) {
    let mut samples = Vec::new();
    let mut pairs = Vec::new();
    let reference = servers.iter().position(|(m, _)| *m == LabModel::Tokio);
    let others: Vec<usize> = (0..servers.len())
        .filter(|&i| servers[i].0 != LabModel::Tokio)
        .collect();
    let total = settings.conns.len() * settings.sizes.len() * settings.runs as usize * others.len();
    let mut progress = progress::Progress::start(
        total,
        &format!("lab: measuring {total} pairs, each model side by side with tokio"),
    );
    let status_of = |model: LabModel| {
        infos
            .iter()
            .find(|i| i.model == model)
            .map_or_else(|| "unavailable".to_owned(), |i| i.status.clone())
    };
    for &conns in &settings.conns {
        for &size in &settings.sizes {
            for run in 1..=settings.runs {
                for k in 0..others.len() {
                    let index = others[(k + run as usize - 1) % others.len()];
                    let model = servers[index].0;
                    let first = if run % 2 == 1 { model } else { LabModel::Tokio };
                    let status = if servers[index].1.is_none() {
                        Some(status_of(model))
                    } else if reference.is_none_or(|t| servers[t].1.is_none()) {
                        Some(format!(
                            "failed: the tokio reference did not start ({})",
                            status_of(LabModel::Tokio)
                        ))
                    } else if shutdown::requested() {
                        Some("failed: interrupted".to_owned())
                    } else {
                        model
                            .limit()
                            .filter(|&l| conns as usize > l)
                            .map(|l| format!("unavailable: more than {l} descriptors"))
                    };
                    let load = Load {
                        conns,
                        size,
                        run,
                        pair: Some(model),
                    };
                    if let Some(status) = status {
                        let mut sample = empty_sample(model, conns, size, run, status);
                        sample.pair = Some(model);
                        pairs.push(Pair::new(&sample, &sample, first));
                        samples.push(sample);
                        progress.skip();
                        continue;
                    }
                    let t = reference.expect("checked above");
                    let (sample, reference_sample) =
                        pair_run(exe, settings, servers, [index, t], first, &load);
                    let pair = Pair::new(&sample, &reference_sample, first);
                    let r = &pair.ratios;
                    let times =
                        |v: Option<f64>| v.map_or_else(|| "–".into(), |v| format!("{v:.3}×"));
                    progress.done(&format!(
                        "{} + tokio, {conns} conns {size} B run {run}: CPU/req {}, p99 {}, req/s {} ({:.0} + {:.0} req/s){}",
                        model.name(),
                        times(r.cpu_per_request),
                        times(r.p99),
                        times(r.requests_per_sec),
                        sample.requests_per_sec,
                        reference_sample.requests_per_sec,
                        if pair.status == "ok" { String::new() } else { format!(" ({})", pair.status) },
                    ));
                    pairs.push(pair);
                    samples.push(sample);
                    samples.push(reference_sample);
                }
            }
        }
    }
    (samples, pairs)
}

/// One side-by-side run of `servers[model]` and `servers[tokio]`: both resumed, driven
/// at once (the load generator of `first` spawned first), both paused again. Returns the
/// samples of the model and of tokio.
fn pair_run(
    exe: &std::path::Path,
    settings: &Settings,
    servers: &mut [(LabModel, Option<child::Server>)],
    [model, tokio]: [usize; 2],
    first: LabModel,
    load: &Load,
) -> (Sample, Sample) {
    for i in [model, tokio] {
        if let Some(server) = &servers[i].1 {
            server.resume();
        }
    }
    let mut gone = Vec::new();
    for i in [model, tokio] {
        let (m, server) = &mut servers[i];
        if !server.as_mut().is_some_and(|s| s.alive()) {
            gone.push(*m);
        }
    }
    let result = if gone.is_empty() {
        let model_leg = (servers[model].1.as_ref().expect("alive"), servers[model].0);
        let tokio_leg = (servers[tokio].1.as_ref().expect("alive"), LabModel::Tokio);
        let mut samples = if first == LabModel::Tokio {
            let mut s = measure_together(exe, settings, &[tokio_leg, model_leg], load);
            s.reverse();
            s
        } else {
            measure_together(exe, settings, &[model_leg, tokio_leg], load)
        };
        let t = samples.pop().expect("a tokio sample");
        (samples.pop().expect("a model sample"), t)
    } else {
        // Measure neither when one is gone: a lone server is not a side-by-side figure.
        let failed = |i: usize| {
            let m = servers[i].0;
            let why = if gone.contains(&m) {
                "failed: server exited"
            } else {
                "failed: the other server exited"
            };
            let mut sample = empty_sample(m, load.conns, load.size, load.run, why.into());
            sample.pair = load.pair;
            sample
        };
        (failed(model), failed(tokio))
    };
    for i in [model, tokio] {
        if let Some(server) = &servers[i].1 {
            server.pause();
        }
    }
    result
}

/// What one measurement drives: the load generators' arguments and the sample's labels.
#[derive(Debug)]
struct Load {
    conns: u32,
    size: u32,
    run: u32,
    pair: Option<LabModel>,
}

/// Drives each server in `legs` with its own `c10k load echo` child, all started together
/// (in the order of `legs`) on the load CPU with the same arguments, and returns one
/// sample per server, in the order of `legs`. Each server's CPU time is read just before
/// the generators start and again as soon as its own generator exits (polled every 2 ms),
/// so a server that finishes first is not charged for the other's tail.
fn measure_together(
    exe: &std::path::Path,
    settings: &Settings,
    legs: &[(&child::Server, LabModel)],
    load: &Load,
) -> Vec<Sample> {
    let limit = Duration::from_secs_f64(settings.duration_secs + 30.0);
    let commands: Vec<Command> = legs
        .iter()
        .map(|(server, _)| {
            let mut command = Command::new(exe);
            command.args([
                "load".to_string(),
                "echo".into(),
                "--target".into(),
                server.addr.to_string(),
                "-c".into(),
                load.conns.to_string(),
                "-d".into(),
                format!("{}", settings.duration_secs),
                "--size".into(),
                load.size.to_string(),
                "--threads".into(),
                "1".into(),
                // The lab counts and shows the errors itself: they must not fail the sample.
                "--max-errors".into(),
                u64::MAX.to_string(),
                "--json".into(),
            ]);
            command
        })
        .collect();
    let before: Vec<_> = legs
        .iter()
        .map(|(server, _)| procfs::read_cpu(server.pid()))
        .collect();
    let deadline = std::time::Instant::now() + limit;
    let mut running: Vec<Result<child::Bounded, String>> = commands
        .into_iter()
        .map(|mut command| child::Bounded::start(&mut command, settings.load_cpu))
        .collect();
    let mut after: Vec<Option<std::io::Result<procfs::CpuReading>>> =
        legs.iter().map(|_| None).collect();
    // Ctrl-C: the generators are killed at once (their samples say `failed: interrupted`).
    let mut deadline = deadline;
    while after.iter().any(Option::is_none) {
        if shutdown::requested() {
            deadline = deadline.min(std::time::Instant::now());
        }
        let past = std::time::Instant::now() >= deadline;
        for ((reading, load), (server, _)) in after.iter_mut().zip(&mut running).zip(legs) {
            let done = match load {
                Ok(child) => past || child.exited(),
                Err(_) => true,
            };
            if reading.is_none() && done {
                *reading = Some(procfs::read_cpu(server.pid()));
            }
        }
        if after.iter().any(Option::is_none) {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    running
        .into_iter()
        .zip(before)
        .zip(after)
        .zip(legs)
        .map(|(((child, before), after), &(_, model))| {
            let outcome = child.and_then(|c| c.finish(deadline, limit));
            let outcome = match outcome {
                Err(_) if shutdown::requested() => Err("interrupted".to_owned()),
                outcome => outcome,
            };
            let after = after.expect("read when its generator exited");
            let mut sample = sample_of(model, load, outcome);
            if sample.status == "ok" {
                if let (Ok(before), Ok(after)) = (before, after) {
                    let (secs, source) = procfs::cpu_delta(&before, &after);
                    sample.server_cpu_secs = secs;
                    sample.cpu_source = Some(source);
                    if sample.requests > 0 {
                        sample.cpu_us_per_request = secs * 1e6 / sample.requests as f64;
                    }
                }
            }
            sample
        })
        .collect()
}

/// A sample from a load generator's outcome (its JSON report or why it failed); CPU time
/// is the caller's.
fn sample_of(model: LabModel, load: &Load, outcome: Result<String, String>) -> Sample {
    let mut sample = empty_sample(model, load.conns, load.size, load.run, "ok".into());
    sample.pair = load.pair;
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
    sample
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(models: &[LabModel], side_by_side: bool) -> Args {
        Args {
            quick: true,
            models: models.to_vec(),
            conns: Vec::new(),
            sizes: Vec::new(),
            duration: None,
            runs: None,
            idle: None,
            out: PathBuf::from("unused"),
            json: false,
            side_by_side,
            sequential: !side_by_side,
        }
    }

    #[test]
    fn side_by_side_always_measures_tokio_once() {
        let s = Settings::from_args(&args(
            &[LabModel::Io(IoModel::Epoll), LabModel::Io(IoModel::Epoll)],
            true,
        ));
        assert_eq!(s.mode, Mode::SideBySide);
        assert_eq!(s.models, [LabModel::Io(IoModel::Epoll), LabModel::Tokio]);
        let s = Settings::from_args(&args(&[LabModel::Tokio, LabModel::Io(IoModel::Poll)], true));
        assert_eq!(s.models, [LabModel::Tokio, LabModel::Io(IoModel::Poll)]);
        // Sequential runs measure what was asked; --quick keeps its defaults either way.
        let s = Settings::from_args(&args(&[LabModel::Io(IoModel::Epoll)], false));
        assert_eq!(s.mode, Mode::Sequential);
        assert_eq!(s.models, [LabModel::Io(IoModel::Epoll)]);
        assert_eq!((s.conns, s.runs), (vec![100, 1000], 3));
    }

    #[test]
    fn quick_is_side_by_side_unless_sequential_is_asked() {
        let mut a = args(&[], false);
        a.sequential = false;
        let s = Settings::from_args(&a);
        assert_eq!(s.mode, Mode::SideBySide);
        assert_eq!(s.models, LabModel::ALL);
        assert_eq!((s.runs, s.duration_secs), (3, 1.5));
        a.sequential = true;
        assert_eq!(Settings::from_args(&a).mode, Mode::Sequential);
        // A full run stays sequential unless asked.
        a.quick = false;
        a.sequential = false;
        assert_eq!(Settings::from_args(&a).mode, Mode::Sequential);
    }

    #[test]
    fn only_servers_that_spin_when_idle_are_paused() {
        // Pausing a runtime server mid-poll shows as a false long-poll report in its log.
        let paused: Vec<_> = LabModel::ALL
            .into_iter()
            .filter(|m| m.spins_when_idle())
            .collect();
        assert_eq!(paused, [LabModel::Io(IoModel::Nonblocking)]);
    }
}
