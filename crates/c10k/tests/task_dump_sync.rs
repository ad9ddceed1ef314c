//! `c10k::dump()` for tasks blocked on `c10k-sync`'s primitives and channels: the kind of
//! each, and a lock's holder, recorded through `c10k_wait` although `c10k-sync` knows
//! nothing of the runtime. Both schedulers.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use c10k::sync::channel::{broadcast, mpmc, mpsc, oneshot, watch};
use c10k::sync::{Barrier, Condvar, Event, Mutex, Notify, Queue, RwLock, Semaphore};
use c10k::task::dump::{ChannelKind, ChannelOp, Dump, SyncKind, TaskState, WaitOn};
use c10k::task::{self, Id};
use c10k::Runtime;

/// Takes dumps, letting the runtime run in between, until every task of `want` is idle and
/// waits on what it maps to (fails after 20 s, printing the last dump).
async fn dump_until(want: &[(Id, WaitOn)]) -> Dump {
    let start = Instant::now();
    loop {
        let dump = c10k::dump();
        let ok = want.iter().all(|(id, w)| {
            dump.tasks()
                .iter()
                .any(|t| t.id() == *id && t.state() == TaskState::Idle && t.waiting_on() == Some(w))
        });
        if ok {
            return dump;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the tasks did not reach their awaits; wanted {want:?}; last dump:\n{dump}"
        );
        c10k::time::sleep(Duration::from_millis(1)).await;
    }
}

fn sync(kind: SyncKind, holder: Option<Id>) -> WaitOn {
    WaitOn::Sync { kind, holder }
}

fn chan(kind: ChannelKind, op: ChannelOp) -> WaitOn {
    WaitOn::Channel { kind, op }
}

#[test]
fn a_dump_names_the_primitive_and_the_holder() -> io::Result<()> {
    let runtimes = [
        (
            "current_thread",
            Runtime::builder().current_thread().build()?,
        ),
        (
            "multi_thread",
            Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .build()?,
        ),
    ];
    for (flavor, rt) in runtimes {
        rt.block_on(async {
            let mut want = Vec::new();
            let mut tasks = Vec::new();

            // A mutex held by a task that waits forever, and a task waiting for it.
            let mutex = Arc::new(Mutex::new(()));
            let (held_tx, held_rx) = oneshot::channel::<()>();
            let m = Arc::clone(&mutex);
            let holder = task::Builder::new().name("holder").spawn(async move {
                let _guard = m.lock().await;
                held_tx.send(()).unwrap();
                std::future::pending::<()>().await;
            });
            held_rx.await.unwrap();
            let m = Arc::clone(&mutex);
            let waiter = c10k::spawn(async move { drop(m.lock().await) });
            want.push((waiter.id(), sync(SyncKind::Mutex, Some(holder.id()))));
            tasks.push(waiter.abort_handle());
            tasks.push(holder.abort_handle());

            // A writer behind a reader held by this (non-task) future: no holder.
            let rw = Arc::new(RwLock::new(()));
            let read = rw.read().await;
            let r = Arc::clone(&rw);
            let writer = c10k::spawn(async move { drop(r.write().await) });
            want.push((writer.id(), sync(SyncKind::RwLockWrite, None)));
            tasks.push(writer.abort_handle());

            let sem = Arc::new(Semaphore::new(0));
            let s = Arc::clone(&sem);
            let t = c10k::spawn(async move { drop(s.acquire().await) });
            want.push((t.id(), sync(SyncKind::Semaphore, None)));
            tasks.push(t.abort_handle());

            let event = Arc::new(Event::new());
            let e = Arc::clone(&event);
            let t = c10k::spawn(async move { e.wait().await });
            want.push((t.id(), sync(SyncKind::Event, None)));
            tasks.push(t.abort_handle());

            let notify = Arc::new(Notify::new());
            let n = Arc::clone(&notify);
            let t = c10k::spawn(async move { n.notified().await });
            want.push((t.id(), sync(SyncKind::Notify, None)));
            tasks.push(t.abort_handle());

            let barrier = Arc::new(Barrier::new(2));
            let b = Arc::clone(&barrier);
            let t = c10k::spawn(async move { b.wait().await.is_leader() });
            want.push((t.id(), sync(SyncKind::Barrier, None)));
            tasks.push(t.abort_handle());

            let pair = Arc::new((Mutex::new(false), Condvar::new()));
            let p = Arc::clone(&pair);
            let t = c10k::spawn(async move {
                let guard = p.0.lock().await;
                drop(p.1.wait(guard).await);
            });
            want.push((t.id(), sync(SyncKind::Condvar, None)));
            tasks.push(t.abort_handle());

            let (_mpsc_tx, mut mpsc_rx) = mpsc::unbounded::<u8>();
            let t = c10k::spawn(async move { mpsc_rx.recv().await });
            want.push((t.id(), chan(ChannelKind::Mpsc, ChannelOp::Recv)));
            tasks.push(t.abort_handle());

            let (full_tx, _full_rx) = mpmc::bounded::<u8>(1);
            full_tx.send(1).await.unwrap();
            let t = c10k::spawn(async move { full_tx.send(2).await.map_err(drop) });
            want.push((t.id(), chan(ChannelKind::Mpmc, ChannelOp::Send)));
            tasks.push(t.abort_handle());

            let (_one_tx, one_rx) = oneshot::channel::<u8>();
            let t = c10k::spawn(async move { one_rx.await.map_err(drop) });
            want.push((t.id(), chan(ChannelKind::Oneshot, ChannelOp::Recv)));
            tasks.push(t.abort_handle());

            let (_watch_tx, mut watch_rx) = watch::channel(0u8);
            let t = c10k::spawn(async move { watch_rx.changed().await.map_err(drop) });
            want.push((t.id(), chan(ChannelKind::Watch, ChannelOp::Recv)));
            tasks.push(t.abort_handle());

            let (_bc_tx, mut bc_rx) = broadcast::channel::<u8>(4);
            let t = c10k::spawn(async move { bc_rx.recv().await.map_err(drop) });
            want.push((t.id(), chan(ChannelKind::Broadcast, ChannelOp::Recv)));
            tasks.push(t.abort_handle());

            let queue = Arc::new(Queue::<u8>::bounded(1));
            let q = Arc::clone(&queue);
            let t = c10k::spawn(async move { q.get().await.map_err(drop) });
            want.push((t.id(), chan(ChannelKind::Queue, ChannelOp::Recv)));
            tasks.push(t.abort_handle());

            let dump = dump_until(&want).await;
            println!("{flavor}:\n{dump}");
            let text = dump.to_string();
            assert!(
                text.contains(&format!("mutex held by task {}", holder.id())),
                "{flavor}: {text}"
            );
            assert!(text.contains("mpsc channel receive (empty)"), "{text}");
            assert!(text.contains("mpmc channel send (full)"), "{text}");

            // A full queue's putter and a joiner of its unfinished item.
            for t in &tasks {
                t.abort();
            }
            let queue = Arc::new(Queue::<u8>::bounded(1));
            queue.put(1).await.unwrap();
            let q = Arc::clone(&queue);
            let putter = c10k::spawn(async move { q.put(2).await.map_err(drop) });
            let q = Arc::clone(&queue);
            let joiner = c10k::spawn(async move { q.join().await });
            dump_until(&[
                (putter.id(), chan(ChannelKind::Queue, ChannelOp::Send)),
                (joiner.id(), sync(SyncKind::QueueJoin, None)),
            ])
            .await;
            putter.abort();
            joiner.abort();
            drop(read);
        });
    }
    Ok(())
}
