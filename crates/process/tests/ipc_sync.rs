//! Synchronization across processes: `Lock` (mutual exclusion, owner death), `RLock`,
//! `Semaphore`, `Event`, `Condition`, `Barrier`, `Value`, `Array`. Runs with
//! `harness = false` (see `tests/util`).

mod util;

use std::io;
use std::time::Duration;

use c10k_process::{
    Array, Barrier, BarrierError, Condition, Entry, Event, Lock, Process, RLock, Semaphore, Value,
};
use util::fail;

/// Adds 1 to the counter `n` times, each a read-modify-write under the lock, with the
/// value read and written separately (so that without the lock, increments get lost).
fn add_under_lock((lock, counter, n): (Lock, Value<u64>, u32)) {
    for _ in 0..n {
        let _g = lock.acquire().unwrap_or_else(|e| e.into_guard());
        let v = counter.get();
        std::hint::black_box(&v);
        counter.set(v + 1);
    }
}
static ADD_UNDER_LOCK: Entry<(Lock, Value<u64>, u32), ()> =
    Entry::new("add_under_lock", add_under_lock);

fn add_in_place((counter, n): (Value<u64>, u32)) {
    for _ in 0..n {
        *counter.lock().unwrap() += 1;
    }
}
static ADD_IN_PLACE: Entry<(Value<u64>, u32), ()> = Entry::new("add_in_place", add_in_place);

/// Takes the lock and exits without releasing it.
fn die_holding(lock: Lock) {
    let g = lock.acquire().unwrap();
    std::mem::forget(g);
    std::process::exit(0);
}
static DIE_HOLDING: Entry<Lock, ()> = Entry::new("die_holding", die_holding);

/// Holds a semaphore permit while counting how many are inside at once.
fn inside((sem, now, peak, n): (Semaphore, Value<u32>, Value<u32>, u32)) {
    for _ in 0..n {
        sem.acquire();
        {
            let mut g = now.lock().unwrap();
            *g += 1;
            let mut p = peak.lock().unwrap();
            *p = (*p).max(*g);
        }
        *now.lock().unwrap() -= 1;
        sem.release().unwrap();
    }
}
static INSIDE: Entry<(Semaphore, Value<u32>, Value<u32>, u32), ()> = Entry::new("inside", inside);

fn wait_then_set((go, reply): (Event, Event)) {
    go.wait();
    reply.set();
}
static WAIT_THEN_SET: Entry<(Event, Event), ()> = Entry::new("wait_then_set", wait_then_set);

/// Waits on the condition until the shared value reaches `target`, then bumps it.
fn cond_waiter((cond, v, target): (Condition, Value<u32>, u32)) {
    let g = cond.acquire().unwrap();
    let (_g, ok) = g.wait_for(|| v.get() == target, Some(Duration::from_secs(30)));
    assert!(ok, "never saw {target}");
    v.set(target + 1);
    cond.notify_all();
}
static COND_WAITER: Entry<(Condition, Value<u32>, u32), ()> =
    Entry::new("cond_waiter", cond_waiter);

/// Three rounds through the barrier; records the round in its slot of the array before
/// each wait and checks every slot caught up after it.
fn barrier_party((b, slots, me): (Barrier, Array<u32>, usize)) -> u32 {
    let mut last = 0;
    for round in 1..=3 {
        slots.set(me, round);
        last = b.wait().unwrap();
        assert!(
            slots.to_vec().iter().all(|&r| r >= round),
            "a party passed before all arrived"
        );
    }
    last
}
static BARRIER_PARTY: Entry<(Barrier, Array<u32>, usize), u32> =
    Entry::new("barrier_party", barrier_party);

fn lock_mutual_exclusion() -> io::Result<()> {
    let lock = Lock::new()?;
    let counter = Value::new(0u64)?;
    let mut ps: Vec<_> = (0..4)
        .map(|_| Process::spawn(&ADD_UNDER_LOCK, (lock.clone(), counter.clone(), 2000)))
        .collect::<io::Result<_>>()?;
    for p in &mut ps {
        assert!(p.join()?.success());
    }
    assert_eq!(counter.get(), 8000);
    let mut ps: Vec<_> = (0..3)
        .map(|_| Process::spawn(&ADD_IN_PLACE, (counter.clone(), 1000)))
        .collect::<io::Result<_>>()?;
    for p in &mut ps {
        assert!(p.join()?.success());
    }
    assert_eq!(counter.get(), 11000);
    Ok(())
}

/// A holder that dies: the next acquire gets the lock and is told, instead of hanging.
fn lock_owner_died() -> io::Result<()> {
    let lock = Lock::new()?;
    let mut p = Process::spawn(&DIE_HOLDING, lock.clone())?;
    assert!(p.join()?.success());
    match lock.acquire_timeout(Duration::from_secs(10)) {
        Some(Err(died)) => {
            assert!(died.to_string().contains("died"));
            drop(died.into_guard());
        }
        Some(Ok(_)) => return Err(fail("the owner's death was not reported")),
        None => return Err(fail("the lock stayed held by a dead process")),
    }
    // Recovered: plain acquires work again, and report nothing.
    assert!(lock.acquire().is_ok());
    let g = lock.try_acquire();
    assert!(matches!(g, Some(Ok(_))));
    drop(g);
    Ok(())
}

