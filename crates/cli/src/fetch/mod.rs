//! `c10k fetch`: fetch many `http://` and `https://` URLs concurrently on the c10k runtime — the
//! tutorials' crawler, with keep-alive, redirects, retries, timeouts, a progress bar and a
//! summary.
//!
//! The HTTP client (URLs, the keep-alive pool, redirects, retries, timeouts, TLS, response
//! heads and body framing) is the library `c10k-http-client` (`c10k::http_client`); this
//! program is the batch around it:
//!
//! | file | role |
//! |---|---|
//! | `mod.rs` | the URL list, the workers, saving bodies, the exit code |
//! | `names.rs` | safe file names for `-o DIR` |
//! | `summary.rs` | totals, latency percentiles, table and JSON |
//!
//! Concurrency: `-c N` worker tasks take the next URL from a shared counter until none is
//! left, so at most N requests are in flight and at most N idle connections are kept (per
//! host and in all).
//!
//! Exit code. A URL *fails* when no final response arrived (a bad URL, a line of `-i FILE`
//! that is not UTF-8, a connection error, a timeout, a malformed response, a bad or endless
//! redirect); it *ends in an error status* when its final response is 400 or more and not
//! accepted by `--ok-status`. Either is reported on stderr at once and the batch goes on;
//! the exit code is 1 when any URL failed or ended in an error status, after the complete
//! summary. Ctrl-C stops starting URLs, lets those in flight finish, prints the summary of
//! what was fetched, and exits with 1 (a second Ctrl-C exits at once).

mod names;
mod summary;

use std::fs::File;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args as ClapArgs;

use c10k::http_client::{self as http, Client, Trust, Url};

use crate::errors::usage;
use summary::{Outcome, Report, Summary};

/// Most redirects followed for one URL (the help text says it).
const MAX_REDIRECTS: u32 = 5;

/// Fetch many HTTP/1.1 URLs (http:// and https://) concurrently.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "http:// and https:// URLs; https is verified against the system's root \
certificates unless --ca FILE names the ones to trust, or --insecure skips verification. Redirects are followed (at most 5), resolved as \
RFC 3986 says; a GET that fails before any response byte is retried. A URL that failed (no \
final response) or ended in an error status (400 or more, unless listed in --ok-status) is \
reported on stderr and the batch goes on; the exit code is 1 if any did. A line of -i FILE \
that is not valid UTF-8 is reported with its line number and counts as failed. The summary \
goes to stdout: a table, or JSON with --json.\n\
Ctrl-C starts no new URL, lets those in flight finish, and prints the summary."
)]
pub(crate) struct Args {
    /// URLs to fetch.
    #[arg(value_name = "URL")]
    pub(crate) urls: Vec<String>,
    /// Read more URLs from FILE, one per line (`-` for stdin; blank lines and `#` comments
    /// are skipped).
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(short = 'c', long = "concurrency", default_value_t = 10, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) concurrency: u32,
    /// Save each body under DIR (file names derived from the URLs).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub(crate) output: Option<PathBuf>,
    /// Seconds one request (connect, send, full response) may take.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub(crate) timeout: f64,
    /// Retries of a request whose connection failed before any response byte.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub(crate) retries: u32,
    /// Final statuses of 400 or more to accept as success (comma-separated, e.g.
    /// `--ok-status 404,410`); any other status of 400 or more makes the exit code 1.
    #[arg(long = "ok-status", value_name = "CODE", value_delimiter = ',',
          value_parser = clap::value_parser!(u16).range(100..=999))]
    pub(crate) ok_status: Vec<u16>,
    /// Print the results and summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// The runtime's IO backend (default: epoll, the runtime's default on Linux).
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub(crate) backend: Option<crate::model::RuntimeBackend>,
    /// For https://, trust only the certificates of this PEM file (instead of the system's
    /// root certificates).
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub(crate) ca: Option<PathBuf>,
    /// For https://, accept any certificate for any name (no verification: tests only).
    #[arg(long)]
    pub(crate) insecure: bool,
}

