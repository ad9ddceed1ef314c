//! The owned-tasks list: every live task of a scheduler, so that shutdown can cancel them
//! all, including those parked forever on IO nobody will signal.
//!
//! An intrusive doubly-linked list (the links live in each task's header, so joining the
//! list allocates nothing), split into shards by task id so that workers spawning and
//! completing tasks in parallel rarely share a lock. The list holds one reference to each
//! task; it is given back when the task completes (`remove`) or at shutdown (`close_and_drain`).

use std::ptr::NonNull;

use super::header::{Header, Pointers};
use super::{RawTask, Task};
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::Mutex;

pub(crate) struct OwnedTasks {
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
    len: AtomicUsize,
}

struct Shard {
    head: Option<NonNull<Header>>,
    closed: bool,
}

// SAFETY: the raw pointers are only dereferenced with the shard lock held, and tasks may be
// shared between threads (their schedulers are `Send + Sync`).
unsafe impl Send for Shard {}

impl OwnedTasks {
    /// `shards` is rounded up to a power of two.
    pub(crate) fn new(shards: usize) -> OwnedTasks {
        let n = shards.max(1).next_power_of_two();
        OwnedTasks {
            shards: (0..n)
                .map(|_| {
                    Mutex::new(Shard {
                        head: None,
                        closed: false,
                    })
                })
                .collect(),
            mask: n - 1,
            len: AtomicUsize::new(0),
        }
    }

    fn shard(&self, task: RawTask) -> &Mutex<Shard> {
        &self.shards[task.header().id.as_u64() as usize & self.mask]
    }

    /// Adds a new task (taking the list's reference). If the list is closed, the task is
    /// cancelled on the spot and `false` is returned.
    pub(crate) fn insert(&self, task: Task) -> bool {
        let raw = task.into_raw();
        let mut shard = crate::loom::lock(self.shard(raw));
        if shard.closed {
            drop(shard);
            raw.shutdown();
            return false;
        }
        let node = raw.0;
        // SAFETY: `node` and the old head are alive (the caller's and the list's references);
        // we hold the shard lock, which guards all links of the shard.
        unsafe {
            set_links(
                node,
                Pointers {
                    prev: None,
                    next: shard.head,
                },
            );
            if let Some(old) = shard.head {
                set_prev(old, Some(node));
            }
        }
        shard.head = Some(node);
        self.len.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Removes a completing task; returns true if it was in the list (the list's reference is
    /// then the caller's to drop), false if shutdown already took it.
    pub(crate) fn remove(&self, task: RawTask) -> bool {
        let mut shard = crate::loom::lock(self.shard(task));
        let node = task.0;
        // SAFETY: the task is alive (caller's reference); links are guarded by the shard
        // lock, which we hold.
        let Pointers { prev, next } = unsafe { get_links(node) };
        if prev.is_none() && shard.head != Some(node) {
            return false;
        }
        // SAFETY: neighbours are in the same shard and alive (the list holds a reference
        // to each); we hold the shard lock, which guards all links.
        unsafe {
            match prev {
                Some(p) => set_next(p, next),
                None => shard.head = next,
            }
            if let Some(n) = next {
                set_prev(n, prev);
            }
            set_links(node, Pointers::default());
        }
        self.len.fetch_sub(1, Ordering::Relaxed);
        true
    }

    fn pop(&self, shard: &Mutex<Shard>) -> Option<RawTask> {
        let mut shard = crate::loom::lock(shard);
        let node = shard.head?;
        // SAFETY: `node` is the head of this shard and `next` its neighbour, both alive (the
        // list holds a reference to each); we hold the shard lock.
        let next = unsafe {
            let Pointers { next, .. } = get_links(node);
            set_links(node, Pointers::default());
            if let Some(n) = next {
                set_prev(n, None);
            }
            next
        };
        shard.head = next;
        self.len.fetch_sub(1, Ordering::Relaxed);
        Some(RawTask(node))
    }

    /// Closes the list (later inserts cancel their task) and cancels every task in it.
    /// Tasks are dropped on the calling thread, outside the shard locks.
    pub(crate) fn close_and_drain(&self) {
        for shard in self.shards.iter() {
            crate::loom::lock(shard).closed = true;
        }
        for shard in self.shards.iter() {
            while let Some(task) = self.pop(shard) {
                task.shutdown();
            }
        }
    }

    /// Calls `f` with every task in the list, each shard's lock held while its tasks are
    /// visited (the task dump: `f` copies a header and must not block).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        for shard in self.shards.iter() {
            let shard = crate::loom::lock(shard);
            let mut node = shard.head;
            while let Some(n) = node {
                // SAFETY: the list holds a reference to every task in it, and we hold the
                // shard lock, which guards the links.
                let header = unsafe { n.as_ref() };
                f(header);
                // SAFETY: as above.
                node = unsafe { get_links(n) }.next;
            }
        }
    }

    /// The number of live tasks (exact when no spawn or completion is in flight).
    pub(crate) fn len_hint(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

/// # Safety
///
/// `node` is alive, and the caller holds the lock of the shard it is (or will be) in.
unsafe fn get_links(node: NonNull<Header>) -> Pointers {
    // SAFETY: the caller's contract: the links are ours to read.
    unsafe { node.as_ref() }.owned.with(|l| {
        // SAFETY: as above.
        let l = unsafe { &*l };
        Pointers {
            prev: l.prev,
            next: l.next,
        }
    })
}

/// # Safety
///
/// As [`get_links`].
unsafe fn set_links(node: NonNull<Header>, links: Pointers) {
    // SAFETY: the caller's contract: the links are ours to write.
    unsafe { node.as_ref() }.owned.with_mut(|l| {
        // SAFETY: as above.
        unsafe { *l = links };
    });
}

/// # Safety
///
/// As [`get_links`].
unsafe fn set_prev(node: NonNull<Header>, prev: Option<NonNull<Header>>) {
    // SAFETY: the caller's contract.
    let Pointers { next, .. } = unsafe { get_links(node) };
    // SAFETY: the caller's contract.
    unsafe { set_links(node, Pointers { prev, next }) };
}

/// # Safety
///
/// As [`get_links`].
unsafe fn set_next(node: NonNull<Header>, next: Option<NonNull<Header>>) {
    // SAFETY: the caller's contract.
    let Pointers { prev, .. } = unsafe { get_links(node) };
    // SAFETY: the caller's contract.
    unsafe { set_links(node, Pointers { prev, next }) };
}

impl std::fmt::Debug for OwnedTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedTasks")
            .field("shards", &self.shards.len())
            .finish()
    }
}
