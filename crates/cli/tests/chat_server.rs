//! `c10k chat` end to end: the protocol with real sockets, and the robustness rules (line
//! limit, invalid UTF-8, garbage, flooding, idling, clients that never read, Ctrl-C).

mod http_util;

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};

use http_util::{Lines, Server};

/// A connected chat client that has read its welcome line; returns its guest nick.
fn join(server: &Server) -> io::Result<(TcpStream, Lines, String)> {
    let stream = server.connect()?;
    let mut lines = Lines::new(&stream)?;
    let welcome = lines.next()?;
    assert!(
        welcome.starts_with("* welcome to c10k chat, you are guest"),
        "{welcome}"
    );
    assert!(
        welcome.contains("/nick NAME") && welcome.contains("/quit"),
        "{welcome}"
    );
    let nick = welcome["* welcome to c10k chat, you are ".len()..]
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok((stream, lines, nick))
}

fn is_message(line: &str, nick: &str, text: &str) -> bool {
    // HH:MM:SS <nick> text
    line.len() > 9
        && line.as_bytes()[2] == b':'
        && line.as_bytes()[5] == b':'
        && line[9..] == format!("<{nick}> {text}")
}

#[test]
fn two_clients_talk_rename_join_and_whisper() -> io::Result<()> {
    let server = Server::start(&["chat"])?;
    let (mut a, mut a_lines, a_nick) = join(&server)?;
    let (mut b, mut b_lines, b_nick) = join(&server)?;
    assert_eq!(a_lines.next()?, format!("* {b_nick} joined lobby"));

    a.write_all(b"hello there\r\n")?;
    let got = b_lines.next()?;
    assert!(is_message(&got, &a_nick, "hello there"), "{got}");

    a.write_all(b"/nick alice\n")?;
    assert_eq!(a_lines.next()?, "* you are now alice");
    assert_eq!(b_lines.next()?, format!("* {a_nick} is now alice"));
    b.write_all(b"/nick ALICE\n")?;
    assert_eq!(b_lines.next()?, "! nick ALICE is taken");
    b.write_all(b"/nick bob\n/who\n")?;
    assert_eq!(b_lines.next()?, "* you are now bob");
    assert_eq!(b_lines.next()?, "* in lobby: alice, bob");
    assert_eq!(a_lines.next()?, format!("* {b_nick} is now bob"));

    b.write_all(b"/msg alice psst\n")?;
    let got = a_lines.next()?;
    assert!(is_message(&got, "bob", "(private) psst"), "{got}");

    b.write_all(b"/join rust\n/rooms\n")?;
    assert_eq!(b_lines.next()?, "* you joined rust (0 others)");
    assert_eq!(b_lines.next()?, "* rooms: lobby (1), rust (1)");
    assert_eq!(a_lines.next()?, "* bob left lobby");
    a.write_all(b"/frob\nnobody hears this\n/join rust\n")?;
    assert_eq!(a_lines.next()?, "! unknown command: /frob (try /help)");
    assert_eq!(a_lines.next()?, "* you joined rust (1 other)");
    assert_eq!(b_lines.next()?, "* alice joined rust");
    b.write_all(b"/quit\n")?;
    assert_eq!(b_lines.next()?, "* bye");
    assert!(b_lines.closed(5));
    assert_eq!(a_lines.next()?, "* bob left (quit)");
    Ok(())
}

