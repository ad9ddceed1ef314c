//! [`GreenHandle`]: join, kill, name; awaited by tasks; [`joinall`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::hub::Control;

/// Why a green thread has no value to give.
#[non_exhaustive]
pub enum GreenError {
    /// It panicked; the payload is here (resume it with `std::panic::resume_unwind`).
    Panicked(Box<dyn Any + Send + 'static>),
    /// It was killed ([`GreenHandle::kill`]) or its hub shut down before it finished.
    Killed,
}

impl fmt::Debug for GreenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for GreenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GreenError::Panicked(p) => {
                let msg = p
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| p.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("(a non-string payload)");
                write!(f, "the green thread panicked: {msg}")
            }
            GreenError::Killed => f.write_str("the green thread was killed"),
        }
    }
}

impl std::error::Error for GreenError {}

enum Slot<T> {
    Running(Vec<Waker>),
    Done(Result<T, GreenError>),
    Taken,
}

/// The result cell a green thread and its handle share.
pub(crate) struct JoinInner<T> {
    slot: Mutex<Slot<T>>,
    control: Arc<Control>,
}

impl<T> JoinInner<T> {
    pub(crate) fn new(control: Arc<Control>) -> Self {
        Self {
            slot: Mutex::new(Slot::Running(Vec::new())),
            control,
        }
    }

    /// Stores the result (the first one wins) and wakes every joiner.
    pub(crate) fn complete(&self, result: Result<T, GreenError>) {
        let waiters = {
            let mut slot = crate::lock(&self.slot);
            match &mut *slot {
                Slot::Running(w) => {
                    let w = std::mem::take(w);
                    *slot = Slot::Done(result);
                    w
                }
                _ => return,
            }
        };
        for w in waiters {
            w.wake();
        }
    }
}

/// A handle to a green thread: join it (from a green thread, a plain thread, or as a future
/// from an async task), kill it, ask whether it is dead.
///
/// Dropping the handle detaches the green thread: it keeps running.
///
/// `GreenHandle<T>` is `Send` and `Sync` when `T: Send`, so a task on another thread can
/// await it; the green thread itself never leaves its hub's thread.
pub struct GreenHandle<T> {
    inner: Arc<JoinInner<T>>,
}

fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<GreenHandle<u32>>();
}

impl<T> GreenHandle<T> {
    pub(crate) fn new(inner: Arc<JoinInner<T>>) -> Self {
        Self { inner }
    }

    pub(crate) fn control(&self) -> &Control {
        &self.inner.control
    }

    /// Its name, if it was spawned with [`Builder::name`](crate::Builder::name); the main
    /// green thread of [`run`](crate::run) is named `main`.
    pub fn name(&self) -> Option<&str> {
        self.inner.control.name.as_deref()
    }

    /// Whether it finished: returned, panicked or was killed (gevent's `dead`).
    pub fn is_dead(&self) -> bool {
        !matches!(*crate::lock(&self.inner.slot), Slot::Running(_))
    }

    /// Asks the hub to kill the green thread (gevent's `kill(block=False)`): on its hub's
    /// next turn its stack is unwound from where it is parked, running every destructor
    /// (guards release their locks, sockets close), and joining it gives
    /// [`GreenError::Killed`]. A green thread that has not started never runs. Killing a
    /// dead green thread does nothing. Callable from any thread; [`join`](Self::join) waits
    /// for the kill to be done.
    pub fn kill(&self) {
        if !self.is_dead() {
            self.inner.control.kill.store(true, Ordering::Release);
            self.inner.control.wake_now();
        }
    }

    /// The result, if the green thread is dead and it was not taken yet.
    pub(crate) fn try_take(&self) -> Option<Result<T, GreenError>> {
        let mut slot = crate::lock(&self.inner.slot);
        match &*slot {
            Slot::Done(_) => match std::mem::replace(&mut *slot, Slot::Taken) {
                Slot::Done(r) => Some(r),
                _ => unreachable!("matched Done"),
            },
            _ => None,
        }
    }

    /// Registers `waker` to be woken when the green thread dies; `true` if it is dead.
    fn register(&self, waker: &Waker) -> bool {
        let mut slot = crate::lock(&self.inner.slot);
        match &mut *slot {
            Slot::Running(w) => {
                if !w.iter().any(|x| x.will_wake(waker)) {
                    w.push(waker.clone());
                }
                false
            }
            _ => true,
        }
    }

    /// Waits for the green thread to finish and returns its value (gevent's `join` then
    /// `value`). On a green thread only that green thread waits; on a plain thread the thread
    /// blocks.
    ///
    /// # Errors
    ///
    /// [`GreenError::Panicked`] with the panic's payload, or [`GreenError::Killed`].
    ///
    /// # Panics
    ///
    /// If the value was already taken (by awaiting the handle).
    pub fn join(self) -> Result<T, GreenError> {
        crate::block_on(self)
    }
}

impl<T> Future for GreenHandle<T> {
    type Output = Result<T, GreenError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.register(cx.waker()) {
            Poll::Ready(
                self.try_take()
                    .expect("a green thread's result is taken only once"),
            )
        } else {
            Poll::Pending
        }
    }
}

impl<T> fmt::Debug for GreenHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreenHandle")
            .field("name", &self.name())
            .field("dead", &self.is_dead())
            .finish()
    }
}

/// Waits until every green thread of `handles` is dead, or `timeout` passed (gevent's
/// `joinall`), and returns the indices of those that are dead, in order. Their values stay in
/// the handles: [`join`](GreenHandle::join) them. On a green thread only that green thread
/// waits (the hub's timer measures the timeout); on a plain thread the thread blocks.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_green as green;
///
/// green::run(|| {
///     let quick = green::spawn(|| green::sleep(Duration::ZERO));
///     let stuck = green::spawn(|| green::sleep(Duration::from_secs(3600)));
///     let handles = [quick, stuck];
///     assert_eq!(green::joinall(&handles, Some(Duration::from_millis(10))), [0]);
///     handles[1].kill();
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn joinall<T>(handles: &[GreenHandle<T>], timeout: Option<Duration>) -> Vec<usize> {
    if crate::in_green_thread() {
        /// All dead, or the timer fired.
        struct AllDead<'a, T> {
            handles: &'a [GreenHandle<T>],
            timer: Option<Pin<Box<c10k_runtime::time::Sleep>>>,
        }
        impl<T> Future for AllDead<'_, T> {
            type Output = ();
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
                if self.handles.iter().all(|h| h.register(cx.waker())) {
                    return Poll::Ready(());
                }
                match self.timer.as_mut() {
                    Some(t) => t.as_mut().poll(cx),
                    None => Poll::Pending,
                }
            }
        }
        crate::block_on(AllDead {
            handles,
            timer: timeout.map(|t| Box::pin(c10k_runtime::time::sleep(t))),
        });
    } else {
        let deadline = timeout.map(|t| Instant::now() + t);
        let waker = crate::hub::thread_waker();
        while !handles.iter().all(|h| h.register(&waker)) {
            match deadline {
                None => std::thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    std::thread::park_timeout(d - now);
                }
            }
        }
    }
    handles
        .iter()
        .enumerate()
        .filter(|(_, h)| h.is_dead())
        .map(|(i, _)| i)
        .collect()
}
