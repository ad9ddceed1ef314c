//! loom models of the task state machine: the real cell, vtable and state word driven by a
//! test scheduler, with wakes, aborts and join-handle operations racing the runner.
//!
//! Each model checks that the output (or the cancellation) reaches the join handle exactly
//! as the interleaving allows, and that the future and the output are dropped exactly once
//! (the cell itself is freed by the last reference; a double free or use-after-free would
//! trip loom's cell access checks or crash).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;

use crate::task::list::OwnedTasks;
use crate::task::{new_task, Id, JoinError, JoinHandle, Notified, RawTask, Schedule};

struct Sched {
    queue: Mutex<VecDeque<Notified>>,
    owned: OwnedTasks,
}

#[derive(Clone)]
struct TestSched(Arc<Sched>);

impl Schedule for TestSched {
    fn schedule(&self, task: Notified) {
        self.0.queue.lock().unwrap().push_back(task);
    }
    fn release(&self, task: RawTask) -> bool {
        self.0.owned.remove(task)
    }
}

impl TestSched {
    fn new() -> TestSched {
        TestSched(Arc::new(Sched {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(1),
        }))
    }

    fn spawn<F: Future + Send + 'static>(&self, f: F) -> JoinHandle<F::Output>
    where
        F::Output: Send,
    {
        let (task, notified, join) = new_task(
            f,
            self.clone(),
            Id::next(),
            crate::task::Info::new(std::panic::Location::caller(), None),
        );
        assert!(self.0.owned.insert(task));
        self.schedule(notified);
        join
    }

    /// Runs queued tasks until the queue is empty; returns how many ran.
    fn run(&self) -> usize {
        let mut n = 0;
        loop {
            let t = self.0.queue.lock().unwrap().pop_front();
            match t {
                Some(t) => {
                    t.run();
                    n += 1;
                }
                None => return n,
            }
        }
    }

    fn shutdown(&self) {
        self.0.owned.close_and_drain();
        let q: Vec<_> = self.0.queue.lock().unwrap().drain(..).collect();
        drop(q);
    }
}

/// Pending once (leaving its waker in `slot`), then ready with 42. Counts its drops.
struct TwoPolls {
    polled: bool,
    slot: Arc<Mutex<Option<Waker>>>,
    drops: Arc<AtomicUsize>,
}

