//! Locking for the programs' shared tables (connection pools, result lists, live sockets).
//!
//! The `Mutex`es of the programs guard plain data that a panicking holder cannot leave
//! half-updated in a way the other threads must not see: a pool of idle connections, a list
//! of results, a map of open descriptors. A poisoned lock therefore carries no information
//! the program acts on, and [`lock`] takes the guard either way instead of each call site
//! repeating `lock().unwrap_or_else(PoisonError::into_inner)`. The panic itself is not lost:
//! it still unwinds the thread that panicked and is reported where that thread is joined.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, ignoring poisoning (see the module docs for why that is sound here).
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
