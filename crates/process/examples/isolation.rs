//! Processes do not share memory; threads do (the tutorials' `multiprocessing` vs
//! `threading` demo). A child process appends to its own copy of a global list and the
//! parent's stays empty; a thread appends to the one list everybody sees.
//!
//! `cargo run -p c10k-process --example isolation`

use std::sync::Mutex;

use c10k_process::{Entry, Process, Registered};

static NUMBERS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn append(n: u32) -> usize {
    let mut v = NUMBERS.lock().unwrap();
    v.extend(0..n);
    println!(
        "  child {}: my list has {} numbers",
        std::process::id(),
        v.len()
    );
    v.len()
}
static APPEND: Entry<u32, usize> = Entry::new("isolation_append", append);

pub(crate) const ENTRIES: &[&dyn Registered] = &[&APPEND];

pub(crate) fn demo() -> std::io::Result<()> {
    println!("process:");
    let mut p = Process::spawn(&APPEND, 5)?;
    let in_child = p.join_value().expect("the child ran");
    let in_parent = NUMBERS.lock().unwrap().len();
    println!(
        "  parent {}: my list has {in_parent} numbers (the child's {in_child} stayed in the child)",
        std::process::id()
    );
    assert_eq!((in_child, in_parent), (5, 0));

    println!("thread:");
    std::thread::spawn(|| append(5)).join().unwrap();
    let after = NUMBERS.lock().unwrap().len();
    println!("  main thread: the list has {after} numbers (threads share it)");
    assert_eq!(after, 5);
    NUMBERS.lock().unwrap().clear();
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(ENTRIES);
    demo()
}
