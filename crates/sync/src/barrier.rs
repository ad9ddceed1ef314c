//! A reusable barrier for a fixed number of parties, with a leader (Python's `Barrier`).
//!
//! The `n`-th arrival of a generation becomes the leader, releases the others and starts the
//! next generation. A waiting future that is dropped before its generation completes takes
//! back its arrival, so a cancelled party never lets the others through short-handed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::{self, Mutex};
use crate::wait::{park_while_queued, WaitList, WakeList, Wakeup};

#[derive(Debug)]
struct State {
    arrived: usize,
    list: WaitList<()>,
}

/// Makes `n` tasks or threads wait for each other, generation after generation.
///
/// # Examples
///
/// ```
/// use c10k_sync::Barrier;
///
/// let barrier = Barrier::new(3);
/// let leaders: usize = std::thread::scope(|s| {
///     let hs: Vec<_> = (0..3).map(|_| s.spawn(|| barrier.wait_blocking().is_leader())).collect();
///     hs.into_iter().map(|h| h.join().unwrap() as usize).sum()
/// });
/// assert_eq!(leaders, 1);
/// ```
pub struct Barrier {
    n: usize,
    state: Mutex<State>,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("parties", &self.n).finish()
    }
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// `true` for exactly one party per generation: the last to arrive.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` parties (`n == 0` behaves as `1`).
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State {
                arrived: 0,
                list: WaitList::new(),
            }),
        }
    }

    /// Arrives and waits for the generation to fill.
    ///
    /// Cancellation safety: dropping the future before the generation is complete withdraws
    /// the arrival.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(c10k_sync::Barrier::new(2));
    /// let b2 = b.clone();
    /// let t = std::thread::spawn(move || b2.wait_blocking().is_leader());
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let task_leads = rt.block_on(b.wait()).is_leader();
    /// assert!(task_leads != t.join().unwrap());
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            key: None,
            done: false,
        }
    }

    /// Arrives and blocks the thread until the generation is full.
    pub fn wait_blocking(&self) -> BarrierWaitResult {
        let key = match self.arrive(Wakeup::thread()) {
            Ok(r) => return r,
            Err(key) => key,
        };
        park_while_queued(&self.state, None, |s| s.list.is_queued(key));
        loom::lock(&self.state).list.remove(key);
        BarrierWaitResult(false)
    }

    /// Arrives: returns the leader's result, or queues and returns the key.
    fn arrive(&self, wakeup: Wakeup) -> Result<BarrierWaitResult, usize> {
        let mut wakes = WakeList::new();
        {
            let mut s = loom::lock(&self.state);
            s.arrived += 1;
            if s.arrived < self.n {
                return Err(s.list.push_back((), wakeup));
            }
            s.arrived = 0;
            s.list.notify_all(&mut wakes);
        }
        wakes.wake_all();
        Ok(BarrierWaitResult(true))
    }
}

/// Future of [`Barrier::wait`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    key: Option<usize>,
    done: bool,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::sync(cx, &p, crate::waiting::SyncKind::Barrier, None);
        p
    }
}

impl BarrierWait<'_> {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        assert!(!this.done, "BarrierWait polled after completion");
        match this.key {
            None => match this.barrier.arrive(Wakeup::Task(cx.waker().clone())) {
                Ok(r) => {
                    this.done = true;
                    Poll::Ready(r)
                }
                Err(key) => {
                    this.key = Some(key);
                    Poll::Pending
                }
            },
            Some(key) => {
                let mut s = loom::lock(&this.barrier.state);
                if s.list.is_queued(key) {
                    s.list.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                s.list.remove(key);
                this.key = None;
                this.done = true;
                Poll::Ready(BarrierWaitResult(false))
            }
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut s = loom::lock(&self.barrier.state);
            let (_, queued) = s.list.remove(key);
            if queued {
                s.arrived -= 1;
            }
        }
    }
}
