//! loom models of the run queues: the local ring queue (owner push/pop racing a thief's
//! steal, including overflow to the injector) and the injector. Every task must come out
//! exactly once. The queue capacity is 4 under loom so that overflow paths are reached.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

use super::super::queue::{self, Local};
use crate::executor::inject::Inject;
use crate::task::list::OwnedTasks;
use crate::task::{new_task, Id, Notified, RawTask, Schedule};

struct Sched(OwnedTasks);

impl Schedule for Arc<Sched> {
    fn schedule(&self, _task: Notified) {
        unreachable!("the queue models never wake tasks");
    }
    fn release(&self, task: RawTask) -> bool {
        self.0.remove(task)
    }
}

/// A task that completes at once, counting its runs.
struct Count(Arc<AtomicUsize>);

impl Future for Count {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        self.0.fetch_add(1, SeqCst);
        Poll::Ready(())
    }
}

fn task(s: &Arc<Sched>, runs: &Arc<AtomicUsize>) -> Notified {
    let (t, n, join) = new_task(
        Count(Arc::clone(runs)),
        Arc::clone(s),
        Id::next(),
        crate::task::Info::new(std::panic::Location::caller(), None),
    );
    assert!(s.0.insert(t));
    drop(join);
    n
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

fn drain(local: &mut Local, inject: &Inject) -> usize {
    let mut n = 0;
    while let Some(t) = local.pop() {
        t.run();
        n += 1;
    }
    while let Some(t) = inject.pop() {
        t.run();
        n += 1;
    }
    n
}

#[test]
fn loom_steal_races_pop() {
    model(|| {
        let s = Arc::new(Sched(OwnedTasks::new(1)));
        let runs = Arc::new(AtomicUsize::new(0));
        let inject = Arc::new(Inject::new());
        let (steal, mut local) = queue::new();
        for _ in 0..3 {
            local.push_back(task(&s, &runs), &inject);
        }
        let thief = thread::spawn(move || {
            let (_, mut mine) = queue::new();
            let mut n = 0;
            if let Some(t) = steal.steal_into(&mut mine) {
                t.run();
                n += 1;
            }
            while let Some(t) = mine.pop() {
                t.run();
                n += 1;
            }
            n
        });
        let mut n = 0;
        if let Some(t) = local.pop() {
            t.run();
            n += 1;
        }
        n += drain(&mut local, &inject);
        n += thief.join().unwrap();
        assert_eq!(n, 3);
        assert_eq!(runs.load(SeqCst), 3);
    });
}

#[test]
fn loom_push_overflow_races_steal() {
    model(|| {
        let s = Arc::new(Sched(OwnedTasks::new(1)));
        let runs = Arc::new(AtomicUsize::new(0));
        let inject = Arc::new(Inject::new());
        let (steal, mut local) = queue::new();
        for _ in 0..queue::CAPACITY {
            local.push_back(task(&s, &runs), &inject);
        }
        let thief = thread::spawn(move || {
            let (_, mut mine) = queue::new();
            let mut n = 0;
            if let Some(t) = steal.steal_into(&mut mine) {
                t.run();
                n += 1;
            }
            while let Some(t) = mine.pop() {
                t.run();
                n += 1;
            }
            n
        });
        // Full queue: these pushes overflow (half to the injector) or, during a steal, go to
        // the injector directly.
        local.push_back(task(&s, &runs), &inject);
        local.push_back(task(&s, &runs), &inject);
        let mut n = drain(&mut local, &inject);
        n += thief.join().unwrap();
        n += drain(&mut local, &inject);
        assert_eq!(n, queue::CAPACITY + 2);
        assert_eq!(runs.load(SeqCst), queue::CAPACITY + 2);
    });
}

#[test]
fn loom_two_thieves_one_owner() {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(|| {
        let s = Arc::new(Sched(OwnedTasks::new(1)));
        let runs = Arc::new(AtomicUsize::new(0));
        let inject = Arc::new(Inject::new());
        let (steal, mut local) = queue::new();
        for _ in 0..4 {
            local.push_back(task(&s, &runs), &inject);
        }
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let steal = steal.clone();
                thread::spawn(move || {
                    let (_, mut mine) = queue::new();
                    let mut n = 0;
                    if let Some(t) = steal.steal_into(&mut mine) {
                        t.run();
                        n += 1;
                    }
                    while let Some(t) = mine.pop() {
                        t.run();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut n = drain(&mut local, &inject);
        for t in thieves {
            n += t.join().unwrap();
        }
        assert_eq!(n, 4);
        assert_eq!(runs.load(SeqCst), 4);
    });
}

#[test]
fn loom_injector_push_pop() {
    model(|| {
        let s = Arc::new(Sched(OwnedTasks::new(1)));
        let runs = Arc::new(AtomicUsize::new(0));
        let inject = Arc::new(Inject::new());
        let pushers: Vec<_> = (0..2)
            .map(|_| {
                let (inject, s, runs) = (Arc::clone(&inject), Arc::clone(&s), Arc::clone(&runs));
                thread::spawn(move || {
                    assert!(inject.push(task(&s, &runs)).is_ok());
                })
            })
            .collect();
        let mut n = 0;
        while n < 2 {
            match inject.pop() {
                Some(t) => {
                    t.run();
                    n += 1;
                }
                None => thread::yield_now(),
            }
        }
        for p in pushers {
            p.join().unwrap();
        }
        assert_eq!(runs.load(SeqCst), 2);
    });
}
