//! Green threads: spawn, join, kill, sleep, switch, joinall, async interop, sync parking,
//! and the one-thread guarantee.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use c10k_green::{self as green, GreenError};

#[test]
fn spawn_and_join_return_values() -> std::io::Result<()> {
    let sum = green::run(|| {
        let handles: Vec<_> = (0..10u32).map(|i| green::spawn(move || i * i)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .sum::<u32>()
    })?;
    assert_eq!(sum, 285);
    Ok(())
}

#[test]
fn sleep_zero_interleaves_like_gevent() -> std::io::Result<()> {
    // The tutorial's foo/bar: each prints, sleeps 0, prints again.
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = Rc::clone(&log);
    green::run(move || {
        let (a, b) = (Rc::clone(&l), Rc::clone(&l));
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
        assert_eq!(green::joinall(&[foo, bar], None), [0, 1]);
    })?;
    assert_eq!(
        *log.borrow(),
        [
            "Running in foo",
            "Explicit context to bar",
            "Explicit context switch to foo again",
            "Implicit context switch back to bar"
        ]
    );
    Ok(())
}

#[test]
fn switch_ping_pong_like_greenlet() -> std::io::Result<()> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = Rc::clone(&log);
    green::run(move || {
        let gr2_slot: Rc<RefCell<Option<green::GreenHandle<()>>>> = Rc::default();
        let gr1_slot: Rc<RefCell<Option<green::GreenHandle<()>>>> = Rc::default();
        let (l1, s2) = (Rc::clone(&l), Rc::clone(&gr2_slot));
        let gr1 = green::spawn(move || {
            l1.borrow_mut().push(12);
            assert!(green::switch(s2.borrow().as_ref().expect("gr2 set")));
            l1.borrow_mut().push(34);
            assert!(green::switch(s2.borrow().as_ref().expect("gr2 set")));
        });
        let (l2, s1) = (Rc::clone(&l), Rc::clone(&gr1_slot));
        let gr2 = green::spawn(move || {
            l2.borrow_mut().push(56);
            assert!(green::switch(s1.borrow().as_ref().expect("gr1 set")));
            l2.borrow_mut().push(78);
        });
        *gr1_slot.borrow_mut() = Some(gr1);
        *gr2_slot.borrow_mut() = Some(gr2);
        // Wait for gr2 without taking it out of its slot (gr1 switches to it by reference).
        {
            let gr2 = gr2_slot.borrow();
            let gr2 = std::slice::from_ref(gr2.as_ref().expect("set"));
            assert_eq!(green::joinall(gr2, None), [0]);
        }
        // (gr1 still borrows gr2's slot inside its last `switch` call, so gr2 stays there.)
        // gr1 stays parked in its last switch, as in greenlet; killing it unwinds it.
        let gr1 = gr1_slot.borrow_mut().take().expect("set");
        assert!(!gr1.is_dead());
        gr1.kill();
        assert!(matches!(gr1.join(), Err(GreenError::Killed)));
    })?;
    assert_eq!(*log.borrow(), [12, 56, 34, 78]);
    Ok(())
}

#[test]
fn names_and_is_dead() -> std::io::Result<()> {
    green::run(|| {
        let h = green::Builder::new()
            .name("worker-1")
            .spawn(|| 5)
            .expect("stack");
        assert_eq!(h.name(), Some("worker-1"));
        assert!(!h.is_dead());
        green::sleep(Duration::ZERO);
        assert!(h.is_dead());
        assert_eq!(h.join().expect("no panic"), 5);
    })
}

#[test]
fn a_panic_is_reported_by_join() -> std::io::Result<()> {
    green::run(|| {
        let h = green::spawn(|| -> u32 { panic!("green boom") });
        match h.join() {
            Err(GreenError::Panicked(p)) => {
                assert_eq!(p.downcast_ref::<&str>(), Some(&"green boom"))
            }
            other => panic!("expected a panic, got {other:?}"),
        }
    })
}

#[test]
fn a_panic_of_main_propagates_out_of_run() {
    let caught = std::panic::catch_unwind(|| green::run(|| panic!("main boom")));
    assert!(caught.is_err());
}

#[test]
fn a_green_thread_killed_while_parked_releases_what_it_held() -> std::io::Result<()> {
    green::run(|| {
        let lock = Arc::new(c10k_sync::Mutex::new(0u32));
        let gate = Arc::new(c10k_sync::Event::new());
        let (l, g) = (Arc::clone(&lock), Arc::clone(&gate));
        let holder = green::spawn(move || {
            let mut guard = l.lock_blocking();
            *guard += 1;
            g.wait_blocking(); // parked (on the sync hook) while holding the lock
            *guard += 100; // never reached
        });
        green::sleep(Duration::ZERO);
        assert!(lock.try_lock().is_err(), "the holder has the lock");
        holder.kill();
        assert!(matches!(holder.join(), Err(GreenError::Killed)));
        let guard = lock.try_lock().expect("the kill released the lock");
        assert_eq!(*guard, 1);
    })
}

