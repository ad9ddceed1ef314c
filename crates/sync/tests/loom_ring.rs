//! loom models of the lock-free stores' index protocol (`src/ring.rs`, `src/list.rs`).
//!
//! `try_send`/`try_recv` with nobody waiting go straight to the store's `push`/`pop` (the
//! engine only reads its `waiting` word), so these models explore the ring's and the list's
//! index protocol through the public API: lap wrap-around, two pushers racing for a slot,
//! two poppers racing for a value, a push racing the pop that frees its slot, a pop meeting
//! a push that claimed its slot but has not written it, close racing with a push, and drop
//! with values inside. Each thread makes a fixed number of calls (no retry loops), so the
//! models stay small. Under loom the list has
//! one slot per block, so every push installs a block and every pop frees one.
//!
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS=2
//! cargo test -p c10k-sync --release --test loom_ring`
#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc as StdArc;

use c10k_sync::channel::{mpmc, mpsc, TryRecvError, TrySendError};
use loom::thread;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(f);
}

/// Everything left in the channel, in order.
fn drain(rx: &mpmc::Receiver<u32>) -> Vec<u32> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

/// Two pushers race for the tail while a popper races with both: every value sent is
/// received exactly once (nothing lost, nothing duplicated).
fn two_pushers_one_popper(make: fn() -> (mpmc::Sender<u32>, mpmc::Receiver<u32>)) {
    model(move || {
        let (tx, rx) = make();
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.try_send(1).is_ok());
        let b = thread::spawn(move || tx2.try_send(2).is_ok());
        let early = rx.try_recv().ok();
        let sent_a = a.join().unwrap();
        let sent_b = b.join().unwrap();
        let mut got: Vec<u32> = early.into_iter().chain(drain(&rx)).collect();
        got.sort_unstable();
        let mut want = Vec::new();
        want.extend(sent_a.then_some(1));
        want.extend(sent_b.then_some(2));
        assert_eq!(got, want);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

#[test]
fn ring_two_pushers_one_popper_each_value_once() {
    two_pushers_one_popper(|| mpmc::bounded(2));
}

#[test]
fn list_two_pushers_one_popper_each_value_once_across_blocks() {
    two_pushers_one_popper(mpmc::unbounded);
}

/// Capacity 1, one lap in: a push races with the pop that frees the only slot. The push
/// fails with `Full` only if the pop had not claimed the value yet; FIFO holds.
#[test]
fn ring_capacity_1_push_races_the_freeing_pop() {
    model(|| {
        let (tx, rx) = mpmc::bounded(1);
        tx.try_send(0).unwrap();
        assert_eq!(rx.try_recv(), Ok(0)); // one full lap
        tx.try_send(1).unwrap();
        let t = thread::spawn(move || rx.try_recv().map(|v| (v, rx)));
        let pushed = match tx.try_send(2) {
            Ok(()) => true,
            Err(TrySendError::Full(2)) => false,
            Err(e) => panic!("unexpected {e:?}"),
        };
        let (first, rx) = t.join().unwrap().unwrap();
        assert_eq!(first, 1);
        assert_eq!(drain(&rx), if pushed { vec![2] } else { vec![] });
    });
}

/// Two poppers race for the head of a ring (capacity 2, wrapped once) or a list: each
/// value goes to exactly one of them, in order.
fn two_poppers(make: fn() -> (mpmc::Sender<u32>, mpmc::Receiver<u32>)) {
    model(move || {
        let (tx, rx) = make();
        tx.try_send(0).unwrap();
        assert_eq!(rx.try_recv(), Ok(0));
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        let rx2 = rx.clone();
        let a = thread::spawn(move || rx.try_recv().unwrap());
        let b = thread::spawn(move || rx2.try_recv().unwrap());
        let mut got = [a.join().unwrap(), b.join().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn ring_two_poppers_each_value_once() {
    two_poppers(|| mpmc::bounded(2));
}

#[test]
fn list_two_poppers_each_value_once_across_blocks() {
    two_poppers(mpmc::unbounded);
}

/// A pop that finds the tail moved but the slot not yet written waits for the write
/// instead of reporting empty; a pop that reports empty saw no claimed slot. Either way,
/// after the push returns the value is there exactly once.
fn pop_meets_unfinished_push(make: fn() -> (mpmc::Sender<u32>, mpmc::Receiver<u32>)) {
    model(move || {
        let (tx, rx) = make();
        let t = thread::spawn(move || {
            tx.try_send(1).unwrap();
            tx.try_send(2).unwrap();
        });
        let early = rx.try_recv().ok();
        t.join().unwrap();
        let got: Vec<u32> = early.into_iter().chain(drain(&rx)).collect();
        assert_eq!(got, [1, 2]);
    });
}

/// Linearizability guard: once a push has returned, a pop cannot report "empty", even if
/// an earlier push (ahead of it in the order) claimed its slot and is still writing: the
/// pop waits for that write. Fails if `pop` reports empty on an unwritten slot without
/// comparing `head` with `tail`.
fn pop_after_a_finished_push_is_not_empty(make: fn() -> (mpmc::Sender<u32>, mpmc::Receiver<u32>)) {
    model(move || {
        let (tx, rx) = make();
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.try_send(1).unwrap());
        let b = thread::spawn(move || tx2.try_send(2).unwrap());
        b.join().unwrap();
        let first = rx.try_recv();
        assert!(first.is_ok(), "empty after a push returned: {first:?}");
        a.join().unwrap();
    });
}

#[test]
fn ring_pop_after_a_finished_push_is_not_empty() {
    pop_after_a_finished_push_is_not_empty(|| mpmc::bounded(2));
}

#[test]
fn list_pop_after_a_finished_push_is_not_empty() {
    pop_after_a_finished_push_is_not_empty(mpmc::unbounded);
}

#[test]
fn ring_pop_meets_unfinished_push() {
    pop_meets_unfinished_push(|| mpmc::bounded(2));
}

#[test]
fn list_pop_meets_unfinished_push() {
    pop_meets_unfinished_push(mpmc::unbounded);
}

/// Counts drops, to check that every value is dropped exactly once.
struct Counted(StdArc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A send races with the last receiver's drop (close, then drain): the value is either
/// handed back to the sender or dropped by the drain (or by the store's own drop), exactly
/// once either way.
fn close_races_send(make: fn() -> (mpmc::Sender<Counted>, mpmc::Receiver<Counted>)) {
    model(move || {
        let drops = StdArc::new(AtomicUsize::new(0));
        let (tx, rx) = make();
        let d = drops.clone();
        let t = thread::spawn(move || {
            let sent = tx.try_send(Counted(d.clone())).is_ok();
            let again = tx.try_send(Counted(d)).is_ok();
            (sent, again)
        });
        drop(rx);
        let (sent, again) = t.join().unwrap();
        assert!(sent || !again, "a send succeeded after one failed on close");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "a value was not dropped once"
        );
    });
}

#[test]
fn ring_close_races_send_and_drops_once() {
    close_races_send(|| mpmc::bounded(2));
}

#[test]
fn list_close_races_send_and_drops_once() {
    close_races_send(mpmc::unbounded);
}

/// Values left inside when every handle is gone are dropped exactly once, while a consumer
/// takes some of them concurrently.
fn drop_with_values_inside(make: fn() -> (mpmc::Sender<Counted>, mpmc::Receiver<Counted>)) {
    model(move || {
        let drops = StdArc::new(AtomicUsize::new(0));
        let (tx, rx) = make();
        tx.try_send(Counted(drops.clone())).ok().unwrap();
        tx.try_send(Counted(drops.clone())).ok().unwrap();
        let t = thread::spawn(move || drop(rx.try_recv()));
        tx.try_send(Counted(drops.clone())).ok();
        drop(tx);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn ring_drop_with_values_inside_drops_each_once() {
    drop_with_values_inside(|| mpmc::bounded(2));
}

#[test]
fn list_drop_with_values_inside_drops_each_once() {
    drop_with_values_inside(mpmc::unbounded);
}

// -- The single-consumer list of `mpsc::unbounded` ---------------------------------------
//
// Its receiver claims with a plain store and frees each (one-slot, under loom) block as it
// reads it, with no `READ` marks. These models guard that protocol: values cross blocks
// exactly once and in order, the receiver may move between threads, and the engine's pops
// on behalf of a waiting receiver (in a sender's thread, under the mutex) interleave with
// the receiver's own lock-free pops. `list_drop_*` and `blocked_receiver_*_list` of
// `loom_engine.rs` cover the rest (drop with values inside; the parking hand-off).

/// Everything left in an mpsc channel, in order.
fn drain_mpsc(rx: &mut mpsc::Receiver<u32>) -> Vec<u32> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

/// Two pushers race for the tail while the single receiver pops across blocks: each value
/// once, and each sender's values in its order.
#[test]
fn mpsc_list_two_pushers_single_popper_each_value_once() {
    model(|| {
        let (tx, mut rx) = mpsc::unbounded();
        let tx2 = tx.clone();
        let a = thread::spawn(move || {
            tx.try_send(1).unwrap();
            tx.try_send(2).unwrap();
        });
        let b = thread::spawn(move || tx2.try_send(3).unwrap());
        let early = rx.try_recv().ok();
        a.join().unwrap();
        b.join().unwrap();
        let got: Vec<u32> = early.into_iter().chain(drain_mpsc(&mut rx)).collect();
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [1, 2, 3]);
        let pos = |v| got.iter().position(|&x| x == v).unwrap();
        assert!(pos(1) < pos(2), "one sender's values out of order: {got:?}");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

/// The receiver pops in one thread, then moves to another and goes on popping (and
/// freeing blocks) while a sender pushes: the pops stay ordered through the move.
#[test]
fn mpsc_list_receiver_moves_between_threads() {
    model(|| {
        let (tx, mut rx) = mpsc::unbounded();
        tx.try_send(1).unwrap();
        let t = thread::spawn(move || {
            let first = rx.try_recv().ok();
            (first, rx)
        });
        tx.try_send(2).unwrap();
        let (first, mut rx) = t.join().unwrap();
        let t = thread::spawn(move || {
            let got: Vec<u32> = first.into_iter().chain(drain_mpsc(&mut rx)).collect();
            (got, rx)
        });
        tx.try_send(3).unwrap();
        let (mut got, mut rx) = t.join().unwrap();
        got.extend(drain_mpsc(&mut rx));
        assert_eq!(got, [1, 2, 3]);
    });
}

/// The receiver waits (under loom it parks at once), so a sender's fast send locks and the
/// engine pops on the receiver's behalf in the sender's thread; the receiver then pops by
/// itself, lock-free, from the next block on. Each value once, in order, and the channel
/// ends disconnected.
#[test]
fn mpsc_list_engine_pop_on_behalf_then_own_pops() {
    model(|| {
        let (tx, mut rx) = mpsc::unbounded();
        let t = thread::spawn(move || {
            tx.try_send(1).unwrap();
            tx.try_send(2).unwrap();
            tx.try_send(3).unwrap();
        });
        let mut got = vec![rx.recv_blocking().unwrap()];
        got.extend(rx.try_recv().ok());
        t.join().unwrap();
        while let Ok(v) = rx.recv_blocking() {
            got.push(v);
        }
        assert_eq!(got, [1, 2, 3]);
    });
}
