//! Helpers shared by the pool's integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// The bound on every wait in these tests: generous for a busy 2-core machine; reaching it
/// means a lost wakeup or a deadlock, and the test fails instead of hanging.
pub(crate) const BOUND: Duration = Duration::from_secs(20);

/// A one-shot gate: `open` from one side, `pass` (bounded by [`BOUND`]) on the other.
pub(crate) fn gate() -> (Opener, Gate) {
    let (tx, rx) = mpsc::channel();
    (Opener(tx), Gate(rx))
}

pub(crate) struct Opener(mpsc::Sender<()>);
pub(crate) struct Gate(mpsc::Receiver<()>);

impl Opener {
    pub(crate) fn open(&self) {
        let _ = self.0.send(());
    }
}

impl Gate {
    /// Waits for the opener; panics after [`BOUND`] (the test then fails, not hangs).
    pub(crate) fn pass(&self) {
        self.0
            .recv_timeout(BOUND)
            .expect("gate not opened within the bound");
    }
}

struct ThreadWaker {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// A minimal executor of our own (not c10k's, not tokio's): polls on this thread, parks
/// until woken. Shows that a `PoolFuture` needs nothing from the executor but its waker; a
/// lost wakeup fails the test (after [`BOUND`]) rather than being papered over by a re-poll.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let state = Arc::new(ThreadWaker {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(state.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        let deadline = Instant::now() + BOUND;
        while !state.woken.swap(false, Ordering::Acquire) {
            let now = Instant::now();
            assert!(now < deadline, "block_on: pending and never woken");
            thread::park_timeout(deadline - now);
        }
    }
}
