//! Runs the `select_operator` example's server with a pipe as the operator's keyboard: two
//! clients ask, the operator answers the one that waited longest and then client 2 by
//! number, and closing the pipe stops the server.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::Duration;

use c10k::selector::Backend;

#[path = "../examples/select_operator.rs"]
mod select_operator;

fn client(addr: std::net::SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let reader = BufReader::new(stream.try_clone().expect("clone"));
    (stream, reader)
}

fn line(reader: &mut BufReader<TcpStream>) -> String {
    let mut s = String::new();
    reader.read_line(&mut s).expect("a line within 20 s");
    s.trim_end().to_owned()
}

fn run(backend: Backend) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (keyboard_read, keyboard) = rustix::pipe::pipe().expect("pipe");
    let server = std::thread::spawn(move || {
        let mut out = Vec::new();
        let stats = select_operator::serve(listener, keyboard_read.as_fd(), backend, &mut out)
            .expect("serve");
        (stats, String::from_utf8(out).expect("utf-8"))
    });
    let mut keyboard = std::fs::File::from(keyboard);

    let (mut one, mut one_in) = client(addr);
    assert_eq!(line(&mut one_in), "you are client #1; ask away");
    one.write_all(b"where is my order?\n").expect("ask");
    assert_eq!(line(&mut one_in), "(the operator will answer)");
    let (mut two, mut two_in) = client(addr);
    assert_eq!(line(&mut two_in), "you are client #2; ask away");
    two.write_all(b"open on sunday?\n").expect("ask");
    assert_eq!(line(&mut two_in), "(the operator will answer)");

    keyboard.write_all(b"on its way\n").expect("type");
    assert_eq!(line(&mut one_in), "operator: on its way");
    keyboard.write_all(b"#2 yes, 10 to 4\n").expect("type");
    assert_eq!(line(&mut two_in), "operator: yes, 10 to 4");
    keyboard.write_all(b"#7 hello?\n").expect("type");
    drop(keyboard); // Ctrl-D

    let (stats, out) = server.join().expect("server thread");
    assert_eq!(
        stats,
        select_operator::Stats {
            clients: 2,
            questions: 2,
            answers: 2
        },
        "{out}"
    );
    for expected in [
        "#1> where is my order?",
        "#2> open on sunday?",
        "(no client #7)",
        "(the operator's input ended: closing)",
    ] {
        assert!(
            out.lines().any(|l| l == expected),
            "{expected:?} in:\n{out}"
        );
    }
}

#[test]
fn the_operator_answers_from_the_same_select_set_select() {
    run(Backend::Select);
}

#[test]
fn the_operator_answers_from_the_same_select_set_epoll() {
    run(Backend::Epoll);
}
