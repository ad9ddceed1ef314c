//! The process pool: results, callbacks exactly once, map order, panics, cancel races,
//! shutdown with pending work, worker death → `BrokenPool`, `max_tasks_per_child`,
//! initializers, `terminate_workers`/`kill_workers`, `await`, both start methods, and the
//! `multiprocessing.Pool` spellings.
//!
//! `harness = false`: a binary that starts processes calls `c10k_process::init` first in
//! its own `main`. Every wait is bounded (`result_timeout`); no test sleeps to synchronize.

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use c10k_pool::{
    run_in_executor, run_in_process, Pool, PoolError, PoolFuture, ProcessExecutor, ProcessPool,
    ThreadPool,
};
use c10k_process::{Entry, Registered, StartMethod};

/// Generous: two busy cores shared with other builds.
const LIMIT: Duration = Duration::from_secs(60);

fn square(x: u64) -> u64 {
    x * x
}
static SQUARE: Entry<u64, u64> = Entry::new("t_square", square);

fn add((a, b): (i64, i64)) -> i64 {
    a + b
}
static ADD: Entry<(i64, i64), i64> = Entry::new("t_add", add);

fn boom(x: u32) -> u32 {
    if x % 2 == 1 {
        panic!("boom {x}");
    }
    x
}
static BOOM: Entry<u32, u32> = Entry::new("t_boom", boom);

fn pid(_: ()) -> u32 {
    std::process::id()
}
static PID: Entry<(), u32> = Entry::new("t_pid", pid);

fn die(code: i32) -> u32 {
    std::process::exit(code)
}
static DIE: Entry<i32, u32> = Entry::new("t_die", die);

/// Work that takes a while (the worker's own time; nothing waits on it to synchronize).
fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}
static NAP: Entry<u64, u64> = Entry::new("t_nap", nap);

static mut SEED: u64 = 0;
fn seed(v: u64) {
    // SAFETY: written once by the initializer before the worker's first job, on the
    // worker's only thread that touches it.
    unsafe { SEED = v }
}
static SEED_INIT: Entry<u64, ()> = Entry::new("t_seed_init", seed);
fn read_seed(_: ()) -> u64 {
    // SAFETY: see `seed`: same thread, after the write.
    unsafe { SEED }
}
static READ_SEED: Entry<(), u64> = Entry::new("t_read_seed", read_seed);
fn bad_init(_: ()) {
    panic!("no database");
}
static BAD_INIT: Entry<(), ()> = Entry::new("t_bad_init", bad_init);

fn byte_len(v: Vec<u8>) -> usize {
    v.len()
}
static BYTE_LEN: Entry<Vec<u8>, usize> = Entry::new("t_byte_len", byte_len);
fn zeros(n: usize) -> Vec<u8> {
    vec![0; n]
}
static ZEROS: Entry<usize, Vec<u8>> = Entry::new("t_zeros", zeros);

/// Connects to a loopback port and waits (bounded) for one byte; whether it came.
fn wait_byte(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(LIMIT));
    s.read_exact(&mut [0u8]).is_ok()
}
static WAIT_BYTE: Entry<u16, bool> = Entry::new("t_wait_byte", wait_byte);

const ENTRIES: &[&dyn Registered] = &[
    c10k_pool::PROCESS_WORKER,
    &WAIT_BYTE,
    &BYTE_LEN,
    &ZEROS,
    &SQUARE,
    &ADD,
    &BOOM,
    &PID,
    &DIE,
    &NAP,
    &SEED_INIT,
    &READ_SEED,
    &BAD_INIT,
];

fn fail(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

fn get<T: Send + 'static>(mut f: PoolFuture<T>) -> Result<T, PoolError> {
    let r = f.result_timeout(LIMIT);
    assert_ne!(
        r.as_ref().err(),
        Some(&PoolError::Timeout),
        "a future stayed pending for {LIMIT:?}"
    );
    r
}

