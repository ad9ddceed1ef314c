//! loom models of the doze protocol (`doze.rs`): the parker's steps against a conditional
//! wake after new work (step 2), an unconditional wake (step 3) and a registration (step 4).
//! A lost wake leaves the parker asleep with nobody left to wake it: loom reports the
//! deadlock. The parker follows `SelectorDriver::park`: announce, fence, re-check, sleep.

use loom::sync::atomic::{fence, AtomicBool, Ordering::Relaxed, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;

use super::Doze;

/// Parks until `ready` says there is something to do, re-checking after every return.
fn park_until(doze: &Doze, ready: impl Fn() -> bool) {
    loop {
        if ready() {
            return;
        }
        let dozing = doze.prepare();
        fence(SeqCst);
        if !dozing {
            continue; // a wake was pending
        }
        if ready() {
            doze.cancel();
            return;
        }
        doze.wait(None).expect("the emulated futex does not fail");
    }
}

#[test]
fn loom_doze_conditional_wake_after_work_is_never_lost() {
    loom::model(|| {
        let doze = Arc::new(Doze::new());
        let work = Arc::new(AtomicBool::new(false));
        let waker = {
            let (doze, work) = (Arc::clone(&doze), Arc::clone(&work));
            thread::spawn(move || {
                work.store(true, Relaxed);
                // `Driver::unpark`: the caller made work visible, then the fence.
                fence(SeqCst);
                doze.unpark();
            })
        };
        park_until(&doze, || work.load(Relaxed));
        waker.join().unwrap();
    });
}

#[test]
fn loom_doze_unconditional_wake_ends_the_current_or_next_doze() {
    loom::model(|| {
        let doze = Arc::new(Doze::new());
        let waker = {
            let doze = Arc::clone(&doze);
            thread::spawn(move || doze.notify())
        };
        // One doze, with nothing to re-check (a timer owner whose deadline moved): it must
        // not sleep through the notification, whenever that comes.
        if doze.prepare() {
            fence(SeqCst);
            doze.wait(None).expect("the emulated futex does not fail");
        }
        waker.join().unwrap();
    });
}

#[test]
fn loom_doze_registration_wakes_a_dozing_parker() {
    loom::model(|| {
        let doze = Arc::new(Doze::new());
        // The registry: how many registrations, under its mutex.
        let regs = Arc::new(Mutex::new(0usize));
        let registrant = {
            let (doze, regs) = (Arc::clone(&doze), Arc::clone(&regs));
            thread::spawn(move || {
                *regs.lock().unwrap() += 1;
                // `SelectorDriver::add`: no fence, the registry's mutex orders (step 4).
                doze.unpark();
            })
        };
        park_until(&doze, || *regs.lock().unwrap() > 0);
        registrant.join().unwrap();
    });
}
