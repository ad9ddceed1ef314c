//! Compile-time checks of the auto traits the IPC handles promise: handles are `Send +
//! Sync` (clone one per thread or pass it to a child); guards of the robust locks are not
//! `Send`, because the thread that locked must unlock (a `compile_fail` doc test on
//! `Lock` shows it).

use c10k_process::{
    Array, Barrier, Bytes, Condition, Connection, DictProxy, Event, JoinableQueue, ListProxy, Lock,
    Process, Queue, RLock, Semaphore, Value,
};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}

#[test]
fn handles_are_send_and_sync() {
    send_sync::<Queue<String>>();
    send_sync::<JoinableQueue<Vec<u8>>>();
    send_sync::<Lock>();
    send_sync::<RLock>();
    send_sync::<Semaphore>();
    send_sync::<Event>();
    send_sync::<Condition>();
    send_sync::<Barrier>();
    send_sync::<Value<u64>>();
    send_sync::<Array<f64>>();
    send_sync::<DictProxy<String, u32>>();
    send_sync::<ListProxy<u32>>();
    send_sync::<Bytes>();
    send::<Connection>();
    send::<Process<u64>>();
}
