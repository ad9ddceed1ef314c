//! `Pipe` and `Queue`/`JoinableQueue` between processes: ping-pong, EOF, one-way pipes,
//! timeouts, async ends, many producers and consumers exactly once, close, joinable
//! queues, oversized items, and a producer killed mid-stream. Runs with `harness = false`
//! (see `tests/util`).

mod util;

use std::collections::HashSet;
use std::io;
use std::time::Duration;

use c10k_process::{
    Array, Connection, Entry, Event, GetError, JoinableQueue, Pipe, Process, PutError, Queue,
    StartMethod,
};
use util::fail;

/// Answers each number with its double until the pipe closes; returns how many.
fn doubler(mut conn: Connection) -> u64 {
    let mut n = 0;
    while let Ok(x) = conn.recv::<u64>() {
        conn.send(&(x * 2)).unwrap();
        n += 1;
    }
    n
}
static DOUBLER: Entry<Connection, u64> = Entry::new("doubler", doubler);

fn send_and_close(mut conn: Connection) {
    conn.send(&(42u32, None::<u8>, "hello".to_string()))
        .unwrap();
}
static SEND_AND_CLOSE: Entry<Connection, ()> = Entry::new("send_and_close", send_and_close);

fn produce((q, from, n): (Queue<u64>, u64, u64)) {
    for i in from..from + n {
        q.put(i).unwrap();
    }
}
static PRODUCE: Entry<(Queue<u64>, u64, u64), ()> = Entry::new("produce", produce);

/// Takes items until it gets the sentinel `u64::MAX`; returns them.
fn consume(q: Queue<u64>) -> Vec<u64> {
    let mut got = Vec::new();
    loop {
        match q.get() {
            Ok(u64::MAX) => return got,
            Ok(x) => got.push(x),
            Err(e) => panic!("{e}"),
        }
    }
}
static CONSUME: Entry<Queue<u64>, Vec<u64>> = Entry::new("consume", consume);

fn worker(q: JoinableQueue<u64>) -> u64 {
    let mut sum = 0;
    loop {
        match q.get() {
            Ok(x) => {
                sum += x;
                q.task_done().unwrap();
            }
            Err(GetError::Closed) => return sum,
            Err(e) => panic!("{e}"),
        }
    }
}
static WORKER: Entry<JoinableQueue<u64>, u64> = Entry::new("worker", worker);

/// Puts 0, 1, 2, … forever (until killed), announcing the first put.
fn put_forever((q, started): (Queue<u64>, Event)) {
    let mut i = 0;
    loop {
        q.put(i).unwrap();
        if i == 0 {
            started.set();
        }
        i += 1;
    }
}
static PUT_FOREVER: Entry<(Queue<u64>, Event), ()> = Entry::new("put_forever", put_forever);

/// Takes items forever (until killed), marking each one it got; announces the first.
fn take_forever((q, taken, started): (Queue<u32>, Array<u8>, Event)) {
    loop {
        let x = q.get().unwrap();
        taken.set(x as usize, 1);
        started.set();
    }
}
static TAKE_FOREVER: Entry<(Queue<u32>, Array<u8>, Event), ()> =
    Entry::new("take_forever", take_forever);

fn pipe_ping_pong() -> io::Result<()> {
    for method in StartMethod::ALL {
        let (mut ours, theirs) = Pipe::duplex()?;
        let mut p = Process::new(&DOUBLER, theirs)?.start_method(method);
        p.start()?;
        for i in 0..200u64 {
            ours.send(&i)?;
            assert_eq!(ours.recv::<u64>()?, 2 * i);
        }
        drop(ours); // EOF for the child
        assert_eq!(p.join_value().map_err(|e| fail(e.to_string()))?, 200);
    }
    Ok(())
}

