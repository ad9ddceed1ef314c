//! `c10k chat --redis`: two and three nodes sharing rooms through a real `redis-server`,
//! started by each test on a free loopback port with persistence off and stopped by PID.
//!
//! Without `redis-server` on the PATH the tests say so and pass, unless
//! `C10K_REQUIRE_REDIS=1` (as in `.ci/run`), where a missing server is a failure.

mod http_util;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_util::{Lines, Server, LIMIT};

/// A `redis-server` child on a loopback port.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts one, or `None` (after saying why) when `redis-server` is missing and not
    /// required.
    fn start() -> Option<Redis> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            let required = std::env::var("C10K_REQUIRE_REDIS").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "C10K_REQUIRE_REDIS=1 but redis-server is not on the PATH \
                 (Debian: apt-get install redis-server)"
            );
            eprintln!(
                "SKIPPED: the chat cluster tests need redis-server on the PATH (Debian: \
                 apt-get install redis-server); set C10K_REQUIRE_REDIS=1 to make this a failure"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Some(Redis {
            child: spawn_redis(port),
            port,
        })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (by PID) and starts an empty one on the same port.
    fn restart(&mut self) {
        self.stop();
        self.child = spawn_redis(self.port);
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_redis(port: u16) -> Child {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            if s.write_all(b"PING\r\n").is_ok() {
                let mut line = String::new();
                if BufReader::new(&s).read_line(&mut line).is_ok() && line.starts_with("+PONG") {
                    return child;
                }
            }
        }
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("redis-server did not answer on port {port}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a node and waits until it is subscribed.
fn node(redis: &Redis, id: &str, extra: &[&str]) -> Server {
    let url = redis.url();
    let mut args = vec!["chat", "--redis", &url, "--node-id", id];
    args.extend_from_slice(extra);
    let mut server = Server::start(&args).expect("node starts");
    server
        .wait_stderr(&format!("node {id} subscribed"))
        .expect("node subscribes");
    server
}

/// A client of a node that read its welcome; its guest nick.
struct Client {
    stream: TcpStream,
    lines: Lines,
    nick: String,
}

impl Client {
    fn join(node: &Server) -> Client {
        let stream = node.connect().expect("connect");
        let mut lines = Lines::new(&stream).expect("lines");
        let welcome = lines.next().expect("welcome");
        let nick = welcome
            .strip_prefix("* welcome to c10k chat, you are ")
            .and_then(|r| r.split(' ').next())
            .unwrap_or_else(|| panic!("{welcome}"))
            .to_owned();
        Client {
            stream,
            lines,
            nick,
        }
    }

    fn say(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .expect("write");
    }

    fn next(&mut self) -> String {
        self.lines.next().expect("a line")
    }

    /// Reads until the line `want` (lines other nodes published may arrive a little late, so
    /// others may come first).
    fn expect(&mut self, want: &str) {
        self.until(|l| l == want);
    }

    /// Reads until a line satisfies `pred`.
    fn until(&mut self, pred: impl Fn(&str) -> bool) -> String {
        self.lines.until(1000, pred).expect("the expected line")
    }

    /// Asks `command` until its answer (the next line starting with `prefix`) is `want`:
    /// what other nodes registered reaches Redis asynchronously.
    fn eventually(&mut self, command: &str, prefix: &str, want: &str) {
        let deadline = Instant::now() + LIMIT;
        loop {
            self.say(command);
            let got = self.until(|l| l.starts_with(prefix));
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{command}: {got:?}, want {want:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn is_message(line: &str, nick: &str, text: &str) -> bool {
    line.len() > 9 && line[9..] == format!("<{nick}> {text}")
}

#[test]
fn two_nodes_share_rooms_nicks_and_private_messages() {
    let Some(redis) = Redis::start() else { return };
    let a = node(&redis, "a", &[]);
    let b = node(&redis, "b", &[]);
    let mut x = Client::join(&a);
    assert_eq!(x.nick, "a-guest1");
    let mut y = Client::join(&b);
    assert_eq!(y.nick, "b-guest1");
    x.expect("* b-guest1 joined lobby");

    x.say("/nick alice");
    x.expect("* you are now alice");
    y.expect("* a-guest1 is now alice");
    y.say("/nick ALICE");
    y.expect("! nick ALICE is taken");
    y.say("/nick a-guest7");
    y.expect("! nick a-guest7 is reserved for guests");
    y.say("/nick bob");
    y.expect("* you are now bob");
    x.expect("* b-guest1 is now bob");

    x.say("hello from a");
    let got = y.next();
    assert!(is_message(&got, "alice", "hello from a"), "{got}");
    y.say("hello from b");
    let got = x.next();
    assert!(is_message(&got, "bob", "hello from b"), "{got}");

    y.say("/msg Alice psst");
    let got = x.next();
    assert!(is_message(&got, "bob", "(private) psst"), "{got}");
    y.say("/msg nobody hi");
    y.expect("! no such nick: nobody");

    x.eventually("/who", "* in ", "* in lobby: alice, bob");
    y.say("/join rust");
    y.expect("* you joined rust (0 others on this node)");
    x.expect("* bob left lobby");
    y.eventually("/rooms", "* rooms", "* rooms: lobby (1), rust (1)");
    x.say("only lobby");
    x.say("/join rust");
    x.expect("* you joined rust (0 others on this node)");
    let got = y.until(|l| !l.starts_with("* rooms"));
    assert_eq!(
        got, "* alice joined rust",
        "the lobby line must not reach rust"
    );
    y.say("/quit");
    assert_eq!(y.until(|l| l == "* bye"), "* bye");
    x.expect("* bob left (quit)");
    x.eventually("/who", "* in ", "* in rust: alice");
}

#[test]
fn three_nodes_hear_each_other() {
    let Some(redis) = Redis::start() else { return };
    let nodes: Vec<Server> = ["a", "b", "c"]
        .iter()
        .map(|id| node(&redis, id, &[]))
        .collect();
    let mut clients: Vec<Client> = nodes.iter().map(Client::join).collect();
    // The joins that followed each client.
    clients[0].expect("* b-guest1 joined lobby");
    clients[0].expect("* c-guest1 joined lobby");
    clients[1].expect("* c-guest1 joined lobby");
    for (i, sender) in ["a-guest1", "b-guest1", "c-guest1"].iter().enumerate() {
        let text = format!("from {sender}");
        clients[i].say(&text);
        for (j, c) in clients.iter_mut().enumerate() {
            if j != i {
                let got = c.until(|l| !l.starts_with("* "));
                assert!(is_message(&got, sender, &text), "{got}");
            }
        }
    }
    clients[2].say("/msg a-guest1 hi a");
    let got = clients[0].until(|l| !l.starts_with("* "));
    assert!(is_message(&got, "c-guest1", "(private) hi a"), "{got}");
    clients[1].eventually("/who", "* in ", "* in lobby: a-guest1, b-guest1, c-guest1");
}

#[test]
fn a_killed_nodes_members_expire() {
    let Some(redis) = Redis::start() else { return };
    let ttl = ["--member-ttl", "3"];
    let a = node(&redis, "a", &ttl);
    let mut b = node(&redis, "b", &ttl);
    let mut x = Client::join(&a);
    let mut ghost = Client::join(&b);
    ghost.say("/nick ghost");
    ghost.expect("* you are now ghost");
    x.eventually("/who", "* in ", "* in lobby: a-guest1, ghost");
    x.say("/nick ghost");
    assert_eq!(x.until(|l| l.starts_with('!')), "! nick ghost is taken");
    b.child.kill().expect("kill node b");
    b.child.wait().expect("reap node b");
    let killed = Instant::now();
    // Within the expiry (3 s) and the refresh period: /who forgets it, the nick is free.
    x.eventually("/who", "* in ", "* in lobby: a-guest1");
    eprintln!("ghost left /who {:?} after the kill", killed.elapsed());
    x.say("/nick ghost");
    assert_eq!(x.until(|l| !l.starts_with("* in ")), "* you are now ghost");
}

#[test]
fn nodes_resubscribe_after_redis_restarts() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let mut a = node(&redis, "a", &[]);
    let mut b = node(&redis, "b", &[]);
    let mut x = Client::join(&a);
    let mut x2 = Client::join(&a);
    let mut y = Client::join(&b);
    x.say("before");
    let got = y.until(|l| l.contains("<a-guest1>"));
    assert!(is_message(&got, "a-guest1", "before"), "{got}");

    redis.stop();
    // Local clients are served while Redis is away.
    x.say("while redis is down");
    let got = x2.until(|l| l.contains("while redis"));
    assert!(is_message(&got, "a-guest1", "while redis is down"), "{got}");

    redis.restart();
    a.wait_stderr("(subscription 2)").expect("a resubscribes");
    b.wait_stderr("(subscription 2)").expect("b resubscribes");
    // The command connections come back on their own backoff: say until heard.
    let deadline = Instant::now() + LIMIT;
    y.stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut heard = false;
    for i in 0.. {
        x.say(&format!("after restart {i}"));
        let mut line = String::new();
        loop {
            match y.lines.next() {
                Ok(l) if l.contains("after restart") => {
                    line = l;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if !line.is_empty() {
            heard = true;
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no message crossed after the restart"
        );
    }
    assert!(heard);
    y.stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // The membership was written again into the empty Redis.
    y.eventually("/who", "* in ", "* in lobby: a-guest1, a-guest2, b-guest1");
}

impl Redis {
    /// Runs one command on a connection of its own and returns the reply as text (a simple
    /// or bulk string, an integer, or `-ERR ...`; `(nil)` for a null).
    fn command(&self, args: &[&str]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).expect("write to redis");
        read_reply(&mut BufReader::new(s))
    }
}

/// One RESP reply as text; an array's items one a line.
fn read_reply(reader: &mut BufReader<TcpStream>) -> String {
    let mut head = String::new();
    reader.read_line(&mut head).expect("a reply");
    let head = head.trim_end().to_owned();
    match head.split_at(1) {
        ("$", "-1") | ("*", "-1") => "(nil)".to_owned(),
        ("$", n) => {
            let n: usize = n.parse().expect("bulk length");
            let mut body = vec![0; n + 2];
            std::io::Read::read_exact(reader, &mut body).expect("bulk body");
            String::from_utf8_lossy(&body[..n]).into_owned()
        }
        ("*", n) => {
            let n: usize = n.parse().expect("array length");
            (0..n)
                .map(|_| read_reply(reader))
                .collect::<Vec<_>>()
                .join("\n")
        }
        ("+" | ":", rest) => rest.to_owned(),
        _ => head,
    }
}

/// The ids of the pub/sub connections Redis has open.
fn subscriber_ids(redis: &Redis) -> Vec<String> {
    let mut ids: Vec<String> = redis
        .command(&["CLIENT", "LIST", "TYPE", "pubsub"])
        .lines()
        .filter_map(|l| l.split(' ').next()?.strip_prefix("id=").map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// Resident memory of a process, KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn a_nick_claimed_elsewhere_meanwhile_is_given_up_with_a_notice() {
    let Some(redis) = Redis::start() else { return };
    let ttl = ["--member-ttl", "3"];
    let a = node(&redis, "a", &ttl);
    let b = node(&redis, "b", &ttl);
    let mut x = Client::join(&a);
    let mut y = Client::join(&b);
    x.say("/nick carol");
    x.expect("* you are now carol");
    y.expect("* a-guest1 is now carol");
    assert_eq!(redis.command(&["GET", "c10k:chat:nick:carol"]), "a:1");
    // What another node's claim looks like when node a was cut off from Redis for longer
    // than the expiry (or Redis restarted empty and the other node registered first).
    redis.command(&["SET", "c10k:chat:nick:carol", "b:99", "EX", "60"]);
    // Node a's next refresh (every second here) finds the nick taken and gives it up.
    let told = x.until(|l| l.starts_with('!'));
    assert_eq!(
        told,
        "! your nick carol was claimed on another node while this node was cut off from the \
         cluster; you are a-guest2 now (/nick to pick another)"
    );
    x.expect("* you are now a-guest2");
    y.expect("* carol is now a-guest2");
    // The other claim stands.
    assert_eq!(redis.command(&["GET", "c10k:chat:nick:carol"]), "b:99");
    x.say("/nick carol");
    x.expect("! nick carol is taken");
}

/// A client of node b stops reading while a client of node a floods the room: node b drops
/// it within its limits, the other client of node b receives every line in order, node b's
/// memory does not follow the flood, and Redis keeps node b's subscription.
#[test]
fn a_stuck_client_is_dropped_by_its_node_not_its_node_by_redis() {
    let Some(redis) = Redis::start() else { return };
    let a = node(&redis, "a", &["--flood-limit", "1000000"]);
    let b = node(
        &redis,
        "b",
        &["--send-timeout", "2", "--queue-bytes", "1000000"],
    );
    let subscribers = subscriber_ids(&redis);
    assert_eq!(subscribers.len(), 2, "{subscribers:?}");
    let mut talker = Client::join(&a);
    let stuck = Client::join(&b);
    let mut listener = Client::join(&b);
    talker.expect("* b-guest2 joined lobby");
    let b_pid = b.child.id();
    let rss_before = rss_kib(b_pid);

    // 10 000 lines of 4 KB (40 MB), whatever happens to `stuck`: far more than its socket
    // buffers and its queue hold. At most WINDOW lines are unacknowledged by the listener,
    // so the listener itself is never far behind.
    const LINES: u32 = 10_000;
    const WINDOW: u32 = 64;
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<()>();
    let mut talk = talker.stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || -> u32 {
        let text = "m".repeat(4000);
        let mut in_flight = 0;
        for sent in 0..LINES {
            while in_flight >= WINDOW {
                if ack_rx.recv_timeout(LIMIT).is_err() {
                    return sent;
                }
                in_flight -= 1;
            }
            while ack_rx.try_recv().is_ok() {
                in_flight -= 1;
            }
            if talk
                .write_all(format!("{sent} {text}\n").as_bytes())
                .is_err()
            {
                return sent;
            }
            in_flight += 1;
        }
        LINES
    });
    let notice_not_reading = format!("* {} left (not reading)", stuck.nick);
    let notice_behind = format!("* {} left (too far behind)", stuck.nick);
    // The talker's join reaches node b through Redis, so node b may deliver it after the
    // listener joined, before the flood's first line (Redis keeps one publisher's order).
    let notice_talker_joined = format!("* {} joined lobby", talker.nick);
    let mut expected = 0u32;
    let mut dropped = None;
    let mut rss_peak = rss_before;
    while expected < LINES {
        let line = listener.next();
        if expected == 0 && line == notice_talker_joined {
            continue;
        }
        if line == notice_not_reading || line == notice_behind {
            assert!(dropped.is_none(), "dropped twice");
            dropped = Some(line);
            continue;
        }
        assert!(line.contains("<a-guest1>"), "{line:.80}");
        let body = line.split_once("> ").map(|(_, b)| b).unwrap_or_default();
        assert_eq!(
            body.split(' ').next(),
            Some(expected.to_string().as_str()),
            "in order"
        );
        expected += 1;
        let _ = ack_tx.send(());
        if expected % 500 == 0 {
            rss_peak = rss_peak.max(rss_kib(b_pid));
        }
    }
    drop(ack_tx);
    assert_eq!(sender.join().expect("sender"), LINES);
    let dropped = dropped.expect("node b never dropped the client that stopped reading");
    // The talker, on node a, hears it too.
    talker.expect(&dropped);
    // 40 MB went through node b; what it kept is bounded by the queue cap and the lines in
    // flight, not by the flood.
    let grew_mib = rss_peak.saturating_sub(rss_before) / 1024;
    eprintln!("node b: RSS {rss_before} KiB before, peak {rss_peak} KiB; {dropped}");
    assert!(grew_mib < 24, "node b's memory grew by {grew_mib} MiB");
    // Redis never cut node b's subscriber connection (it would have come back with a new id).
    assert_eq!(subscriber_ids(&redis), subscribers);
    drop(stuck);
}

/// A node listens to the rooms it has members in, and only those.
#[test]
fn nodes_hear_only_the_rooms_they_serve() {
    let Some(redis) = Redis::start() else { return };
    let a = node(&redis, "a", &[]);
    let b = node(&redis, "b", &[]);
    let subscribers = |room: &str| {
        let channel = format!("c10k:chat:room:{room}");
        let reply = redis.command(&["PUBSUB", "NUMSUB", &channel]);
        reply.lines().nth(1).unwrap_or_default().to_owned()
    };
    // The lobby always; rust once a node has a member there, answered after it hears it.
    assert_eq!(subscribers("lobby"), "2");
    let mut x = Client::join(&a);
    let mut y = Client::join(&b);
    x.say("/join rust");
    x.expect("* you joined rust (0 others on this node)");
    assert_eq!(subscribers("rust"), "1");
    y.say("/join rust");
    y.expect("* you joined rust (0 others on this node)");
    assert_eq!(subscribers("rust"), "2");
    x.expect("* b-guest1 joined rust");
    // Once a node's last member left, the node stops listening (in the background).
    x.say("/join go");
    x.expect("* you joined go (0 others on this node)");
    y.expect("* a-guest1 left rust");
    let deadline = Instant::now() + LIMIT;
    while subscribers("rust") != "1" {
        assert!(Instant::now() < deadline, "node a still hears rust");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Private lines go to the node of the nick.
    y.say("/msg a-guest1 over here");
    let got = x.until(|l| !l.starts_with("* "));
    assert!(is_message(&got, "b-guest1", "(private) over here"), "{got}");
}
