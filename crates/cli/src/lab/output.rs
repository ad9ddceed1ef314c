//! The lab's results: medians, ratios against tokio, and the files of a run directory.
//!
//! A sequential lab run reports medians over runs and their ratios against tokio's
//! (`Row`); a side-by-side run reports the statistics of per-run ratios (`PairRow`, see
//! `pairs`). The files have the same names in both modes; the tables differ.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::pairs::{self, Pair, PairRow, RatioStats};
use crate::model::IoModel;

use super::{LabModel, Mode, ModelInfo, Sample, Settings};

/// Figures of one model relative to tokio in the same lab run (`> 1` means more).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Ratios {
    pub(crate) requests_per_sec: Option<f64>,
    pub(crate) p99: Option<f64>,
    pub(crate) cpu_per_request: Option<f64>,
    pub(crate) memory_per_conn: Option<f64>,
}

/// One line of the table: a model at a connection count and payload size, medians of runs.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) model: LabModel,
    pub(crate) conns: u32,
    pub(crate) size: u32,
    pub(crate) status: String,
    pub(crate) runs: usize,
    pub(crate) requests_per_sec: Option<f64>,
    pub(crate) p50_us: Option<f64>,
    pub(crate) p99_us: Option<f64>,
    pub(crate) cpu_us_per_request: Option<f64>,
    pub(crate) bytes_per_idle_conn: Option<f64>,
    pub(crate) errors: u64,
    pub(crate) vs_tokio: Ratios,
}

/// Everything the lab reports.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Summary {
    pub(crate) settings: Settings,
    pub(crate) models: Vec<ModelInfo>,
    /// Sequential: medians per model and cell (empty side by side).
    pub(crate) rows: Vec<Row>,
    /// Side by side: per-run ratio statistics per model and cell (empty sequentially).
    pub(crate) pairs: Vec<PairRow>,
    /// Side by side: how noisy one run is, as a fraction ([`typical_spread`]).
    pub(crate) one_run_spread: Option<f64>,
}

/// The median of `values` (the mean of the middle two for an even count).
pub(crate) fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// The summary of a lab run: medians over runs and ratios against tokio (sequential), or
/// the statistics of the per-run ratios (side by side).
pub(crate) fn summarize(
    settings: &Settings,
    infos: &[ModelInfo],
    samples: &[Sample],
    pairs: &[Pair],
) -> Summary {
    match settings.mode {
        Mode::Sequential => Summary {
            settings: settings.clone(),
            models: infos.to_vec(),
            rows: summarize_rows(settings, infos, samples),
            pairs: Vec::new(),
            one_run_spread: None,
        },
        Mode::SideBySide => {
            let pairs = pairs::summarize_pairs(settings, infos, samples, pairs);
            Summary {
                settings: settings.clone(),
                models: infos.to_vec(),
                rows: Vec::new(),
                one_run_spread: typical_spread(&pairs),
                pairs,
            }
        }
    }
}