#[test]
fn long_lines_invalid_utf8_and_garbage_get_error_lines() -> io::Result<()> {
    let server = Server::start(&["chat"])?;
    let (mut a, mut a_lines, _) = join(&server)?;
    let (mut b, mut b_lines, b_nick) = join(&server)?;
    a_lines.next()?; // b joined

    let mut long = vec![b'x'; 4097];
    long.extend_from_slice(b"\nafter long\n");
    b.write_all(&long)?;
    let got = b_lines.next()?;
    assert!(got.starts_with("! line too long"), "{got}");
    let got = a_lines.next()?;
    assert!(is_message(&got, &b_nick, "after long"), "{got}");

    let max = "y".repeat(4096);
    b.write_all(format!("{max}\r\n").as_bytes())?;
    let got = a_lines.next()?;
    assert!(
        is_message(&got, &b_nick, &max),
        "a 4096-byte line is accepted"
    );

    b.write_all(b"\xff\xfe\xfd\n\x00\x01\x02 binary\n")?;
    let got = b_lines.next()?;
    assert!(got.starts_with("! ") && got.contains("UTF-8"), "{got}");
    let got = a_lines.next()?;
    assert!(
        // Control characters arrive shown, not obeyed (`cat -v` style).
        is_message(&got, &b_nick, "^@^A^B binary"),
        "{got:?}"
    );

    // An endless line costs the server nothing and the connection survives it.
    let chunk = vec![b'z'; 64 * 1024];
    for _ in 0..32 {
        b.write_all(&chunk)?;
    }
    b.write_all(b"\nstill here\n")?;
    let got = b_lines.next()?;
    assert!(got.starts_with("! line too long"), "{got}");
    let got = a_lines.next()?;
    assert!(is_message(&got, &b_nick, "still here"), "{got}");
    a.write_all(b"/quit\n")?;
    Ok(())
}

#[test]
fn raw_text_without_newline_is_a_line() -> io::Result<()> {
    // The tutorials' Python client sends `data.encode()` with no newline.
    let server = Server::start(&["chat"])?;
    let (_a, mut a_lines, _) = join(&server)?;
    let (mut b, _b_lines, b_nick) = join(&server)?;
    a_lines.next()?;
    b.write_all("héllo".as_bytes())?;
    let got = a_lines.next()?;
    assert!(is_message(&got, &b_nick, "héllo"), "{got}");
    Ok(())
}

#[test]
fn flooding_client_is_told_and_dropped() -> io::Result<()> {
    let server = Server::start(&["chat", "--flood-limit", "5"])?;
    let (_a, mut a_lines, _) = join(&server)?;
    let (mut b, mut b_lines, b_nick) = join(&server)?;
    a_lines.next()?;
    let flood: Vec<u8> = (0..1000)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    // The server may close before taking everything: a failed write is fine.
    let _ = b.write_all(&flood);
    b_lines.until(1000, |l| l == "! flooding, bye")?;
    assert!(b_lines.closed(10));
    a_lines.until(1000, |l| l == format!("* {b_nick} left (flooding)"))?;
    Ok(())
}

#[test]
fn idle_client_is_told_and_dropped() -> io::Result<()> {
    let server = Server::start(&["chat", "--idle-timeout", "1"])?;
    let (_a, mut a_lines, _) = join(&server)?;
    assert_eq!(a_lines.next()?, "! idle for 1 s, bye");
    assert!(a_lines.closed(5));
    Ok(())
}

/// A client whose socket stays unwritable for the send timeout is dropped as not reading.
#[test]
fn client_that_never_reads_is_dropped_without_stalling_the_room() -> io::Result<()> {
    let args = [
        "chat",
        "--send-timeout",
        "1",
        "--queue-bytes",
        "100000000",
        "--flood-limit",
        "1000000",
    ];
    stuck_client_is_dropped(&args, "not reading")
}

/// Past the byte cap, a client is dropped as too far behind, whatever the send timeout.
#[test]
fn client_too_far_behind_is_dropped_at_the_byte_cap() -> io::Result<()> {
    let args = [
        "chat",
        "--send-timeout",
        "3600",
        "--queue-bytes",
        "500000",
        "--flood-limit",
        "1000000",
    ];
    stuck_client_is_dropped(&args, "too far behind")
}

