//! What the lab reads about a server process from `/proc`: CPU time and resident anonymous
//! memory.
//!
//! CPU time comes from two sources read at the same moments:
//!
//! - `/proc/PID/stat` utime+stime: the whole process, exited threads included, but counted
//!   in clock ticks (usually 10 ms), which is 0.3 % of a 3 s run of a busy server;
//! - `/proc/PID/task/TID/schedstat`, first field: the nanoseconds each live thread has run
//!   (the scheduler's own `sum_exec_runtime`), summed over the threads.
//!
//! The per-thread sum misses threads that exited in between and counts threads created in
//! between from their start only, so [`cpu_delta`] uses it only when both readings saw the
//! same thread ids *and* it agrees with utime+stime to within the latter's resolution (two
//! ticks and 1 %): a server that starts and ends a thread per connection (the `threads`
//! model) can show the same thread ids at both readings while thousands of threads came and
//! went in between. Otherwise it falls back to utime+stime.

//!
//! The files are read and parsed by the `procfs` crate; what is ours is the choice between
//! the two sources ([`cpu_delta`]) and the conversion of ticks to seconds.

use std::io;

use procfs::process::Process;

/// User plus system CPU time of the whole process (exited threads included), in seconds.
///
/// `/proc/PID/stat` counts in clock ticks (usually 10 ms), so the lab measures over whole
/// runs of at least a second and divides by the requests served.
pub(crate) fn cpu_secs(pid: u32) -> io::Result<f64> {
    let stat = process(pid)?.stat().map_err(proc_err)?;
    Ok((stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64)
}

fn process(pid: u32) -> io::Result<Process> {
    let pid = i32::try_from(pid).map_err(|_| io::Error::other(format!("bad pid {pid}")))?;
    Process::new(pid).map_err(proc_err)
}

/// The crate's error as an `io::Error` (a process that is gone is `NotFound`).
fn proc_err(e: procfs::ProcError) -> io::Error {
    match e {
        procfs::ProcError::Io(e, _) => e,
        procfs::ProcError::NotFound(path) => io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{} is gone",
                path.map_or_else(|| "/proc entry".into(), |p| p.display().to_string())
            ),
        ),
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

/// One reading of a process's CPU time from both sources.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CpuReading {
    /// utime+stime of the whole process, in seconds (tick resolution).
    pub(crate) stat_secs: f64,
    /// Nanoseconds on CPU per live thread, sorted by thread id; `None` when a thread's
    /// `schedstat` could not be read (it exited while being listed, or the kernel lacks
    /// the file).
    pub(crate) threads: Option<Vec<(u32, u64)>>,
}

/// Where a CPU time delta came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CpuSource {
    /// The per-thread `schedstat` sums (nanoseconds).
    Schedstat,
    /// utime+stime from `/proc/PID/stat` (clock ticks).
    Stat,
}

impl CpuSource {
    pub(crate) fn name(self) -> &'static str {
        match self {
            CpuSource::Schedstat => "schedstat",
            CpuSource::Stat => "stat",
        }
    }
}

/// Reads the process's CPU time from `/proc/PID/stat` and every `/proc/PID/task/*/schedstat`.
///
/// # Errors
///
/// `/proc/PID/stat` cannot be read (the process is gone). A failure on the per-thread files
/// only leaves [`CpuReading::threads`] empty.
pub(crate) fn read_cpu(pid: u32) -> io::Result<CpuReading> {
    let stat_secs = cpu_secs(pid)?;
    Ok(CpuReading {
        stat_secs,
        threads: thread_cpu_ns(pid).ok(),
    })
}

/// Nanoseconds on CPU of each live thread of `pid`, sorted by thread id.
pub(crate) fn thread_cpu_ns(pid: u32) -> io::Result<Vec<(u32, u64)>> {
    let mut threads = Vec::new();
    for task in process(pid)?.tasks().map_err(proc_err)? {
        let task = task.map_err(proc_err)?;
        let ns = task.schedstat().map_err(proc_err)?.sum_exec_runtime;
        threads.push((task.tid as u32, ns));
    }
    threads.sort_unstable();
    Ok(threads)
}

