//! `os.getpid()` / `os.getppid()`: each child reports its own pid and its parent's, which
//! is the pid of the program that started it.
//!
//! `cargo run -p c10k-process --example pids`

use c10k_process::{current_process, parent_pid, Entry, Process, Registered};

fn report(_: ()) -> (String, u32, u32) {
    let me = current_process();
    println!("  {}: pid {}, parent pid {}", me.name, me.pid, parent_pid());
    (me.name, me.pid, parent_pid())
}
static REPORT: Entry<(), (String, u32, u32)> = Entry::new("pids_report", report);

pub(crate) const ENTRIES: &[&dyn Registered] = &[&REPORT];

pub(crate) fn demo() -> std::io::Result<()> {
    let me = current_process();
    println!(
        "{}: pid {}, parent pid {} (the shell, or cargo)",
        me.name,
        me.pid,
        parent_pid()
    );
    let mut children = Vec::new();
    for i in 1..=3 {
        children.push(Process::new(&REPORT, ())?.name(format!("child-{i}")));
    }
    for c in &mut children {
        c.start()?;
    }
    for c in &mut children {
        let (name, pid, ppid) = c.join_value().expect("the child ran");
        assert_eq!(Some(pid), c.pid(), "{name}");
        assert_eq!(ppid, std::process::id(), "{name}'s parent is this program");
    }
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(ENTRIES);
    demo()
}