/// Medians over runs and ratios against tokio.
fn summarize_rows(settings: &Settings, infos: &[ModelInfo], samples: &[Sample]) -> Vec<Row> {
    let mut rows = Vec::new();
    for info in infos {
        for &conns in &settings.conns {
            for &size in &settings.sizes {
                let cell: Vec<&Sample> = samples
                    .iter()
                    .filter(|s| s.model == info.model && s.conns == conns && s.size == size)
                    .collect();
                let ok: Vec<&&Sample> = cell
                    .iter()
                    .filter(|s| s.status == "ok" && s.requests > 0)
                    .collect();
                let of = |f: fn(&Sample) -> f64| median(ok.iter().map(|s| f(s)).collect());
                let status = if ok.is_empty() {
                    cell.iter()
                        .map(|s| s.status.clone())
                        .find(|s| s != "ok")
                        .unwrap_or_else(|| "failed: no request completed".into())
                } else {
                    "ok".into()
                };
                rows.push(Row {
                    model: info.model,
                    conns,
                    size,
                    status,
                    runs: ok.len(),
                    requests_per_sec: of(|s| s.requests_per_sec),
                    p50_us: of(|s| s.p50_us),
                    p99_us: of(|s| s.p99_us),
                    cpu_us_per_request: of(|s| s.cpu_us_per_request),
                    bytes_per_idle_conn: info.bytes_per_idle_conn,
                    errors: cell.iter().map(|s| s.errors).sum(),
                    vs_tokio: Ratios::default(),
                });
            }
        }
    }
    let reference: Vec<Row> = rows
        .iter()
        .filter(|r| r.model == LabModel::Tokio)
        .cloned()
        .collect();
    for row in &mut rows {
        if let Some(t) = reference
            .iter()
            .find(|t| t.conns == row.conns && t.size == row.size)
        {
            row.vs_tokio = Ratios {
                requests_per_sec: ratio(row.requests_per_sec, t.requests_per_sec),
                p99: ratio(row.p99_us, t.p99_us),
                cpu_per_request: ratio(row.cpu_us_per_request, t.cpu_us_per_request),
                memory_per_conn: ratio(row.bytes_per_idle_conn, t.bytes_per_idle_conn),
            };
        }
    }
    rows
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.decimals$}"))
}

fn times(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.2}"))
}

/// Longest status shown in a table cell (the files keep the whole text).
const STATUS_CHARS: usize = 60;

fn short_status(status: &str) -> String {
    if status.chars().count() <= STATUS_CHARS {
        return status.to_owned();
    }
    let cut: String = status.chars().take(STATUS_CHARS - 1).collect();
    format!("{cut}…")
}

/// A markdown table whose columns are padded to their widest cell, so that it reads in a
/// terminal as well as rendered. Rows with a status instead of figures (`Line::Status`) are
/// left out of the widths and not padded.
struct Table {
    header: Vec<&'static str>,
    /// Right-aligned columns (figures).
    right: Vec<bool>,
    lines: Vec<Line>,
}

enum Line {
    Cells(Vec<String>),
    /// The first two cells, then the status across the others.
    Status([String; 2], String),
}

