//! Long-poll detection: reports a task that holds its scheduler thread in a single poll for
//! longer than the threshold ([`Builder::long_poll_threshold`]), once per task.
//!
//! It is one of the task-poll hooks (`hooks.rs`): it wraps `Notified::run` from the
//! scheduler's side and exists only when a threshold is configured, so a runtime without
//! it pays nothing. The task core knows nothing of it.
//!
//! # Two ways to measure
//!
//! 1. **Watchdog** (multi-thread default, [`Builder::long_poll_watchdog`]): the polling
//!    thread only publishes which poll it is in, in its *slot* (protocol below): two stores
//!    and a compare-and-swap per poll, no clock read. A watchdog thread (`<name>-watchdog`)
//!    wakes every `threshold / 8` and credits each poll it sees still in progress with the
//!    time since its previous look; a poll credited with the threshold is reported while it
//!    runs (`still_running`), so a task stuck for good (an endless loop, a blocking call that
//!    never returns) does not take its thread away unnoticed. A poll is surely reported once
//!    it has run for `threshold * 5 / 4` (the first and last looks are partial), never before
//!    it has run for the threshold.
//! 2. **On return** (current-thread default, and the tasks of a `LocalSet`, which run inside
//!    another poll and have no slot): the hook reads the monotonic clock before and after the
//!    poll (the coarse clock, a vDSO read of a few nanoseconds, when the threshold is at least
//!    50 ms; the fine one below) and reports a poll that took the threshold or more.
//!
//! # Stopped processes (SIGSTOP, SIGTSTP, a debugger, the lab pausing a server)
//!
//! Wall time runs on while a process is stopped, so a poll interrupted by a stop would look
//! long. Thread CPU time would not, but it would also miss the commonest long poll of all: a
//! task blocked in a system call (`std::thread::sleep`, a blocking read), which uses no CPU
//! and blocks the runtime all the same; and reading it is a system call per poll. So:
//!
//! 1. The watchdog credits at most one period per look. A stopped process stops the
//!    watchdog thread too, so a stop of any length counts as one period (an eighth of the
//!    threshold) at most.
//! 2. On return, a poll during which the process was continued (`SIGCONT`) is not reported.
//!    A `SIGCONT` handler, installed once per process when a runtime with a threshold is
//!    built (`SA_RESTART`, chaining to the handler it replaces), counts continuations. The
//!    signal is queued before any stopped thread can run again, but its handler may run on
//!    another thread after the poll ended; so a poll that looks long also checks
//!    `sigpending` for a `SIGCONT` not yet handled (`continued_since`). A task that really
//!    blocked during a poll that a stop also interrupted goes unreported that once, and is
//!    reported at its next long poll.
//!
//! # Slot protocol (watchdog mode)
//!
//! `state` is `seq << 1 | LOCKED`, or 0 when the thread is not polling; `seq` numbers the
//! polls of the slot's thread (one writer: that thread).
//!
//! 1. *Begin* (the polling thread): store the header pointer, then publish `seq << 1` with
//!    `Release`.
//! 2. *Inspect* (the watchdog): CAS `seq << 1` to `seq << 1 | LOCKED` (`Acquire`). While the
//!    lock is held the poll cannot end (step 3 waits), and the hooks hold a reference to the
//!    task for the whole poll, so the task is alive: the watchdog may read its name. It
//!    unlocks by storing `seq << 1` back (`Release`).
//! 3. *End* (the polling thread): CAS `seq << 1` to 0 (`Acquire`, pairing with the unlock),
//!    spinning while `LOCKED` is set (the watchdog holds it for the time of copying a name).
//!
//! # Once per task
//!
//! A task is reported once (as asyncio does), whichever way found it: the ids of reported
//! tasks are kept in a set, touched only when a long poll is found. The set is cleared when
//! it reaches [`REPORTED_CAP`] ids, after which a task may be reported a second time.
//!
//! [`Builder::long_poll_threshold`]: super::Builder::long_poll_threshold
//! [`Builder::long_poll_watchdog`]: super::Builder::long_poll_watchdog

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::hooks::TaskMeta;
use super::{LongPoll, LongPollConfig, LongPollHook};
use crate::loom::lock;
use crate::task::{Header, Id};

const LOCKED: u64 = 1;

/// How many reported task ids are remembered before the set is cleared.
pub(crate) const REPORTED_CAP: usize = 1 << 16;