fn rlock_reentrant() -> io::Result<()> {
    let l = RLock::new()?;
    let a = l.acquire().unwrap();
    let b = l.try_acquire().expect("re-entrant").unwrap();
    drop(a);
    drop(b);
    let other = l.clone();
    // Another thread can take it once every guard is gone.
    std::thread::spawn(move || assert!(other.try_acquire().is_some()))
        .join()
        .unwrap();
    Ok(())
}

fn semaphore_bounds() -> io::Result<()> {
    let sem = Semaphore::new(2)?;
    let now = Value::new(0u32)?;
    let peak = Value::new(0u32)?;
    let mut ps: Vec<_> = (0..4)
        .map(|_| Process::spawn(&INSIDE, (sem.clone(), now.clone(), peak.clone(), 300)))
        .collect::<io::Result<_>>()?;
    for p in &mut ps {
        assert!(p.join()?.success());
    }
    assert!(peak.get() <= 2, "{} inside at once", peak.get());
    assert_eq!(sem.value(), 2);
    let b = Semaphore::bounded(1)?;
    assert_eq!(b.release().unwrap_err().kind(), io::ErrorKind::InvalidInput);
    assert!(b.try_acquire());
    assert!(!b.acquire_timeout(Duration::from_millis(5)));
    Ok(())
}

fn event_across() -> io::Result<()> {
    let (go, reply) = (Event::new()?, Event::new()?);
    let mut p = Process::spawn(&WAIT_THEN_SET, (go.clone(), reply.clone()))?;
    assert!(
        !reply.wait_timeout(Duration::from_millis(10)),
        "set before go"
    );
    go.set();
    assert!(reply.wait_timeout(Duration::from_secs(20)));
    p.join()?;
    reply.clear();
    assert!(!reply.is_set());
    Ok(())
}

/// A relay: child k waits for the value k, sets k + 1, notifies.
fn condition_relay() -> io::Result<()> {
    let cond = Condition::new()?;
    let v = Value::new(0u32)?;
    let mut ps: Vec<_> = (1..=3)
        .rev()
        .map(|k| Process::spawn(&COND_WAITER, (cond.clone(), v.clone(), k)))
        .collect::<io::Result<_>>()?;
    {
        let _g = cond.acquire().unwrap();
        v.set(1);
    }
    cond.notify_all();
    for p in &mut ps {
        p.join_value().map_err(|e| fail(e.to_string()))?;
    }
    assert_eq!(v.get(), 4);
    Ok(())
}

fn barrier_rounds() -> io::Result<()> {
    let b = Barrier::new(3)?;
    let slots = Array::filled(0u32, 3)?;
    let mut ps: Vec<_> = (0..3)
        .map(|i| Process::spawn(&BARRIER_PARTY, (b.clone(), slots.clone(), i)))
        .collect::<io::Result<_>>()?;
    let mut indices: Vec<u32> = ps.iter_mut().map(|p| p.join_value().unwrap()).collect();
    indices.sort();
    assert_eq!(indices, [0, 1, 2]);
    // A lone waiter times out and breaks it for everyone.
    let b = Barrier::new(2)?;
    assert_eq!(
        b.wait_timeout(Duration::from_millis(5)),
        Err(BarrierError::Broken)
    );
    assert!(b.is_broken());
    assert_eq!(b.wait(), Err(BarrierError::Broken));
    b.reset();
    assert!(!b.is_broken());
    Ok(())
}

fn value_and_array() -> io::Result<()> {
    let v = Value::new([1.5f64, 2.5])?;
    v.lock().unwrap()[1] = 4.0;
    assert_eq!(v.get(), [1.5, 4.0]);
    let a = Array::from_slice(&[1u8, 2, 3])?;
    assert_eq!(a.len(), 3);
    a.set(2, 9);
    assert_eq!(a.to_vec(), [1, 2, 9]);
    let empty = Array::<u64>::from_slice(&[])?;
    assert!(empty.is_empty());
    Ok(())
}

fn main() {
    c10k_process::init(&[
        &ADD_UNDER_LOCK,
        &ADD_IN_PLACE,
        &DIE_HOLDING,
        &INSIDE,
        &WAIT_THEN_SET,
        &COND_WAITER,
        &BARRIER_PARTY,
    ]);
    util::run(&[
        ("lock_mutual_exclusion", lock_mutual_exclusion),
        ("lock_owner_died", lock_owner_died),
        ("rlock_reentrant", rlock_reentrant),
        ("semaphore_bounds", semaphore_bounds),
        ("event_across", event_across),
        ("condition_relay", condition_relay),
        ("barrier_rounds", barrier_rounds),
        ("value_and_array", value_and_array),
    ]);
}
