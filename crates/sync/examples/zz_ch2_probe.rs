#![allow(missing_docs)]
use std::time::Instant;
const MSGS: u64 = 20_000;
fn run<S: Send, R>(
    iters: u64,
    make: impl Fn() -> (S, R),
    send: impl Fn(&S, u64) + Sync,
    recv: impl Fn(&mut R) -> u64,
) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        let (tx, mut rx) = make();
        std::thread::scope(|s| {
            let send = &send;
            s.spawn(move || {
                for i in 0..MSGS {
                    send(&tx, i);
                }
            });
            let mut sum = 0;
            for _ in 0..MSGS {
                sum += recv(&mut rx);
            }
            assert_eq!(sum, MSGS * (MSGS - 1) / 2);
        });
    }
    start.elapsed().as_secs_f64() * 1e3 / iters as f64
}
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args[1].as_str();
    let iters: u64 = args[2].parse().unwrap();
    let ms = match which {
        "c10k-unb" => run(
            iters,
            c10k_sync::channel::mpsc::unbounded,
            |t, v| t.try_send(v).unwrap(),
            |r| r.recv_blocking().unwrap(),
        ),
        "cb-unb" => run(
            iters,
            crossbeam_channel::unbounded,
            |t, v| t.send(v).unwrap(),
            |r| r.recv().unwrap(),
        ),
        "c10k-b" => run(
            iters,
            || c10k_sync::channel::mpsc::bounded(64),
            |t, v| t.send_blocking(v).unwrap(),
            |r| r.recv_blocking().unwrap(),
        ),
        "cb-b" => run(
            iters,
            || crossbeam_channel::bounded(64),
            |t, v| t.send(v).unwrap(),
            |r| r.recv().unwrap(),
        ),
        "c10k-seq" => seq(
            iters,
            c10k_sync::channel::mpsc::unbounded,
            |t, v| t.try_send(v).unwrap(),
            |r| r.recv_blocking().unwrap(),
        ),
        "cb-seq" => seq(
            iters,
            crossbeam_channel::unbounded,
            |t, v| t.send(v).unwrap(),
            |r| r.recv().unwrap(),
        ),
        "c10k-q" => qrun(
            iters,
            || c10k_sync::Queue::bounded(64),
            |q, v| q.put_blocking(v).unwrap(),
            |q| q.get_blocking().unwrap(),
        ),
        "cb-q" => qrun(
            iters,
            || crossbeam_channel::bounded(64),
            |q, v| q.0.send(v).unwrap(),
            |q| q.1.recv().unwrap(),
        ),
        _ => panic!(),
    };
    println!("{which}: {ms:.3} ms/iter");
}

fn seq<S, R>(
    iters: u64,
    make: impl Fn() -> (S, R),
    send: impl Fn(&S, u64),
    recv: impl Fn(&mut R) -> u64,
) -> f64 {
    let (mut ts, mut tr) = (0.0, 0.0);
    for _ in 0..iters {
        let (tx, mut rx) = make();
        let a = Instant::now();
        for i in 0..MSGS {
            send(&tx, i);
        }
        let b = Instant::now();
        let mut sum = 0;
        for _ in 0..MSGS {
            sum += recv(&mut rx);
        }
        ts += (b - a).as_secs_f64();
        tr += b.elapsed().as_secs_f64();
        assert_eq!(sum, MSGS * (MSGS - 1) / 2);
    }
    println!(
        "send {:.1} ns/msg recv {:.1} ns/msg",
        ts * 1e9 / (iters * MSGS) as f64,
        tr * 1e9 / (iters * MSGS) as f64
    );
    0.0
}

fn qrun<Q: Sync>(
    iters: u64,
    make: impl Fn() -> Q,
    put: impl Fn(&Q, u64) + Sync,
    get: impl Fn(&Q) -> u64 + Sync,
) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        let q = make();
        let sum: u64 = std::thread::scope(|s| {
            for p in 0..2 {
                let (q, put) = (&q, &put);
                s.spawn(move || {
                    for i in (p..MSGS).step_by(2) {
                        put(q, i);
                    }
                });
            }
            let cs: Vec<_> = (0..2)
                .map(|_| {
                    let (q, get) = (&q, &get);
                    s.spawn(move || (0..MSGS / 2).map(|_| get(q)).sum::<u64>())
                })
                .collect();
            cs.into_iter().map(|c| c.join().unwrap()).sum()
        });
        assert_eq!(sum, MSGS * (MSGS - 1) / 2);
    }
    start.elapsed().as_secs_f64() * 1e3 / iters as f64
}