fn stuck_client_is_dropped(args: &[&str], reason: &str) -> io::Result<()> {
    let server = Server::start(args)?;
    let (stuck, _stuck_lines, stuck_nick) = join(&server)?;
    let (mut talker, mut talker_lines, talker_nick) = join(&server)?;
    let (_listener, mut listener_lines, _) = join(&server)?;
    // `stuck` never reads again. `talker` says big lines until the room hears that `stuck`
    // was dropped; `listener` must receive every line said before that, in order. The
    // talker keeps at most WINDOW lines unacknowledged by the listener, so the listener is
    // never far behind (64 lines of 4 KB, under the byte cap), however the threads are
    // scheduled.
    const WINDOW: usize = 64;
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || -> io::Result<u32> {
        let text = "m".repeat(4000);
        let mut in_flight = 0;
        // Bounded: 40 MB at most, far more than the socket buffers of `stuck` hold.
        for sent in 0..10_000u32 {
            while in_flight >= WINDOW {
                if ack_rx.recv_timeout(http_util::LIMIT).is_err() {
                    return Ok(sent);
                }
                in_flight -= 1;
            }
            while ack_rx.try_recv().is_ok() {
                in_flight -= 1;
            }
            talker.write_all(format!("{sent} {text}\n").as_bytes())?;
            in_flight += 1;
        }
        Ok(10_000)
    });
    let mut expected = 0u32;
    let notice = format!("* {stuck_nick} left ({reason})");
    let mut seen_notice = false;
    for _ in 0..10_001 {
        let line = listener_lines.next()?;
        if line == notice {
            seen_notice = true;
            break;
        }
        assert!(line.contains(&format!("<{talker_nick}>")), "{line:.80}");
        let body = line.split_once("> ").map(|(_, b)| b).unwrap_or_default();
        assert_eq!(
            body.split(' ').next(),
            Some(expected.to_string().as_str()),
            "in order"
        );
        expected += 1;
        let _ = ack_tx.send(());
    }
    drop(ack_tx);
    assert!(seen_notice, "the stuck client was never dropped");
    let sent = sender.join().expect("sender")?;
    assert!(sent >= expected);
    talker_lines.until(10, |l| l == notice)?;
    drop(stuck);
    Ok(())
}

#[test]
fn half_closed_client_gets_its_answer() -> io::Result<()> {
    let server = Server::start(&["chat"])?;
    let (a, mut a_lines, a_nick) = join(&server)?;
    let mut a = a;
    a.write_all(b"/who\n")?;
    a.shutdown(Shutdown::Write)?;
    assert_eq!(a_lines.next()?, format!("* in lobby: {a_nick}"));
    assert!(a_lines.closed(5));
    Ok(())
}

#[test]
fn ctrl_c_tells_everyone_and_exits() -> io::Result<()> {
    let server = Server::start(&["chat"])?;
    let (_a, mut a_lines, _) = join(&server)?;
    let (_b, mut b_lines, _) = join(&server)?;
    a_lines.next()?;
    let (status, _stderr) = server.interrupt()?;
    assert!(status.success(), "{status:?}");
    a_lines.until(5, |l| l == "* server shutting down, bye")?;
    b_lines.until(5, |l| l == "* server shutting down, bye")?;
    assert!(b_lines.closed(5));
    Ok(())
}

#[test]
fn bad_flags_exit_2() -> io::Result<()> {
    let out = http_util::run(&["chat", "--idle-timeout", "0"], http_util::LIMIT)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.starts_with("c10k: "), "{}", out.stderr);
    Ok(())
}