impl Table {
    fn new(columns: &[(&'static str, bool)]) -> Table {
        Table {
            header: columns.iter().map(|c| c.0).collect(),
            right: columns.iter().map(|c| c.1).collect(),
            lines: Vec::new(),
        }
    }

    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for line in &self.lines {
            let cells: Vec<&String> = match line {
                Line::Cells(cells) => cells.iter().collect(),
                Line::Status(first, _) => first.iter().collect(),
            };
            for (w, c) in widths.iter_mut().zip(cells) {
                *w = (*w).max(c.chars().count());
            }
        }
        let pad = |text: &str, i: usize| {
            let fill = widths[i].saturating_sub(text.chars().count());
            if self.right[i] {
                format!("{}{text}", " ".repeat(fill))
            } else {
                format!("{text}{}", " ".repeat(fill))
            }
        };
        let header: Vec<String> = self
            .header
            .iter()
            .enumerate()
            .map(|(i, h)| pad(h, i))
            .collect();
        writeln!(out, "| {} |", header.join(" | "))?;
        let rule: Vec<String> = widths
            .iter()
            .zip(&self.right)
            .map(|(&w, &right)| {
                if right {
                    format!("{}:", "-".repeat(w + 1))
                } else {
                    "-".repeat(w + 2)
                }
            })
            .collect();
        writeln!(out, "|{}|", rule.join("|"))?;
        for line in &self.lines {
            match line {
                Line::Cells(cells) => {
                    let cells: Vec<String> =
                        cells.iter().enumerate().map(|(i, c)| pad(c, i)).collect();
                    writeln!(out, "| {} |", cells.join(" | "))?;
                }
                Line::Status([a, b], status) => {
                    let empty = " |".repeat(self.header.len().saturating_sub(2));
                    writeln!(
                        out,
                        "| {} | {} | {}{empty}",
                        pad(a, 0),
                        pad(b, 1),
                        short_status(status)
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// A row with a status instead of figures; a model unavailable in every cell gets one row
/// (`all`), not one per cell.
fn push_status(table: &mut Table, model: LabModel, head: [String; 2], status: &str) {
    if status.starts_with("unavailable") && !status.contains("descriptors") {
        let seen = table
            .lines
            .iter()
            .any(|l| matches!(l, Line::Status([m, _], s) if m == model.name() && s == status));
        if !seen {
            let [name, _] = head;
            table
                .lines
                .push(Line::Status([name, "all".into()], status.to_owned()));
        }
        return;
    }
    table.lines.push(Line::Status(head, status.to_owned()));
}

/// `1 run`, `3 paired runs`.
pub(crate) fn runs(n: u32, kind: &str) -> String {
    format!("{n} {kind}run{}", if n == 1 { "" } else { "s" })
}

fn cell(conns: u32, size: u32) -> String {
    format!("{conns} × {size}")
}

/// The markdown table (also `results.md`).
pub(crate) fn write_table(out: &mut impl Write, summary: &Summary) -> io::Result<()> {
    if summary.settings.mode == Mode::SideBySide {
        return write_pair_table(out, summary);
    }
    writeln!(
        out,
        "## One server at a time (sequential): medians of {}; ×tokio = model ÷ tokio\n\n\
         CPU µs: server CPU per request. Lower is better for p99 and CPU (↓), higher for\n\
         req/s (↑). Ratios of separate runs move by tens of percent on a shared machine:\n\
         measure side by side (`--side-by-side`) to tell a few percent apart.\n",
        runs(summary.settings.runs, "")
    )?;
    let mut table = Table::new(&[
        ("model", false),
        ("conns × B", false),
        ("req/s", true),
        ("×tokio ↑", true),
        ("p99 µs", true),
        ("×tokio ↓", true),
        ("CPU µs", true),
        ("×tokio ↓", true),
        ("errors", true),
    ]);
    for r in &summary.rows {
        let head = [r.model.name().to_owned(), cell(r.conns, r.size)];
        if r.status != "ok" {
            push_status(&mut table, r.model, head, &r.status);
            continue;
        }
        let r_t = &r.vs_tokio;
        let [model, cell] = head;
        table.lines.push(Line::Cells(vec![
            model,
            cell,
            num(r.requests_per_sec, 0),
            times(r_t.requests_per_sec),
            num(r.p99_us, 0),
            times(r_t.p99),
            num(r.cpu_us_per_request, 2),
            times(r_t.cpu_per_request),
            r.errors.to_string(),
        ]));
    }
    table.write(out)?;
    write_memory_table(out, summary)
}

/// A ratio with three decimals below 10 and fewer above, so that a column stays narrow
/// (`0.997`, `12.3`, `140`).
fn ratio_text(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// `median [min–max]` of per-run ratios.
fn spread(stats: Option<RatioStats>) -> String {
    stats.map_or_else(
        || "–".into(),
        |s| {
            format!(
                "{} [{}–{}]",
                ratio_text(s.median),
                ratio_text(s.min),
                ratio_text(s.max)
            )
        },
    )
}

fn median_of(stats: Option<RatioStats>) -> String {
    stats.map_or_else(|| "–".into(), |s| ratio_text(s.median))
}

/// How noisy one run is: the median over the table's cells of the half-width of their
/// [min–max] range of per-run ratios, relative to the median (CPU per request and p99).
/// `None` with fewer than two runs per cell.
pub(crate) fn typical_spread(rows: &[PairRow]) -> Option<f64> {
    let halves: Vec<f64> = rows
        .iter()
        .filter(|r| r.status == "ok" && r.runs >= 2)
        .flat_map(|r| [r.cpu_per_request, r.p99])
        .flatten()
        .filter(|s| s.median > 0.0)
        .map(|s| (s.max - s.min) / 2.0 / s.median)
        .collect();
    median(halves)
}

/// The side-by-side tables: per-run ratios model ÷ tokio, then memory (measured alone).
fn write_pair_table(out: &mut impl Write, summary: &Summary) -> io::Result<()> {
    writeln!(
        out,
        "## Side by side with tokio: model ÷ tokio, both driven at the same time\n\n\
         1 = tokio. Lower is better for CPU/req, p99 and p50 (↓), higher for req/s (↑).\n\
         Each figure is the median of {} [min–max over the runs].\n",
        runs(summary.settings.runs, "paired ")
    )?;
    let mut table = Table::new(&[
        ("model", false),
        ("conns × B", false),
        ("CPU/req ↓", true),
        ("p99 ↓", true),
        ("p50 ↓", true),
        ("req/s ↑", true),
        ("runs", true),
    ]);
    for r in &summary.pairs {
        let head = [r.model.name().to_owned(), cell(r.conns, r.size)];
        if r.status != "ok" {
            push_status(&mut table, r.model, head, &r.status);
            continue;
        }
        let [model, cell] = head;
        table.lines.push(Line::Cells(vec![
            model,
            cell,
            spread(r.cpu_per_request),
            spread(r.p99),
            median_of(r.p50),
            median_of(r.requests_per_sec),
            r.runs.to_string(),
        ]));
    }
    table.write(out)?;
    match summary.one_run_spread {
        Some(s) => writeln!(
            out,
            "\nNoise of one run: its ratios spread ±{:.1} % around the median of their cell \
             (typical over the\ncells above, CPU/req and p99); a range that includes 1 does not \
             tell the model from tokio.",
            s * 100.0
        )?,
        None => writeln!(
            out,
            "\nOne run per cell: no spread to tell its noise (use --runs 3 or more)."
        )?,
    }
    write_memory_table(out, summary)
}

/// Memory per idle connection, each server measured alone at startup.
fn write_memory_table(out: &mut impl Write, summary: &Summary) -> io::Result<()> {
    writeln!(
        out,
        "\n## Memory per idle connection (each server alone, at startup; lower is better)\n"
    )?;
    let mut table = Table::new(&[
        ("model", false),
        ("idle conns", true),
        ("KiB/idle conn ↓", true),
        ("×tokio ↓", true),
    ]);
    let tokio = summary
        .models
        .iter()
        .find(|m| m.model == LabModel::Tokio)
        .and_then(|m| m.bytes_per_idle_conn);
    for m in &summary.models {
        let head = [m.model.name().to_owned(), m.idle_conns.to_string()];
        if m.status != "ok" {
            table.lines.push(Line::Status(head, m.status.clone()));
            continue;
        }
        let [model, idle] = head;
        table.lines.push(Line::Cells(vec![
            model,
            idle,
            num(m.bytes_per_idle_conn.map(|b| b / 1024.0), 2),
            times(ratio(m.bytes_per_idle_conn, tokio)),
        ]));
    }
    table.write(out)
}

/// `YYYY-MM-DD-HHMMSS` in UTC, for the run directory's name.
pub(crate) fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

fn csv_field(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.4}"))
}

/// Writes every file of the run directory.
pub(crate) fn write_all(
    dir: &Path,
    settings: &Settings,
    infos: &[ModelInfo],
    samples: &[Sample],
    pairs: &[Pair],
    summary: &Summary,
    command_line: &str,
) -> anyhow::Result<()> {
    let mut md = Vec::new();
    write_table(&mut md, summary)?;
    std::fs::write(dir.join("results.md"), md)?;

    let mut runs = String::from("model,conns,size,run,status,requests,requests_per_sec,p50_us,p99_us,server_cpu_secs,cpu_us_per_request,errors,error_kinds,pair,cpu_source\n");
    for s in samples {
        let kinds: Vec<String> = s
            .error_kinds
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(
            runs,
            "{},{},{},{},\"{}\",{},{:.1},{:.1},{:.1},{:.6},{:.4},{},\"{}\",{},{}",
            s.model.name(),
            s.conns,
            s.size,
            s.run,
            s.status.replace('"', "'"),
            s.requests,
            s.requests_per_sec,
            s.p50_us,
            s.p99_us,
            s.server_cpu_secs,
            s.cpu_us_per_request,
            s.errors,
            kinds.join("; ").replace('"', "'"),
            s.pair.map_or("", LabModel::name),
            s.cpu_source.map_or("", |c| c.name()),
        );
    }
    std::fs::write(dir.join("runs.csv"), runs)?;

    let csv = match settings.mode {
        Mode::Sequential => summary_csv(summary),
        Mode::SideBySide => pair_summary_csv(summary),
    };
    std::fs::write(dir.join("summary.csv"), csv)?;

    #[derive(Serialize)]
    struct Everything<'a> {
        summary: &'a Summary,
        samples: &'a [Sample],
        /// Side by side: every pair's per-run ratios.
        pairs: &'a [Pair],
    }
    let json = serde_json::to_string_pretty(&Everything {
        summary,
        samples,
        pairs,
    })?;
    std::fs::write(dir.join("results.json"), json + "\n")?;

    match settings.mode {
        Mode::Sequential => super::chart::draw(&dir.join("chart.svg"), summary)?,
        Mode::SideBySide => super::chart::draw_ratios(&dir.join("chart.svg"), summary)?,
    }
    std::fs::write(dir.join("setup.md"), setup(settings, infos, command_line))?;
    Ok(())
}

/// `summary.csv` of a sequential run: medians and ratios of medians.
fn summary_csv(summary: &Summary) -> String {
    let mut csv = String::from("model,conns,size,status,runs,requests_per_sec,p50_us,p99_us,cpu_us_per_request,bytes_per_idle_conn,errors,rps_vs_tokio,p99_vs_tokio,cpu_vs_tokio,memory_vs_tokio\n");
    for r in &summary.rows {
        let _ = writeln!(
            csv,
            "{},{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{}",
            r.model.name(),
            r.conns,
            r.size,
            r.status.replace('"', "'"),
            r.runs,
            csv_field(r.requests_per_sec),
            csv_field(r.p50_us),
            csv_field(r.p99_us),
            csv_field(r.cpu_us_per_request),
            csv_field(r.bytes_per_idle_conn),
            r.errors,
            csv_field(r.vs_tokio.requests_per_sec),
            csv_field(r.vs_tokio.p99),
            csv_field(r.vs_tokio.cpu_per_request),
            csv_field(r.vs_tokio.memory_per_conn)
        );
    }
    csv
}

/// `summary.csv` of a side-by-side run: the statistics of the per-run ratios, and each
/// server's medians (side by side, so not comparable with a sequential run's).
fn pair_summary_csv(summary: &Summary) -> String {
    let mut csv = String::from(
        "model,conns,size,status,runs,\
         cpu_ratio_median,cpu_ratio_min,cpu_ratio_max,\
         p99_ratio_median,p99_ratio_min,p99_ratio_max,\
         p50_ratio_median,p50_ratio_min,p50_ratio_max,\
         rps_ratio_median,rps_ratio_min,rps_ratio_max,memory_vs_tokio,\
         cpu_us_per_request,tokio_cpu_us_per_request,p99_us,tokio_p99_us,\
         requests_per_sec,tokio_requests_per_sec,errors\n",
    );
    let stats = |s: Option<RatioStats>| {
        [s.map(|s| s.median), s.map(|s| s.min), s.map(|s| s.max)]
            .map(csv_field)
            .join(",")
    };
    for r in &summary.pairs {
        let _ = writeln!(
            csv,
            "{},{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.model.name(),
            r.conns,
            r.size,
            r.status.replace('"', "'"),
            r.runs,
            stats(r.cpu_per_request),
            stats(r.p99),
            stats(r.p50),
            stats(r.requests_per_sec),
            csv_field(r.memory_per_conn),
            csv_field(r.model_figures.cpu_us_per_request),
            csv_field(r.tokio_figures.cpu_us_per_request),
            csv_field(r.model_figures.p99_us),
            csv_field(r.tokio_figures.p99_us),
            csv_field(r.model_figures.requests_per_sec),
            csv_field(r.tokio_figures.requests_per_sec),
            r.errors,
        );
    }
    csv
}

fn setup(settings: &Settings, infos: &[ModelInfo], command_line: &str) -> String {
    let uname = rustix::system::uname();
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let rustc = std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let pin = match (settings.server_cpu, settings.load_cpu) {
        (Some(s), Some(l)) => {
            format!("server on CPU {s}, load generator on CPU {l} (sched_setaffinity)")
        }
        _ => "none (fewer than two CPUs available)".into(),
    };
    let mut text = String::new();
    let _ = writeln!(text, "# Lab setup\n");
    let _ = writeln!(text, "- command: {command_line}");
    let _ = writeln!(text, "- nproc: {nproc}; CPU: {cpu_model}");
    let _ = writeln!(
        text,
        "- kernel: {} {} ({})",
        uname.sysname().to_string_lossy(),
        uname.release().to_string_lossy(),
        uname.machine().to_string_lossy()
    );
    let _ = writeln!(
        text,
        "- rustc: {rustc}; build: {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let _ = writeln!(text, "- CPU pinning: {pin}");
    let _ = writeln!(
        text,
        "- runs: {} × {:.1} s per cell; conns {:?}; sizes {:?} B; memory at {} idle connections",
        settings.runs, settings.duration_secs, settings.conns, settings.sizes, settings.idle
    );
    let _ = writeln!(text, "- servers: one event loop / runtime thread each (`--threads 1`); load: `c10k load echo --threads 1`");
    match settings.mode {
        Mode::Sequential => {
            let _ = writeln!(
                text,
                "- mode: sequential. All servers started first (memory measured then, each \
                 alone); those that spin when idle (nonblocking) paused with SIGSTOP between \
                 their measurements, the others idle; for each cell and run every model in \
                 turn (order rotating per run), one server driven at a time"
            );
        }
        Mode::SideBySide => {
            let _ = writeln!(
                text,
                "- mode: side by side. All servers started first (memory measured then, each \
                 alone); those that spin when idle (nonblocking) paused with SIGSTOP between \
                 their measurements, the others idle; for each cell and run every model in \
                 turn (order rotating per run) driven at the same time as tokio by two load \
                 generators with the same arguments (spawned model first in odd runs, tokio \
                 first in even runs)\n\
                 - what it cancels: steal time, CPU frequency and other tenants change \
                 within seconds and hit both servers in the same run, so the per-run ratio \
                 model ÷ tokio is steadier than a ratio of separate runs; the figures are \
                 the median [min–max] of those per-run ratios\n\
                 - what it changes: the two servers share the server CPU and their load \
                 generators share the load CPU, so absolute req/s are about half of a \
                 sequential run's and p50/p99 include waiting for the other server's time \
                 slice; only the ratios are figures, absolute values are not comparable with \
                 sequential runs"
            );
            if settings
                .models
                .contains(&LabModel::Io(IoModel::Nonblocking))
            {
                let _ = writeln!(
                    text,
                    "- nonblocking busy-polls: side by side it takes CPU time from tokio's \
                     share even when idle, so its pairs measure tokio starved as well; its \
                     ratios are reported as measured"
                );
            }
            if settings.models.contains(&LabModel::Io(IoModel::Threads)) {
                let _ = writeln!(
                    text,
                    "- threads runs a thread per connection: the kernel shares the server CPU \
                     fairly per thread, not per process, so side by side its hundreds of \
                     threads take nearly all of it and tokio's one thread starves; its req/s, \
                     p50 and p99 ratios measure that starvation, only its CPU per request is \
                     a fair figure"
                );
            }
        }
    }
    let _ = writeln!(
        text,
        "- server CPU = sum over the server's threads of /proc/PID/task/TID/schedstat \
         (nanoseconds on CPU) when the thread set was the same before and after and that \
         sum agrees with utime+stime to two ticks and 1 %, else utime+stime from \
         /proc/PID/stat (10 ms ticks, exited threads included); read before the load generators start \
         and as soon as the server's own generator exits, divided by requests (runs.csv: \
         cpu_source)"
    );
    let _ = writeln!(text, "\n## Models\n");
    for info in infos {
        let _ = writeln!(
            text,
            "- {} (`c10k {}`): {}; anonymous RSS at 1 connection {} KiB; idle connections measured: {}",
            info.model.name(),
            info.model.server_args().join(" "),
            info.status,
            info.rss_base_bytes
                .map_or_else(|| "–".into(), |b| (b / 1024).to_string()),
            info.idle_conns
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_stay_narrow_whatever_their_size() {
        let wide = RatioStats {
            median: 12.345,
            min: 9.876,
            max: 150.2,
        };
        assert_eq!(spread(Some(wide)), "12.3 [9.876–150]");
        let usual = RatioStats {
            median: 0.9974,
            min: 0.99,
            max: 1.0021,
        };
        assert_eq!(spread(Some(usual)), "0.997 [0.990–1.002]");
        assert_eq!(spread(None), "–");
    }

    #[test]
    fn tables_pad_columns_and_keep_status_rows_out_of_the_widths() -> io::Result<()> {
        let mut table = Table::new(&[("model", false), ("cell", false), ("figure", true)]);
        table.lines.push(Line::Cells(vec![
            "nonblocking".into(),
            "10000 × 1024".into(),
            "1.0".into(),
        ]));
        table.lines.push(Line::Status(
            ["uring".into(), "all".into()],
            "unavailable: ".repeat(10),
        ));
        let mut out = Vec::new();
        table.write(&mut out)?;
        let text = String::from_utf8(out).map_err(io::Error::other)?;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "| model       | cell         | figure |");
        assert_eq!(lines[1], "|-------------|--------------|-------:|");
        assert_eq!(lines[2], "| nonblocking | 10000 × 1024 |    1.0 |");
        // A long status is cut, not allowed to widen the table.
        assert!(lines[3].starts_with("| uring       | all          | unavailable: "));
        assert!(lines[3].chars().count() <= 100, "{}", lines[3]);
        Ok(())
    }

    #[test]
    fn the_typical_spread_is_the_median_half_range() {
        let stats = |min: f64, max: f64| {
            Some(RatioStats {
                median: 1.0,
                min,
                max,
            })
        };
        let row = |cpu, p99, runs| PairRow {
            model: LabModel::Tokio,
            conns: 1,
            size: 1,
            status: "ok".into(),
            runs,
            cpu_per_request: cpu,
            p99,
            p50: None,
            requests_per_sec: None,
            memory_per_conn: None,
            model_figures: Default::default(),
            tokio_figures: Default::default(),
            errors: 0,
        };
        // Half-ranges 0.02, 0.10 and 0.04: the median is 0.04. A one-run cell has no spread.
        let rows = [
            row(stats(0.98, 1.02), stats(0.9, 1.1), 3),
            row(stats(0.96, 1.04), None, 3),
            row(stats(0.5, 1.5), stats(0.5, 1.5), 1),
        ];
        let s = typical_spread(&rows).expect("a spread");
        assert!((s - 0.04).abs() < 1e-9, "{s}");
        assert_eq!(typical_spread(&rows[2..]), None);
    }
}
