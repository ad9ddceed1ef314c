//! loom models of the ring's index and waiting protocols (`ring.rs`), through the same
//! `put`/`get`/`close` the queue runs, with loom's primitives behind [`Sys`]: the ring's
//! locks are spin locks on loom atomics, the records' sequence words are loom atomics (one
//! per 16-byte position), and a futex is a loom mutex and condition
//! variable that re-check the word (a faithful futex: a wake after the word changed cannot
//! be missed by a waiter that compared before the change). A lost wakeup therefore shows
//! as a deadlock, a torn or duplicated record as a wrong value.
//!
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS=2
//! cargo test -p c10k-process --release --lib loom`

use std::cell::UnsafeCell;

use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use super::{close, get, put, Block, Header, Lock, PopError, Sys};

struct LoomSys {
    header: Header,
    locked: [AtomicBool; 2],
    seqs: Vec<AtomicU64>,
    futex: Mutex<()>,
    woken: Condvar,
    data: UnsafeCell<Vec<u8>>,
}

// SAFETY: `data` is only touched under the protocol's rules (ring.rs): a record's bytes by
// the put lock's holder before its commit, by the get lock's holder after it.
unsafe impl Sync for LoomSys {}
// SAFETY: as for `Sync`.
unsafe impl Send for LoomSys {}

impl LoomSys {
    fn new(capacity: u32, data_len: u32) -> Arc<LoomSys> {
        Arc::new(LoomSys {
            header: Header::new(capacity, data_len),
            locked: [AtomicBool::new(false), AtomicBool::new(false)],
            seqs: (0..data_len / 16).map(|_| AtomicU64::new(0)).collect(),
            futex: Mutex::new(()),
            woken: Condvar::new(),
            data: UnsafeCell::new(vec![0; data_len as usize]),
        })
    }
}

impl Sys for LoomSys {
    fn lock(&self, which: Lock) -> bool {
        let l = &self.locked[which as usize];
        while l
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            thread::yield_now();
        }
        false
    }
    fn unlock(&self, which: Lock) {
        self.locked[which as usize].store(false, Ordering::Release);
    }
    fn seq(&self, at: usize) -> &AtomicU64 {
        &self.seqs[at / 16]
    }
    fn wait(&self, word: &AtomicU32, expected: u32, _deadline: Option<std::time::Instant>) {
        let cv = &self.woken;
        let mut g = self.futex.lock().unwrap();
        while word.load(Ordering::SeqCst) == expected {
            g = cv.wait(g).unwrap();
        }
    }
    fn wake(&self, _word: &AtomicU32, _n: u32) {
        // The protocol always wakes every sleeper of a word; sleepers of the other word
        // recheck theirs and sleep again.
        let _g = self.futex.lock().unwrap();
        self.woken.notify_all();
    }
    fn data(&self) -> *mut u8 {
        // SAFETY: the pointer is only dereferenced under the ring's lock.
        unsafe { (*self.data.get()).as_mut_ptr() }
    }
    fn spin_micros(&self) -> u32 {
        0
    }
    fn yields_while_spinning(&self) -> bool {
        false // the budget is 0: the model never spins
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(f);
}

/// Capacity 1: the producer waits for room, the consumer for items; both sleep on
/// futexes. FIFO, nothing lost, no lost wakeup.
#[test]
fn one_slot_ping_pong() {
    model(|| {
        let s = LoomSys::new(1, 64);
        let p = s.clone();
        let producer = thread::spawn(move || {
            put(&p.header, &*p, b"a", Block::Forever).unwrap();
            put(&p.header, &*p, b"bc", Block::Forever).unwrap();
        });
        let mut out = Vec::new();
        get(&s.header, &*s, &mut out, Block::Forever).unwrap();
        assert_eq!(out, b"a");
        out.clear();
        get(&s.header, &*s, &mut out, Block::Forever).unwrap();
        assert_eq!(out, b"bc");
        producer.join().unwrap();
        assert_eq!(s.header.len(), 0);
    });
}

/// Two producers race for a 64-byte ring (a 32-byte record and its 16 spare bytes fit
/// once; the second record waits for the first to be taken and then wraps around the
/// end): each value arrives once, whole.
#[test]
fn two_producers_wrap() {
    model(|| {
        let s = LoomSys::new(4, 64);
        let handles: Vec<_> = [b"0123456789abcdef", b"ghijklmnopqrstuv"]
            .into_iter()
            .map(|msg| {
                let p = s.clone();
                thread::spawn(move || put(&p.header, &*p, msg, Block::Forever).unwrap())
            })
            .collect();
        let mut got = Vec::new();
        for _ in 0..2 {
            let mut out = Vec::new();
            get(&s.header, &*s, &mut out, Block::Forever).unwrap();
            got.push(out);
        }
        for h in handles {
            h.join().unwrap();
        }
        got.sort();
        assert_eq!(
            got,
            [b"0123456789abcdef".to_vec(), b"ghijklmnopqrstuv".to_vec()]
        );
    });
}

/// Two getters asleep, one producer putting two items: the second put finds the sleeper
/// flag cleared by the first put's wake and makes none; both getters still get an item.
#[test]
fn two_getters_one_wake() {
    model(|| {
        let s = LoomSys::new(4, 128);
        let getters: Vec<_> = (0..2)
            .map(|_| {
                let g = s.clone();
                thread::spawn(move || {
                    let mut out = Vec::new();
                    get(&g.header, &*g, &mut out, Block::Forever).unwrap();
                    out
                })
            })
            .collect();
        put(&s.header, &*s, b"x", Block::Forever).unwrap();
        put(&s.header, &*s, b"y", Block::Forever).unwrap();
        let mut got: Vec<Vec<u8>> = getters.into_iter().map(|g| g.join().unwrap()).collect();
        got.sort();
        assert_eq!(got, [b"x".to_vec(), b"y".to_vec()]);
    });
}

/// A getter asleep on an empty ring wakes when another thread closes it.
#[test]
fn close_wakes_getter() {
    model(|| {
        let s = LoomSys::new(2, 64);
        let g = s.clone();
        let getter = thread::spawn(move || {
            let mut out = Vec::new();
            get(&g.header, &*g, &mut out, Block::Forever)
        });
        close(&s.header, &*s);
        assert_eq!(getter.join().unwrap(), Err(PopError::Closed));
    });
}
