//! Runtime-agnostic synchronization primitives and queues that threads and tasks share:
//! `Mutex`, `RwLock`, `ReentrantMutex`, `Semaphore`, `Event`, `Condvar`, `Barrier`, `Notify`,
//! channels and `Queue`, each with `async` methods and `_blocking` twins (issue 4).
#![forbid(unsafe_code)]
