//! What the runtime benches share: the same minimal synchronisation for both runtimes (built
//! on `std` and `Waker`), so that what differs is only the scheduler.

use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

/// A single-slot ping-pong channel between two tasks.
#[derive(Clone)]
pub(crate) struct Slot {
    inner: Arc<Mutex<(Option<u64>, Option<Waker>)>>,
}

impl Slot {
    pub(crate) fn new() -> Slot {
        Slot {
            inner: Arc::new(Mutex::new((None, None))),
        }
    }
    pub(crate) fn put(&self, v: u64) {
        let w = {
            let mut g = self.inner.lock().unwrap();
            g.0 = Some(v);
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
    pub(crate) async fn take(&self) -> u64 {
        poll_fn(|cx| {
            let mut g = self.inner.lock().unwrap();
            match g.0.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    g.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

/// Yields once (the same future for both runtimes).
pub(crate) async fn yield_once() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}
