//! c10k-process against Python's `multiprocessing`, in the same run: a queue between two
//! processes, a pipe round trip, spawn + join of a trivial entry, and an uncontended
//! cross-process lock (against `std::sync::Mutex` in one process).
//!
//! `cargo bench -p c10k-process --bench ipc [-- --quick] [--no-python]`
//!
//! A bench binary rather than criterion: children re-execute this binary, so its `main`
//! must call `c10k_process::init` first, and the Python reference is a separate process
//! (`bench/process_ipc.py`) whose figures are read back as JSON. Prints a table of
//! figures and ratios, and the JSON of both sides on the last line.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use c10k_process::{Bytes, Connection, Entry, Event, Lock, Pipe, Process, Queue, StartMethod};

const MSG: [u8; 64] = [b'x'; 64];

/// Puts `n` 64-byte messages once `go` is set, then an empty one.
fn produce((q, go, n): (Queue<Bytes>, Event, u64)) {
    go.wait();
    let msg = Bytes(MSG.to_vec());
    for _ in 0..n {
        q.put(msg.clone()).unwrap();
    }
    q.put(Bytes::default()).unwrap();
}
static PRODUCE: Entry<(Queue<Bytes>, Event, u64), ()> = Entry::new("bench_produce", produce);

fn echo(mut conn: Connection) {
    while let Ok(m) = conn.recv::<Bytes>() {
        conn.send(&m).unwrap();
    }
}
static ECHO: Entry<Connection, ()> = Entry::new("bench_echo", echo);

fn trivial(_: ()) {}
static TRIVIAL: Entry<(), ()> = Entry::new("bench_trivial", trivial);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn bench_queue(n: u64) -> f64 {
    let q = Queue::<Bytes>::builder()
        .capacity(4096)
        .build::<Bytes>()
        .unwrap();
    let go = Event::new().unwrap();
    let mut p = Process::spawn(&PRODUCE, (q.clone(), go.clone(), n)).unwrap();
    let t0 = Instant::now();
    go.set();
    let mut got = 0u64;
    loop {
        let m = q.get().unwrap();
        if m.is_empty() {
            break;
        }
        got += 1;
    }
    let dt = t0.elapsed();
    p.join().unwrap();
    assert_eq!(got, n);
    n as f64 / dt.as_secs_f64()
}

fn bench_pipe(n: usize) -> (f64, f64) {
    let (mut a, b) = Pipe::duplex().unwrap();
    let mut p = Process::spawn(&ECHO, b).unwrap();
    let msg = Bytes(MSG.to_vec());
    for _ in 0..100 {
        a.send(&msg).unwrap();
        let _: Bytes = a.recv().unwrap();
    }
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        a.send(&msg).unwrap();
        let r: Bytes = a.recv().unwrap();
        lat.push(t0.elapsed().as_nanos() as f64 / 1000.0);
        black_box(r);
    }
    drop(a);
    p.join().unwrap();
    lat.sort_by(|x, y| x.partial_cmp(y).unwrap());
    (lat[n / 2], lat[n * 99 / 100])
}

fn bench_spawn(method: StartMethod, n: usize) -> f64 {
    // The fork server starts on first use: start it before timing.
    Process::new(&TRIVIAL, ())
        .unwrap()
        .start_method(method)
        .start()
        .unwrap();
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let mut p = Process::new(&TRIVIAL, ()).unwrap().start_method(method);
        p.start().unwrap();
        p.join().unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    median(times)
}

fn bench_lock(n: u64) -> (f64, f64) {
    let lock = Lock::new().unwrap();
    let t0 = Instant::now();
    for _ in 0..n {
        drop(black_box(lock.acquire().unwrap()));
    }
    let ours = t0.elapsed().as_nanos() as f64 / n as f64;
    let m = std::sync::Mutex::new(0u64);
    let t0 = Instant::now();
    for _ in 0..n {
        drop(black_box(m.lock().unwrap()));
    }
    let std = t0.elapsed().as_nanos() as f64 / n as f64;
    (ours, std)
}

