//! The state machine of one pool future: what its task's runner, a canceller, callback
//! registrants and waiters share.
//!
//! # States
//!
//! ```text
//!            set_running                 complete(outcome)
//!   PENDING ─────────────▶ RUNNING ─────────────────────────┐
//!      │                                                    ▼
//!      │   cancel: outcome = Err(Cancelled), +CANCELLED   COMPLETING ── callbacks drained ──▶ DONE
//!      └──────────────────────────────────────────────────▶   ▲
//!      │   complete(Err(..)) from outside (broken pool)       │
//!      └──────────────────────────────────────────────────────┘
//! ```
//!
//! One atomic word holds the phase (two bits) and two flags:
//!
//! - `PENDING`: submitted, not started. Only `set_running` (the runner) and a claim (a
//!   canceller, or a pool failing its pending work) leave it.
//! - `RUNNING`: a runner won `set_running`; the task runs. `cancel` fails from here on.
//! - `COMPLETING`: exactly one thread won the *claim* (`PENDING`/`RUNNING` → `COMPLETING`);
//!   that thread, and only it, writes the outcome, then runs the callbacks registered so far,
//!   then publishes `DONE`. The outcome is written before any reader can see it.
//! - `DONE`: the outcome is published (release) and every callback registered before `DONE`
//!   has returned. Waiters are woken after `DONE` is stored. Nothing changes after `DONE`
//!   except the owner taking the outcome out.
//! - `CANCELLED` (flag): set together with `COMPLETING` by `cancel`; the outcome is then
//!   `Err(Cancelled)`, and `cancelled()` can answer without reading it.
//! - `SLOW` (flag): someone registered a waiter or a callback. Set under the `slow` lock
//!   with a read-modify-write that also reads the phase; never cleared.
//! - `STARTED` (flag): set with `RUNNING` by the one successful `set_running`; a thread pool
//!   task's closure was moved out exactly when it is set (`thread/task.rs`).
//! - `LOCKED` (flag): the lock of the rarely used registrations (`slow`), a spin lock in
//!   this word rather than a `Mutex` beside it, so that a pending future costs 8 bytes less
//!   (a million queued tasks are a million of these). Its critical sections are a few
//!   instructions and never call user code or the system; a thread that finds it taken
//!   spins briefly, then yields.
//!
//! # Protocols
//!
//! 1. **Completion.** Claim with a CAS (so a completion and a cancel cannot both win), write
//!    the outcome, then *finish*: if `SLOW` is clear, one CAS `COMPLETING` → `DONE` and
//!    nothing else (the fast path of a task nobody waits on yet: no lock). If the CAS fails
//!    because `SLOW` appeared, or `SLOW` was set, take the lock; while callbacks are queued,
//!    take them, drop the lock, run them, retake it; with none left, store `DONE` under the
//!    lock and take the waiters; drop the lock; wake them.
//! 2. **Registration** (a waiter or a callback): take the lock, `fetch_or(SLOW)`, look at the
//!    phase it returns. Before `DONE`: queue it; the completer either has not reached its
//!    fast-path CAS (which will now fail) or is in its slow path (and will take the queue
//!    after we release the lock). At `DONE`: a callback runs at once on the caller's thread, a
//!    waiter is told it need not wait. A callback is therefore run exactly once: it is either
//!    in the queue (drained once by the completer) or run inline, never both.
//! 3. **Reading the outcome.** Callbacks read it during `COMPLETING` on the completer's
//!    thread; everyone else only after seeing `DONE` with acquire ordering. Taking it out
//!    (`take`) needs exclusive ownership of the [`PoolFuture`](super::PoolFuture) (its
//!    `self`/`&mut self`), so it cannot overlap a read through that handle, and it happens
//!    after `DONE`, so not during the completer's callbacks either.
//!
//! The loom model of this protocol is `loom_state.rs` beside this file.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use crate::error::PoolError;
use crate::loom::{
    current, lock, park, park_timeout, spin_loop, yield_now, AtomicUsize, Mutex, Ordering, Thread,
    UnsafeCell,
};

