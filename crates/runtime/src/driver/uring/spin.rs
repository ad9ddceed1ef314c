//! [`SpinLock`]: the lock of a ring stream's state, whose unlock is one plain store.
//!
//! An echo request takes its stream's lock seven times (the two completions, the two
//! readiness polls, the read, the write and the send's push), almost always on one thread
//! and never contended. `std`'s mutex pays two atomic read-modify-writes for each (the
//! acquiring compare-exchange, and the releasing swap that looks for sleepers); this lock
//! pays one: with no sleepers to wake, the release is a store. The price is that a waiter
//! spins, then yields, instead of sleeping in the kernel, so it suits only critical
//! sections that never wait. The stream's take no other lock but the buffer group's (a
//! returned buffer is published under it, for a few instructions) and make no system call
//! that can wait: the few they make (`shutdown(2)`, `setsockopt(2)`, the starved path's
//! non-blocking `recv(2)`, the eventfd write that wakes a starved group) return at once.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// Spins this many times before yielding the CPU to the holder (which may have been
/// preempted: on two cores, spinning longer only delays it).
const SPINS: u32 = 64;

/// A spin lock (module docs).
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one holder at a time (the acquire in `lock`
// pairs with the release in the guard's drop), so sharing it across threads needs only
// `T: Send`, as for `std::sync::Mutex`.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: moving the lock moves the `T`.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub(crate) const fn new(value: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock; the guard releases it when dropped (during a panic's unwinding
    /// too: the stream's critical sections leave the state consistent before they can
    /// panic, which is why the `std` mutex they had ignored poisoning).
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0;
        loop {
            // Read-only while it is held, so the holder keeps its cache line.
            while self.locked.load(Ordering::Relaxed) {
                if spins < SPINS {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// The held lock ([`SpinLock::lock`]).
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard is the one holder of the lock (`lock`).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard is the one holder of the lock, and `&mut self` makes this
        // the only reference through it.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Two threads increment a plain counter under the lock: with mutual exclusion every
    /// increment survives (a lost one would leave the total short).
    #[test]
    fn excludes_across_threads() {
        const EACH: u64 = 200_000;
        let lock = Arc::new(SpinLock::new(0u64));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let lock = Arc::clone(&lock);
                std::thread::spawn(move || {
                    for _ in 0..EACH {
                        let mut n = lock.lock();
                        // A read and a write apart, so that a second holder would lose one.
                        let v = *n;
                        std::hint::black_box(&v);
                        *n = v + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("no panic");
        }
        assert_eq!(*lock.lock(), 2 * EACH);
    }

    /// A panic while holding the lock releases it (the guard drops during unwinding).
    #[test]
    fn a_panic_releases_the_lock() {
        let lock = Arc::new(SpinLock::new(1));
        let l = Arc::clone(&lock);
        let res = std::thread::spawn(move || {
            let _g = l.lock();
            panic!("while holding");
        })
        .join();
        assert!(res.is_err());
        assert_eq!(*lock.lock(), 1);
    }
}
