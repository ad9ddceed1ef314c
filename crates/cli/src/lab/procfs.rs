//! What the lab reads about a server process from `/proc`: CPU time and resident memory.

use std::io;

/// User plus system CPU time of the whole process (exited threads included), in seconds.
///
/// `/proc/PID/stat` counts in clock ticks (usually 10 ms), so the lab measures over whole
/// runs of at least a second and divides by the requests served.
pub(crate) fn cpu_secs(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces: fields are counted after its `)`.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| bad("stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After `)`: field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    let tick = |i: usize| -> io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| bad("stat"))
    };
    let ticks = tick(11)? + tick(12)?;
    Ok(ticks as f64 / rustix::param::clock_ticks_per_second() as f64)
}

/// Resident set size (`VmRSS`) in bytes.
pub(crate) fn rss_bytes(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or_else(|| bad("status"))?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("status"))?;
    Ok(kib * 1024)
}

fn bad(file: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected /proc/PID/{file} format"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(cpu_secs(pid).unwrap() >= 0.0);
        assert!(rss_bytes(pid).unwrap() > 0);
    }
}
