//! `RawMutex`: a process-shared, robust pthread mutex living in shared memory.
//!
//! Robustness is the kernel's robust-futex list (`set_robust_list(2)`), which glibc keeps
//! for every thread: when a thread dies holding a robust mutex, the kernel marks the futex
//! word `FUTEX_OWNER_DIED` and wakes a waiter; the next locker gets `EOWNERDEAD`. We then
//! call `pthread_mutex_consistent` at once and report [`Acquired::OwnerDied`], so the
//! mutex stays usable and the caller learns that the data it guards may be half-updated.
//! Ownership is per thread: the thread that locked must unlock.

use std::cell::UnsafeCell;
use std::io;
use std::mem::MaybeUninit;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How a lock attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acquired {
    /// Locked.
    Yes,
    /// Locked, and the previous owner died holding it.
    OwnerDied,
    /// Not locked: busy (`try_lock`) or the deadline passed.
    No,
}

#[repr(C)]
pub(crate) struct RawMutex(UnsafeCell<libc::pthread_mutex_t>);

// SAFETY: a process-shared pthread mutex is made to be used from many threads at once; all
// access goes through the pthread functions.
unsafe impl Sync for RawMutex {}

impl RawMutex {
    /// Initializes the mutex in place.
    ///
    /// # Safety
    ///
    /// `self` lies in memory no other thread or process uses yet (the creator initializes
    /// the region before sharing it), and it is initialized once.
    pub(crate) unsafe fn init(&self, recursive: bool) -> io::Result<()> {
        // SAFETY: the attribute object is initialized before use and destroyed after;
        // `self.0` is exclusively ours per the function's contract.
        unsafe {
            let mut attr = MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
            check(libc::pthread_mutexattr_init(attr.as_mut_ptr()))?;
            let mut attr = attr.assume_init();
            let r = (|| {
                check(libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED))?;
                check(libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST))?;
                if recursive {
                    check(libc::pthread_mutexattr_settype(&mut attr, libc::PTHREAD_MUTEX_RECURSIVE))?;
                }
                check(libc::pthread_mutex_init(self.0.get(), &attr))
            })();
            libc::pthread_mutexattr_destroy(&mut attr);
            r
        }
    }

    fn after(&self, rc: libc::c_int) -> Acquired {
        match rc {
            0 => Acquired::Yes,
            libc::EOWNERDEAD => {
                // SAFETY: we hold the mutex (EOWNERDEAD means it was acquired).
                unsafe { libc::pthread_mutex_consistent(self.0.get()) };
                Acquired::OwnerDied
            }
            libc::EBUSY | libc::ETIMEDOUT => Acquired::No,
            // EDEADLK (relocking a non-recursive mutex we hold), ENOTRECOVERABLE (someone
            // unlocked after EOWNERDEAD without marking it consistent: never done here),
            // EAGAIN (recursion count overflow): programming errors.
            rc => panic!("pthread mutex failed: {}", io::Error::from_raw_os_error(rc)),
        }
    }

    /// Locks, waiting as long as it takes.
    pub(crate) fn lock(&self) -> Acquired {
        // SAFETY: initialized by `init` before the region was shared.
        let rc = unsafe { libc::pthread_mutex_lock(self.0.get()) };
        self.after(rc)
    }

    /// Locks if free.
    pub(crate) fn try_lock(&self) -> Acquired {
        // SAFETY: as in `lock`.
        let rc = unsafe { libc::pthread_mutex_trylock(self.0.get()) };
        self.after(rc)
    }

    /// Locks, waiting at most `timeout` (the deadline is on the real-time clock, as
    /// `pthread_mutex_timedlock` wants; a clock step shifts it).
    pub(crate) fn lock_timeout(&self, timeout: Duration) -> Acquired {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let at = now.saturating_add(timeout);
        let ts = libc::timespec { tv_sec: at.as_secs() as libc::time_t, tv_nsec: at.subsec_nanos() as _ };
        loop {
            // SAFETY: as in `lock`; `ts` outlives the call.
            let rc = unsafe { libc::pthread_mutex_timedlock(self.0.get(), &ts) };
            if rc != libc::EINTR {
                return self.after(rc);
            }
        }
    }

    /// Unlocks.
    ///
    /// # Safety
    ///
    /// The calling thread holds the mutex.
    pub(crate) unsafe fn unlock(&self) {
        // SAFETY: the caller holds it.
        unsafe { libc::pthread_mutex_unlock(self.0.get()) };
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}
