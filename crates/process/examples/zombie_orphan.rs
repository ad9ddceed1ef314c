//! A zombie and an orphan, made visible, and how this crate avoids leaving either.
//!
//! - Zombie: a child that has exited but that its parent has not waited for yet. The
//!   kernel keeps its exit status, and `/proc/PID/stat` shows state `Z`, until the parent
//!   reaps it; `join` (or `is_alive`, or the sweep over dropped handles) reaps it here.
//! - Orphan: a child whose parent died first. The kernel gives it a new parent (pid 1, or
//!   the nearest "subreaper"), which reaps it when it exits.
//!
//! `cargo run -p c10k-process --example zombie_orphan`

use std::os::fd::AsFd;

use c10k_process::{parent_pid, Entry, Event, Process, Queue, Registered};

fn quick_exit(_: ()) {}
static QUICK_EXIT: Entry<(), ()> = Entry::new("zombie_quick_exit", quick_exit);

/// The orphan-to-be: reports its parent, waits until its parent is gone, reports again.
fn grandchild((report, parent_gone): (Queue<u32>, Event)) {
    report.put(parent_pid()).unwrap();
    parent_gone.wait();
    report.put(parent_pid()).unwrap();
}
static GRANDCHILD: Entry<(Queue<u32>, Event), ()> = Entry::new("zombie_grandchild", grandchild);

/// The parent that dies: starts the grandchild, reports its pid, waits to be killed.
fn middle((report, parent_gone, forever): (Queue<u32>, Event, Event)) {
    let g = Process::spawn(&GRANDCHILD, (report.clone(), parent_gone)).unwrap();
    report.put(g.pid().unwrap()).unwrap();
    forever.wait();
}
static MIDDLE: Entry<(Queue<u32>, Event, Event), ()> = Entry::new("zombie_middle", middle);

pub(crate) const ENTRIES: &[&dyn Registered] = &[&QUICK_EXIT, &GRANDCHILD, &MIDDLE];

fn state(pid: u32) -> String {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the field after the parenthesized command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .map_or("?", |(_, rest)| &rest[..1])
            .to_string(),
        Err(_) => "gone".to_string(),
    }
}

fn wait_exit(pid: u32) -> std::io::Result<()> {
    // Our own pidfd says when the process ended, without reaping it.
    let fd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::PidfdFlags::empty(),
    )?;
    let mut pfd = [rustix::event::PollFd::from_borrowed_fd(
        fd.as_fd(),
        rustix::event::PollFlags::IN,
    )];
    rustix::event::poll(&mut pfd, None)?;
    Ok(())
}

pub(crate) fn demo() -> std::io::Result<()> {
    println!("zombie:");
    let mut p = Process::spawn(&QUICK_EXIT, ())?;
    let pid = p.pid().unwrap();
    wait_exit(pid)?;
    let z = state(pid);
    println!("  child {pid} exited; not reaped yet, its state is {z} (Z = zombie)");
    assert_eq!(z, "Z");
    p.join()?;
    let after = state(pid);
    println!("  after join: {after} (reaped: its exit status was read)");
    assert_eq!(after, "gone");

    println!("orphan:");
    let report = Queue::<u32>::new()?;
    let (parent_gone, forever) = (Event::new()?, Event::new()?);
    let mut m = Process::spawn(&MIDDLE, (report.clone(), parent_gone.clone(), forever))?;
    let (a, b) = (report.get().unwrap(), report.get().unwrap());
    // The two puts race: the grandchild's pid is a child of the middle one, the parent pid
    // is the middle one's.
    let middle_pid = m.pid().unwrap();
    let gpid = if a == middle_pid { b } else { a };
    println!("  grandchild {gpid} has parent {middle_pid}");
    m.kill()?;
    m.join()?;
    parent_gone.set();
    let adopted = report.get().unwrap();
    println!("  its parent {middle_pid} was killed; the orphan now has parent {adopted} (the adopter, which reaps it)");
    assert_ne!(adopted, middle_pid);
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(ENTRIES);
    demo()
}
