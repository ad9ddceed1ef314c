//! Runs the `generators`, `greenlets` and `green_echo` examples' logic and checks what they
//! promise.

#[allow(dead_code)]
#[path = "../examples/generators.rs"]
mod generators;

#[allow(dead_code)]
#[path = "../examples/greenlets.rs"]
mod greenlets;

#[allow(dead_code)]
#[path = "../examples/green_echo.rs"]
mod green_echo;

use std::io::{self, Read, Write};
use std::time::Duration;

use c10k::generator::Exception;

#[test]
fn generator_demos_say_what_the_tutorial_says() -> Result<(), Exception> {
    let mut log = Vec::new();
    generators::send_demo(&mut log)?;
    assert_eq!(log, ["url: http://projectsedu.com", "returned: bobby"]);
    log.clear();
    generators::close_demo(&mut log)?;
    assert_eq!(
        log,
        [
            "next: http://projectsedu.com",
            "finally: GeneratorExit unwound the body",
            "state after close: Closed"
        ]
    );
    log.clear();
    generators::throw_demo(&mut log)?;
    assert_eq!(log, ["throw returned 2", "next: 3"]);
    log.clear();
    generators::states_demo(&mut log)?;
    assert_eq!(log, ["states: [Created, Suspended, Closed]"]);
    log.clear();
    generators::sales_demo(&mut log)?;
    assert_eq!(
        log,
        [
            "bobby coat: total 1688 from [280, 560, 778, 70]",
            "bobby mask: total 5700 from [1200, 1500, 3000]",
            "bobby phone: total 289 from [28, 55, 98, 108]"
        ]
    );
    log.clear();
    generators::baozi_demo(&mut log)?;
    assert_eq!(log.len(), 9);
    assert_eq!(log[0], "[hetan] is eating baozi 1");
    assert_eq!(log[1], "[liuyao] is eating baozi 1");
    assert_eq!(log[2], "[producer] is making baozi 1");
    Ok(())
}

#[test]
fn greenlet_switch_and_gevent_spawn_interleave_as_in_the_tutorial() -> io::Result<()> {
    assert_eq!(greenlets::switch_demo()?, [12, 56, 34, 78]);
    assert_eq!(
        greenlets::spawn_demo()?,
        [
            "Running in foo",
            "Explicit context to bar",
            "Explicit context switch to foo again",
            "Implicit context switch back to bar"
        ]
    );
    Ok(())
}

#[test]
fn concurrent_sleeps_overlap() -> io::Result<()> {
    // Sequentially each task finishes before the next starts; as green threads every task
    // has started (and is asleep) before the first one finishes: the sleeps overlap.
    let t = greenlets::timing_demo(10, Duration::from_millis(5))?;
    let sequential: Vec<String> = (0..10)
        .flat_map(|i| [format!("start {i}"), format!("done {i}")])
        .collect();
    assert_eq!(t.sync_events, sequential);
    let first_done = t
        .conc_events
        .iter()
        .position(|e| e.starts_with("done"))
        .expect("tasks finished");
    assert_eq!(first_done, 10, "{:?}", t.conc_events);
    assert_eq!(t.conc_events.len(), 20);
    Ok(())
}

#[test]
fn the_green_echo_server_serves_many_clients_at_once() -> io::Result<()> {
    const CLIENTS: usize = 50;
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        c10k::green::run(move || {
            green_echo::server("127.0.0.1:0".parse().expect("addr"), Some(CLIENTS), |a| {
                tx.send(a).expect("test alive")
            })
        })
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).expect("bound");
    // All clients connected before any sends: the server must hold them concurrently.
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        clients.push(s);
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let msg = format!("hello {i}");
        c.write_all(msg.as_bytes())?;
        let mut back = vec![0u8; msg.len()];
        c.read_exact(&mut back)?;
        assert_eq!(back, msg.as_bytes());
    }
    drop(clients);
    server.join().expect("no panic")??;
    Ok(())
}