#[test]
fn accept_backs_off_when_out_of_descriptors_and_recovers() -> io::Result<()> {
    let mut server = Server::start_with_fd_limit(&["chat"], 64)?;
    // More clients than the server has descriptors: the kernel completes every connect
    // (backlog), the server accepts what it can.
    let mut first = Vec::new();
    for _ in 0..30 {
        first.push(join(&server)?);
    }
    let waiting: Vec<TcpStream> = (0..40)
        .map(|_| server.connect())
        .collect::<io::Result<_>>()?;
    // 70 clients cannot all be held with 64 descriptors: the runtime's accept waits out
    // EMFILE (backing off on its timer) while the others are served.
    // The room still works for the clients inside.
    let (stream, lines, nick) = &mut first[0];
    stream.write_all(b"/nick keeper\n")?;
    // (Notices of the others joining come first.)
    lines.until(100, |l| l == "* you are now keeper")?;
    assert!(nick.starts_with("guest"));
    assert!(server.alive());
    // Free descriptors: every waiting client gets in and is welcomed.
    first.truncate(1);
    for stream in &waiting {
        let mut lines = http_util::Lines::new(stream)?;
        let welcome = lines.next()?;
        assert!(welcome.starts_with("* welcome to c10k chat"), "{welcome}");
    }
    let (status, _stderr) = server.interrupt()?;
    assert!(status.success(), "{status:?}");
    Ok(())
}

#[test]
fn clients_resetting_mid_line_do_not_disturb_the_room() -> io::Result<()> {
    let server = Server::start(&["chat"])?;
    let (mut a, mut a_lines, _) = join(&server)?;
    for _ in 0..10 {
        let (mut b, b_lines, b_nick) = join(&server)?;
        b.write_all(b"half a li")?;
        // SO_LINGER 0: close sends a reset instead of a FIN (once every descriptor of the
        // socket, the line reader's clone included, is closed).
        rustix::net::sockopt::set_socket_linger(&b, Some(std::time::Duration::ZERO))?;
        drop(b_lines);
        drop(b);
        a_lines.until(5, |l| l == format!("* {b_nick} joined lobby"))?;
        // Whether the fragment was said before the reset was seen is a race; the departure
        // notice always comes.
        a_lines.until(5, |l| l.starts_with(&format!("* {b_nick} left (")))?;
    }
    a.write_all(b"/who\n")?;
    let who = a_lines.next()?;
    assert!(
        who.starts_with("* in lobby: guest") && !who.contains(','),
        "{who}"
    );
    Ok(())
}

/// Regression: when hundreds of clients connected at once, the join notices filled the
/// members' 256-line queues before their writers ran, and readers were kicked as "not
/// reading" in a cascade (500 clients joining at once then received 0 of 500 broadcasts).
#[test]
fn five_hundred_clients_joining_at_once_all_receive_a_broadcast() -> io::Result<()> {
    const CLIENTS: usize = 500;
    let server = Server::start(&["chat"])?;
    // Connect them all before reading anything: one burst.
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let stream = server.connect()?;
        let lines = Lines::new(&stream)?;
        clients.push((stream, lines));
    }
    let (mut speaker, _speaker_lines, speaker_nick) = join(&server)?;
    speaker.write_all(b"hello everyone\n")?;
    for (i, (_stream, lines)) in clients.iter_mut().enumerate() {
        // At most: the welcome, a join notice per client and the speaker, the message.
        let mut received = false;
        for _ in 0..CLIENTS + 3 {
            let line = lines
                .next()
                .map_err(|e| io::Error::new(e.kind(), format!("client {i}: {e}")))?;
            assert!(!line.contains(" left ("), "client {i}: {line}");
            if is_message(&line, &speaker_nick, "hello everyone") {
                received = true;
                break;
            }
        }
        assert!(received, "client {i} never received the broadcast");
    }
    Ok(())
}

/// Regression: a client could send terminal control sequences (`ESC [2J` clears the
/// screen, a bare CR rewrites the line) to everyone in its room.
#[test]
fn control_characters_reach_other_clients_escaped() -> io::Result<()> {
    let server = Server::start(&["chat"])?;
    let (mut a, _a_lines, a_nick) = join(&server)?;
    let (_b, mut b_lines, _) = join(&server)?;
    a.write_all(b"\x1b[2Jgotcha\x07\rforged\n")?;
    b_lines.until(5, |l| is_message(l, &a_nick, "^[[2Jgotcha^G^Mforged"))?;
    Ok(())
}