fn results_and_callbacks_exactly_once() -> io::Result<()> {
    let pool = ProcessPool::new(2)?;
    let calls = Arc::new(AtomicUsize::new(0));
    let futs: Vec<_> = (0..200u64)
        .map(|i| {
            let f = pool.submit(&SQUARE, i);
            let c = calls.clone();
            f.add_done_callback(move |r| {
                assert_eq!(r, Ok(&(i * i)));
                c.fetch_add(1, Ordering::SeqCst);
            });
            f
        })
        .collect();
    for (i, f) in futs.into_iter().enumerate() {
        let c = calls.clone();
        f.wait_timeout(LIMIT);
        // Added after completion: runs at once, on this thread, once.
        f.add_done_callback(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(get(f), Ok((i * i) as u64));
    }
    pool.shutdown(true, false);
    let n = calls.load(Ordering::SeqCst);
    if n != 400 {
        return Err(fail(format!("{n} callbacks ran, expected 400")));
    }
    Ok(())
}

fn panic_is_the_futures_error() -> io::Result<()> {
    let pool = ProcessPool::new(1)?;
    match get(pool.submit(&BOOM, 3)) {
        Err(PoolError::Panicked(m)) if m.contains("boom 3") => {}
        other => return Err(fail(format!("expected the panic, got {other:?}"))),
    }
    assert_eq!(
        get(pool.submit(&BOOM, 4)),
        Ok(4),
        "the worker survives a panic"
    );
    assert!(!pool.is_broken());
    Ok(())
}

fn map_keeps_order() -> io::Result<()> {
    let pool = ProcessPool::new(2)?;
    for chunksize in [1, 7, 1000] {
        let got: Vec<u64> = pool
            .map(&SQUARE, 0..1000u64, chunksize)
            .collect::<Result<_, _>>()
            .map_err(io::Error::from)?;
        let want: Vec<u64> = (0..1000u64).map(|i| i * i).collect();
        if got != want {
            return Err(fail(format!("map with chunksize {chunksize} out of order")));
        }
    }
    // One failing item does not spoil the others.
    let mixed: Vec<Result<u32, PoolError>> = pool.map(&BOOM, 0..10u32, 3).collect();
    for (i, r) in mixed.iter().enumerate() {
        assert_eq!(r.is_ok(), i % 2 == 0, "item {i}: {r:?}");
    }
    Ok(())
}

fn pool_spellings() -> io::Result<()> {
    let pool = Pool::new(2)?;
    assert_eq!(pool.apply(&SQUARE, 9), Ok(81));
    let seen = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let futs: Vec<_> = (0..10u32)
        .map(|i| {
            let (s, e) = (seen.clone(), errors.clone());
            pool.apply_async(
                &BOOM,
                i,
                move |v| {
                    assert_eq!(v % 2, 0);
                    s.fetch_add(1, Ordering::SeqCst);
                },
                move |err| {
                    assert!(matches!(err, PoolError::Panicked(_)));
                    e.fetch_add(1, Ordering::SeqCst);
                },
            )
        })
        .collect();
    for f in futs {
        f.wait_timeout(LIMIT);
    }
    assert_eq!(
        (seen.load(Ordering::SeqCst), errors.load(Ordering::SeqCst)),
        (5, 5)
    );
    assert_eq!(pool.map(&SQUARE, 1..=4u64, 2), Ok(vec![1, 4, 9, 16]));
    assert_eq!(pool.starmap(&ADD, [(1, 2), (3, 4)], 1), Ok(vec![3, 7]));
    let ordered: Vec<u64> = pool
        .imap(&SQUARE, 0..50u64, 4)
        .map(Result::unwrap)
        .collect();
    assert_eq!(ordered, (0..50u64).map(|i| i * i).collect::<Vec<_>>());
    let unordered: HashSet<u64> = pool
        .imap_unordered(&SQUARE, 0..50u64, 4)
        .map(Result::unwrap)
        .collect();
    assert_eq!(unordered, (0..50u64).map(|i| i * i).collect::<HashSet<_>>());
    let early = pool
        .join()
        .expect_err("join before close is an error, as in Python");
    assert_eq!(early.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        pool.apply(&SQUARE, 3),
        Ok(9),
        "a refused join leaves the pool open"
    );
    pool.close();
    pool.join()?;
    assert_eq!(pool.apply(&SQUARE, 2), Err(PoolError::Shutdown));
    Ok(())
}

fn cancel_races_complete_each_future_once() -> io::Result<()> {
    // One worker, one job in the shared queue: most of the 300 wait in the backlog, and a
    // second thread cancels them all while the worker runs the first ones.
    let pool = ProcessPool::builder().workers(1).queue_depth(1).build()?;
    let calls = Arc::new(AtomicUsize::new(0));
    let futs: Vec<_> = (0..300u64)
        .map(|i| {
            let f = pool.submit(&SQUARE, i);
            let c = calls.clone();
            f.add_done_callback(move |_| {
                c.fetch_add(1, Ordering::SeqCst);
            });
            f
        })
        .collect();
    // The canceller races the collector, which moves backlog jobs into the queue.
    let cancelled = std::thread::scope(|s| {
        s.spawn(|| futs.iter().rev().filter(|f| f.cancel()).count())
            .join()
    })
    .map_err(|_| fail("the canceller panicked"))?;
    let mut seen_cancelled = 0;
    for (i, f) in futs.into_iter().enumerate() {
        match get(f) {
            Err(PoolError::Cancelled) => seen_cancelled += 1,
            Ok(v) => assert_eq!(v, (i * i) as u64),
            Err(e) => return Err(fail(format!("future {i}: {e}"))),
        }
    }
    assert_eq!(
        seen_cancelled, cancelled,
        "cancel() said true exactly for the cancelled futures"
    );
    pool.shutdown(true, false);
    let n = calls.load(Ordering::SeqCst);
    if n != 300 {
        return Err(fail(format!("{n} callbacks for 300 futures")));
    }
    Ok(())
}

fn cancelled_means_never_ran() -> io::Result<()> {
    let pool = ProcessPool::builder().workers(1).queue_depth(1).build()?;
    let futs: Vec<_> = (0..100u64).map(|i| pool.submit(&SQUARE, i)).collect();
    let cancelled: Vec<bool> = futs.iter().map(|f| f.cancel()).collect();
    let mut n_cancelled = 0;
    for (i, (f, c)) in futs.into_iter().zip(cancelled).enumerate() {
        assert_eq!(f.cancelled(), c);
        match get(f) {
            Err(PoolError::Cancelled) => {
                assert!(c);
                n_cancelled += 1;
            }
            Ok(v) => assert_eq!((v, c), ((i * i) as u64, false)),
            other => return Err(fail(format!("future {i}: {other:?}"))),
        }
    }
    if n_cancelled == 0 {
        return Err(fail(
            "with one job queued at a time, the backlog should be cancellable",
        ));
    }
    Ok(())
}

fn shutdown_with_pending_work() -> io::Result<()> {
    // Without cancelling: everything submitted runs.
    let pool = ProcessPool::builder().workers(2).queue_depth(2).build()?;
    let futs: Vec<_> = (0..200u64).map(|i| pool.submit(&SQUARE, i)).collect();
    pool.shutdown(true, false);
    assert_eq!(pool.pending(), 0);
    for (i, f) in futs.into_iter().enumerate() {
        assert!(f.done(), "shutdown(wait) returned with future {i} pending");
        assert_eq!(get(f), Ok((i * i) as u64));
    }
    assert_eq!(get(pool.submit(&SQUARE, 1)), Err(PoolError::Shutdown));
    assert!(pool.worker_pids().is_empty());
    assert!(!pool.is_broken());

    // Cancelling: the backlog is cancelled, the rest runs, nothing stays pending.
    let pool = ProcessPool::builder().workers(1).queue_depth(1).build()?;
    let futs: Vec<_> = (0..200u64).map(|i| pool.submit(&SQUARE, i)).collect();
    pool.shutdown(true, true);
    let mut cancelled = 0;
    for (i, f) in futs.into_iter().enumerate() {
        assert!(f.done());
        match get(f) {
            Ok(v) => assert_eq!(v, (i * i) as u64),
            Err(PoolError::Cancelled) => cancelled += 1,
            Err(e) => return Err(fail(format!("future {i}: {e}"))),
        }
    }
    if cancelled == 0 {
        return Err(fail(
            "shutdown(cancel_futures) cancelled nothing of a 200-job backlog",
        ));
    }
    Ok(())
}

fn worker_death_breaks_the_pool() -> io::Result<()> {
    for code in [7, 0] {
        let pool = ProcessPool::new(2)?;
        let slow: Vec<_> = (0..4).map(|_| pool.submit(&NAP, 50)).collect();
        let dead = pool.submit(&DIE, code);
        match get(dead) {
            Err(PoolError::BrokenPool(why)) => println!("  exit({code}) in a job: {why}"),
            other => return Err(fail(format!("exit({code}) in a job gave {other:?}"))),
        }
        for f in slow {
            // Done before the death (a value) or broken with it: never pending.
            match get(f) {
                Ok(50) | Err(PoolError::BrokenPool(_)) => {}
                other => return Err(fail(format!("a job beside the dead one: {other:?}"))),
            }
        }
        assert!(pool.is_broken());
        assert!(matches!(
            get(pool.submit(&SQUARE, 2)),
            Err(PoolError::BrokenPool(_))
        ));
        drop(pool); // joins: every worker is gone
    }
    // A fresh pool works.
    assert_eq!(get(ProcessPool::new(1)?.submit(&SQUARE, 3)), Ok(9));
    Ok(())
}

fn max_tasks_per_child_recycles_workers() -> io::Result<()> {
    let pool = ProcessPool::builder()
        .workers(1)
        .max_tasks_per_child(3)
        .build()?;
    let mut pids = Vec::new();
    for _ in 0..9 {
        pids.push(get(pool.submit(&PID, ()))?);
    }
    let distinct: HashSet<u32> = pids.iter().copied().collect();
    if distinct.len() != 3 {
        return Err(fail(format!(
            "9 jobs, 3 per child: expected 3 workers, saw {pids:?}"
        )));
    }
    for w in pids.chunks(3) {
        assert!(
            w.iter().all(|p| *p == w[0]),
            "a worker ran other than 3 jobs in a row: {pids:?}"
        );
    }
    assert!(!pool.is_broken());
    Ok(())
}

fn initializer_runs_in_each_worker() -> io::Result<()> {
    let pool = ProcessPool::builder()
        .workers(2)
        .initializer(&SEED_INIT, 42)
        .build()?;
    for _ in 0..10 {
        assert_eq!(get(pool.submit(&READ_SEED, ())), Ok(42));
    }
    let pool = ProcessPool::builder()
        .workers(1)
        .initializer(&BAD_INIT, ())
        .build()?;
    match get(pool.submit(&SQUARE, 2)) {
        Err(PoolError::BrokenPool(why)) if why.contains("no database") => Ok(()),
        other => Err(fail(format!("a failing initializer gave {other:?}"))),
    }
}

fn terminate_and_kill_workers() -> io::Result<()> {
    for kill in [false, true] {
        let pool = ProcessPool::new(2)?;
        let long: Vec<_> = (0..2).map(|_| pool.submit(&NAP, 30_000)).collect();
        let waiting = pool.submit(&SQUARE, 5);
        let started = Instant::now();
        if kill {
            pool.kill_workers();
        } else {
            pool.terminate_workers();
        }
        for f in long {
            match get(f) {
                Err(PoolError::BrokenPool(why)) => assert!(
                    why.contains(if kill {
                        "kill_workers"
                    } else {
                        "terminate_workers"
                    }),
                    "{why}"
                ),
                other => return Err(fail(format!("a terminated job: {other:?}"))),
            }
        }
        assert!(get(waiting).is_err());
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "the workers were not stopped"
        );
        assert!(matches!(
            get(pool.submit(&SQUARE, 1)),
            Err(PoolError::Shutdown | PoolError::BrokenPool(_))
        ));
    }
    Ok(())
}