fn pipe_eof_and_types() -> io::Result<()> {
    let (mut ours, theirs) = Pipe::duplex()?;
    let mut p = Process::spawn(&SEND_AND_CLOSE, theirs)?;
    let v: (u32, Option<u8>, String) = ours.recv()?;
    assert_eq!(v, (42, None, "hello".to_string()));
    p.join()?;
    // The child exited: its end is closed, every value was received.
    let err = ours.recv::<u32>().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    // Bytes of another type: a clear error.
    let (mut a, mut b) = Pipe::duplex()?;
    a.send(&7u8)?; // not a bool
    assert_eq!(
        b.recv::<bool>().unwrap_err().kind(),
        io::ErrorKind::InvalidData
    );
    // The bad value was consumed: the next one decodes.
    a.send(&true)?;
    assert!(b.recv::<bool>()?);
    Ok(())
}

fn pipe_one_way_and_timeouts() -> io::Result<()> {
    let (mut rx, mut tx) = Pipe::one_way()?;
    assert_eq!(
        rx.send(&1u8).unwrap_err().kind(),
        io::ErrorKind::Unsupported
    );
    assert_eq!(
        tx.recv::<u8>().unwrap_err().kind(),
        io::ErrorKind::Unsupported
    );
    assert_eq!(rx.recv_timeout::<u8>(Duration::from_millis(5))?, None);
    assert!(!rx.poll(Duration::from_millis(1))?);
    tx.send(&7u8)?;
    assert!(rx.poll(Duration::from_secs(10))?);
    assert_eq!(rx.recv_timeout::<u8>(Duration::from_secs(10))?, Some(7));
    Ok(())
}

fn pipe_async() -> io::Result<()> {
    let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    rt.block_on(async {
        let (mut ours, theirs) = Pipe::duplex()?;
        let mut p = Process::spawn(&DOUBLER, theirs)?;
        for i in 0..50u64 {
            ours.send_async(&i).await?;
            assert_eq!(ours.recv_async::<u64>().await?, 2 * i);
        }
        // A value larger than the socket buffer: the async send waits for room while
        // the child reads.
        let big: Vec<u64> = (0..100_000).collect();
        let (mut a, mut b) = Pipe::duplex()?;
        let sender = c10k_runtime::spawn(async move { a.send_async(&big).await.map(|_| a) });
        let got: Vec<u64> = b.recv_async().await?;
        assert_eq!(got.len(), 100_000);
        drop(sender.await.map_err(|e| fail(format!("{e:?}")))??);
        drop(ours);
        assert_eq!(
            p.join_value_async()
                .await
                .map_err(|e| fail(e.to_string()))?,
            50
        );
        Ok(())
    })
}

/// Three producer and three consumer processes through a small queue (16 items, 256
/// bytes: both sides wait, records wrap): every item arrives exactly once.
fn queue_many_to_many() -> io::Result<()> {
    let q = Queue::<u64>::builder()
        .capacity(16)
        .buffer_bytes(256)
        .build::<u64>()?;
    let per = 2000;
    let mut producers = Vec::new();
    for k in 0..3 {
        producers.push(Process::spawn(&PRODUCE, (q.clone(), k * per, per))?);
    }
    let mut consumers = Vec::new();
    for _ in 0..3 {
        consumers.push(Process::spawn(&CONSUME, q.clone())?);
    }
    for p in &mut producers {
        assert!(p.join()?.success());
    }
    for _ in 0..3 {
        q.put(u64::MAX).map_err(|e| fail(e.to_string()))?;
    }
    let mut seen = HashSet::new();
    for c in &mut consumers {
        let got = c.join_value().map_err(|e| fail(e.to_string()))?;
        // FIFO per producer: each consumer sees each producer's items in order.
        for k in 0..3 {
            let mine: Vec<u64> = got.iter().copied().filter(|x| x / per == k).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "out of order");
        }
        for x in got {
            assert!(seen.insert(x), "{x} twice");
        }
    }
    assert_eq!(seen.len() as u64, 3 * per);
    assert!(q.is_empty());
    Ok(())
}

