//! The traffic light: a light thread turns the event on (green) and off (red); car threads
//! drive while it is green and wait at red. Bounded: 3 light cycles, then the cars go home.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use c10k_sync::Event;

/// Runs the demo (public so that `tests/examples_run.rs` can run it in-process).
pub(crate) fn main() {
    let green = Arc::new(Event::new());
    let done = Arc::new(AtomicBool::new(false));
    let cars: Vec<_> = (0..3)
        .map(|n| {
            let (green, done) = (green.clone(), done.clone());
            std::thread::spawn(move || {
                let mut crossings = 0;
                while !done.load(Ordering::Acquire) {
                    if green.is_set() {
                        crossings += 1;
                    } else {
                        println!("car [{n}] is waiting for the red light..");
                        // A bounded wait, so the car notices when the demo ends.
                        if green.wait_timeout(Duration::from_millis(50)) {
                            println!("car [{n}] starts: green");
                        }
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                crossings
            })
        })
        .collect();
    for cycle in 1..=3 {
        println!("cycle {cycle}: --green light on--");
        green.set();
        std::thread::sleep(Duration::from_millis(20));
        println!("cycle {cycle}: --red light on--");
        green.clear();
        std::thread::sleep(Duration::from_millis(20));
    }
    done.store(true, Ordering::Release);
    green.set(); // release anyone still waiting
    for (n, c) in cars.into_iter().enumerate() {
        println!(
            "car [{n}] drove {} stretches on green",
            c.join().expect("car thread")
        );
    }
}