fn await_from_a_task() -> io::Result<()> {
    let pool = ProcessPool::new(2)?;
    let sum = c10k_runtime::run(async {
        let mut sum = 0;
        for i in 0..20u64 {
            sum += pool.submit(&SQUARE, i).await.expect("a value");
        }
        sum
    });
    assert_eq!(sum, (0..20u64).map(|i| i * i).sum());
    Ok(())
}

/// `run_in_process`, asyncio's `run_in_executor(process_pool, f, arg)`: generic code takes
/// any process executor, and awaiting the future leaves the task's thread free: here a
/// second task on the same (single) scheduler thread must run while the first awaits, or
/// the first's job never sees its event set.
fn run_in_process_from_tasks() -> io::Result<()> {
    async fn squares(executor: &impl ProcessExecutor, n: u64) -> u64 {
        let mut sum = 0;
        for i in 0..n {
            sum += run_in_process(executor, &SQUARE, i).await.expect("a value");
        }
        sum
    }
    let pool = Arc::new(ProcessPool::new(2)?);
    let mp = Pool::from(ProcessPool::new(1)?);
    let threads = ThreadPool::new(1)?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let (a, b, c, answered) = c10k_runtime::run(async {
        let waiting = run_in_process(&pool, &WAIT_BYTE, port);
        let answer = async {
            // Runs only if the scheduler gets the thread back while `waiting` is pending.
            c10k_runtime::task::yield_now().await;
            run_in_executor(&threads, move || {
                use std::io::Write;
                let (mut s, _) = listener.accept()?;
                s.write_all(b"x")
            })
            .await
            .expect("a thread-pool job")
        };
        let (sent, answered) = futures_util::join!(answer, waiting);
        sent.expect("the byte was sent");
        let a = squares(&pool, 10).await;
        let b = squares(&mp, 10).await;
        let c = squares(&pool.clone(), 10).await;
        (a, b, c, answered.expect("the waiting job"))
    });
    let want: u64 = (0..10u64).map(|i| i * i).sum();
    assert_eq!((a, b, c), (want, want, want));
    assert!(
        answered,
        "the scheduler ran the answer while the first task awaited"
    );
    Ok(())
}