/// Phase bits.
const PHASE: usize = 0b11;
const PENDING: usize = 0;
const RUNNING: usize = 1;
const COMPLETING: usize = 2;
const DONE: usize = 3;
/// Flag: the outcome is `Err(Cancelled)` (set with the claim by `cancel`).
const CANCELLED: usize = 0b100;
/// Flag: a waiter or callback was registered; completion must take the lock.
const SLOW: usize = 0b1000;
/// Flag: `set_running` succeeded once (the task was started).
const STARTED: usize = 0b1_0000;
/// Flag: the `slow` lock is held.
const LOCKED: usize = 0b10_0000;

/// The waiter key of the future's own handle (`PoolFuture`): fresh keys count up from 0
/// and never reach it.
pub(crate) const OWNER_KEY: u64 = u64::MAX;

/// Busy-wait steps a blocking wait spends before it parks its thread (a trivial task often
/// finishes within them, and a park/unpark pair costs two system calls).
const SPINS: u32 = 64;
/// `yield_now` calls after the spins, before parking.
const YIELDS: u32 = 4;

/// A done-callback: runs once, with the outcome.
pub(crate) type Callback<T> = Box<dyn FnOnce(Result<&T, &PoolError>) + Send>;

/// Who to wake when the future is done.
pub(crate) enum Waiter {
    /// A thread blocked in a `result`/`wait` call.
    Thread(Thread),
    /// A task awaiting the future.
    Task(Waker),
    /// Entry `index` of an `as_completed` or `wait` group.
    Group(Arc<Group>, usize),
}

impl Waiter {
    fn wake(self) {
        match self {
            Waiter::Thread(t) => t.unpark(),
            Waiter::Task(w) => w.wake(),
            Waiter::Group(g, i) => g.notify(i),
        }
    }
}

/// The part of the state only touched under the lock, allocated by the first registration:
/// most futures of a busy pool are done before anyone waits on them, and this keeps the
/// per-task allocation small (a pool of a million queued tasks is mostly these).
struct Slow<T> {
    waiters: Vec<(u64, Waiter)>,
    callbacks: Vec<Callback<T>>,
    next_key: u64,
}

/// The shared core of a pool future.
pub(crate) struct Inner<T> {
    state: AtomicUsize,
    /// Written once by the claimant (protocol 1), read per protocol 3. The error is boxed
    /// so that a future of a small `T` stays small (errors are the rare case).
    outcome: UnsafeCell<Option<Result<T, Box<PoolError>>>>,
    /// `None` until the first waiter or callback registers. Only touched with `LOCKED` held
    /// (`with_slow`).
    slow: UnsafeCell<Option<Box<Slow<T>>>>,
    /// Under loom only: serializes the `LOCKED` holders, so that a contended acquisition
    /// blocks where loom can see it instead of spinning (loom gives up on models whose
    /// threads spin on each other). The bit is still set and cleared as in the real build,
    /// so the models see every flip of the state word that the other CAS loops meet; what
    /// they do not explore is the spin itself.
    #[cfg(loom)]
    loom_serial: Mutex<()>,
}

// SAFETY: `outcome` is written by one thread (the claimant) before any reader exists, then
// only read, by the completer's callbacks (during COMPLETING) or through the `PoolFuture`
// after DONE; moving the value out needs exclusive use of the `PoolFuture` (protocol 3). So
// `T` crosses threads (hence `T: Send`) but is never accessed from two threads at once
// through this type; the `PoolFuture` handle adds `T: Sync` for its own sharing.
unsafe impl<T: Send> Sync for Inner<T> {}
// SAFETY: as above; owning an `Inner<T>` owns at most one `T`.
unsafe impl<T: Send> Send for Inner<T> {}

impl<T> Inner<T> {
    pub(crate) fn new() -> Inner<T> {
        Inner {
            state: AtomicUsize::new(PENDING),
            outcome: UnsafeCell::new(None),
            slow: UnsafeCell::new(None),
            #[cfg(loom)]
            loom_serial: Mutex::new(()),
        }
    }

