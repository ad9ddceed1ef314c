//! The paused test clock: `pause`, `advance`, auto-advance, `resume`, and `Instant` outside a
//! runtime.

mod util;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use c10k_runtime::time::{self, Instant};

fn block_on<F: Future>(future: F) -> io::Result<F::Output> {
    let rt = util::builder().current_thread().build()?;
    Ok(rt.block_on(future))
}

/// Yields once to the scheduler.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn poll_once<F: Future + Unpin>(future: &mut F, cx: &mut Context<'_>) -> Poll<F::Output> {
    Pin::new(future).poll(cx)
}

#[test]
fn paused_clock_does_not_move() -> io::Result<()> {
    block_on(async {
        time::pause();
        let a = Instant::now();
        YieldNow(false).await;
        std::thread::yield_now();
        assert_eq!(Instant::now(), a);
        assert_eq!(a.elapsed(), Duration::ZERO);
    })
}

#[test]
fn advance_moves_exactly_and_fires_what_is_due() -> io::Result<()> {
    block_on(async {
        time::pause();
        let start = Instant::now();
        let mut s = time::sleep(Duration::from_millis(100));
        std::future::poll_fn(|cx| {
            assert!(poll_once(&mut s, cx).is_pending());
            Poll::Ready(())
        })
        .await;
        time::advance(Duration::from_millis(99)).await;
        assert_eq!(Instant::now() - start, Duration::from_millis(99));
        std::future::poll_fn(|cx| {
            assert!(poll_once(&mut s, cx).is_pending(), "fired 1 ms early");
            Poll::Ready(())
        })
        .await;
        time::advance(Duration::from_millis(1)).await;
        std::future::poll_fn(|cx| {
            assert!(poll_once(&mut s, cx).is_ready());
            Poll::Ready(())
        })
        .await;
    })
}

#[test]
fn auto_advance_jumps_to_each_deadline_exactly() -> io::Result<()> {
    block_on(async {
        time::pause();
        let start = Instant::now();
        time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(Instant::now() - start, Duration::from_secs(3600));
        // Concurrent sleeps complete in deadline order, each at its exact deadline.
        let start = Instant::now();
        let order = std::sync::Mutex::new(Vec::new());
        let sleeps = [5u64, 1, 3, 86_400 * 30, 2].map(|secs| {
            let order = &order;
            async move {
                time::sleep(Duration::from_secs(secs)).await;
                assert_eq!(Instant::now() - start, Duration::from_secs(secs));
                order.lock().unwrap().push(secs);
            }
        });
        futures_util::future::join_all(sleeps).await;
        assert_eq!(*order.lock().unwrap(), vec![1, 2, 3, 5, 86_400 * 30]);
    })
}

#[test]
fn resume_continues_from_the_paused_value() -> io::Result<()> {
    block_on(async {
        time::pause();
        time::advance(Duration::from_secs(3600)).await;
        let frozen = Instant::now();
        time::resume();
        let after = Instant::now();
        assert!(after >= frozen);
        // Time advanced while paused is kept: the runtime clock is an hour ahead of the OS.
        assert!(after.into_std() >= std::time::Instant::now() + Duration::from_secs(3500));
        time::sleep(Duration::from_millis(1)).await;
        assert!(Instant::now() >= after + Duration::from_millis(1));
        // It can be paused again.
        time::pause();
        time::resume();
    })
}

#[test]
fn each_runtime_has_its_own_clock() -> io::Result<()> {
    block_on(async { time::pause() })?;
    block_on(async {
        time::pause(); // would panic if the clock were shared and still paused
        time::resume();
    })
}

#[test]
#[should_panic = "already paused"]
fn pausing_twice_panics() {
    let _ = block_on(async {
        time::pause();
        time::pause();
    });
}

#[test]
#[should_panic = "not paused"]
fn resume_without_pause_panics() {
    let _ = block_on(async { time::resume() });
}

#[test]
#[should_panic = "needs a paused clock"]
fn advance_without_pause_panics() {
    let _ = block_on(time::advance(Duration::from_secs(1)));
}

#[test]
fn instant_works_outside_a_runtime() {
    let a = Instant::now();
    let os = std::time::Instant::now();
    let b = Instant::now();
    assert!(a.into_std() <= os && os <= b.into_std());
    assert_eq!(Instant::from(os).into_std(), os);
    assert_eq!((a + Duration::from_secs(1)) - a, Duration::from_secs(1));
    assert_eq!(a - (a + Duration::from_secs(1)), Duration::ZERO);
    assert_eq!(
        a.checked_sub(Duration::from_secs(1)).map(|x| a - x),
        Some(Duration::from_secs(1))
    );
}