/// Runs `c10k fetch`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        return Err(usage("--timeout must be a positive number of seconds"));
    }
    let mut inputs: Vec<Input> = args.urls.iter().map(|u| Input::url(u)).collect();
    if let Some(path) = &args.input {
        inputs.extend(read_list(path)?);
    }
    if inputs.is_empty() {
        return Err(usage("no URL given (pass URLs or -i FILE)"));
    }
    if let Some(dir) = &args.output {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create {}: {}",
                dir.display(),
                crate::errors::short(&e)
            )
        })?;
    }
    let trust = match (&args.ca, args.insecure) {
        // Read now, so that a bad file is a usage error before anything starts.
        (Some(path), _) => Trust::Certificates(
            crate::tls::load_certs(path).map_err(|e| usage(format!("--ca {e}")))?,
        ),
        (None, true) => Trust::Insecure,
        (None, false) => Trust::System,
    };
    let backend = crate::model::RuntimeBackend::resolve(args.backend)?;
    crate::sys::raise_fd_limit();
    crate::shutdown::install()?;
    let progress = progress_bar(inputs.len() as u64);
    let rt = c10k::runtime::Runtime::builder()
        .current_thread()
        .backend(backend)
        .thread_name("c10k-fetch")
        .build()?;
    let timeout = Duration::from_secs_f64(args.timeout);
    let batch = Arc::new(Batch {
        inputs,
        next: AtomicUsize::new(0),
        results: Mutex::new(Vec::new()),
        client: Client::builder()
            // At most N requests are in flight, so N idle connections are all that can be
            // reused, per host and in all (a crawl over many hosts keeps no more open).
            .max_idle_per_host(args.concurrency as usize)
            .max_idle_total(args.concurrency as usize)
            .timeout(timeout)
            .retries(args.retries)
            .max_redirects(MAX_REDIRECTS)
            .user_agent(concat!("c10k-fetch/", env!("CARGO_PKG_VERSION")))
            .trust(trust)
            .build(),
        names: Mutex::new(names::Names::default()),
        ok_status: args.ok_status.clone(),
        output: args.output.clone(),
        progress,
    });
    let started = Instant::now();
    let workers = (args.concurrency as usize).min(batch.inputs.len());
    rt.block_on(async {
        let handles: Vec<_> = (0..workers)
            .map(|_| c10k::runtime::spawn(worker(batch.clone())))
            .collect();
        for h in handles {
            h.await
                .map_err(|e| anyhow::anyhow!("a fetch worker failed: {e}"))?;
        }
        anyhow::Ok(())
    })?;
    let elapsed = started.elapsed();
    batch.progress.finish_and_clear();
    let mut results = std::mem::take(&mut *crate::sync::lock(&batch.results));
    results.sort_by_key(|(i, _)| *i);
    let outcomes: Vec<Outcome> = results.into_iter().map(|(_, o)| o).collect();
    let mut summary = Summary::new(&outcomes, elapsed, &args.ok_status);
    summary.not_started = (batch.inputs.len() - outcomes.len()) as u64;
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(
            &mut out,
            &Report {
                results: &outcomes,
                summary: &summary,
            },
        )?;
        writeln!(out)?;
    } else {
        summary.write_table(&mut out)?;
    }
    out.flush()?;
    if summary.not_started > 0 {
        return Err(anyhow::anyhow!(
            "interrupted: {} of {} URLs not fetched",
            summary.not_started,
            batch.inputs.len()
        ));
    }
    if summary.failed > 0 || summary.http_errors > 0 {
        // Exit 1 after a complete report; each URL was already named on stderr.
        let mut why = Vec::new();
        if summary.failed > 0 {
            why.push(format!(
                "{} of {} URLs failed",
                summary.failed, summary.urls
            ));
        }
        if summary.http_errors > 0 {
            why.push(format!(
                "{} of {} ended in an error status (accept one with --ok-status)",
                summary.http_errors, summary.urls
            ));
        }
        return Err(anyhow::anyhow!("{}", why.join("; ")));
    }
    Ok(())
}

/// One URL of the batch, as given.
#[derive(Debug)]
struct Input {
    /// The URL (for a line that is not UTF-8, its lossy decoding).
    text: String,
    /// Why it cannot even be tried (a line of `-i FILE` that is not UTF-8).
    bad: Option<String>,
}

impl Input {
    fn url(text: &str) -> Input {
        Input {
            text: text.to_owned(),
            bad: None,
        }
    }
}

/// Shared by the workers.
#[derive(Debug)]
struct Batch {
    inputs: Vec<Input>,
    ok_status: Vec<u16>,
    next: AtomicUsize,
    results: Mutex<Vec<(usize, Outcome)>>,
    client: Client,
    names: Mutex<names::Names>,
    output: Option<PathBuf>,
    progress: indicatif::ProgressBar,
}

/// Takes URLs until none is left.
async fn worker(batch: Arc<Batch>) {
    // After Ctrl-C, no new URL is started; the ones in flight finish.
    while !crate::shutdown::requested() {
        let i = batch.next.fetch_add(1, Ordering::Relaxed);
        let Some(input) = batch.inputs.get(i) else {
            return;
        };
        let outcome = fetch_one(&batch, input).await;
        let input = &input.text;
        if let Some(error) = &outcome.error {
            let line = format!("c10k: fetch {input}: {error}");
            batch.progress.suspend(|| eprintln!("{line}"));
        } else if let Some(status) = outcome
            .status
            .filter(|s| summary::is_error(*s, &batch.ok_status))
        {
            let line = format!("c10k: fetch {input}: status {status}");
            batch.progress.suspend(|| eprintln!("{line}"));
        }
        batch.progress.inc(1);
        crate::sync::lock(&batch.results).push((i, outcome));
    }
}