fn queue_try_timeout_close() -> io::Result<()> {
    let q: Queue<String> = Queue::with_capacity(2)?;
    assert!(matches!(q.try_get(), Err(GetError::Empty)));
    assert!(matches!(
        q.get_timeout(Duration::from_millis(5)),
        Err(GetError::Empty)
    ));
    q.try_put("a".into()).map_err(|e| fail(e.to_string()))?;
    q.put("b".into()).map_err(|e| fail(e.to_string()))?;
    assert!(q.is_full());
    match q.try_put("c".into()) {
        Err(PutError::Full(v)) => assert_eq!(v, "c"),
        other => return Err(fail(format!("{other:?}"))),
    }
    assert!(matches!(
        q.put_timeout("d".into(), Duration::from_millis(5)),
        Err(PutError::Full(_))
    ));
    // Too large for the ring: refused with the item back, not truncated.
    let small = Queue::<Vec<u8>>::builder()
        .buffer_bytes(64)
        .build::<Vec<u8>>()?;
    match small.put(vec![1; 100]) {
        Err(PutError::Invalid(v, e)) => {
            assert_eq!(v.len(), 100);
            assert!(e.to_string().contains("at most 32"), "{e}");
        }
        other => return Err(fail(format!("{other:?}"))),
    }
    q.close();
    assert!(q.is_closed());
    assert!(matches!(q.put("e".into()), Err(PutError::Closed(_))));
    assert_eq!(q.get().map_err(|e| fail(e.to_string()))?, "a");
    assert_eq!(q.get().map_err(|e| fail(e.to_string()))?, "b");
    assert!(matches!(q.get(), Err(GetError::Closed)));
    Ok(())
}

