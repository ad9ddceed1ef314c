//! `time::timeout` and `timeout_at`: `Ok` when the future wins, `Elapsed` when the deadline
//! does, never early.

mod util;

use std::future::{self, Future};
use std::io;
use std::time::Duration;

use c10k_runtime::time::{self, Elapsed, Instant};

fn block_on<F: Future>(future: F) -> io::Result<F::Output> {
    let rt = util::builder().current_thread().build()?;
    Ok(rt.block_on(future))
}

#[test]
fn future_that_finishes_first_wins() -> io::Result<()> {
    block_on(async {
        assert_eq!(
            time::timeout(Duration::from_secs(5), async { 3 }).await,
            Ok(3)
        );
        let slow_enough = time::sleep(Duration::from_millis(1));
        assert_eq!(
            time::timeout(Duration::from_secs(5), slow_enough).await,
            Ok(())
        );
    })
}

#[test]
fn deadline_that_comes_first_gives_elapsed_never_early() -> io::Result<()> {
    block_on(async {
        let deadline = Instant::now() + Duration::from_millis(3);
        let r: Result<(), Elapsed> = time::timeout_at(deadline, future::pending::<()>()).await;
        assert!(r.is_err());
        assert!(Instant::now() >= deadline);
    })
}

#[test]
fn ready_future_wins_even_past_the_deadline() -> io::Result<()> {
    block_on(async {
        let past = Instant::now();
        time::sleep(Duration::from_millis(1)).await;
        assert_eq!(time::timeout_at(past, async { "done" }).await, Ok("done"));
        assert!(time::timeout_at(past, future::pending::<()>())
            .await
            .is_err());
        assert!(time::timeout(Duration::ZERO, future::pending::<()>())
            .await
            .is_err());
    })
}

#[test]
fn elapsed_displays_and_converts_to_timed_out() -> io::Result<()> {
    block_on(async {
        let err = time::timeout(Duration::from_millis(1), future::pending::<()>())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "deadline has elapsed");
        let io_err: io::Error = err.into();
        assert_eq!(io_err.kind(), io::ErrorKind::TimedOut);
    })
}

#[test]
fn accessors_give_the_future_back() -> io::Result<()> {
    block_on(async {
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut t = time::timeout_at(deadline, future::ready(5));
        assert_eq!(t.deadline(), deadline);
        assert!(std::ptr::eq(t.get_mut() as *const _, t.get_ref()));
        assert_eq!(t.into_inner().await, 5);
    })
}

#[test]
fn paused_clock_makes_timeouts_exact() -> io::Result<()> {
    block_on(async {
        time::pause();
        let start = Instant::now();
        let hour = Duration::from_secs(3600);
        let r = time::timeout(hour, time::sleep(2 * hour)).await;
        assert!(r.is_err());
        assert_eq!(Instant::now() - start, hour);

        let start = Instant::now();
        let r = time::timeout(2 * hour, time::sleep(hour)).await;
        assert_eq!(r, Ok(()));
        assert_eq!(Instant::now() - start, hour);
    })
}

#[test]
fn nested_timeouts_the_inner_one_fires_first() -> io::Result<()> {
    block_on(async {
        time::pause();
        let inner = time::timeout(Duration::from_secs(1), future::pending::<()>());
        let outer = time::timeout(Duration::from_secs(2), inner).await;
        assert!(matches!(outer, Ok(Err(_))));
    })
}
