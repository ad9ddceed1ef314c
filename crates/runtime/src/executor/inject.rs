//! The injection queue: tasks scheduled from outside a scheduler's threads (and overflow of
//! the multi-thread local queues). A mutex-protected FIFO with an atomic length, so that the
//! hot paths ("is there anything?") take no lock.

use std::collections::VecDeque;

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::Mutex;
use crate::task::Notified;

pub(crate) struct Inject {
    queue: Mutex<Queue>,
    len: AtomicUsize,
}

struct Queue {
    tasks: VecDeque<Notified>,
    closed: bool,
}

impl Inject {
    pub(crate) fn new() -> Inject {
        Inject {
            queue: Mutex::new(Queue {
                tasks: VecDeque::new(),
                closed: false,
            }),
            len: AtomicUsize::new(0),
        }
    }

    /// Queues `task`; returns it back if the queue is closed (the runtime is shutting down).
    pub(crate) fn push(&self, task: Notified) -> Result<(), Notified> {
        let mut q = crate::loom::lock(&self.queue);
        if q.closed {
            return Err(task);
        }
        q.tasks.push_back(task);
        self.len.store(q.tasks.len(), Ordering::Release);
        Ok(())
    }

    /// Queues many tasks at once (local queue overflow).
    pub(crate) fn push_batch(&self, tasks: impl Iterator<Item = Notified>) {
        let mut q = crate::loom::lock(&self.queue);
        if q.closed {
            drop(q);
            tasks.for_each(drop);
            return;
        }
        q.tasks.extend(tasks);
        self.len.store(q.tasks.len(), Ordering::Release);
    }

    pub(crate) fn pop(&self) -> Option<Notified> {
        if self.is_empty() {
            return None;
        }
        let mut q = crate::loom::lock(&self.queue);
        let t = q.tasks.pop_front();
        self.len.store(q.tasks.len(), Ordering::Release);
        t
    }

    /// Pops up to `n` tasks into `f` under one lock acquisition. `f` runs with the lock held:
    /// it must not touch this queue (it would deadlock).
    pub(crate) fn pop_n(&self, n: usize, mut f: impl FnMut(Notified)) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut q = crate::loom::lock(&self.queue);
        let n = n.min(q.tasks.len());
        for _ in 0..n {
            f(q.tasks.pop_front().expect("length checked"));
        }
        self.len.store(q.tasks.len(), Ordering::Release);
        n
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Closes the queue and returns what it held (to be dropped by the caller, outside the
    /// lock: dropping a task may schedule another).
    pub(crate) fn close(&self) -> VecDeque<Notified> {
        let mut q = crate::loom::lock(&self.queue);
        q.closed = true;
        self.len.store(0, Ordering::Release);
        std::mem::take(&mut q.tasks)
    }
}

impl std::fmt::Debug for Inject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inject").field("len", &self.len()).finish()
    }
}