fn forkserver_workers() -> io::Result<()> {
    let pool = ProcessPool::builder()
        .workers(2)
        .start_method(StartMethod::Forkserver)
        .max_tasks_per_child(5)
        .build()?;
    let got: Vec<u64> = pool
        .map(&SQUARE, 0..40u64, 1)
        .collect::<Result<_, _>>()
        .map_err(io::Error::from)?;
    assert_eq!(got, (0..40u64).map(|i| i * i).collect::<Vec<_>>());
    let dead = pool.submit(&DIE, 9);
    assert!(matches!(get(dead), Err(PoolError::BrokenPool(_))));
    Ok(())
}

fn unregistered_worker_is_a_clear_error() -> io::Result<()> {
    // `PROCESS_WORKER` is registered here, so check the error path through an entry that is
    // not: a job naming it fails alone, with the reason.
    fn stray(x: u8) -> u8 {
        x
    }
    static STRAY: Entry<u8, u8> = Entry::new("t_stray_not_registered", stray);
    let pool = ProcessPool::new(1)?;
    match get(pool.submit(&STRAY, 1)) {
        Err(PoolError::Failed(why)) if why.contains("not registered") => {}
        other => return Err(fail(format!("an unregistered entry gave {other:?}"))),
    }
    assert_eq!(get(pool.submit(&SQUARE, 2)), Ok(4));
    Ok(())
}