#[test]
fn killing_an_unstarted_green_thread_means_it_never_runs() -> std::io::Result<()> {
    green::run(|| {
        let ran = Rc::new(RefCell::new(false));
        let r = Rc::clone(&ran);
        let h = green::spawn(move || *r.borrow_mut() = true);
        h.kill();
        assert!(matches!(h.join(), Err(GreenError::Killed)));
        assert!(!*ran.borrow());
    })
}

#[test]
fn joinall_with_a_timeout_returns_the_dead_ones() -> std::io::Result<()> {
    green::run(|| {
        let done = green::spawn(|| green::sleep(Duration::ZERO));
        let forever = green::spawn(|| green::sleep(Duration::from_secs(3600)));
        let hs = [done, forever];
        assert_eq!(green::joinall(&hs, Some(Duration::from_millis(5))), [0]);
        hs[1].kill();
        assert_eq!(green::joinall(&hs, None), [0, 1]);
    })
}

#[test]
fn the_hub_unwinds_green_threads_still_alive_when_main_returns() -> std::io::Result<()> {
    struct Flag(Rc<RefCell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            *self.0.borrow_mut() = true;
        }
    }
    let dropped = Rc::new(RefCell::new(false));
    let d = Rc::clone(&dropped);
    green::run(move || {
        let _h = green::spawn(move || {
            let _flag = Flag(d);
            green::sleep(Duration::from_secs(3600));
        });
        green::sleep(Duration::ZERO);
    })?;
    assert!(*dropped.borrow());
    Ok(())
}

#[test]
fn a_green_thread_blocks_on_a_future_and_a_task_awaits_a_green_handle() -> std::io::Result<()> {
    let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    rt.block_on(green::Hub::builder().enter(|| {
        // A green thread waits on an async task (block_on on the hub)...
        let task = c10k_runtime::spawn(async { 21 });
        let from_task = green::block_on(task).expect("no panic");
        // ...and an async task awaits a green thread.
        let g = green::spawn(move || {
            green::sleep(Duration::from_millis(1));
            from_task * 2
        });
        let awaiting = c10k_runtime::spawn(async move { g.await.expect("no panic") + 1 });
        green::block_on(awaiting).expect("no panic")
    }))
    .map(|v| assert_eq!(v, 43))
}

#[test]
fn a_plain_thread_joins_a_green_thread() -> std::io::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let hub_thread = std::thread::spawn(move || {
        green::run(move || {
            let h = green::spawn(|| {
                green::sleep(Duration::from_millis(2));
                "from green"
            });
            tx.send(h).expect("receiver alive");
            // Keep the hub running until the green thread is done.
            green::sleep(Duration::from_millis(20));
        })
    });
    let h = rx.recv().expect("sent");
    assert_eq!(h.join().expect("no panic"), "from green");
    hub_thread.join().expect("no panic")?;
    Ok(())
}

#[test]
fn sync_primitives_park_the_green_thread_not_the_os_thread() -> std::io::Result<()> {
    green::run(|| {
        let queue = Arc::new(c10k_sync::Queue::<u32>::bounded(1));
        let q = Arc::clone(&queue);
        // The consumer blocks in get_blocking; if that parked the OS thread, the producer,
        // on the same OS thread, could never run and this would hang.
        let consumer = green::spawn(move || {
            (0..50)
                .map(|_| q.get_blocking().expect("open"))
                .sum::<u32>()
        });
        let q = Arc::clone(&queue);
        let producer = green::spawn(move || {
            for i in 0..50 {
                q.put_blocking(i).expect("open");
            }
        });
        producer.join().expect("no panic");
        assert_eq!(consumer.join().expect("no panic"), (0..50).sum::<u32>());

        let event = Arc::new(c10k_sync::Event::new());
        let e = Arc::clone(&event);
        let waiter = green::spawn(move || e.wait_timeout(Duration::from_secs(60)));
        green::sleep(Duration::ZERO);
        event.set();
        assert!(waiter.join().expect("no panic"));
        // A timed wait that times out, parked on the hub's timer.
        let never = Arc::new(c10k_sync::Event::new());
        assert!(!never.wait_timeout(Duration::from_millis(2)));
    })
}

