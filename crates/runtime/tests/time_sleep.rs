//! `time::sleep` and `sleep_until`: never early, cancel on drop, reset, re-polling, and a
//! timer registered from a foreign thread.

mod util;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use c10k_runtime::time::{self, Instant, Sleep};

fn block_on<F: Future>(future: F) -> io::Result<F::Output> {
    let rt = util::builder().current_thread().build()?;
    Ok(rt.block_on(future))
}

/// A waker that counts its wakes.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count::default());
    (count.clone(), Waker::from(count))
}

fn poll_with<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// xorshift64: deterministic random durations without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn sleeps_never_complete_early() -> io::Result<()> {
    block_on(async {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for i in 0..300 {
            let d = Duration::from_nanos(rng.below(3_000_000));
            // The OS clock first: read after the runtime's, it could be later by as long as
            // the thread was preempted between the two reads (milliseconds on a busy
            // machine), and a sleep that is exactly on time would look early.
            let os_deadline = std::time::Instant::now() + d;
            let deadline = Instant::now() + d;
            if i % 2 == 0 {
                time::sleep(d).await;
            } else {
                time::sleep_until(deadline).await;
            }
            assert!(Instant::now() >= deadline, "sleep of {d:?} completed early");
            assert!(
                std::time::Instant::now() >= os_deadline,
                "early on the OS clock"
            );
        }
    })
}

#[test]
fn concurrent_sleeps_never_complete_early() -> io::Result<()> {
    block_on(async {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let sleeps = (0..500).map(|_| {
            let d = Duration::from_nanos(rng.below(20_000_000));
            async move {
                let deadline = Instant::now() + d;
                time::sleep(d).await;
                assert!(Instant::now() >= deadline, "sleep of {d:?} completed early");
            }
        });
        futures_util::future::join_all(sleeps).await;
    })
}

#[test]
fn zero_and_past_deadlines_complete() -> io::Result<()> {
    block_on(async {
        time::sleep(Duration::ZERO).await;
        let past = Instant::now();
        time::sleep(Duration::from_millis(1)).await;
        time::sleep_until(past).await;
        let mut s = time::sleep_until(past);
        (&mut s).await;
        assert!(s.is_elapsed());
    })
}

#[test]
fn completed_sleep_stays_ready() -> io::Result<()> {
    block_on(async {
        let mut s = time::sleep(Duration::from_millis(1));
        assert!(!s.is_elapsed());
        (&mut s).await;
        assert!(s.is_elapsed());
        let (count, waker) = counting_waker();
        assert_eq!(poll_with(&mut s, &waker), Poll::Ready(()));
        assert_eq!(poll_with(&mut s, &waker), Poll::Ready(()));
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
    })
}

/// Guards the cancel-on-drop path: a dropped `Sleep` must never wake its waker, while the
/// same timer kept alive does (the control that makes the test able to fail).
#[test]
fn dropping_a_sleep_cancels_it() -> io::Result<()> {
    block_on(async {
        let (dropped_count, dropped_waker) = counting_waker();
        let (kept_count, kept_waker) = counting_waker();
        let mut dropped = time::sleep(Duration::from_millis(1));
        let mut kept = time::sleep(Duration::from_millis(1));
        assert!(poll_with(&mut dropped, &dropped_waker).is_pending());
        assert!(poll_with(&mut kept, &kept_waker).is_pending());
        drop(dropped);
        // Our own later deadline fires in the same or a later driver turn than `kept`'s.
        time::sleep(Duration::from_millis(3)).await;
        assert_eq!(kept_count.0.load(Ordering::SeqCst), 1);
        assert_eq!(dropped_count.0.load(Ordering::SeqCst), 0);
        assert_eq!(poll_with(&mut kept, &kept_waker), Poll::Ready(()));
    })
}

