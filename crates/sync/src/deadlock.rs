//! Lock-order checking ("lockdep") behind the `deadlock-detection` feature.
//!
//! # What it finds
//!
//! Two threads that take the same two locks in opposite orders can deadlock, but only when
//! their timing is unlucky: the tutorials' demo (thread 1 locks A then B, thread 2 locks B then
//! A) often runs to completion. This module finds the *possibility*: it keeps one global
//! directed graph whose edge `A → B` means "some thread acquired B while holding A". Before a
//! blocking acquisition of `L` by a thread holding `H`, it adds `H → L`; if `L` already reaches
//! `H` in the graph, the new edge closes a cycle and the order of acquisitions somewhere in the
//! program can deadlock, whether or not it did this time. Re-locking a non-reentrant lock the
//! thread already holds (a certain self-deadlock) is reported too.
//!
//! # How it reports
//!
//! It **panics** on the acquisition that closes the cycle, before blocking, with a message that
//! names every edge of the cycle: the thread that made it, the lock (its kind, number and the
//! place it was created) and the source line of both acquisitions (`#[track_caller]`). A panic
//! stops the test or the demo where the bug is, with the evidence, instead of a log line that
//! scrolls by; the feature is meant for tests and debugging builds.
//!
//! # Limits
//!
//! - Held locks are tracked per *thread*, which is right for blocking acquisitions
//!   (`lock_blocking`, `read_blocking`, ..., and `try_` forms) and wrong for tasks: many tasks
//!   share a thread and a guard held across `.await` would be attributed to whichever task the
//!   thread polls next, producing false reports. So by default an `async` acquisition
//!   (`lock().await`) is *checked* against the blocking locks the polling thread holds, and
//!   reported by that thread's name, but is **not recorded as held**.
//! - Wrap a task's future in [`track`] to give it its own held-lock list and a name: while the
//!   tracked future is polled, its list replaces the thread's, so its `async` acquisitions are
//!   recorded, checked and reported exactly like a thread's (as `task 'name'`). An inversion
//!   between two tracked tasks is then caught just as between two threads. A guard moved out of
//!   the task that acquired it is released from whichever list is current when it is dropped.
//! - `try_lock` acquisitions cannot block, so they add no edge, but the lock they took counts
//!   as held for later acquisitions.
//! - Locks are nodes by instance; a dropped lock's edges are removed.
//!
//! # Cost
//!
//! With the feature, every blocking (or tracked) acquisition takes one global mutex and, the
//! first time an edge appears, runs a depth-first search from the new lock. Without it, the
//! per-lock identity is zero-sized, every hook is an empty inline function, and [`track`] only
//! boxes the future it wraps.