type Test = (&'static str, fn() -> io::Result<()>);

/// Several threads submit into a 1-deep queue while the collector refills it: the backlog
/// hand-off between a submit (which may find the queue full) and the collector (which looks
/// at the backlog without the lock after each result) must never leave a job behind.
fn concurrent_submitters_strand_no_job() -> io::Result<()> {
    let pool = ProcessPool::builder().workers(2).queue_depth(1).build()?;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let pool = &pool;
                s.spawn(move || {
                    let futs: Vec<_> = (0..300u64)
                        .map(|i| (t * 1000 + i, pool.submit(&SQUARE, t * 1000 + i)))
                        .collect();
                    for (x, f) in futs {
                        assert_eq!(get(f), Ok(x * x));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| fail("a submitter failed"))?;
        }
        Ok::<(), io::Error>(())
    })?;
    assert_eq!(pool.pending(), 0);
    Ok(())
}

fn message_size_limits() -> io::Result<()> {
    const MIB: usize = 1 << 20;
    let pool = ProcessPool::new(1)?;
    // A job over the default 1 MiB fails alone, with both sizes in its error.
    match get(pool.submit(&BYTE_LEN, vec![1u8; 2 * MIB])) {
        Err(PoolError::Failed(why)) => assert!(why.contains("2097"), "{why}"),
        other => return Err(fail(format!("an oversized job: {other:?}"))),
    }
    match get(pool.submit(&ZEROS, 2 * MIB)) {
        Err(PoolError::Failed(why)) => assert!(why.contains("cannot travel back"), "{why}"),
        other => return Err(fail(format!("an oversized result: {other:?}"))),
    }
    assert_eq!(get(pool.submit(&BYTE_LEN, vec![1u8; 1000]))?, 1000);
    drop(pool);
    // The knobs raise both limits.
    let big = ProcessPool::builder()
        .workers(1)
        .max_job_bytes(4 * MIB as u32)
        .max_result_bytes(4 * MIB as u32)
        .build()?;
    assert_eq!(get(big.submit(&BYTE_LEN, vec![1u8; 2 * MIB]))?, 2 * MIB);
    assert_eq!(get(big.submit(&ZEROS, 2 * MIB))?.len(), 2 * MIB);
    Ok(())
}

