//! Synchronization across processes: every primitive lives in its own shared memory
//! (a memfd) and travels to children as an argument of `Process::spawn`.

pub(crate) mod barrier;
pub(crate) mod condition;
pub(crate) mod event;
pub(crate) mod lock;
pub(crate) mod semaphore;
pub(crate) mod value;
