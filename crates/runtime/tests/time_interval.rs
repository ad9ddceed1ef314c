//! `time::interval`: the schedule, each `MissedTickBehavior` with the paused clock (exact and
//! deterministic), resets, and the `Stream` impl.

mod util;

use std::future::Future;
use std::io;
use std::time::Duration;

use c10k_runtime::time::{self, Instant, Interval, MissedTickBehavior};
use futures_util::StreamExt;

fn block_on<F: Future>(future: F) -> io::Result<F::Output> {
    let rt = util::builder().current_thread().build()?;
    Ok(rt.block_on(future))
}

const MS: Duration = Duration::from_millis(1);

/// Ticks `n` times, returning (scheduled instant, observed instant) relative to `start`.
async fn ticks(interval: &mut Interval, start: Instant, n: usize) -> Vec<(Duration, Duration)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let at = interval.tick().await;
        out.push((at - start, Instant::now() - start));
    }
    out
}

fn ms(pairs: &[(u32, u32)]) -> Vec<(Duration, Duration)> {
    pairs.iter().map(|&(a, b)| (a * MS, b * MS)).collect()
}

/// Runs the scenario of the `MissedTickBehavior` docs: period 10 ms, ticks at 0 and 10, the
/// task busy until 47, then five more ticks.
fn missed_scenario(behavior: MissedTickBehavior) -> io::Result<Vec<(Duration, Duration)>> {
    block_on(async move {
        time::pause();
        let start = Instant::now();
        let mut interval = time::interval(10 * MS);
        interval.set_missed_tick_behavior(behavior);
        assert_eq!(interval.missed_tick_behavior(), behavior);
        let mut seen = ticks(&mut interval, start, 2).await;
        time::advance(37 * MS).await; // busy from 10 to 47
        seen.extend(ticks(&mut interval, start, 5).await);
        seen
    })
}

#[test]
fn default_is_burst() {
    assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Burst);
}

#[test]
fn burst_returns_missed_ticks_back_to_back() -> io::Result<()> {
    let seen = missed_scenario(MissedTickBehavior::Burst)?;
    let want = ms(&[
        (0, 0),
        (10, 10),
        (20, 47),
        (30, 47),
        (40, 47),
        (50, 50),
        (60, 60),
    ]);
    assert_eq!(seen, want);
    Ok(())
}

#[test]
fn delay_restarts_the_schedule_from_now() -> io::Result<()> {
    let seen = missed_scenario(MissedTickBehavior::Delay)?;
    let want = ms(&[
        (0, 0),
        (10, 10),
        (20, 47),
        (57, 57),
        (67, 67),
        (77, 77),
        (87, 87),
    ]);
    assert_eq!(seen, want);
    Ok(())
}

#[test]
fn skip_drops_missed_ticks_and_keeps_the_grid() -> io::Result<()> {
    let seen = missed_scenario(MissedTickBehavior::Skip)?;
    let want = ms(&[
        (0, 0),
        (10, 10),
        (20, 47),
        (50, 50),
        (60, 60),
        (70, 70),
        (80, 80),
    ]);
    assert_eq!(seen, want);
    Ok(())
}

/// Late by less than a period is not a miss: every policy keeps the original grid.
#[test]
fn late_by_less_than_a_period_keeps_the_schedule() -> io::Result<()> {
    for behavior in [
        MissedTickBehavior::Burst,
        MissedTickBehavior::Delay,
        MissedTickBehavior::Skip,
    ] {
        let seen = block_on(async move {
            time::pause();
            let start = Instant::now();
            let mut interval = time::interval(10 * MS);
            interval.set_missed_tick_behavior(behavior);
            let mut seen = ticks(&mut interval, start, 2).await;
            time::advance(15 * MS).await; // tick 20 observed at 25
            seen.extend(ticks(&mut interval, start, 2).await);
            seen
        })?;
        assert_eq!(
            seen,
            ms(&[(0, 0), (10, 10), (20, 25), (30, 30)]),
            "{behavior:?}"
        );
    }
    Ok(())
}

#[test]
fn interval_at_starts_at_start() -> io::Result<()> {
    block_on(async {
        time::pause();
        let origin = Instant::now();
        let mut interval = time::interval_at(origin + 5 * MS, 3 * MS);
        assert_eq!(interval.period(), 3 * MS);
        let seen = ticks(&mut interval, origin, 3).await;
        assert_eq!(seen, ms(&[(5, 5), (8, 8), (11, 11)]));
    })
}

#[test]
fn ticks_are_never_early_on_the_running_clock() -> io::Result<()> {
    block_on(async {
        let start = Instant::now();
        let mut interval = time::interval(MS);
        for _ in 0..20 {
            let at = interval.tick().await;
            assert!(Instant::now() >= at);
            assert!(at >= start);
        }
        assert!(Instant::now() - start >= 19 * MS);
    })
}

#[test]
fn resets_move_the_next_tick() -> io::Result<()> {
    block_on(async {
        time::pause();
        let start = Instant::now();
        let mut interval = time::interval(10 * MS);
        interval.tick().await;
        interval.reset_after(3 * MS);
        assert_eq!(interval.tick().await - start, 3 * MS);
        interval.reset_at(start + 20 * MS);
        assert_eq!(interval.tick().await - start, 20 * MS);
        interval.reset();
        assert_eq!(interval.tick().await - start, 30 * MS);
        interval.reset_immediately();
        assert_eq!(interval.tick().await - start, 30 * MS);
        assert_eq!(interval.tick().await - start, 40 * MS);
    })
}

#[test]
fn interval_is_a_stream_of_instants() -> io::Result<()> {
    block_on(async {
        time::pause();
        let start = Instant::now();
        let interval = time::interval(2 * MS);
        let got: Vec<Duration> = interval.take(4).map(|at| at - start).collect().await;
        assert_eq!(got, vec![Duration::ZERO, 2 * MS, 4 * MS, 6 * MS]);
    })
}

#[test]
#[should_panic = "period must be non-zero"]
fn zero_period_panics() {
    let _ = time::interval(Duration::ZERO);
}
