//! Compile-time checks of the auto traits promised by the docs.

use c10k_sync::channel::{broadcast, mpmc, mpsc, oneshot, watch};
use c10k_sync::*;

fn send<T: Send>() {}
fn sync<T: Sync>() {}

#[test]
fn primitives_are_send_and_sync() {
    send::<Mutex<Vec<u8>>>();
    sync::<Mutex<std::cell::Cell<u8>>>(); // a Mutex makes a Send-only value shareable
    send::<MutexGuard<'static, Vec<u8>>>(); // guards may cross `.await` on multi-threaded executors
    send::<OwnedMutexGuard<Vec<u8>>>();
    sync::<OwnedMutexGuard<Vec<u8>>>();
    sync::<RwLock<Vec<u8>>>();
    sync::<ReentrantMutex<std::cell::RefCell<u8>>>();
    sync::<Semaphore>();
    send::<OwnedSemaphorePermit>();
    sync::<Event>();
    sync::<Notify>();
    sync::<Condvar>();
    sync::<Barrier>();
    sync::<Queue<String>>();
    send::<mpsc::Sender<String>>();
    send::<mpsc::Receiver<String>>();
    sync::<mpmc::Receiver<String>>();
    send::<oneshot::Sender<String>>();
    send::<broadcast::Receiver<String>>();
    send::<watch::Receiver<String>>();
}

#[test]
fn futures_are_send() {
    let m = Mutex::new(0);
    let s = Semaphore::new(1);
    let q = Queue::<u8>::new();
    let (tx, rx) = mpmc::bounded::<u8>(1);
    fn is_send<T: Send>(_: &T) {}
    is_send(&m.lock());
    is_send(&std::sync::Arc::new(Mutex::new(0)).lock_owned());
    is_send(&s.acquire());
    is_send(&q.get());
    is_send(&q.put(1));
    is_send(&tx.send(1));
    is_send(&rx.recv());
}
