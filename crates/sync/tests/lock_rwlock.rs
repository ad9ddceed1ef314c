//! RwLock fairness and ReentrantMutex re-entry.

mod util;

use std::cell::Cell;
use std::sync::Arc;
use std::task::Poll;

use c10k_sync::{ReentrantMutex, RwLock};
use util::{poll_once, CountWaker};

#[test]
fn queued_writer_blocks_later_readers() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let (_c, w) = CountWaker::new();
    let mut writer = lock.write();
    assert!(poll_once(&mut writer, &w).is_pending());
    // A reader arriving after the writer must wait: no writer starvation.
    assert!(lock.try_read().is_err());
    let mut late_reader = lock.read();
    assert!(poll_once(&mut late_reader, &w).is_pending());
    drop(r1);
    let mut g = match poll_once(&mut writer, &w) {
        Poll::Ready(g) => g,
        Poll::Pending => panic!("writer was handed the lock"),
    };
    *g = 7;
    assert!(poll_once(&mut late_reader, &w).is_pending());
    drop(g);
    match poll_once(&mut late_reader, &w) {
        Poll::Ready(g) => assert_eq!(*g, 7),
        Poll::Pending => panic!("reader follows the writer"),
    };
}

#[test]
fn readers_share_and_writers_exclude_across_threads() {
    let lock = Arc::new(RwLock::new(Vec::new()));
    std::thread::scope(|s| {
        for i in 0..4 {
            let lock = &lock;
            s.spawn(move || {
                for j in 0..200 {
                    if j % 4 == 0 {
                        lock.write_blocking().push(i);
                    } else {
                        let g = lock.read_blocking();
                        let len = g.len();
                        assert_eq!(g.len(), len);
                    }
                }
            });
        }
    });
    assert_eq!(lock.read_blocking().len(), 4 * 50);
}

#[test]
fn reentrant_mutex_reenters_on_one_thread_and_excludes_others() {
    let m = Arc::new(ReentrantMutex::new(Cell::new(0)));
    let g1 = m.lock_blocking();
    let g2 = m.lock_blocking();
    g2.set(g2.get() + 1);
    let m2 = m.clone();
    let other = std::thread::spawn(move || m2.try_lock().is_err());
    assert!(other.join().unwrap(), "another thread cannot enter");
    drop(g2);
    let m3 = m.clone();
    assert!(
        std::thread::spawn(move || m3.try_lock().is_err())
            .join()
            .unwrap(),
        "still held once"
    );
    drop(g1);
    let m4 = m.clone();
    assert!(std::thread::spawn(move || m4.try_lock().is_ok())
        .join()
        .unwrap());
    assert_eq!(m.lock_blocking().get(), 1);
}