/// Watchdog periods per threshold.
const LOOKS_PER_THRESHOLD: u32 = 8;

/// The long-poll hook of one scheduler.
pub(crate) struct LongPollDetector {
    shared: Arc<Shared>,
    watchdog: Option<Watchdog>,
}

/// What the polling threads and the watchdog thread share.
struct Shared {
    threshold: Duration,
    hook: Option<LongPollHook>,
    /// Ids of the tasks reported so far (see "Once per task").
    reported: Mutex<HashSet<Id>>,
}

impl Shared {
    /// Reports a long poll of task `id` unless that task was reported before.
    fn report(&self, id: Id, name: Option<String>, duration: Duration, still_running: bool) {
        {
            let mut seen = lock(&self.reported);
            if seen.len() >= REPORTED_CAP {
                seen.clear();
            }
            if !seen.insert(id) {
                return;
            }
        }
        crate::trace::long_poll(id, name.as_deref(), duration, still_running);
        let report = LongPoll {
            id,
            name,
            duration,
            still_running,
        };
        match &self.hook {
            Some(hook) => hook(&report),
            None => eprintln!("c10k: {report}"),
        }
    }
}

impl LongPollDetector {
    /// The detector of a scheduler with `threads` threads, or `None` without a threshold.
    /// Starts the watchdog thread if it is on (`watchdog_default` when the builder did not
    /// say), and installs the process's `SIGCONT` counter.
    ///
    /// # Errors
    ///
    /// The watchdog thread could not be spawned, or `sigaction` failed.
    pub(crate) fn new(
        config: &LongPollConfig,
        threads: usize,
        name: &str,
        watchdog_default: bool,
    ) -> io::Result<Option<LongPollDetector>> {
        let Some(threshold) = config.threshold else {
            return Ok(None);
        };
        continued::install()?;
        let shared = Arc::new(Shared {
            threshold,
            hook: config.hook.clone(),
            reported: Mutex::new(HashSet::new()),
        });
        let watchdog = if config.watchdog.unwrap_or(watchdog_default) {
            Some(Watchdog::start(Arc::clone(&shared), threads, name)?)
        } else {
            None
        };
        Ok(Some(LongPollDetector { shared, watchdog }))
    }

    /// Whether polls are measured by a watchdog thread (which reads the task's header
    /// during the poll: the caller must hold a reference to the task).
    pub(crate) fn has_watchdog(&self) -> bool {
        self.watchdog.is_some()
    }

    /// Runs one poll (`poll`) of the task `header`, measured the way the module docs say.
    /// With a watchdog and a `thread`, the caller holds a reference to the task for the whole
    /// call; otherwise only `meta` is read after the poll (its name only if the caller holds
    /// a reference, which it does for a named task).
    #[inline]
    pub(crate) fn run(
        &self,
        header: &Header,
        meta: &TaskMeta<'_>,
        thread: Option<usize>,
        poll: impl FnOnce(),
    ) {
        match (&self.watchdog, thread) {
            (Some(w), Some(i)) => {
                let slot = &w.inner.slots[i];
                slot.begin(header);
                poll();
                slot.end();
            }
            _ => self.measure(meta, poll),
        }
    }

    /// Measuring "on return" (way 2).
    fn measure(&self, meta: &TaskMeta<'_>, poll: impl FnOnce()) {
        let threshold = self.shared.threshold;
        let continued = continued::count();
        let start = clock(threshold);
        poll();
        let took = Duration::from_nanos(clock(threshold).saturating_sub(start));
        if took >= threshold && !continued::since(continued) {
            let name = meta.name().map(str::to_owned);
            self.shared.report(meta.id(), name, took, false);
        }
    }

    pub(crate) fn shutdown(&self) {
        if let Some(w) = &self.watchdog {
            *lock(&w.inner.stop) = true;
            w.inner.cv.notify_all();
        }
    }
}

impl fmt::Debug for LongPollDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LongPollDetector")
            .field("threshold", &self.shared.threshold)
            .field("watchdog", &self.watchdog.is_some())
            .finish()
    }
}

/// Nanoseconds of `CLOCK_MONOTONIC_COARSE` (a vDSO read, a few milliseconds of resolution),
/// or of the fine clock when the threshold is too small for that resolution.
#[inline]
fn clock(threshold: Duration) -> u64 {
    let id = if threshold >= Duration::from_millis(50) {
        rustix::time::ClockId::MonotonicCoarse
    } else {
        rustix::time::ClockId::Monotonic
    };
    let t = rustix::time::clock_gettime(id);
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}