#[test]
fn no_green_thread_ever_runs_on_two_os_threads() -> std::io::Result<()> {
    // Two hubs on two OS threads, each with green threads that record the OS thread at every
    // resume point (after yields, sleeps, and cross-thread wake-ups from the other hub).
    let (tx_a, rx_a) = std::sync::mpsc::channel::<green::GreenHandle<u32>>();
    // Set by the hub that joins the handed-over green thread: its own hub must not end (and
    // kill it) before then.
    let joined = Arc::new(c10k_sync::Event::new());
    let hub = |peer: Option<std::sync::mpsc::Receiver<green::GreenHandle<u32>>>,
               tx: Option<std::sync::mpsc::Sender<green::GreenHandle<u32>>>| {
        let joined = joined.clone();
        std::thread::spawn(move || {
            green::run(move || {
                let hs: Vec<_> = (0..20u32)
                    .map(|i| {
                        green::spawn(move || {
                            let me = std::thread::current().id();
                            for k in 0..20 {
                                if k % 3 == 0 {
                                    green::sleep(Duration::from_micros(50));
                                } else {
                                    green::sleep(Duration::ZERO);
                                }
                                assert_eq!(std::thread::current().id(), me);
                            }
                            i
                        })
                    })
                    .collect();
                let is_sender = tx.is_some();
                if let Some(tx) = tx {
                    // Hand one handle to the other hub: its join wakes us from there.
                    tx.send(green::spawn(|| {
                        green::sleep(Duration::from_millis(1));
                        7
                    }))
                    .expect("peer alive");
                }
                let mut total = 0;
                if let Some(rx) = peer {
                    let h = rx.recv_timeout(Duration::from_secs(30)).expect("peer sent");
                    total += h.join().expect("no panic");
                    joined.set();
                }
                for h in hs {
                    total += h.join().expect("no panic");
                }
                if is_sender {
                    // Parks this green thread only: the handed-over one keeps running.
                    assert!(joined.wait_timeout(Duration::from_secs(30)));
                }
                total
            })
        })
    };
    let a = hub(None, Some(tx_a));
    let b = hub(Some(rx_a), None);
    assert_eq!(a.join().expect("no panic")?, 190);
    assert_eq!(b.join().expect("no panic")?, 197);
    Ok(())
}

/// A green thread that yields in a loop with nothing else ready is resumed at once (no trip
/// through the queue), but still counts against the hub's budget: the hub goes back to the
/// runtime, so a timer still fires and the loop ends. Run on its own OS thread and waited
/// for with a generous timeout, so that a starved hub fails the test instead of hanging it.
#[test]
fn a_green_thread_yielding_alone_does_not_starve_timers() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = green::run(|| {
            let stop = Rc::new(std::cell::Cell::new(false));
            let flag = Rc::clone(&stop);
            let spinner = green::spawn(move || {
                let mut yields = 0u64;
                while !flag.get() {
                    green::yield_now();
                    yields += 1;
                }
                yields
            });
            // Main parks on the hub's timer; only the spinner is ready meanwhile.
            green::sleep(Duration::from_millis(10));
            stop.set(true);
            spinner.join().ok()
        });
        let _ = done.send(result.ok().flatten());
    });
    let yields = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the hub never got back to its timer")
        .expect("the spinner ended");
    assert!(yields > 0);
}

#[test]
fn wake_ups_from_the_hubs_own_thread_and_from_other_threads_all_arrive() -> std::io::Result<()> {
    // The hub has two queues of wake-ups: one without a lock for wakers called on its own
    // thread (the driver's dispatch, another green thread), one under a mutex for wakers on
    // other threads. Here every even-numbered green thread is woken by a green thread of the
    // same hub, every odd-numbered one by a plain OS thread, in interleaved order; each one
    // must wake up (a lost wake-up leaves it parked until its 60 s timeout, and the join
    // then sees `false`).
    green::run(|| {
        let events: Vec<Arc<c10k_sync::Event>> = (0..200)
            .map(|_| Arc::new(c10k_sync::Event::new()))
            .collect();
        let waiters: Vec<_> = events
            .iter()
            .map(|e| {
                let e = Arc::clone(e);
                green::spawn(move || e.wait_timeout(Duration::from_secs(60)))
            })
            .collect();
        // Let every waiter park first.
        green::sleep(Duration::ZERO);
        let remote: Vec<_> = events.iter().skip(1).step_by(2).cloned().collect();
        let setter = std::thread::spawn(move || {
            for e in remote {
                e.set();
                std::thread::yield_now();
            }
        });
        let local: Vec<_> = events.iter().step_by(2).cloned().collect();
        let local_setter = green::spawn(move || {
            for e in local {
                e.set();
                green::sleep(Duration::ZERO);
            }
        });
        local_setter.join().expect("no panic");
        for (i, w) in waiters.into_iter().enumerate() {
            assert!(
                w.join().expect("no panic"),
                "green thread {i} was never woken"
            );
        }
        setter.join().expect("the setter thread ends");
    })
}