async fn fetch_one(batch: &Batch, input: &Input) -> Outcome {
    let mut outcome = Outcome {
        url: input.text.clone(),
        status: None,
        final_url: None,
        bytes: 0,
        redirects: 0,
        retries: 0,
        ms: 0.0,
        saved: None,
        error: None,
        requests: 0,
    };
    if let Some(bad) = &input.bad {
        outcome.error = Some(bad.clone());
        return outcome;
    }
    let url = match Url::parse(&input.text) {
        Ok(url) => url,
        Err(e) => {
            outcome.error = Some(e.to_string());
            return outcome;
        }
    };
    let started = Instant::now();
    let mut file_sink = batch.output.as_ref().map(|dir| {
        let name = crate::sync::lock(&batch.names).unique(&url);
        FileSink {
            path: dir.join(name),
            file: None,
        }
    });
    match batch.client.get(&url).await {
        Ok(mut response) => {
            let attempts = response.attempts();
            outcome.requests = attempts.requests;
            outcome.redirects = attempts.redirects;
            outcome.retries = attempts.retries;
            match read_body(&mut response, file_sink.as_mut()).await {
                Ok(()) => {
                    outcome.status = Some(response.status());
                    outcome.bytes = response.received();
                    if attempts.redirects > 0 {
                        outcome.final_url = Some(response.url().to_string());
                    }
                }
                Err(e) => outcome.error = Some(e),
            }
        }
        Err(e) => {
            let attempts = e.attempts();
            outcome.requests = attempts.requests;
            outcome.redirects = attempts.redirects;
            outcome.retries = attempts.retries;
            outcome.error = Some(describe(&e));
        }
    }
    outcome.ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(sink) = &mut file_sink {
        outcome.saved = finish_file(sink, outcome.error.is_none());
    }
    outcome
}

/// Reads the final response's body into the file (or only counts it).
async fn read_body(
    response: &mut http::Response,
    mut sink: Option<&mut FileSink>,
) -> Result<(), String> {
    let save_error = |e: io::Error| format!("cannot save the body: {}", crate::errors::short(&e));
    if let Some(sink) = &mut sink {
        sink.start().map_err(save_error)?;
    }
    loop {
        match response.chunk().await {
            Ok(Some(piece)) => {
                if let Some(sink) = &mut sink {
                    sink.write(piece).map_err(save_error)?;
                }
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err(describe(&e)),
        }
    }
}

/// A client error in this program's words: IO errors short, a hint for missing roots.
fn describe(e: &http::Error) -> String {
    match e.kind() {
        http::ErrorKind::Io(io) => crate::errors::short(io),
        http::ErrorKind::Tls(why) if why.starts_with("no system root certificates") => {
            format!("{e}; name a CA with --ca FILE, or skip verification with --insecure")
        }
        _ => e.to_string(),
    }
}

/// Writes the final body to `PATH.part`, renamed to `PATH` when the fetch succeeded.
#[derive(Debug)]
struct FileSink {
    path: PathBuf,
    file: Option<io::BufWriter<File>>,
}

impl FileSink {
    fn part(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".part");
        PathBuf::from(p)
    }

    /// Creates the file, once the final response arrived.
    fn start(&mut self) -> io::Result<()> {
        self.file = Some(io::BufWriter::new(File::create(self.part())?));
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(bytes),
            None => Err(io::Error::other("body before the response head")),
        }
    }
}

/// Completes or removes the saved body; returns its path when kept.
fn finish_file(sink: &mut FileSink, ok: bool) -> Option<String> {
    let file = sink.file.take()?;
    let part = sink.part();
    // Flushed, not synced: the bodies are a crawl's output, not a database, and an fsync
    // per file would stall the runtime thread.
    let flushed = file.into_inner().map_err(|e| e.into_error());
    if ok && flushed.is_ok() && std::fs::rename(&part, &sink.path).is_ok() {
        return Some(sink.path.display().to_string());
    }
    let _ = std::fs::remove_file(&part);
    None
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// URLs from a file (or stdin for `-`), skipping blank lines and `#` comments. A line that
/// is not valid UTF-8 becomes an input that fails with its line number; the others are
/// still fetched.
fn read_list(path: &std::path::Path) -> anyhow::Result<Vec<Input>> {
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(io::BufReader::new(io::stdin()))
    } else {
        let file = File::open(path).map_err(|e| {
            usage(format!(
                "-i {}: {}",
                path.display(),
                crate::errors::short(&e)
            ))
        })?;
        Box::new(io::BufReader::new(file))
    };
    let mut urls = Vec::new();
    for (number, line) in reader.split(b'\n').enumerate() {
        let line = line.map_err(|e| {
            anyhow::anyhow!("reading {}: {}", path.display(), crate::errors::short(&e))
        })?;
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        urls.push(match std::str::from_utf8(line) {
            Ok(text) => Input::url(text),
            Err(_) => Input {
                text: String::from_utf8_lossy(line).into_owned(),
                bad: Some(format!(
                    "line {} of {}: not valid UTF-8",
                    number + 1,
                    path.display()
                )),
            },
        });
    }
    Ok(urls)
}
