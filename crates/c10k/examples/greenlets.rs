//! The tutorials' greenlet and gevent demos (seeds 001 and 002) on [`c10k::green`]:
//! greenlet `switch` ping-pong, gevent `spawn`/`joinall` with `sleep(0)`, and synchronous
//! versus concurrent tasks that each sleep, timed.
//!
//! `cargo run -p c10k --example greenlets`

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use c10k::green::{self, GreenHandle};

type Slot = Rc<RefCell<Option<GreenHandle<()>>>>;

/// greenlet: `test1` prints 12, switches to `test2` (56), back (34), to `test2` (78).
/// Returns what was printed, in order.
pub(crate) fn switch_demo() -> std::io::Result<Vec<u32>> {
    green::run(|| {
        let printed = Rc::new(RefCell::new(Vec::new()));
        let (gr1, gr2): (Slot, Slot) = (Rc::default(), Rc::default());
        let (p, to2) = (Rc::clone(&printed), Rc::clone(&gr2));
        let test1 = green::spawn(move || {
            p.borrow_mut().push(12);
            green::switch(to2.borrow().as_ref().expect("set"));
            p.borrow_mut().push(34);
            green::switch(to2.borrow().as_ref().expect("set"));
        });
        let (p, to1) = (Rc::clone(&printed), Rc::clone(&gr1));
        let test2 = green::spawn(move || {
            p.borrow_mut().push(56);
            green::switch(to1.borrow().as_ref().expect("set"));
            p.borrow_mut().push(78);
        });
        *gr1.borrow_mut() = Some(test1);
        *gr2.borrow_mut() = Some(test2);
        while !gr2.borrow().as_ref().expect("set").is_dead() {
            green::sleep(Duration::ZERO);
        }
        // As in greenlet, test1 is left suspended in its last switch; the hub unwinds it
        // when `run` returns.
        let v = printed.borrow().clone();
        v
    })
}

/// gevent: `foo` and `bar` each print, `sleep(0)`, and print again: the switches interleave.
#[allow(clippy::disallowed_names)] // the tutorial's names
pub(crate) fn spawn_demo() -> std::io::Result<Vec<&'static str>> {
    green::run(|| {
        let log = Rc::new(RefCell::new(Vec::new()));
        let (a, b) = (Rc::clone(&log), Rc::clone(&log));
        let foo = green::spawn(move || {
            a.borrow_mut().push("Running in foo");
            green::sleep(Duration::ZERO);
            a.borrow_mut().push("Explicit context switch to foo again");
        });
        let bar = green::spawn(move || {
            b.borrow_mut().push("Explicit context to bar");
            green::sleep(Duration::ZERO);
            b.borrow_mut().push("Implicit context switch back to bar");
        });
        green::joinall(&[foo, bar], None);
        let v = log.borrow().clone();
        v
    })
}

/// What [`timing_demo`] saw: each run's time and its events (`start N`, `done N`) in order.
#[derive(Debug)]
#[allow(dead_code)] // the events are read by the test, the example prints them
pub(crate) struct Timing {
    pub(crate) sync: Duration,
    pub(crate) conc: Duration,
    pub(crate) sync_events: Vec<String>,
    pub(crate) conc_events: Vec<String>,
}

/// gevent's `synchronous()` against `asynchronous()`: `tasks` tasks that each sleep `nap`,
/// one after the other, then as green threads joined with `joinall`.
pub(crate) fn timing_demo(tasks: u32, nap: Duration) -> std::io::Result<Timing> {
    green::run(move || {
        let events = Rc::new(RefCell::new(Vec::new()));
        let ev = Rc::clone(&events);
        let task = move |pid: u32| {
            ev.borrow_mut().push(format!("start {pid}"));
            green::sleep(nap);
            ev.borrow_mut().push(format!("done {pid}"));
            println!("Task {pid} done");
        };
        println!("Synchronous:");
        let start = Instant::now();
        for pid in 0..tasks {
            task(pid);
        }
        let sync = start.elapsed();
        let sync_events = std::mem::take(&mut *events.borrow_mut());
        println!("Asynchronous:");
        let start = Instant::now();
        let threads: Vec<_> = (0..tasks)
            .map(|pid| {
                let task = task.clone();
                green::spawn(move || task(pid))
            })
            .collect();
        green::joinall(&threads, None);
        let conc = start.elapsed();
        let conc_events = std::mem::take(&mut *events.borrow_mut());
        Timing {
            sync,
            conc,
            sync_events,
            conc_events,
        }
    })
}

fn main() -> std::io::Result<()> {
    println!("greenlet switch: {:?}", switch_demo()?);
    for line in spawn_demo()? {
        println!("{line}");
    }
    let t = timing_demo(10, Duration::from_millis(500))?;
    println!("synchronous: {:?}, asynchronous: {:?}", t.sync, t.conc);
    Ok(())
}
