//! Threads in detail, the tutorials' `threading` chapter (`001_*`, `002_*`) measured in Rust:
//!
//! 1. the current thread's name, the number of live threads (`threading.active_count()`, read
//!    from the kernel's list of this process's threads), threads sharing the process's memory
//!    (a thread sets `age = 16`, main sees it) and thread-local storage, which they do not
//!    share;
//! 2. daemon and non-daemon threads: what happens to each when `main` returns. The demo runs a
//!    copy of itself as a child process, whose `main` returns while one thread is still
//!    working, and shows what that thread managed to print;
//! 3. the lost update: 100 threads each do `num -= 1` as a separate read and write (the
//!    tutorials' `temp = num; time.sleep(...); num = temp - 1`), once as the race happens by
//!    itself, once with every read forced before every write, then under a lock;
//! 4. the two-lock deadlock is the `deadlock` example (`cargo run -p c10k-sync --example
//!    deadlock`, with and without `--features deadlock-detection`).
//!
//! Run: `cargo run -p c10k-sync --example threads`.

use std::cell::Cell;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use c10k_sync::Mutex;

/// Set in the child process of part 2.
pub(crate) const CHILD_ENV: &str = "C10K_THREADS_DEMO_CHILD";

/// What the demo measured (returned so that its test can check the story it told).
#[derive(Debug)]
#[allow(dead_code)] // read by the test, printed by the demo
pub(crate) struct Report {
    /// Live threads before, while 5 more wait at a barrier, and after they are joined.
    pub active: [usize; 3],
    /// The thread-local counter each of 3 threads ended with, and main's.
    pub locals: ([u32; 3], u32),
    /// The child's output lines (part 2).
    pub child_lines: Vec<String>,
    /// `num` after 100 unlocked decrements from 100: as it happened, and with the reads forced
    /// before the writes.
    pub unlocked: (i64, i64),
    /// `num` after 100 decrements under a lock.
    pub locked: i64,
}

/// The number of threads this process has now: the entries of `/proc/self/task` (Linux).
fn active_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |dir| dir.count())
}

/// The tutorials' global `age`, set by a thread, read by main.
static AGE: AtomicI64 = AtomicI64::new(18);

thread_local! {
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

fn part1() -> ([usize; 3], ([u32; 3], u32)) {
    println!("-- 1. names, live threads, thread-local storage --");
    let me = thread::current();
    println!("this thread is {:?}", me.name().unwrap_or("<unnamed>"));
    let before = active_count();
    let gate = Arc::new(Barrier::new(6));
    let waiting: Vec<_> = (0..5)
        .map(|i| {
            let gate = gate.clone();
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    gate.wait(); // everyone is alive here
                    gate.wait(); // until main has counted
                    thread::current().name().map(str::to_owned)
                })
                .expect("spawn")
        })
        .collect();
    gate.wait();
    let during = active_count();
    gate.wait();
    let names: Vec<_> = waiting
        .into_iter()
        .map(|t| t.join().expect("worker").unwrap_or_default())
        .collect();
    let after = active_count();
    println!("live threads: {before} before, {during} while 5 workers wait, {after} after join");
    println!("the workers' names: {}", names.join(", "));

    thread::spawn(|| AGE.store(16, Ordering::SeqCst))
        .join()
        .expect("age thread");
    println!(
        "a thread set age = 16; main reads age = {} (one process, one memory)",
        AGE.load(Ordering::SeqCst)
    );

    let counters: Vec<_> = (1..=3u32)
        .map(|n| {
            thread::spawn(move || {
                for _ in 0..n * 1000 {
                    CALLS.with(|c| c.set(c.get() + 1));
                }
                CALLS.with(Cell::get)
            })
        })
        .collect();
    let mut locals = [0; 3];
    for (slot, t) in locals.iter_mut().zip(counters) {
        *slot = t.join().expect("counter thread");
    }
    let mine = CALLS.with(Cell::get);
    println!(
        "thread-local counters: {locals:?} in three threads, {mine} in main (each thread has its own)"
    );
    ([before, during, after], (locals, mine))
}

