//! Producers and consumers in separate processes over a `JoinableQueue` (the tutorials'
//! steamed buns): producers put their items and `join()` the queue, so they finish once
//! every item was eaten; the consumers are daemons that `task_done()` each item and die
//! with the program.
//!
//! `cargo run -p c10k-process --example producer_consumer`

use c10k_process::{Entry, JoinableQueue, Process, Registered};

fn producer((q, who, n): (JoinableQueue<String>, String, u32)) {
    for i in 1..=n {
        let item = format!("{who}'s bun #{i}");
        println!("  {who} made {item}");
        q.put(item).unwrap();
    }
    q.join(); // wait until every item (everyone's) is done
}
static PRODUCER: Entry<(JoinableQueue<String>, String, u32), ()> =
    Entry::new("pc_producer", producer);

fn consumer((q, who): (JoinableQueue<String>, String)) {
    loop {
        let item = q.get().unwrap();
        println!("  {who} ate {item}");
        q.task_done().unwrap();
    }
}
static CONSUMER: Entry<(JoinableQueue<String>, String), ()> = Entry::new("pc_consumer", consumer);

pub(crate) const ENTRIES: &[&dyn Registered] = &[&PRODUCER, &CONSUMER];

pub(crate) fn demo() -> std::io::Result<()> {
    let q = JoinableQueue::<String>::with_capacity(4)?;
    let mut producers = Vec::new();
    for who in ["alex", "wupeiqi", "yuanhao"] {
        producers.push(Process::spawn(&PRODUCER, (q.clone(), who.to_string(), 3))?);
    }
    let mut consumers = Vec::new();
    for who in ["egon", "lqz"] {
        let mut c = Process::new(&CONSUMER, (q.clone(), who.to_string()))?.daemon(true);
        c.start()?;
        consumers.push(c);
    }
    for p in &mut producers {
        p.join()?;
    }
    println!(
        "main: every producer finished, so every bun was eaten ({} unfinished)",
        q.unfinished()
    );
    assert_eq!(q.unfinished(), 0);
    for c in &consumers {
        c.terminate()?; // what the exit handler would do to these daemons
    }
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(ENTRIES);
    demo()
}
