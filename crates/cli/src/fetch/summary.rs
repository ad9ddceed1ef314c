//! The end of a batch: what each URL gave, and the totals (count by status, bytes, elapsed,
//! requests a second, latency percentiles from an HDR histogram), as a table or as JSON.
//!
//! A URL "fails" when no final response arrived (connection error, timeout, bad response,
//! too many redirects); a final status of 400 or more is a response, counted under its
//! status and as an "error status" unless `--ok-status` accepts it.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// What one URL gave.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Outcome {
    /// The URL as given.
    pub(crate) url: String,
    /// The final status, after redirects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<u16>,
    /// The URL of the final response when redirects were followed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) final_url: Option<String>,
    /// Body bytes of the final response.
    pub(crate) bytes: u64,
    /// Redirects followed.
    pub(crate) redirects: u32,
    /// Requests retried after a connection failure.
    pub(crate) retries: u32,
    /// Time from the first byte sent to the last body byte, in milliseconds.
    pub(crate) ms: f64,
    /// Where the body was saved (`-o`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) saved: Option<String>,
    /// Why the URL failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// HTTP requests made for this URL (redirects and retries included).
    #[serde(skip)]
    pub(crate) requests: u32,
}

/// Totals over a batch.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    /// URLs in the batch.
    pub(crate) urls: u64,
    /// URLs whose final response has an accepted status (below 400, or `--ok-status`).
    pub(crate) ok: u64,
    /// URLs whose final response has an error status (400 or more) not accepted.
    pub(crate) http_errors: u64,
    /// URLs that failed.
    pub(crate) failed: u64,
    /// URLs never started because of Ctrl-C.
    pub(crate) not_started: u64,
    /// Final responses by status code.
    pub(crate) by_status: BTreeMap<u16, u64>,
    /// Body bytes received (final responses).
    pub(crate) bytes: u64,
    /// HTTP requests made (redirects and retries included).
    pub(crate) requests: u64,
    /// Wall-clock time of the batch, in seconds.
    pub(crate) elapsed_s: f64,
    /// Requests per second over the batch.
    pub(crate) requests_per_s: f64,
    /// Median latency of URLs that got a final response, in milliseconds.
    pub(crate) p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub(crate) p99_ms: f64,
    /// Slowest URL that got a final response, in milliseconds.
    pub(crate) max_ms: f64,
}

impl Summary {
    /// Sums up the outcomes of a batch that took `elapsed`; `accepted` lists the error
    /// statuses (`--ok-status`) that count as success.
    pub(crate) fn new(outcomes: &[Outcome], elapsed: Duration, accepted: &[u16]) -> Summary {
        // Microseconds, up to an hour, 3 significant digits.
        let mut hist =
            Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds");
        let mut by_status = BTreeMap::new();
        let (mut ok, mut http_errors, mut bytes, mut requests) = (0, 0, 0, 0);
        for o in outcomes {
            requests += u64::from(o.requests);
            if let Some(status) = o.status {
                if is_error(status, accepted) {
                    http_errors += 1;
                } else {
                    ok += 1;
                }
                bytes += o.bytes;
                *by_status.entry(status).or_insert(0) += 1;
                hist.saturating_record(((o.ms * 1000.0) as u64).max(1));
            }
        }
        let secs = elapsed.as_secs_f64();
        let ms = |q: f64| {
            if hist.is_empty() {
                0.0
            } else {
                hist.value_at_quantile(q) as f64 / 1000.0
            }
        };
        Summary {
            urls: outcomes.len() as u64,
            ok,
            http_errors,
            failed: outcomes.len() as u64 - ok - http_errors,
            not_started: 0,
            by_status,
            bytes,
            requests,
            elapsed_s: secs,
            requests_per_s: if secs > 0.0 {
                requests as f64 / secs
            } else {
                0.0
            },
            p50_ms: ms(0.5),
            p99_ms: ms(0.99),
            max_ms: if hist.is_empty() {
                0.0
            } else {
                hist.max() as f64 / 1000.0
            },
        }
    }

    /// Writes the human table.
    ///
    /// # Errors
    ///
    /// The writer's.
    pub(crate) fn write_table(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "fetched {} URL{} in {:.2} s: {} ok, {} error status, {} failed",
            self.urls,
            if self.urls == 1 { "" } else { "s" },
            self.elapsed_s,
            self.ok,
            self.http_errors,
            self.failed
        )?;
        writeln!(out, "{:<10} {:>10}", "status", "count")?;
        for (status, count) in &self.by_status {
            writeln!(out, "{status:<10} {count:>10}")?;
        }
        if self.failed > 0 {
            writeln!(out, "{:<10} {:>10}", "failed", self.failed)?;
        }
        if self.not_started > 0 {
            writeln!(
                out,
                "{:<10} {:>10}  (interrupted)",
                "skipped", self.not_started
            )?;
        }
        writeln!(
            out,
            "{:<10} {:>10}  ({})",
            "bytes",
            self.bytes,
            human_bytes(self.bytes)
        )?;
        writeln!(
            out,
            "{:<10} {:>10}  ({:.1}/s)",
            "requests", self.requests, self.requests_per_s
        )?;
        writeln!(
            out,
            "{:<10} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            "latency", self.p50_ms, self.p99_ms, self.max_ms
        )
    }
}

/// True when a final status counts as an error: 400 or more, and not in `accepted`.
pub(crate) fn is_error(status: u16, accepted: &[u16]) -> bool {
    status >= 400 && !accepted.contains(&status)
}

/// The whole report for `--json`.
#[derive(Debug, Serialize)]
pub(crate) struct Report<'a> {
    /// One entry per URL, in input order.
    pub(crate) results: &'a [Outcome],
    /// The totals.
    pub(crate) summary: &'a Summary,
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: Option<u16>, bytes: u64, ms: f64) -> Outcome {
        Outcome {
            url: "http://h/".into(),
            status,
            final_url: None,
            bytes,
            redirects: 0,
            retries: 0,
            ms,
            saved: None,
            error: status.is_none().then(|| "refused".into()),
            requests: 1,
        }
    }

    #[test]
    fn totals_and_table() {
        let outcomes = vec![
            outcome(Some(200), 100, 1.0),
            outcome(Some(404), 10, 3.0),
            outcome(None, 0, 0.0),
        ];
        let s = Summary::new(&outcomes, Duration::from_secs(2), &[]);
        assert_eq!(
            (s.urls, s.ok, s.http_errors, s.failed, s.bytes, s.requests),
            (3, 1, 1, 1, 110, 3)
        );
        let accepting = Summary::new(&outcomes, Duration::from_secs(2), &[404]);
        assert_eq!((accepting.ok, accepting.http_errors), (2, 0));
        assert_eq!(s.by_status.get(&404), Some(&1));
        assert!((s.requests_per_s - 1.5).abs() < 1e-9);
        assert!((s.p50_ms - 1.0).abs() < 0.01 && (s.max_ms - 3.0).abs() < 0.01);
        let mut text = Vec::new();
        s.write_table(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.starts_with("fetched 3 URLs in 2.00 s: 1 ok, 1 error status, 1 failed\n"),
            "{text}"
        );
        let json = serde_json::to_value(Report {
            results: &outcomes,
            summary: &s,
        })
        .unwrap();
        assert_eq!(json["summary"]["by_status"]["200"], 1);
        assert_eq!(json["results"][2]["error"], "refused");
        assert_eq!(human_bytes(2048), "2.0 KiB");
    }
}