/// Part 2, in the child process: a worker that `main` joins (Python's non-daemon thread: the
/// interpreter joins those at exit) and a daemon that never ends and that nobody joins. When
/// `main` returns, the process exits at once and takes every other thread with it, mid-work.
pub(crate) fn child() {
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let say = move |line: &str| {
        let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    let (daemon_say, worker_say) = (say.clone(), say.clone());
    let daemon_started = Arc::new(Barrier::new(2));
    let started = daemon_started.clone();
    thread::Builder::new()
        .name("daemon".into())
        .spawn(move || {
            daemon_say("daemon: started, works forever in steps of 10 ms");
            started.wait();
            for step in 1u64.. {
                thread::sleep(Duration::from_millis(10));
                if step % 10 == 0 {
                    daemon_say(&format!("daemon: step {step}"));
                }
            }
        })
        .expect("spawn");
    daemon_started.wait();
    let worker = thread::Builder::new()
        .name("worker".into())
        .spawn(move || {
            worker_say("worker: started, 3 steps of 10 ms to do");
            for _ in 0..3 {
                thread::sleep(Duration::from_millis(10));
            }
            worker_say("worker: done");
        })
        .expect("spawn");
    worker.join().expect("worker");
    say("main: joined the worker, returning now");
}

fn part2() -> Vec<String> {
    println!("-- 2. daemon and non-daemon threads when main returns (in a child process) --");
    let exe = std::env::current_exe().expect("the demo's own executable");
    let output = Command::new(exe)
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run the child");
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for line in &lines {
        println!("  child | {line}");
    }
    println!(
        "the child exited ({}) although its daemon thread never ends: when main returned, the \
         process ended and took the daemon with it; the worker finished because main joined it \
         (in Rust every thread that main does not join is a daemon; Python joins its non-daemon \
         threads at exit)",
        output.status
    );
    lines
}

/// `num -= 1` as a separate read and write by each of 100 threads.
fn unlocked(force_reads_first: bool) -> i64 {
    let num = Arc::new(AtomicI64::new(100));
    let all_read = Arc::new(Barrier::new(100));
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let (num, all_read) = (num.clone(), all_read.clone());
            thread::spawn(move || {
                let temp = num.load(Ordering::SeqCst);
                if force_reads_first {
                    all_read.wait();
                } else {
                    thread::sleep(Duration::from_millis(1)); // the tutorials' time.sleep
                }
                num.store(temp - 1, Ordering::SeqCst);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("decrementing thread");
    }
    num.load(Ordering::SeqCst)
}

fn locked() -> i64 {
    let num = Arc::new(Mutex::new(100i64));
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let num = num.clone();
            thread::spawn(move || {
                let mut guard = num.lock_blocking();
                let temp = *guard;
                thread::sleep(Duration::from_millis(1));
                *guard = temp - 1;
            })
        })
        .collect();
    for t in threads {
        t.join().expect("decrementing thread");
    }
    let left = *num.lock_blocking();
    left
}

fn part3() -> ((i64, i64), i64) {
    println!("-- 3. the lost update: 100 threads each do num -= 1, starting at 100 --");
    let start = Instant::now();
    let natural = unlocked(false);
    println!(
        "no lock, as it happens: num = {natural} ({} of 100 decrements lost, {:.0?})",
        natural,
        start.elapsed()
    );
    let forced = unlocked(true);
    println!(
        "no lock, every read before every write: num = {forced} ({forced} of 100 lost: each thread wrote 100 - 1)"
    );
    let start = Instant::now();
    let with_lock = locked();
    println!(
        "with a lock around read and write: num = {with_lock} ({:.0?}: the threads now take turns)",
        start.elapsed()
    );
    ((natural, forced), with_lock)
}

/// Runs the demo (public so that its test can run it in-process).
pub(crate) fn demo() -> Report {
    let (active, locals) = part1();
    let child_lines = part2();
    let (unlocked, locked) = part3();
    println!("-- 4. the two-lock deadlock: cargo run -p c10k-sync --example deadlock --");
    Report {
        active,
        locals,
        child_lines,
        unlocked,
        locked,
    }
}

#[allow(dead_code)] // the test calls `demo` and `child` itself
fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
    } else {
        demo();
    }
}