fn joinable_queue() -> io::Result<()> {
    let q: JoinableQueue<u64> = JoinableQueue::with_capacity(8)?;
    let mut workers: Vec<_> = (0..2)
        .map(|_| Process::spawn(&WORKER, q.clone()))
        .collect::<io::Result<_>>()?;
    for i in 1..=100 {
        q.put(i).map_err(|e| fail(e.to_string()))?;
    }
    q.join(); // every item was taken and marked done
    assert_eq!(q.unfinished(), 0);
    assert!(q.is_empty());
    q.close();
    let total: u64 = workers.iter_mut().map(|w| w.join_value().unwrap()).sum();
    assert_eq!(total, 5050);
    assert_eq!(
        q.task_done().unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    // join_timeout with an unfinished item
    let q: JoinableQueue<u8> = JoinableQueue::new()?;
    q.put(1).map_err(|e| fail(e.to_string()))?;
    assert!(!q.join_timeout(Duration::from_millis(5)));
    q.get().map_err(|e| fail(e.to_string()))?;
    q.task_done()?;
    assert!(q.join_timeout(Duration::from_secs(10)));
    Ok(())
}

fn queue_async() -> io::Result<()> {
    let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    rt.block_on(async {
        let q = Queue::<u64>::builder().capacity(4).build::<u64>()?;
        let mut p = Process::spawn(&PRODUCE, (q.clone(), 0, 500))?;
        let mut sum = 0;
        for _ in 0..500 {
            sum += q.get_async().await.map_err(|e| fail(e.to_string()))?;
        }
        assert_eq!(sum, 499 * 500 / 2);
        p.join_async().await?;
        // put_async waits for room that a consumer process makes
        let mut c = Process::spawn(&CONSUME, q.clone())?;
        for i in 0..100 {
            q.put_async(i).await.map_err(|e| fail(e.to_string()))?;
        }
        q.put_async(u64::MAX)
            .await
            .map_err(|e| fail(e.to_string()))?;
        assert_eq!(
            c.join_value_async()
                .await
                .map_err(|e| fail(e.to_string()))?,
            (0..100).collect::<Vec<_>>()
        );
        Ok(())
    })
}

/// A producer SIGKILLed at an arbitrary point of its puts: what is in the queue is a
/// gap-free prefix 0..n (no torn, lost-in-the-middle or duplicated item), and the queue
/// (its robust lock, its counters) keeps working.
fn queue_producer_killed() -> io::Result<()> {
    for round in 0..5 {
        let q = Queue::<u64>::builder()
            .capacity(64)
            .buffer_bytes(512)
            .build::<u64>()?;
        let started = Event::new()?;
        let mut p = Process::spawn(&PUT_FOREVER, (q.clone(), started.clone()))?;
        if !started.wait_timeout(Duration::from_secs(20)) {
            return Err(fail("the producer never started"));
        }
        // Take a few so that the producer is busy putting when it dies.
        let mut next = 0;
        for _ in 0..(round * 37 % 100) {
            assert_eq!(q.get().map_err(|e| fail(e.to_string()))?, next);
            next += 1;
        }
        p.kill()?;
        assert_eq!(p.join()?.signal(), Some(9));
        while let Ok(x) = q.try_get() {
            assert_eq!(x, next, "round {round}: a gap or a duplicate");
            next += 1;
        }
        // Still usable by the living.
        q.put(7).map_err(|e| fail(e.to_string()))?;
        assert_eq!(q.get().map_err(|e| fail(e.to_string()))?, 7);
    }
    Ok(())
}

/// A consumer SIGKILLed in the middle of its gets: no item is both left in the queue and
/// taken by the dead consumer (nothing duplicated), at most one item is unaccounted for
/// (the one whose get returned in the dead process before it marked it), the rest is
/// still there in order, and the queue keeps working.
fn queue_consumer_killed() -> io::Result<()> {
    let n = 3000u32;
    for _ in 0..3 {
        let q = Queue::<u32>::builder()
            .capacity(n)
            .buffer_bytes(n * 32 + 64)
            .build::<u32>()?;
        for i in 0..n {
            q.put(i).map_err(|e| fail(e.to_string()))?;
        }
        let taken = Array::filled(0u8, n as usize)?;
        let started = Event::new()?;
        let mut c = Process::spawn(&TAKE_FOREVER, (q.clone(), taken.clone(), started.clone()))?;
        if !started.wait_timeout(Duration::from_secs(20)) {
            return Err(fail("the consumer never started"));
        }
        c.kill()?;
        assert_eq!(c.join()?.signal(), Some(9));
        let mut left = Vec::new();
        while let Ok(x) = q.try_get() {
            left.push(x);
        }
        assert!(left.windows(2).all(|w| w[0] < w[1]), "out of order");
        let marked = taken.to_vec();
        for &x in &left {
            assert_eq!(marked[x as usize], 0, "{x} both taken and still queued");
        }
        let accounted = left.len() + marked.iter().filter(|&&m| m == 1).count();
        assert!(
            n as usize - accounted <= 1,
            "{} items lost",
            n as usize - accounted
        );
        q.put(1).map_err(|e| fail(e.to_string()))?;
        assert_eq!(q.get().map_err(|e| fail(e.to_string()))?, 1);
    }
    Ok(())
}

fn main() {
    c10k_process::init(&[
        &DOUBLER,
        &SEND_AND_CLOSE,
        &PRODUCE,
        &CONSUME,
        &WORKER,
        &PUT_FOREVER,
        &TAKE_FOREVER,
    ]);
    util::run(&[
        ("pipe_ping_pong", pipe_ping_pong),
        ("pipe_eof_and_types", pipe_eof_and_types),
        ("pipe_one_way_and_timeouts", pipe_one_way_and_timeouts),
        ("pipe_async", pipe_async),
        ("queue_many_to_many", queue_many_to_many),
        ("queue_try_timeout_close", queue_try_timeout_close),
        ("joinable_queue", joinable_queue),
        ("queue_async", queue_async),
        ("queue_producer_killed", queue_producer_killed),
        ("queue_consumer_killed", queue_consumer_killed),
    ]);
}