#[test]
fn reset_moves_the_deadline_both_ways() -> io::Result<()> {
    block_on(async {
        // Later to earlier, after registration.
        let start = Instant::now();
        let mut s = time::sleep(Duration::from_secs(3600));
        let (_, waker) = counting_waker();
        assert!(poll_with(&mut s, &waker).is_pending());
        s.reset(start + Duration::from_millis(2));
        assert_eq!(s.deadline(), start + Duration::from_millis(2));
        (&mut s).await;
        assert!(Instant::now() >= start + Duration::from_millis(2));

        // A completed sleep becomes pending again.
        let again = Instant::now() + Duration::from_millis(2);
        s.reset(again);
        assert!(!s.is_elapsed());
        (&mut s).await;
        assert!(Instant::now() >= again);

        // Earlier to later.
        let mut s = time::sleep(Duration::from_micros(10));
        assert!(poll_with(&mut s, &waker).is_pending());
        s.reset_after(Duration::from_millis(3));
        let later = s.deadline();
        (&mut s).await;
        assert!(Instant::now() >= later);
    })
}

#[test]
fn sleep_created_outside_a_runtime_binds_when_polled() -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_millis(2);
    let s = time::sleep_until(deadline);
    block_on(async move {
        s.await;
        assert!(Instant::now() >= deadline);
    })
}

#[test]
#[should_panic = "inside a c10k runtime"]
fn polling_outside_a_runtime_panics() {
    let mut s = time::sleep(Duration::from_millis(1));
    let (_, waker) = counting_waker();
    let _ = poll_with(&mut s, &waker);
}

#[test]
fn duration_max_means_never() -> io::Result<()> {
    block_on(async {
        let s = time::sleep(Duration::MAX);
        assert!(s.deadline() > Instant::now() + Duration::from_secs(86_400 * 365));
        let r = time::timeout(Duration::from_millis(1), s).await;
        assert!(r.is_err());
    })
}

/// A flag a foreign thread sets, awaited by the runtime's task.
#[derive(Default)]
struct Flag {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

/// A wake from a foreign thread: a `Sleep` of the runtime polled by another thread registers
/// a timer earlier than the driver's park deadline (here: none), so the driver must be
/// unparked to honour it. The task then waits for that thread to see the sleep complete.
#[test]
fn timer_registered_from_another_thread_fires() -> io::Result<()> {
    block_on(async {
        let deadline = Instant::now() + Duration::from_millis(5);
        let sleep: Sleep = time::sleep_until(deadline);
        let flag = Arc::new(Flag::default());
        let flag2 = flag.clone();
        let thread = std::thread::spawn(move || {
            struct Unparker(std::thread::Thread);
            impl Wake for Unparker {
                fn wake(self: Arc<Self>) {
                    self.0.unpark();
                }
            }
            let waker = Waker::from(Arc::new(Unparker(std::thread::current())));
            let mut sleep = sleep;
            while poll_with(&mut sleep, &waker).is_pending() {
                std::thread::park();
            }
            flag2.set.store(true, Ordering::SeqCst);
            if let Some(w) = flag2.waker.lock().unwrap().take() {
                w.wake();
            }
        });
        let wait = std::future::poll_fn(|cx| {
            *flag.waker.lock().unwrap() = Some(cx.waker().clone());
            if flag.set.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        time::timeout(Duration::from_secs(60), wait)
            .await
            .expect("the foreign thread's timer never fired");
        thread.join().unwrap();
        assert!(Instant::now() >= deadline);
    })
}

#[test]
fn sleep_is_send_sync_unpin() {
    fn check<T: Send + Sync + Unpin>() {}
    check::<Sleep>();
    check::<time::Interval>();
    check::<time::Timeout<std::future::Ready<()>>>();
}

/// Guards the cooperative budget: a task awaiting timers that are already due, in a loop,
/// must still yield, or the task it spawned would never run before the loop ends.
#[test]
fn a_loop_over_due_timers_yields() -> io::Result<()> {
    block_on(async {
        c10k_runtime::spawn(async {
            let past = Instant::now();
            // Once this completes, the driver has processed past `past`: sleeping until
            // `past` is then ready at the first poll.
            time::sleep(Duration::from_millis(1)).await;
            let flag = Arc::new(AtomicBool::new(false));
            let set = flag.clone();
            let other = c10k_runtime::spawn(async move { set.store(true, Ordering::SeqCst) });
            let mut saw = false;
            for _ in 0..10_000 {
                time::sleep_until(past).await;
                if flag.load(Ordering::SeqCst) {
                    saw = true;
                    break;
                }
            }
            other.await.expect("task panicked");
            assert!(saw, "10000 ready timers awaited without yielding once");
        })
        .await
        .expect("task panicked");
    })
}
