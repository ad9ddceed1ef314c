//! Daemon children: `daemon(true)` children die with the program (terminated at exit,
//! killed by the kernel if the program itself is killed); other children are waited for
//! before the program exits.
//!
//! `cargo run -p c10k-process --example daemon`

use std::time::Duration;

use c10k_process::{Entry, Event, Process, Registered};

/// A daemon's loop: a heartbeat until it is terminated.
fn heartbeat(stop: Event) {
    let mut n = 0;
    while !stop.wait_timeout(Duration::from_millis(50)) {
        n += 1;
        if n <= 3 {
            println!("  daemon {}: alive", std::process::id());
        }
    }
}
static HEARTBEAT: Entry<Event, ()> = Entry::new("daemon_heartbeat", heartbeat);

fn work(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
    println!("  worker {}: done after {ms} ms", std::process::id());
}
static WORK: Entry<u64, ()> = Entry::new("daemon_work", work);

pub(crate) const ENTRIES: &[&dyn Registered] = &[&HEARTBEAT, &WORK];

pub(crate) fn demo() -> std::io::Result<()> {
    let never = Event::new()?;
    let mut d = Process::new(&HEARTBEAT, never)?.daemon(true);
    d.start()?;
    let w = Process::spawn(&WORK, 200)?;
    println!(
        "main: started daemon {} and worker {}",
        d.pid().unwrap(),
        w.pid().unwrap()
    );
    std::thread::sleep(Duration::from_millis(120));
    println!("main: done; at exit the worker is waited for and the daemon terminated");
    drop(w);
    // What the exit handler does for a daemon, shown here by hand:
    d.terminate()?;
    let st = d.join()?;
    println!("main: daemon ended with {st}");
    assert_eq!(st.signal(), Some(15));
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(ENTRIES);
    demo()
}
