//! The tutorials' *async iterator* (`async for i in MyRange(10)`, seed 002) as a
//! [`futures_core::Stream`]: `poll_next` is `__anext__`, `None` is `StopAsyncIteration`.
//!
//! `MyRange` waits (asynchronously) before each value, like the Python version's
//! `await asyncio.sleep(1)` (shortened to 10 ms so the example finishes quickly). Other
//! tasks run during the waits: a second range is consumed concurrently to show it.
//!
//! `cargo run -p c10k --example async_iterator`

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use c10k::time::Sleep;
use futures_core::Stream;

/// Yields `start..end`, one value per `step` of time.
#[derive(Debug)]
pub(crate) struct MyRange {
    next: u32,
    end: u32,
    step: Duration,
    /// The pending wait before the next value (`add_count`'s `asyncio.sleep`).
    sleep: Option<Sleep>,
}

impl MyRange {
    /// `MyRange(start, end)`.
    pub(crate) fn new(start: u32, end: u32, step: Duration) -> MyRange {
        MyRange {
            next: start,
            end,
            step,
            sleep: None,
        }
    }
}

impl Stream for MyRange {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        if self.next >= self.end {
            return Poll::Ready(None); // StopAsyncIteration
        }
        let step = self.step;
        let sleep = self.sleep.get_or_insert_with(|| c10k::time::sleep(step));
        // `Sleep` is `Unpin`, so it can be polled in place.
        match Pin::new(sleep).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.sleep = None;
                let v = self.next;
                self.next += 1;
                Poll::Ready(Some(v))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end.saturating_sub(self.next) as usize;
        (left, Some(left))
    }
}

/// `async for i in range: collect` — the loop Python writes as `async for`.
pub(crate) async fn collect(mut range: MyRange, name: &str) -> Vec<u32> {
    let mut out = Vec::new();
    while let Some(i) = std::future::poll_fn(|cx| Pin::new(&mut range).poll_next(cx)).await {
        println!("{name}: {i}");
        out.push(i);
    }
    out
}

// `#[c10k::main]` is `fn main() { c10k runtime .block_on(async { ... }) }`; the
// current-thread flavor runs everything on this thread, like asyncio.run().
#[c10k::main(flavor = "current_thread")]
async fn main() {
    let step = Duration::from_millis(10);
    let other = c10k::spawn(collect(MyRange::new(100, 105, step), "b"));
    let mine = collect(MyRange::new(0, 10, step), "a").await;
    let theirs = other.await.expect("the task does not panic");
    assert_eq!(mine, (0..10).collect::<Vec<_>>());
    assert_eq!(theirs, (100..105).collect::<Vec<_>>());
    println!("done: {} + {} values", mine.len(), theirs.len());
}