use std::future::Future;
#[cfg(not(feature = "deadlock-detection"))]
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Wraps a task's future so that its `async` lock acquisitions are tracked as its own (see the
/// module docs); `name` appears in reports. Without the `deadlock-detection` feature this is a
/// transparent wrapper that costs one pointer.
///
/// # Examples
///
/// ```
/// use c10k_sync::{deadlock, Mutex};
///
/// let (a, b) = (Mutex::new(()), Mutex::new(()));
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(deadlock::track("worker", async {
///     let _ga = a.lock().await;
///     let _gb = b.lock().await; // recorded as "A, then B" for task 'worker'
/// }));
/// ```
pub fn track<F: Future>(name: impl Into<String>, fut: F) -> Tracked<F> {
    Tracked {
        fut: Box::pin(fut),
        state: TaskState::new(name.into()),
    }
}

/// Future of [`track`].
#[must_use = "futures do nothing unless polled"]
pub struct Tracked<F> {
    fut: Pin<Box<F>>,
    state: TaskState,
}

impl<F> std::fmt::Debug for Tracked<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracked")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let fut = this.fut.as_mut();
        this.state.enter(|| fut.poll(cx))
    }
}

#[cfg(not(feature = "deadlock-detection"))]
#[derive(Debug)]
struct TaskState;

#[cfg(not(feature = "deadlock-detection"))]
impl TaskState {
    fn new(_name: String) -> TaskState {
        TaskState
    }

    fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R {
        f()
    }
}

/// Identity of one lock instance in the lock-order graph (zero-sized without the feature).
#[derive(Debug)]
pub(crate) struct LockId {
    #[cfg(feature = "deadlock-detection")]
    id: usize,
}

#[cfg(not(feature = "deadlock-detection"))]
impl LockId {
    #[inline]
    pub(crate) fn new(_kind: &'static str, _created: &'static Location<'static>) -> LockId {
        LockId {}
    }

    /// Checks the order before a blocking acquisition.
    #[inline]
    pub(crate) fn before_acquire(&self, _site: &'static Location<'static>) {}

    /// Checks the order before an async acquisition (see the module docs).
    #[inline]
    pub(crate) fn before_acquire_async(&self, _site: &'static Location<'static>) {}

    /// Records a completed blocking acquisition.
    #[inline]
    pub(crate) fn acquired_blocking(&self, _site: &'static Location<'static>) {}

    /// Records a completed async acquisition (kept only inside a [`track`]ed task).
    #[inline]
    pub(crate) fn acquired_async(&self, _site: &'static Location<'static>) {}

    /// Records a release.
    #[inline]
    pub(crate) fn released(&self) {}
}

#[cfg(feature = "deadlock-detection")]
use imp::TaskState;

#[cfg(feature = "deadlock-detection")]
mod imp {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::fmt::Write as _;
    use std::panic::Location;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::LockId;

    type Site = &'static Location<'static>;

    #[derive(Debug, Clone)]
    struct Edge {
        to: usize,
        thread: String,
        held_at: Site,
        acquired_at: Site,
    }

    #[derive(Debug)]
    struct Node {
        kind: &'static str,
        created: Site,
        out: Vec<Edge>,
    }

    static NEXT: AtomicUsize = AtomicUsize::new(1);
    static GRAPH: Mutex<Option<HashMap<usize, Node>>> = Mutex::new(None);

    thread_local! {
        static HELD: RefCell<Vec<(usize, Site)>> = const { RefCell::new(Vec::new()) };
        /// The name of the tracked task being polled on this thread, if any.
        static TASK: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// A tracked task's own held-lock list, swapped in while it is polled.
    #[derive(Debug)]
    pub(crate) struct TaskState {
        name: Option<String>,
        held: Vec<(usize, Site)>,
    }

    impl TaskState {
        pub(crate) fn new(name: String) -> TaskState {
            TaskState {
                name: Some(name),
                held: Vec::new(),
            }
        }

        pub(crate) fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R {
            struct Restore<'a>(&'a mut TaskState);
            impl Drop for Restore<'_> {
                fn drop(&mut self) {
                    // Swap back even if the poll panicked.
                    let _ =
                        HELD.try_with(|h| std::mem::swap(&mut *h.borrow_mut(), &mut self.0.held));
                    let _ =
                        TASK.try_with(|t| std::mem::swap(&mut *t.borrow_mut(), &mut self.0.name));
                }
            }
            let _ = HELD.try_with(|h| std::mem::swap(&mut *h.borrow_mut(), &mut self.held));
            let _ = TASK.try_with(|t| std::mem::swap(&mut *t.borrow_mut(), &mut self.name));
            let _restore = Restore(self);
            f()
        }
    }

    fn in_tracked_task() -> bool {
        TASK.try_with(|t| t.borrow().is_some()).unwrap_or(false)
    }

    fn graph<R>(f: impl FnOnce(&mut HashMap<usize, Node>) -> R) -> R {
        let mut g = GRAPH.lock().unwrap_or_else(|p| p.into_inner());
        f(g.get_or_insert_with(HashMap::new))
    }

    /// Who is acquiring: the tracked task (and its thread) or the thread.
    fn thread_name() -> String {
        let t = std::thread::current();
        let thread = match t.name() {
            Some(n) => n.to_owned(),
            None => format!("{:?}", t.id()),
        };
        match TASK.try_with(|t| t.borrow().clone()).ok().flatten() {
            Some(task) => format!("task '{task}' (on thread '{thread}')"),
            None => format!("thread '{thread}'"),
        }
    }

    fn describe(g: &HashMap<usize, Node>, id: usize) -> String {
        match g.get(&id) {
            Some(n) => format!("{}#{} (created at {})", n.kind, id, n.created),
            None => format!("lock#{id}"),
        }
    }

    /// Path of edges from `from` to `to`, if any (depth-first).
    fn path(g: &HashMap<usize, Node>, from: usize, to: usize) -> Option<Vec<(usize, Edge)>> {
        let mut stack = vec![(from, 0usize)];
        let mut seen = vec![from];
        let mut trail: Vec<(usize, Edge)> = Vec::new();
        while let Some(&mut (node, ref mut i)) = stack.last_mut() {
            let out = g.get(&node).map(|n| n.out.as_slice()).unwrap_or(&[]);
            if *i >= out.len() {
                stack.pop();
                trail.pop();
                continue;
            }
            let e = out[*i].clone();
            *i += 1;
            if e.to == to {
                trail.push((node, e));
                return Some(trail);
            }
            if !seen.contains(&e.to) {
                seen.push(e.to);
                let next = e.to;
                trail.push((node, e));
                stack.push((next, 0));
            }
        }
        None
    }

    impl LockId {
        pub(crate) fn new(kind: &'static str, created: Site) -> LockId {
            let id = NEXT.fetch_add(1, Ordering::Relaxed);
            graph(|g| {
                g.insert(
                    id,
                    Node {
                        kind,
                        created,
                        out: Vec::new(),
                    },
                )
            });
            LockId { id }
        }

        pub(crate) fn before_acquire(&self, site: Site) {
            self.check(site, true);
        }

        pub(crate) fn before_acquire_async(&self, site: Site) {
            // Inside a tracked task the held list is the task's own: check fully.
            self.check(site, in_tracked_task());
        }

        pub(crate) fn acquired_async(&self, site: Site) {
            if in_tracked_task() {
                self.acquired_blocking(site);
            }
        }

        fn check(&self, site: Site, blocking: bool) {
            let held: Vec<(usize, Site)> =
                HELD.try_with(|h| h.borrow().clone()).unwrap_or_default();
            let me = thread_name();
            let report = graph(|g| {
                if let Some(&(_, first)) = held
                    .iter()
                    .find(|(id, _)| *id == self.id)
                    .filter(|_| blocking)
                {
                    return Some(format!(
                        "c10k-sync deadlock detection: {me} is acquiring {} at {site}, \
                         but it already holds it (acquired at {first}).\nA non-reentrant lock \
                         acquired twice by the same thread waits for itself forever. Release it \
                         first, or use ReentrantMutex (Python's RLock).",
                        describe(g, self.id)
                    ));
                }
                for &(h, h_site) in &held {
                    let exists = g
                        .get(&h)
                        .is_some_and(|n| n.out.iter().any(|e| e.to == self.id));
                    if exists {
                        continue;
                    }
                    if let Some(cycle) = path(g, self.id, h) {
                        let mut msg = format!(
                            "c10k-sync deadlock detection: lock-order inversion (potential deadlock)\n\
                             {me} is acquiring {}\n    at {site}\n  while holding {}\n    \
                             acquired at {h_site}\nbut the opposite order was seen before:\n",
                            describe(g, self.id),
                            describe(g, h),
                        );
                        for (from, e) in &cycle {
                            let _ = writeln!(
                                msg,
                                "  {} acquired {}\n    at {}\n  while holding {}\n    \
                                 acquired at {}",
                                e.thread,
                                describe(g, e.to),
                                e.acquired_at,
                                describe(g, *from),
                                e.held_at
                            );
                        }
                        msg.push_str(
                            "If these threads run at the same time, each can hold the lock the \
                             other waits for and both wait forever. Acquire the locks in one \
                             global order everywhere (or hold only one at a time).",
                        );
                        return Some(msg);
                    }
                    if let Some(n) = g.get_mut(&h) {
                        n.out.push(Edge {
                            to: self.id,
                            thread: me.clone(),
                            held_at: h_site,
                            acquired_at: site,
                        });
                    }
                }
                None
            });
            if let Some(msg) = report {
                panic!("{msg}");
            }
        }

        pub(crate) fn acquired_blocking(&self, site: Site) {
            let _ = HELD.try_with(|h| h.borrow_mut().push((self.id, site)));
        }

        pub(crate) fn released(&self) {
            // `try_with`: a guard may be dropped while its thread is being torn down.
            let _ = HELD.try_with(|h| {
                let mut h = h.borrow_mut();
                if let Some(pos) = h.iter().rposition(|(id, _)| *id == self.id) {
                    h.remove(pos);
                }
            });
        }
    }

    impl Drop for LockId {
        fn drop(&mut self) {
            let id = self.id;
            graph(|g| {
                g.remove(&id);
                for n in g.values_mut() {
                    n.out.retain(|e| e.to != id);
                }
            });
        }
    }
}
