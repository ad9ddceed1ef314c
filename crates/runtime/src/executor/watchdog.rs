//! The long-poll watchdog: reports a task that is *still* stuck in one poll.
//!
//! The task harness reports a long poll when the poll returns (`LongPollConfig::finish`),
//! but a task stuck for good (an infinite loop, a blocking call that never returns) never
//! returns, and its worker would be lost without a word (a known tokio blind spot). So a
//! runtime with long-poll detection and the watchdog on (by default the multi-thread
//! scheduler; `Builder::long_poll_watchdog`) has one watchdog thread (`<name>-watchdog`) that
//! wakes every half threshold and looks at one *slot* per scheduler thread.
//!
//! # Slot protocol
//!
//! `state` is `id << 1 | LOCKED`, or 0 when the thread is not polling a task.
//!
//! 1. *Begin* (the polling thread): store the header pointer and start time, then publish
//!    `id << 1` with `Release`.
//! 2. *Inspect* (the watchdog): CAS `id << 1` to `id << 1 | LOCKED` (`Acquire`). While the lock
//!    is held, the poll cannot end (step 3 waits), so the task, which its runner keeps alive
//!    for the whole poll, is alive: the watchdog may read its name. It unlocks by storing
//!    `id << 1` back.
//! 3. *End* (the polling thread): CAS `id << 1` to 0, spinning while `LOCKED` is set (the
//!    watchdog holds it for the time of copying a name).
//!
//! A task reported here is not reported again when its poll finally returns (one report per
//! task, as asyncio does).

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::{LongPoll, LongPollConfig};
use crate::task::{Header, Id};

const LOCKED: u64 = 1;

/// What the watchdog sees of one scheduler thread.
pub(crate) struct Slot {
    state: AtomicU64,
    start: AtomicU64,
    header: AtomicPtr<Header>,
    /// The id last reported from this slot.
    reported: AtomicU64,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            state: AtomicU64::new(0),
            start: AtomicU64::new(0),
            header: AtomicPtr::new(std::ptr::null_mut()),
            reported: AtomicU64::new(0),
        }
    }

    /// Step 1.
    pub(crate) fn begin(&self, header: &Header, start: u64) {
        self.header
            .store(header as *const Header as *mut Header, Ordering::Relaxed);
        self.start.store(start, Ordering::Relaxed);
        self.state.store(header.id.as_u64() << 1, Ordering::Release);
    }

    /// Step 3. Returns whether the watchdog reported this poll.
    pub(crate) fn end(&self, id: Id) -> bool {
        let mine = id.as_u64() << 1;
        loop {
            match self
                .state
                .compare_exchange_weak(mine, 0, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(cur) if cur == mine | LOCKED || cur == mine => std::hint::spin_loop(),
                // A nested poll (a `LocalSet` inside this task) took the slot over.
                Err(_) => break,
            }
        }
        self.reported.load(Ordering::Acquire) == id.as_u64()
    }
}

pub(crate) struct Watchdog {
    slots: Box<[Slot]>,
    config: LongPollConfig,
    shutdown: Mutex<bool>,
    cv: Condvar,
}

impl Watchdog {
    /// Starts the watchdog thread for `n` scheduler threads, if long polls are detected and
    /// the watchdog is on (`default` when the builder did not say).
    pub(crate) fn start(
        config: &LongPollConfig,
        n: usize,
        name: &str,
        default: bool,
    ) -> Option<Arc<Watchdog>> {
        config.threshold?;
        if !config.watchdog.unwrap_or(default) {
            return None;
        }
        let w = Arc::new(Watchdog {
            slots: (0..n).map(|_| Slot::new()).collect(),
            config: config.clone(),
            shutdown: Mutex::new(false),
            cv: Condvar::new(),
        });
        let me = Arc::clone(&w);
        std::thread::Builder::new()
            .name(format!("{name}-watchdog"))
            .spawn(move || me.run())
            .ok()?;
        Some(w)
    }

    pub(crate) fn slot(&self, i: usize) -> &Slot {
        &self.slots[i]
    }

    pub(crate) fn shutdown(&self) {
        *self.shutdown.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }

    fn run(&self) {
        let threshold = self.config.threshold.unwrap_or(Duration::MAX);
        let period = (threshold / 2).max(Duration::from_millis(1));
        let mut stop = self.shutdown.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            stop = self
                .cv
                .wait_timeout(stop, period)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            if *stop {
                return;
            }
            drop(stop);
            for slot in self.slots.iter() {
                if let Some(report) = self.inspect(slot, threshold) {
                    match &self.config.hook {
                        Some(hook) => hook(&report),
                        None => eprintln!("c10k: {report}"),
                    }
                }
            }
            stop = self.shutdown.lock().unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Step 2.
    fn inspect(&self, slot: &Slot, threshold: Duration) -> Option<LongPoll> {
        let cur = slot.state.load(Ordering::Acquire);
        if cur == 0 || cur & LOCKED != 0 || slot.reported.load(Ordering::Relaxed) == cur >> 1 {
            return None;
        }
        let now = LongPollConfig::clock(threshold);
        let duration = Duration::from_nanos(now.saturating_sub(slot.start.load(Ordering::Relaxed)));
        if duration < threshold {
            return None;
        }
        if slot
            .state
            .compare_exchange(cur, cur | LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        let header = slot.header.load(Ordering::Relaxed);
        // SAFETY: slot protocol step 2: holding the lock keeps the poll (and so the task,
        // whose runner holds a reference during the poll) alive; `begin` stored the header
        // before publishing the state we locked.
        let header = unsafe { &*header };
        // One report per task: skip it if an earlier poll of it was reported already.
        let first = header.state.set_reported();
        let name = header.name().map(str::to_owned);
        slot.reported.store(cur >> 1, Ordering::Release);
        slot.state.store(cur, Ordering::Release);
        first.then(|| LongPoll {
            id: Id::from_u64(cur >> 1),
            name,
            duration,
            still_running: true,
        })
    }
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog")
            .field("slots", &self.slots.len())
            .finish()
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
    fn the_flavor_default_decides_unless_the_builder_did() {
        let ms = Some(Duration::from_millis(100));
        let started = |c: &LongPollConfig, default| {
            let w = Watchdog::start(c, 1, "wd-test", default);
            let on = w.is_some();
            if let Some(w) = w {
                w.shutdown();
            }
            on
        };
        assert!(!started(&config(ms, None), false));
        assert!(started(&config(ms, None), true));
        assert!(started(&config(ms, Some(true)), false));
        assert!(!started(&config(ms, Some(false)), true));
        // No detection at all: no watchdog whatever was asked.
        assert!(!started(&config(None, Some(true)), true));
    }
}
