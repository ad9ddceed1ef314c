//! [`Timeout`]: a future with a deadline, returned by [`timeout`](fn@super::timeout) and
//! [`timeout_at`](fn@super::timeout_at).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{Elapsed, Instant, Sleep};

pin_project_lite::pin_project! {
    /// Runs a future until a deadline; created by [`timeout`](fn@super::timeout) or
    /// [`timeout_at`](fn@super::timeout_at).
    ///
    /// Each poll polls the inner future first, then the timer: a future that is ready at the
    /// same poll as the deadline wins, and a future that completes before the deadline never
    /// registers a timer at all. When the deadline wins, the inner future is dropped with the
    /// `Timeout` (it is not polled again).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future;
    /// use std::time::Duration;
    /// use c10k_runtime::time;
    ///
        /// c10k_runtime::run(async {
    ///     let never = future::pending::<()>();
    ///     let err = time::timeout(Duration::from_millis(5), never).await.unwrap_err();
    ///     assert_eq!(err.to_string(), "deadline has elapsed");
    ///
    ///     let quick = async { 7 };
    ///     assert_eq!(time::timeout(Duration::from_secs(1), quick).await, Ok(7));
    /// });
    /// ```
    #[must_use = "a Timeout does nothing unless polled or awaited"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        delay: Sleep,
    }
}

impl<F> Timeout<F> {
    /// A `Timeout` running `future` until `deadline`.
    pub(crate) fn new(future: F, deadline: Instant) -> Timeout<F> {
        Timeout {
            future,
            delay: Sleep::new(deadline),
        }
    }

    /// The inner future.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time;
    /// c10k_runtime::run(async {
    ///     let t = time::timeout(Duration::from_secs(5), async { 4 });
    ///     let _inner: &_ = t.get_ref();
    ///     assert_eq!(t.await, Ok(4));
    /// });
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The inner future, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time;
    /// c10k_runtime::run(async {
    ///     let mut t = time::timeout(Duration::from_secs(5), std::future::ready(4));
    ///     *t.get_mut() = std::future::ready(5); // swap the work, keep the deadline
    ///     assert_eq!(t.await, Ok(5));
    /// });
    /// ```
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// The inner future, pinned.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::time::Duration;
    /// use c10k_runtime::time;
    /// c10k_runtime::run(async {
    ///     let mut t = std::pin::pin!(time::timeout(Duration::from_secs(5), async { 4 }));
    ///     // Poll the inner future directly, bypassing the deadline check.
    ///     let v = std::future::poll_fn(|cx| t.as_mut().get_pin_mut().poll(cx)).await;
    ///     assert_eq!(v, 4);
    /// });
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut F> {
        self.project().future
    }

    /// Consumes the `Timeout`, returning the inner future.
    ///
    /// # Examples
    ///
    /// A timeout can be unwrapped to keep the work going without a deadline; `get_ref`,
    /// `get_mut` and `get_pin_mut` reach the inner future in place:
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time;
    /// c10k_runtime::run(async {
    ///     let t = time::timeout(Duration::from_millis(1), async { 4 });
    ///     let _: &_ = t.get_ref();
    ///     assert_eq!(t.into_inner().await, 4);
    /// });
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }

    /// The deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::{self, Instant};
    /// c10k_runtime::run(async {
    ///     let at = Instant::now() + Duration::from_millis(5);
    ///     let t = time::timeout_at(at, std::future::pending::<()>());
    ///     assert_eq!(t.deadline(), at);
    ///     assert!(t.await.is_err()); // Elapsed, not before `at`
    ///     assert!(Instant::now() >= at);
    /// });
    /// ```
    pub fn deadline(&self) -> Instant {
        self.delay.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.delay).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("delay", &self.delay)
            .finish()
    }
}
