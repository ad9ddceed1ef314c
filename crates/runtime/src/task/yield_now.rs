use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the scheduler: the task goes to the back of its run queue and every other
/// runnable task runs before it is polled again.
///
/// Use it to break up long computations inside a task. (IO resources yield on their own,
/// see the cooperative budget in [`task`](crate::task).)
///
/// # Examples
///
/// ```
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     for _ in 0..3 {
///         c10k_runtime::task::yield_now().await;
///     }
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// # Examples
///
/// ```
/// use c10k_runtime::task::{self, YieldNow};
/// c10k_runtime::run(async {
///     let y: YieldNow = task::yield_now();
///     y.await; // other ready tasks run before this one resumes
/// });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Waking during our own poll sets SCHEDULED while RUNNING: the runner requeues the
        // task at the back (`Schedule::yield_now`), behind everything already runnable.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
