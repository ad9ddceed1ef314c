//! A `Pipe` between two processes: ping, pong, and the end of the conversation when one
//! side closes (Python's `EOFError`, here `UnexpectedEof`).
//!
//! `cargo run -p c10k-process --example pipe_ping_pong`

use std::time::Instant;

use c10k_process::{Connection, Entry, Pipe, Process, Registered};

fn ponger(mut conn: Connection) -> u32 {
    let mut n = 0;
    loop {
        match conn.recv::<String>() {
            Ok(msg) => {
                n += 1;
                conn.send(&msg.replace("ping", "pong")).unwrap();
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return n,
            Err(e) => panic!("{e}"),
        }
    }
}
static PONGER: Entry<Connection, u32> = Entry::new("pipe_ponger", ponger);

pub(crate) const ENTRIES: &[&dyn Registered] = &[&PONGER];

pub(crate) fn demo() -> std::io::Result<()> {
    let (mut mine, theirs) = Pipe::duplex()?;
    let mut p = Process::spawn(&PONGER, theirs)?;
    for i in 1..=5 {
        let t = Instant::now();
        mine.send(&format!("ping {i}"))?;
        let reply: String = mine.recv()?;
        println!("{reply} (round trip {:?})", t.elapsed());
        assert_eq!(reply, format!("pong {i}"));
    }
    drop(mine); // the child's recv sees the end of the pipe
    let n = p.join_value().expect("the child ran");
    println!("the child answered {n} pings and saw the pipe close");
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(ENTRIES);
    demo()
}