/// What the watchdog sees of one scheduler thread.
struct Slot {
    state: AtomicU64,
    header: AtomicPtr<Header>,
    /// The number of this thread's last poll; written only by that thread.
    seq: AtomicU64,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            state: AtomicU64::new(0),
            header: AtomicPtr::new(std::ptr::null_mut()),
            seq: AtomicU64::new(0),
        }
    }

    /// Step 1.
    #[inline]
    fn begin(&self, header: &Header) {
        let seq = self.seq.load(Ordering::Relaxed).wrapping_add(1) & (u64::MAX >> 1);
        self.seq.store(seq, Ordering::Relaxed);
        self.header
            .store(header as *const Header as *mut Header, Ordering::Relaxed);
        self.state.store(seq << 1, Ordering::Release);
    }

    /// Step 3.
    #[inline]
    fn end(&self) {
        let mine = self.seq.load(Ordering::Relaxed) << 1;
        while self
            .state
            .compare_exchange_weak(mine, 0, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // Only the watchdog's lock (or a spurious failure) stands in the way.
            std::hint::spin_loop();
        }
    }
}

/// The watchdog thread's handle.
struct Watchdog {
    inner: Arc<WatchdogInner>,
}

struct WatchdogInner {
    slots: Box<[Slot]>,
    shared: Arc<Shared>,
    period: Duration,
    stop: Mutex<bool>,
    cv: Condvar,
}

/// The watchdog's private view of one slot.
#[derive(Clone, Copy, Default)]
struct Track {
    /// The poll seen at the last look (0: none).
    seq: u64,
    /// How long that poll has been seen running.
    credited: Duration,
    /// The last poll reported from this slot.
    reported: u64,
}

impl Watchdog {
    fn start(shared: Arc<Shared>, threads: usize, name: &str) -> io::Result<Watchdog> {
        let period = (shared.threshold / LOOKS_PER_THRESHOLD).max(Duration::from_millis(1));
        let inner = Arc::new(WatchdogInner {
            slots: (0..threads.max(1)).map(|_| Slot::new()).collect(),
            shared,
            period,
            stop: Mutex::new(false),
            cv: Condvar::new(),
        });
        let me = Arc::clone(&inner);
        std::thread::Builder::new()
            .name(format!("{name}-watchdog"))
            .spawn(move || me.run())?;
        Ok(Watchdog { inner })
    }
}

impl WatchdogInner {
    fn run(&self) {
        let mut tracks = vec![Track::default(); self.slots.len()];
        let mut last = Instant::now();
        let mut stop = lock(&self.stop);
        loop {
            stop = self
                .cv
                .wait_timeout(stop, self.period)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            if *stop {
                return;
            }
            drop(stop);
            let now = Instant::now();
            // At most one period per look: a stopped process (or a starved watchdog) is not
            // time the polls were seen running.
            let credit = now.saturating_duration_since(last).min(self.period);
            last = now;
            for (slot, track) in self.slots.iter().zip(tracks.iter_mut()) {
                self.inspect(slot, track, credit);
            }
            stop = lock(&self.stop);
        }
    }

    /// Step 2.
    fn inspect(&self, slot: &Slot, track: &mut Track, credit: Duration) {
        let cur = slot.state.load(Ordering::Acquire);
        if cur == 0 {
            track.seq = 0;
            return;
        }
        let seq = cur >> 1;
        if seq != track.seq {
            // A new poll: it may have run for up to a period already, uncounted.
            track.seq = seq;
            track.credited = Duration::ZERO;
            return;
        }
        track.credited += credit;
        if track.credited < self.shared.threshold || track.reported == seq {
            return;
        }
        if slot
            .state
            .compare_exchange(cur, cur | LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return; // the poll just ended
        }
        let header = slot.header.load(Ordering::Relaxed);
        // SAFETY: slot protocol step 2: while the lock is held the poll cannot end, and the
        // hooks hold a reference to the task for the whole poll; `begin` stored the header
        // before publishing the state we locked (our `Acquire` pairs with its `Release`).
        let header = unsafe { &*header };
        let (id, name) = (header.id, header.name().map(str::to_owned));
        slot.state.store(cur, Ordering::Release);
        track.reported = seq;
        self.shared.report(id, name, track.credited, true);
    }
}