impl Future for TwoPolls {
    type Output = Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        if self.polled {
            return Poll::Ready(Output(42, Arc::clone(&self.drops)));
        }
        self.polled = true;
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for TwoPolls {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

/// The output also counts its drop.
struct Output(u32, Arc<AtomicUsize>);

impl Drop for Output {
    fn drop(&mut self) {
        self.1.fetch_add(1, SeqCst);
    }
}

fn poll_join<T>(h: &mut JoinHandle<T>) -> Poll<Result<T, JoinError>> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(h).poll(&mut cx)
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

#[test]
fn loom_wake_from_another_thread_while_running() {
    model(|| {
        let s = TestSched::new();
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let drops = Arc::new(AtomicUsize::new(0));
        let mut h = s.spawn(TwoPolls {
            polled: false,
            slot: Arc::clone(&slot),
            drops: Arc::clone(&drops),
        });
        // The waker thread takes the waker as soon as the first poll stores it, so the wake
        // may land while that poll is still running (SCHEDULED set under RUNNING).
        let slot2 = Arc::clone(&slot);
        let t = thread::spawn(move || loop {
            let w = slot2.lock().unwrap().take();
            match w {
                Some(w) => return w.wake(),
                None => thread::yield_now(),
            }
        });
        loop {
            s.run();
            if let Poll::Ready(out) = poll_join(&mut h) {
                let out = out.unwrap();
                assert_eq!(out.0, 42);
                drop(out);
                break;
            }
            thread::yield_now();
        }
        t.join().unwrap();
        drop(h);
        s.shutdown();
        // Future dropped once, output dropped once.
        assert_eq!(drops.load(SeqCst), 2);
    });
}

#[test]
fn loom_abort_races_wake_and_run() {
    model(|| {
        let s = TestSched::new();
        let slot = Arc::new(Mutex::new(None));
        let drops = Arc::new(AtomicUsize::new(0));
        let mut h = s.spawn(TwoPolls {
            polled: false,
            slot: Arc::clone(&slot),
            drops: Arc::clone(&drops),
        });
        s.run();
        let waker = slot.lock().unwrap().take().expect("waker stored");
        let abort = h.abort_handle();
        let t1 = thread::spawn(move || waker.wake());
        let t2 = thread::spawn(move || abort.abort());
        let out = loop {
            s.run();
            if let Poll::Ready(out) = poll_join(&mut h) {
                break out;
            }
            thread::yield_now();
        };
        match out {
            Ok(o) => {
                assert_eq!(o.0, 42);
                drop(o);
                assert_eq!(drops.load(SeqCst), 2);
            }
            Err(e) => {
                assert!(e.is_cancelled());
                assert_eq!(drops.load(SeqCst), 1);
            }
        }
        t1.join().unwrap();
        t2.join().unwrap();
        drop(h);
        s.shutdown();
    });
}

#[test]
fn loom_join_handle_drop_races_completion() {
    model(|| {
        let s = TestSched::new();
        let slot = Arc::new(Mutex::new(None));
        let drops = Arc::new(AtomicUsize::new(0));
        let mut h = s.spawn(TwoPolls {
            polled: false,
            slot: Arc::clone(&slot),
            drops: Arc::clone(&drops),
        });
        s.run();
        // Register the join waker first, then race its drop with the completion.
        assert!(poll_join(&mut h).is_pending());
        let waker = slot.lock().unwrap().take().expect("waker stored");
        waker.wake();
        let s2 = s.clone();
        let runner = thread::spawn(move || {
            s2.run();
        });
        drop(h);
        runner.join().unwrap();
        s.shutdown();
        // The output was dropped by whichever side saw the other go: exactly once.
        assert_eq!(drops.load(SeqCst), 2);
    });
}

#[test]
fn loom_join_waker_races_completion() {
    model(|| {
        let s = TestSched::new();
        let slot = Arc::new(Mutex::new(None));
        let drops = Arc::new(AtomicUsize::new(0));
        let mut h = s.spawn(TwoPolls {
            polled: false,
            slot: Arc::clone(&slot),
            drops: Arc::clone(&drops),
        });
        s.run();
        let waker = slot.lock().unwrap().take().expect("waker stored");
        waker.wake();
        let s2 = s.clone();
        let runner = thread::spawn(move || {
            s2.run();
        });
        // Poll (and re-poll, swapping wakers) while the task completes.
        let first = poll_join(&mut h);
        runner.join().unwrap();
        let out = match first {
            Poll::Ready(o) => o,
            Poll::Pending => match poll_join(&mut h) {
                Poll::Ready(o) => o,
                Poll::Pending => panic!("completed task not ready"),
            },
        };
        assert_eq!(out.unwrap().0, 42);
        drop(h);
        s.shutdown();
        assert_eq!(drops.load(SeqCst), 2);
    });
}

#[test]
fn loom_shutdown_races_wake() {
    model(|| {
        let s = TestSched::new();
        let slot = Arc::new(Mutex::new(None));
        let drops = Arc::new(AtomicUsize::new(0));
        let mut h = s.spawn(TwoPolls {
            polled: false,
            slot: Arc::clone(&slot),
            drops: Arc::clone(&drops),
        });
        s.run();
        let waker = slot.lock().unwrap().take().expect("waker stored");
        let t = thread::spawn(move || waker.wake());
        s.shutdown();
        t.join().unwrap();
        s.shutdown(); // drops a Notified queued by the late wake, if any
        match poll_join(&mut h) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            other => panic!(
                "expected cancellation, got {:?}",
                other.map(|r| r.map(|o| o.0))
            ),
        }
        assert_eq!(drops.load(SeqCst), 1);
    });
}
