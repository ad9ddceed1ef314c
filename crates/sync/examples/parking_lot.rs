//! The parking lot: 3 spaces (a semaphore with 3 permits), 10 cars, some driven by threads and
//! some by async tasks. A car parks while it holds a permit; the permit is returned when the
//! car leaves (the guard is dropped), so spaces can never be "over-released".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use c10k_sync::Semaphore;

/// Runs the demo (public so that `tests/examples_run.rs` can run it in-process).
pub(crate) fn main() {
    let lot = Arc::new(Semaphore::new(3));
    let parked = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let park = {
        let (parked, most) = (parked.clone(), most.clone());
        move |car: String| {
            let now = parked.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            println!("{car} parks ({now} of 3 spaces taken)");
            car
        }
    };
    let leave = {
        let parked = parked.clone();
        move |car: String| {
            parked.fetch_sub(1, Ordering::SeqCst);
            println!("{car} leaves");
        }
    };

    let rt = c10k_runtime::Builder::new()
        .multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let (lot, park, leave) = (lot.clone(), park.clone(), leave.clone());
            rt.spawn(async move {
                let _space = lot.acquire().await.expect("lot is never closed");
                let car = park(format!("task car {i}"));
                c10k_runtime::time::sleep(Duration::from_millis(5)).await;
                leave(car);
            })
        })
        .collect();
    let threads: Vec<_> = (0..5)
        .map(|i| {
            let (lot, park, leave) = (lot.clone(), park.clone(), leave.clone());
            std::thread::spawn(move || {
                let _space = lot.acquire_blocking().expect("lot is never closed");
                let car = park(format!("thread car {i}"));
                std::thread::sleep(Duration::from_millis(5));
                leave(car);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("car thread");
    }
    for t in tasks {
        rt.block_on(t).expect("car task");
    }
    let most = most.load(Ordering::SeqCst);
    println!(
        "at most {most} cars were parked at once; {} spaces free",
        lot.available_permits()
    );
    assert!(most <= 3, "the semaphore admits at most 3 cars");
    assert_eq!(lot.available_permits(), 3, "every space is given back");
}