    /// Runs `f` on the registrations with the `LOCKED` bit held.
    fn with_slow<R>(&self, f: impl FnOnce(&mut Option<Box<Slow<T>>>) -> R) -> R {
        // Dropped last, after the bit is cleared (locals drop in reverse order).
        #[cfg(loom)]
        let _serial = lock(&self.loom_serial);
        let mut tries = 0u32;
        // Acquire: what the previous holder wrote under the lock is visible.
        while self.state.fetch_or(LOCKED, Ordering::Acquire) & LOCKED != 0 {
            tries += 1;
            if tries < SPINS {
                spin_loop();
            } else {
                yield_now();
            }
        }
        /// Releases the lock also if `f` panics (an allocation failure), so that no other
        /// thread spins forever.
        struct Unlock<'a>(&'a AtomicUsize);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                // Release: our writes under the lock reach the next holder. `fetch_and`, not
                // a store: other threads change the phase and flags meanwhile.
                self.0.fetch_and(!LOCKED, Ordering::Release);
            }
        }
        let _unlock = Unlock(&self.state);
        self.slow.with_mut(|p| {
            // SAFETY: this thread holds LOCKED, and `slow` is only accessed with it held,
            // so the access is exclusive until `_unlock` drops (after this closure returns).
            f(unsafe { &mut *p })
        })
    }

    /// The registrations, allocated on first use; the caller holds the `slow` lock.
    fn slow_of(slow: &mut Option<Box<Slow<T>>>) -> &mut Slow<T> {
        slow.get_or_insert_with(|| {
            Box::new(Slow {
                waiters: Vec::new(),
                callbacks: Vec::new(),
                next_key: 0,
            })
        })
    }

    fn load(&self) -> usize {
        self.state.load(Ordering::Acquire)
    }

    pub(crate) fn is_done(&self) -> bool {
        self.load() & PHASE == DONE
    }

    pub(crate) fn is_running(&self) -> bool {
        self.load() & PHASE == RUNNING
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.load() & CANCELLED != 0
    }

    /// Whether a `set_running` succeeded (the task was started, so its closure was taken).
    pub(crate) fn was_started(&self) -> bool {
        self.load() & STARTED != 0
    }

    /// `PENDING` → `RUNNING`, for the runner about to call the task. `false`: the future was
    /// cancelled or failed first, and the task must not run.
    pub(crate) fn set_running(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & PHASE != PENDING {
                return false;
            }
            match self.state.compare_exchange_weak(
                s,
                (s & !PHASE) | RUNNING | STARTED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// The claim of protocol 1: `PENDING` (or also `RUNNING`, if `running_too`) →
    /// `COMPLETING | extra`.
    fn claim(&self, running_too: bool, extra: usize) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let phase = s & PHASE;
            if !(phase == PENDING || running_too && phase == RUNNING) {
                return false;
            }
            match self.state.compare_exchange_weak(
                s,
                (s & !PHASE) | COMPLETING | extra,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// Completes with `outcome` unless someone else claimed the future first (a cancel, or a
    /// pool failing its work); returns whether this call completed it.
    pub(crate) fn complete(&self, outcome: Result<T, PoolError>) -> bool {
        if !self.claim(true, 0) {
            return false;
        }
        self.outcome.with_mut(|p| {
            // SAFETY: the claim above succeeded, and only one claim ever does; nobody reads
            // the outcome before `finish` publishes it (protocol 3).
            unsafe { *p = Some(outcome.map_err(Box::new)) }
        });
        self.finish();
        true
    }

    /// Cancels a future whose task has not started. `true` if it is cancelled now (by this
    /// call or an earlier one), `false` if it is running or finished otherwise.
    pub(crate) fn cancel(&self) -> bool {
        if self.claim(false, CANCELLED) {
            self.outcome.with_mut(|p| {
                // SAFETY: as in `complete`: this thread won the only claim.
                unsafe { *p = Some(Err(Box::new(PoolError::Cancelled))) }
            });
            self.finish();
            return true;
        }
        self.is_cancelled()
    }

    /// Protocol 1 after the outcome is written.
    fn finish(&self) {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & SLOW == 0 {
            match self.state.compare_exchange_weak(
                s,
                (s & !PHASE) | DONE,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
        let waiters = loop {
            // Either the callbacks queued so far (run outside the lock), or, with none left,
            // DONE stored and the waiters taken in the same critical section: a registrant
            // either queued before this (and is woken below) or sees DONE.
            let step = self.with_slow(|slow| {
                let callbacks = match slow.as_mut() {
                    Some(sl) => std::mem::take(&mut sl.callbacks),
                    None => Vec::new(),
                };
                if !callbacks.is_empty() {
                    return Err(callbacks);
                }
                self.state.fetch_or(DONE, Ordering::Release);
                Ok(match slow.as_mut() {
                    Some(sl) => std::mem::take(&mut sl.waiters),
                    None => Vec::new(),
                })
            });
            match step {
                Ok(waiters) => break waiters,
                Err(callbacks) => self.run_callbacks(callbacks),
            }
        };
        for (_, w) in waiters {
            w.wake();
        }
    }

    /// Runs callbacks with the outcome; a panicking callback is reported by the panic hook
    /// and does not stop the others (as `concurrent.futures` logs and goes on).
    fn run_callbacks(&self, callbacks: Vec<Callback<T>>) {
        self.outcome.with(|p| {
            // SAFETY: called by the completer during COMPLETING (after it wrote the outcome)
            // or by a registrant that saw DONE; the outcome is only read until the owner
            // takes it, which needs DONE and exclusive use of the handle (protocol 3).
            let outcome = unsafe { &*p };
            let Some(outcome) = outcome.as_ref() else {
                return; // taken already: impossible while a handle can register
            };
            for cb in callbacks {
                let run = std::panic::AssertUnwindSafe(|| cb(outcome.as_ref().map_err(|e| &**e)));
                let _ = std::panic::catch_unwind(run);
            }
        });
    }

    /// Adds a callback (protocol 2): queued before `DONE`, run now at `DONE`.
    pub(crate) fn add_callback(&self, cb: Callback<T>) {
        let run_now = self.with_slow(|slow| {
            let prev = self.state.fetch_or(SLOW, Ordering::AcqRel);
            if prev & PHASE == DONE {
                Some(cb)
            } else {
                Self::slow_of(slow).callbacks.push(cb);
                None
            }
        });
        if let Some(cb) = run_now {
            self.run_callbacks(vec![cb]);
        }
    }

    /// Registers `waiter` under `key` (a new key if `None`, replacing the entry of that key
    /// otherwise). `Err(waiter)` if the future is already done.
    pub(crate) fn register(&self, key: Option<u64>, waiter: Waiter) -> Result<u64, Waiter> {
        // The replaced waiter (if any) is dropped after the lock is released: dropping a
        // waker may run foreign code.
        let mut replaced = None;
        let key = self.with_slow(|slow| {
            let prev = self.state.fetch_or(SLOW, Ordering::AcqRel);
            if prev & PHASE == DONE {
                return Err(waiter);
            }
            let slow = Self::slow_of(slow);
            let key = match key {
                Some(k) => {
                    if let Some(entry) = slow.waiters.iter_mut().find(|(kk, _)| *kk == k) {
                        replaced = Some(std::mem::replace(&mut entry.1, waiter));
                        return Ok(k);
                    }
                    k
                }
                None => {
                    let k = slow.next_key;
                    slow.next_key += 1;
                    k
                }
            };
            slow.waiters.push((key, waiter));
            Ok(key)
        });
        drop(replaced);
        key
    }

    /// Like [`register`](Self::register) for a task's waker, without cloning it when the
    /// registered one would wake the same task.
    pub(crate) fn register_waker(&self, key: Option<u64>, waker: &Waker) -> Option<u64> {
        // A replaced waker is dropped after the lock is released (a waker's drop is foreign
        // code); its clone runs under the lock, as it did under the mutex this lock replaces.
        let mut replaced = None;
        let key = self.with_slow(|slow| {
            let prev = self.state.fetch_or(SLOW, Ordering::AcqRel);
            if prev & PHASE == DONE {
                return None;
            }
            let slow = Self::slow_of(slow);
            if let Some(k) = key {
                if let Some(entry) = slow.waiters.iter_mut().find(|(kk, _)| *kk == k) {
                    match &entry.1 {
                        Waiter::Task(w) if w.will_wake(waker) => {}
                        _ => {
                            let new = Waiter::Task(waker.clone());
                            replaced = Some(std::mem::replace(&mut entry.1, new));
                        }
                    }
                    return Some(k);
                }
            }
            let k = match key {
                Some(k) => k,
                None => {
                    let k = slow.next_key;
                    slow.next_key += 1;
                    k
                }
            };
            slow.waiters.push((k, Waiter::Task(waker.clone())));
            Some(k)
        });
        drop(replaced);
        key
    }

    /// Removes the waiter registered under `key`, if it is still there.
    pub(crate) fn deregister(&self, key: u64) {
        let removed = self.with_slow(|slow| {
            let slow = slow.as_mut()?;
            let at = slow.waiters.iter().position(|(k, _)| *k == key)?;
            Some(slow.waiters.swap_remove(at))
        });
        drop(removed);
    }
    /// Blocks the thread until `DONE` or `deadline`; whether it is done.
    pub(crate) fn wait_blocking(&self, deadline: Option<Instant>) -> bool {
        for i in 0..SPINS + YIELDS {
            if self.is_done() {
                return true;
            }
            if i < SPINS {
                spin_loop();
            } else {
                yield_now();
            }
        }
        let key = match self.register(None, Waiter::Thread(current())) {
            Ok(k) => k,
            Err(_) => return true,
        };
        loop {
            if self.is_done() {
                return true;
            }
            match deadline {
                None => park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        self.deregister(key);
                        return self.is_done();
                    }
                    park_timeout(d - now);
                }
            }
        }
    }

    /// The outcome, if `DONE` and not taken.
    pub(crate) fn outcome(&self) -> Option<Result<&T, &PoolError>> {
        if !self.is_done() {
            return None;
        }
        self.outcome.with(|p| {
            // SAFETY: DONE was seen with acquire ordering, so the write happened before and
            // no writer remains; a `take` needs exclusive use of the only handle that reads
            // here (protocol 3), so the reference cannot outlive the value.
            let outcome: &Option<Result<T, Box<PoolError>>> = unsafe { &*p };
            outcome.as_ref().map(|r| r.as_ref().map_err(|e| &**e))
        })
    }

    /// Moves the outcome out, if `DONE` and not taken yet.
    ///
    /// # Safety
    ///
    /// The caller has exclusive use of the only handle through which the outcome is read
    /// (a `&mut PoolFuture` or an owned one), so no reference from [`outcome`](Self::outcome)
    /// or an inline callback is alive.
    pub(crate) unsafe fn take(&self) -> Option<Result<T, PoolError>> {
        if !self.is_done() {
            return None;
        }
        self.outcome
            .with_mut(|p| {
                // SAFETY: DONE (acquire) means the completer is finished with the cell, and the
                // caller guarantees no reader through the handle.
                unsafe { (*p).take() }
            })
            .map(|r| r.map_err(|e| *e))
    }
}

/// Where futures watched together (`as_completed`, `wait`) report their completion: each
/// one's waiter is `Waiter::Group(group, its index)`.
pub(crate) struct Group {
    state: Mutex<GroupState>,
}

#[derive(Default)]
struct GroupState {
    ready: VecDeque<usize>,
    thread: Option<Thread>,
    waker: Option<Waker>,
}

impl Group {
    pub(crate) fn new() -> Group {
        Group {
            state: Mutex::new(GroupState::default()),
        }
    }

    /// Entry `index` is done: queue it and wake the watcher.
    pub(crate) fn notify(&self, index: usize) {
        let mut st = lock(&self.state);
        st.ready.push_back(index);
        let thread = st.thread.take();
        let waker = st.waker.take();
        drop(st);
        if let Some(t) = thread {
            t.unpark();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Also queues `index` (for a future found done at registration).
    pub(crate) fn push_ready(&self, index: usize) {
        lock(&self.state).ready.push_back(index);
    }

    /// The next done entry, blocking until one comes or `deadline` passes.
    pub(crate) fn next_blocking(&self, deadline: Option<Instant>) -> Option<usize> {
        loop {
            {
                let mut st = lock(&self.state);
                if let Some(i) = st.ready.pop_front() {
                    return Some(i);
                }
                st.thread = Some(current());
            }
            match deadline {
                None => park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        let mut st = lock(&self.state);
                        st.thread = None;
                        return st.ready.pop_front();
                    }
                    park_timeout(d - now);
                }
            }
        }
    }

    /// The next done entry, or registers `waker` and returns `None`.
    pub(crate) fn poll_next(&self, waker: &Waker) -> Option<usize> {
        let mut st = lock(&self.state);
        if let Some(i) = st.ready.pop_front() {
            return Some(i);
        }
        match &st.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => st.waker = Some(waker.clone()),
        }
        None
    }
}