/// CPU seconds between two readings of one process: the per-thread sums when both readings
/// have them for the same thread ids, utime+stime otherwise.
pub(crate) fn cpu_delta(before: &CpuReading, after: &CpuReading) -> (f64, CpuSource) {
    if let (Some(b), Some(a)) = (&before.threads, &after.threads) {
        let same_threads = b.len() == a.len() && b.iter().zip(a).all(|(x, y)| x.0 == y.0);
        let stat = after.stat_secs - before.stat_secs;
        if same_threads {
            let ns = |t: &[(u32, u64)]| t.iter().map(|&(_, ns)| ns).sum::<u64>();
            let precise = ns(a).saturating_sub(ns(b)) as f64 / 1e9;
            // Both count the same time unless threads came and went in between.
            let tick = 1.0 / rustix::param::clock_ticks_per_second() as f64;
            if (stat - precise).abs() <= 2.0 * tick + 0.01 * stat {
                return (precise, CpuSource::Schedstat);
            }
        }
    }
    (after.stat_secs - before.stat_secs, CpuSource::Stat)
}

/// Resident anonymous memory (`RssAnon`: the heap, stacks and anonymous mappings such as
/// buffer pools) in bytes.
///
/// Not `VmRSS`, which also counts the executable's pages as the server first runs them:
/// those are file-backed and shared, never per connection, yet an io_uring server that
/// pages in its ring code while the idle connections open would show them as about 25
/// bytes per connection at 10 000.
pub(crate) fn anon_rss_bytes(pid: u32) -> io::Result<u64> {
    let kib = process(pid)?
        .status()
        .map_err(proc_err)?
        .rssanon
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "no RssAnon in /proc/PID/status")
        })?;
    Ok(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(cpu_secs(pid).unwrap() >= 0.0);
        assert!(anon_rss_bytes(pid).unwrap() > 0);
    }

    /// This thread's nanoseconds on CPU, from its own `schedstat`.
    fn own_ns(reading: &CpuReading) -> u64 {
        let tid = rustix::thread::gettid().as_raw_nonzero().get() as u32;
        reading
            .threads
            .as_ref()
            .expect("per-thread schedstat readable")
            .iter()
            .find(|t| t.0 == tid)
            .expect("this thread listed")
            .1
    }

    #[test]
    fn schedstat_and_stat_grow_with_busy_work() {
        let pid = std::process::id();
        let first = read_cpu(pid).unwrap();
        let mut last = first.clone();
        let mut acc = 1u64;
        // Busy work until this thread's schedstat moves; each round must not go backwards.
        // Bounded by rounds, not by time: a round is millions of operations.
        for _ in 0..10_000 {
            for i in 0..1_000_000u64 {
                acc = std::hint::black_box(acc.wrapping_mul(6_364_136_223_846_793_005) ^ i);
            }
            let now = read_cpu(pid).unwrap();
            assert!(own_ns(&now) >= own_ns(&last));
            assert!(now.stat_secs >= last.stat_secs);
            last = now;
            if own_ns(&last) > own_ns(&first) {
                break;
            }
        }
        assert!(own_ns(&last) > own_ns(&first), "schedstat never moved");
        assert!(last.stat_secs >= first.stat_secs);
        std::hint::black_box(acc);
    }

    #[test]
    fn cpu_delta_uses_schedstat_only_for_the_same_threads() {
        let at =
            |stat_secs: f64, threads: Option<Vec<(u32, u64)>>| CpuReading { stat_secs, threads };
        let before = at(1.0, Some(vec![(10, 1_000_000_000), (11, 500_000_000)]));
        let after = at(1.03, Some(vec![(10, 1_020_000_000), (11, 512_000_000)]));
        let (secs, source) = cpu_delta(&before, &after);
        assert_eq!(source, CpuSource::Schedstat);
        assert!((secs - 0.032).abs() < 1e-12, "{secs}");
        // A thread replaced by another: the sums are not comparable.
        let replaced = at(1.05, Some(vec![(10, 1_020_000_000), (12, 1_000)]));
        let (secs, source) = cpu_delta(&before, &replaced);
        assert_eq!(source, CpuSource::Stat);
        assert!((secs - 0.05).abs() < 1e-12, "{secs}");
        // The same ids, but threads started and ended in between (a thread per connection):
        // utime+stime counted far more than the live threads show.
        let churned = at(2.5, Some(vec![(10, 1_020_000_000), (11, 512_000_000)]));
        let (secs, source) = cpu_delta(&before, &churned);
        assert_eq!(source, CpuSource::Stat);
        assert!((secs - 1.5).abs() < 1e-12, "{secs}");
        // A thread more, or an unreadable reading: utime+stime too.
        let more = at(1.02, Some(vec![(10, 1), (11, 2), (13, 3)]));
        assert_eq!(cpu_delta(&before, &more).1, CpuSource::Stat);
        assert_eq!(cpu_delta(&before, &at(1.0, None)).1, CpuSource::Stat);
    }
}