fn python(quick: bool) -> Option<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/process_ipc.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script);
    if quick {
        cmd.arg("--quick");
    }
    match cmd.output() {
        Ok(out) if out.status.success() => serde_json::from_slice(&out.stdout).ok(),
        Ok(out) => {
            eprintln!(
                "python reference failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("python3 not available ({e}): no reference ratios");
            None
        }
    }
}

fn main() {
    c10k_process::init(&[&PRODUCE, &ECHO, &TRIVIAL]);
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let with_python = !args.iter().any(|a| a == "--no-python");

    let queue_n = if quick { 200_000 } else { 2_000_000 };
    let queue = median((0..3).map(|_| bench_queue(queue_n)).collect());
    let (p50, p99) = bench_pipe(if quick { 2_000 } else { 20_000 });
    let spawn_n = if quick { 5 } else { 20 };
    let spawn = bench_spawn(StartMethod::Spawn, spawn_n);
    let forkserver = bench_spawn(StartMethod::Forkserver, spawn_n * 2);
    let (lock, std_mutex) = bench_lock(if quick { 1_000_000 } else { 10_000_000 });
    std::thread::sleep(Duration::from_millis(1)); // let the last children's exit settle
    let py = if with_python { python(quick) } else { None };
    let pyf = |k: &str| py.as_ref().and_then(|v| v[k].as_f64());
    let pys = |m: &str| py.as_ref().and_then(|v| v["spawn_join_ms"][m].as_f64());
    let ratio = |ours: f64, theirs: Option<f64>, higher_is_better: bool| match theirs {
        Some(t) if higher_is_better => format!("{:.1}x Python's", ours / t),
        Some(t) => format!("{:.3}x Python's time", ours / t),
        None => "-".to_string(),
    };

    println!(
        "{:<44} {:>14} {:>14}  ratio",
        "benchmark", "c10k-process", "reference"
    );
    let row = |name: &str, ours: String, theirs: String, r: String| {
        println!("{name:<44} {ours:>14} {theirs:>14}  {r}")
    };
    let fmt = |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |v| format!("{v:.2} {unit}"));
    row(
        "queue 1p1c, 64 B (msgs/s)",
        format!("{:.0}", queue),
        pyf("queue_msgs_per_s").map_or("-".into(), |v| format!("{v:.0}")),
        ratio(queue, pyf("queue_msgs_per_s"), true),
    );
    row(
        "pipe round trip p50",
        format!("{p50:.2} us"),
        fmt(pyf("pipe_rtt_p50_us"), "us"),
        ratio(p50, pyf("pipe_rtt_p50_us"), false),
    );
    row(
        "pipe round trip p99",
        format!("{p99:.2} us"),
        fmt(pyf("pipe_rtt_p99_us"), "us"),
        ratio(p99, pyf("pipe_rtt_p99_us"), false),
    );
    row(
        "spawn + join, spawn method",
        format!("{spawn:.2} ms"),
        fmt(pys("spawn"), "ms"),
        ratio(spawn, pys("spawn"), false),
    );
    row(
        "spawn + join, forkserver method",
        format!("{forkserver:.2} ms"),
        fmt(pys("forkserver"), "ms"),
        ratio(forkserver, pys("forkserver"), false),
    );
    row(
        "spawn + join, ours vs Python fork",
        format!("{forkserver:.2} ms"),
        fmt(pys("fork"), "ms"),
        ratio(forkserver, pys("fork"), false),
    );
    row(
        "Lock acquire+release, uncontended",
        format!("{lock:.1} ns"),
        format!("{std_mutex:.1} ns"),
        format!("{:.2}x std::sync::Mutex's time", lock / std_mutex),
    );
    if let Some(l) = pyf("lock_ns") {
        row(
            "  (Python multiprocessing.Lock)",
            String::new(),
            format!("{l:.1} ns"),
            String::new(),
        );
    }
    let ours = serde_json::json!({
        "queue_msgs_per_s": queue, "pipe_rtt_p50_us": p50, "pipe_rtt_p99_us": p99,
        "spawn_join_ms": {"spawn": spawn, "forkserver": forkserver},
        "lock_ns": lock, "std_mutex_ns": std_mutex,
    });
    println!(
        "{}",
        serde_json::json!({"c10k_process": ours, "python": py})
    );
}
