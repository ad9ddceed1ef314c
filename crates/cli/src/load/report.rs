//! The load report: what `c10k load` prints (table or JSON) and what `c10k lab` reads back.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::driver::Tally;
use super::{Args, Mode};

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Percentiles {
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
    pub(crate) max: f64,
    pub(crate) mean: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        Percentiles {
            p50: us(h.value_at_quantile(0.50)),
            p90: us(h.value_at_quantile(0.90)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

/// Everything one `c10k load` run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Report {
    pub(crate) mode: String,
    pub(crate) target: String,
    pub(crate) connections: u32,
    pub(crate) threads: u16,
    pub(crate) size: u32,
    pub(crate) elapsed_secs: f64,
    /// Completed requests (answers fully received and checked).
    pub(crate) requests: u64,
    pub(crate) requests_per_sec: f64,
    pub(crate) bytes_sent: u64,
    pub(crate) bytes_received: u64,
    pub(crate) latency_us: Percentiles,
    pub(crate) connect_us: Percentiles,
    pub(crate) connects: u64,
    /// Errors by kind (`connect: connection refused`, `echo: wrong bytes`, ...).
    pub(crate) errors: BTreeMap<String, u64>,
    /// Requests still unanswered when the drain period ended.
    pub(crate) unfinished: u64,
    /// HTTP connections the server closed between requests and that were re-opened.
    pub(crate) reconnects: u64,
}

impl Report {
    pub(crate) fn new(args: &Args, tally: &Tally, elapsed: Duration) -> Report {
        let secs = elapsed.as_secs_f64();
        Report {
            mode: match args.mode {
                Mode::Echo => "echo".into(),
                Mode::Http => "http".into(),
                Mode::Chat => "chat".into(),
            },
            target: args.target.to_string(),
            connections: args.connections,
            threads: args.threads,
            size: args.size,
            elapsed_secs: secs,
            requests: tally.requests,
            requests_per_sec: tally.requests as f64 / secs,
            bytes_sent: tally.bytes_sent,
            bytes_received: tally.bytes_received,
            latency_us: Percentiles::of(&tally.latency_ns),
            connect_us: Percentiles::of(&tally.connect_ns),
            connects: tally.connect_ns.len(),
            errors: tally.errors.clone(),
            unfinished: tally.unfinished,
            reconnects: tally.reconnects,
        }
    }

    /// Total errors of all kinds.
    pub(crate) fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The human-readable report.
    pub(crate) fn write_table(&self, out: &mut impl Write) -> io::Result<()> {
        let what = if self.mode == "echo" {
            format!("echo {} B", self.size)
        } else {
            "http".into()
        };
        writeln!(
            out,
            "{what} against {}: {} connections, {} thread(s), {:.2} s",
            self.target, self.connections, self.threads, self.elapsed_secs
        )?;
        writeln!(
            out,
            "  requests      {:>12}   {:>12.0} req/s",
            self.requests, self.requests_per_sec
        )?;
        let l = &self.latency_us;
        writeln!(
            out,
            "  latency (us)  p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}",
            l.p50, l.p90, l.p99, l.p999, l.max
        )?;
        let c = &self.connect_us;
        writeln!(
            out,
            "  connect (us)  p50 {:.1}  p99 {:.1}  max {:.1}  ({} connects)",
            c.p50, c.p99, c.max, self.connects
        )?;
        writeln!(
            out,
            "  transfer      {} B sent, {} B received",
            self.bytes_sent, self.bytes_received
        )?;
        if self.reconnects > 0 {
            writeln!(out, "  reconnects    {}", self.reconnects)?;
        }
        if self.unfinished > 0 {
            writeln!(
                out,
                "  unfinished    {} (no answer within the drain period)",
                self.unfinished
            )?;
        }
        if self.errors.is_empty() {
            writeln!(out, "  errors        none")?;
        } else {
            writeln!(out, "  errors        {}", self.error_count())?;
            for (kind, count) in &self.errors {
                writeln!(out, "    {count:>10}  {kind}")?;
            }
        }
        Ok(())
    }
}