fn main() {
    c10k_process::init(ENTRIES);
    let tests: &[Test] = &[
        (
            "results_and_callbacks_exactly_once",
            results_and_callbacks_exactly_once,
        ),
        ("panic_is_the_futures_error", panic_is_the_futures_error),
        ("map_keeps_order", map_keeps_order),
        ("pool_spellings", pool_spellings),
        (
            "cancel_races_complete_each_future_once",
            cancel_races_complete_each_future_once,
        ),
        ("cancelled_means_never_ran", cancelled_means_never_ran),
        ("shutdown_with_pending_work", shutdown_with_pending_work),
        ("worker_death_breaks_the_pool", worker_death_breaks_the_pool),
        (
            "max_tasks_per_child_recycles_workers",
            max_tasks_per_child_recycles_workers,
        ),
        (
            "initializer_runs_in_each_worker",
            initializer_runs_in_each_worker,
        ),
        ("terminate_and_kill_workers", terminate_and_kill_workers),
        ("await_from_a_task", await_from_a_task),
        ("run_in_process_from_tasks", run_in_process_from_tasks),
        ("forkserver_workers", forkserver_workers),
        (
            "concurrent_submitters_strand_no_job",
            concurrent_submitters_strand_no_job,
        ),
        ("message_size_limits", message_size_limits),
        (
            "unregistered_worker_is_a_clear_error",
            unregistered_worker_is_a_clear_error,
        ),
    ];
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in tests
        .iter()
        .filter(|(n, _)| filter.as_deref().is_none_or(|f| n.contains(f)))
    {
        let start = Instant::now();
        match std::panic::catch_unwind(test) {
            Ok(Ok(())) => {
                passed += 1;
                println!("test {name} ... ok ({} ms)", start.elapsed().as_millis());
            }
            Ok(Err(e)) => {
                failed += 1;
                println!("test {name} ... FAILED: {e}");
            }
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED: panicked");
            }
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed\n",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
