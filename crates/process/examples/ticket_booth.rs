//! The tutorials' ticket booth: the remaining tickets live in a JSON file; ten buyer
//! processes each read it and, if a ticket is left, write it back one less.
//!
//! Without a lock every buyer can read "1 left" before any of them writes: all ten buy
//! the one ticket (oversold). A `Barrier` makes that interleaving happen every time
//! instead of by luck. With a cross-process `Lock` around read-and-write, exactly one
//! buyer gets it.
//!
//! `cargo run -p c10k-process --example ticket_booth`

use std::path::PathBuf;

use c10k_process::{Barrier, Entry, Lock, Process, Registered};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Tickets {
    count: u32,
}

fn read(path: &PathBuf) -> u32 {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str::<Tickets>(&text).unwrap().count
}

fn write(path: &PathBuf, count: u32) {
    std::fs::write(path, serde_json::to_string(&Tickets { count }).unwrap()).unwrap();
}

/// Without the lock: check, wait until every buyer has checked, then buy.
fn buy_unlocked((path, all_checked, who): (PathBuf, Barrier, u32)) -> bool {
    let left = read(&path);
    all_checked.wait().unwrap();
    if left > 0 {
        write(&path, left - 1);
        println!("  buyer {who}: bought a ticket (saw {left} left)");
        true
    } else {
        false
    }
}
static BUY_UNLOCKED: Entry<(PathBuf, Barrier, u32), bool> =
    Entry::new("booth_buy_unlocked", buy_unlocked);

/// With the lock: check and buy as one step.
fn buy_locked((path, lock, who): (PathBuf, Lock, u32)) -> bool {
    let _held = lock.acquire().unwrap_or_else(|e| e.into_guard());
    let left = read(&path);
    if left > 0 {
        write(&path, left - 1);
        println!("  buyer {who}: bought a ticket");
        true
    } else {
        println!("  buyer {who}: sold out");
        false
    }
}
static BUY_LOCKED: Entry<(PathBuf, Lock, u32), bool> = Entry::new("booth_buy_locked", buy_locked);

pub(crate) const ENTRIES: &[&dyn Registered] = &[&BUY_UNLOCKED, &BUY_LOCKED];

pub(crate) fn demo() -> std::io::Result<()> {
    let path = std::env::temp_dir().join(format!("c10k-tickets-{}.json", std::process::id()));
    let buyers = 10;

    println!("without a lock, 1 ticket, {buyers} buyers:");
    write(&path, 1);
    let all_checked = Barrier::new(buyers)?;
    let mut ps: Vec<_> = (0..buyers)
        .map(|who| Process::spawn(&BUY_UNLOCKED, (path.clone(), all_checked.clone(), who)))
        .collect::<std::io::Result<_>>()?;
    let sold = ps
        .iter_mut()
        .map(|p| p.join_value().unwrap())
        .filter(|&bought| bought)
        .count();
    println!("  sold {sold} tickets for 1 seat: oversold");
    assert_eq!(sold, buyers as usize);

    println!("with a cross-process Lock:");
    write(&path, 1);
    let lock = Lock::new()?;
    let mut ps: Vec<_> = (0..buyers)
        .map(|who| Process::spawn(&BUY_LOCKED, (path.clone(), lock.clone(), who)))
        .collect::<std::io::Result<_>>()?;
    let sold = ps
        .iter_mut()
        .map(|p| p.join_value().unwrap())
        .filter(|&bought| bought)
        .count();
    println!("  sold {sold} ticket; {} left in the file", read(&path));
    assert_eq!((sold, read(&path)), (1, 0));
    std::fs::remove_file(&path)?;
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(ENTRIES);
    demo()
}