/// Counting `SIGCONT`s: how a poll measured on return tells a stop from a long poll.
mod continued {
    use std::io;
    use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
    use std::sync::OnceLock;

    /// How many `SIGCONT`s the handler has seen.
    static COUNT: AtomicU64 = AtomicU64::new(0);
    /// The action the handler replaced (its `sa_sigaction` and `sa_flags`), to chain to.
    static PREV_HANDLER: AtomicUsize = AtomicUsize::new(libc::SIG_DFL);
    static PREV_FLAGS: AtomicI32 = AtomicI32::new(0);

    extern "C" fn on_sigcont(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // Async-signal-safe: one atomic add, then the previous handler.
        COUNT.fetch_add(1, Ordering::Release);
        let prev = PREV_HANDLER.load(Ordering::Relaxed);
        if prev == libc::SIG_DFL || prev == libc::SIG_IGN {
            return;
        }
        if PREV_FLAGS.load(Ordering::Relaxed) & libc::SA_SIGINFO != 0 {
            // SAFETY: with `SA_SIGINFO` the replaced action's `sa_sigaction` is a
            // three-argument handler, and we pass it the arguments the kernel gave us.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(prev) };
            f(sig, info, ctx);
        } else {
            // SAFETY: without `SA_SIGINFO` it is a one-argument handler.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(prev) };
            f(sig);
        }
    }

    /// Installs the handler, once per process.
    ///
    /// # Errors
    ///
    /// `sigaction` failed (the error of the first attempt, every time).
    pub(super) fn install() -> io::Result<()> {
        static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();
        let res = INSTALLED.get_or_init(|| {
            // SAFETY: all-zero `sigaction`s are valid values (empty masks, no flags), and the
            // pointers passed to `sigaction` are to live locals.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGCONT, std::ptr::null(), &mut old) != 0 {
                    return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
                }
                // Published before our handler can run.
                PREV_HANDLER.store(old.sa_sigaction, Ordering::Relaxed);
                PREV_FLAGS.store(old.sa_flags, Ordering::Relaxed);
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigcont
                    as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                    as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(libc::SIGCONT, &action, std::ptr::null_mut()) != 0 {
                    return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
                }
            }
            Ok(())
        });
        res.map_err(|code| {
            io::Error::new(
                io::Error::from_raw_os_error(code).kind(),
                format!(
                    "cannot install the SIGCONT handler of long-poll detection: {}",
                    io::Error::from_raw_os_error(code)
                ),
            )
        })
    }

    /// The continuation count now, to compare with `since` after a poll.
    #[inline]
    pub(super) fn count() -> u64 {
        COUNT.load(Ordering::Acquire)
    }

    /// Whether the process was continued since `count` was read: the count moved, or a
    /// `SIGCONT` is queued and its handler has not run yet (see the module docs).
    pub(super) fn since(count: u64) -> bool {
        if COUNT.load(Ordering::Acquire) != count {
            return true;
        }
        // SAFETY: `sigpending` and `sigismember` write/read the local set only.
        let pending = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigpending(&mut set) == 0 && libc::sigismember(&set, libc::SIGCONT) == 1
        };
        pending || COUNT.load(Ordering::Acquire) != count
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn config(threshold: Option<Duration>, watchdog: Option<bool>) -> LongPollConfig {
        LongPollConfig {
            threshold,
            hook: None,
            watchdog,
        }
    }

    #[test]
    fn the_flavor_default_decides_unless_the_builder_did() -> io::Result<()> {
        let ms = Some(Duration::from_millis(100));
        let started = |c: &LongPollConfig, default| -> io::Result<bool> {
            let d = LongPollDetector::new(c, 1, "wd-test", default)?;
            let on = d.as_ref().is_some_and(|d| d.watchdog.is_some());
            if let Some(d) = d {
                d.shutdown();
            }
            Ok(on)
        };
        assert!(!started(&config(ms, None), false)?);
        assert!(started(&config(ms, None), true)?);
        assert!(started(&config(ms, Some(true)), false)?);
        assert!(!started(&config(ms, Some(false)), true)?);
        // No detection at all: no watchdog whatever was asked.
        assert!(!started(&config(None, Some(true)), true)?);
        Ok(())
    }
}
