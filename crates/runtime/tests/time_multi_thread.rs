//! Timers on the multi-thread runtime: never early from many tasks on several workers, a
//! timer registered while the timer-owning worker sleeps without a deadline, and `pause`
//! refused.

mod util;

use std::io;
use std::sync::mpsc;
use std::time::Duration;

use c10k_runtime::time::{self, Instant};
use c10k_runtime::Runtime;

fn multi_thread() -> io::Result<Runtime> {
    util::builder().multi_thread().worker_threads(2).build()
}

#[test]
fn sleeps_on_many_tasks_never_complete_early() -> io::Result<()> {
    let rt = multi_thread()?;
    rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..200u64 {
            handles.push(c10k_runtime::spawn(async move {
                for j in 0..5u64 {
                    let d = Duration::from_micros((i * 37 + j * 1013) % 4000);
                    let deadline = Instant::now() + d;
                    time::sleep(d).await;
                    assert!(Instant::now() >= deadline, "sleep of {d:?} completed early");
                }
            }));
        }
        for handle in handles {
            handle.await.expect("task panicked");
        }
    });
    Ok(())
}

/// Regression guard for the unpark path: with no timer pending, the worker that owns the
/// timers parks without a deadline; a task spawned from outside then sleeps on a worker,
/// which must wake the owner so that the sleep's deadline is honoured at all.
#[test]
fn timer_registered_while_the_owner_sleeps_fires() -> io::Result<()> {
    let rt = multi_thread()?;
    let (tx, rx) = mpsc::channel();
    let deadline = Instant::now() + Duration::from_millis(5);
    let task = rt.spawn(async move {
        time::sleep_until(deadline).await;
        let _ = tx.send(Instant::now());
    });
    let woke = rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the timer never fired"))?;
    assert!(woke >= deadline);
    rt.block_on(task).expect("task panicked");
    Ok(())
}

#[test]
#[should_panic = "needs a current-thread runtime"]
fn pause_is_refused_on_a_multi_thread_runtime() {
    let rt = multi_thread().unwrap();
    rt.block_on(async { time::pause() });
}
