//! [`Event`]: a flag on a futex word in shared memory.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::futex;
use crate::shm::Shm;

/// A flag that processes wait for (Python's `multiprocessing.Event`).
///
/// # Examples
///
/// ```
/// let e = c10k_process::Event::new()?;
/// assert!(!e.wait_timeout(std::time::Duration::from_millis(1)));
/// e.set();
/// assert!(e.is_set());
/// e.wait();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct Event {
    shm: Shm,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event").field("set", &self.is_set()).finish()
    }
}

impl Event {
    /// A new, clear event.
    ///
    /// # Errors
    ///
    /// The system's error creating the shared memory.
    pub fn new() -> io::Result<Event> {
        Ok(Event { shm: Shm::new("c10k-event", 4)? })
    }

    fn flag(&self) -> &AtomicU32 {
        // SAFETY: the region starts with one zero-initialized atomic word.
        unsafe { self.shm.header::<AtomicU32>() }
    }

    /// Whether it is set.
    pub fn is_set(&self) -> bool {
        self.flag().load(Ordering::Acquire) != 0
    }

    /// Sets it and wakes every waiter.
    pub fn set(&self) {
        if self.flag().swap(1, Ordering::Release) == 0 {
            futex::wake_all(self.flag());
        }
    }

    /// Clears it.
    pub fn clear(&self) {
        self.flag().store(0, Ordering::Release);
    }

    /// Waits until it is set.
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Waits at most `timeout`; returns whether it is set.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(crate::sys::deadline(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        while !self.is_set() {
            if !futex::wait(self.flag(), 0, deadline).unwrap_or(true) {
                return self.is_set();
            }
        }
        true
    }
}
