//! The bus and its passengers: passengers (threads and tasks) wait at the stop on an `Event`;
//! the driver opens the door (`set`), everyone boards, the door closes (`clear`) and the bus
//! leaves. Two stops, so the event is reused.

use std::sync::Arc;

use c10k_sync::{Barrier, Event};

/// Runs the demo (public so that `tests/examples_run.rs` can run it in-process).
pub(crate) fn main() {
    let rt = c10k_runtime::Builder::new()
        .multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    for stop in 1..=2 {
        let door = Arc::new(Event::new());
        // Everyone (3 threads + 3 tasks + the driver) is at the stop before the door opens.
        let at_stop = Arc::new(Barrier::new(7));
        let mut threads = Vec::new();
        for p in 0..3 {
            let (door, at_stop) = (door.clone(), at_stop.clone());
            threads.push(std::thread::spawn(move || {
                at_stop.wait_blocking();
                door.wait_blocking();
                println!("stop {stop}: thread passenger {p} boards");
            }));
        }
        let mut tasks = Vec::new();
        for p in 0..3 {
            let (door, at_stop) = (door.clone(), at_stop.clone());
            tasks.push(rt.spawn(async move {
                at_stop.wait().await;
                door.wait().await;
                println!("stop {stop}: task passenger {p} boards");
            }));
        }
        at_stop.wait_blocking();
        println!("stop {stop}: the driver opens the door");
        door.set();
        for t in threads {
            t.join().expect("passenger thread");
        }
        for t in tasks {
            rt.block_on(t).expect("passenger task");
        }
        door.clear();
        println!(
            "stop {stop}: door closed, the bus leaves (door open: {})",
            door.is_set()
        );
    }
}
