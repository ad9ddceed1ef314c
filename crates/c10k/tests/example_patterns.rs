//! Runs the logic of the `async_context_manager`, `async_iterator`, `producer_consumer` and
//! `callbacks` examples and checks what they promise.

#[allow(dead_code)]
#[path = "../examples/async_context_manager.rs"]
mod context_manager;

#[allow(dead_code)]
#[path = "../examples/async_iterator.rs"]
mod async_iterator;

#[allow(dead_code)]
#[path = "../examples/producer_consumer.rs"]
mod producer_consumer;

#[path = "../examples/callbacks.rs"]
mod callbacks;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use c10k::net::TcpListener;
use futures_util::StreamExt;

#[test]
fn context_manager_closes_on_scope_exit_and_on_error() -> io::Result<()> {
    c10k::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        // Graceful close: the server reads the data then end of file.
        {
            let client = context_manager::Client::connect(addr).await?;
            let (server, _) = listener.accept().await?;
            client.send("abc").await?;
            let mut buf = [0u8; 3];
            server.read_exact(&mut buf).await?;
            server.write_all(b"ABC").await?;
            assert_eq!(client.recv().await?, b"ABC");
            let closing = c10k::spawn(async move { client.close().await });
            let mut rest = Vec::new();
            let mut b = [0u8; 16];
            loop {
                let n = server.read(&mut b).await?;
                if n == 0 {
                    break;
                }
                rest.extend_from_slice(&b[..n]);
            }
            assert!(rest.is_empty());
            drop(server); // lets close() finish draining
            closing.await.map_err(io::Error::other)??;
        }
        // Early exit with `?`: Drop still closes the socket.
        let (tx_peer, result) = {
            let (server_side, res) = futures_util::future::join(listener.accept(), async {
                let client = context_manager::Client::connect(addr).await?;
                client.send("x").await?;
                Err::<(), _>(io::Error::other("left the with-block early"))
            })
            .await;
            (server_side?.0, res)
        };
        assert!(result.is_err());
        let mut buf = [0u8; 8];
        let n = tx_peer.read(&mut buf).await?;
        assert_eq!(&buf[..n], b"x");
        assert_eq!(
            tx_peer.read(&mut buf).await?,
            0,
            "the guard's Drop closed the connection"
        );
        Ok(())
    })
}

#[test]
fn my_range_is_a_stream() {
    c10k::run(async {
        let step = Duration::from_millis(1);
        let start = c10k::time::Instant::now();
        let v: Vec<u32> = async_iterator::MyRange::new(3, 8, step).collect().await;
        assert_eq!(v, [3, 4, 5, 6, 7]);
        assert!(start.elapsed() >= step * 5, "each value waits one step");
        let r = async_iterator::MyRange::new(0, 4, step);
        assert_eq!(futures_core::Stream::size_hint(&r), (4, Some(4)));
        assert_eq!(async_iterator::collect(r, "t").await, [0, 1, 2, 3]);
        assert_eq!(async_iterator::MyRange::new(5, 5, step).count().await, 0);
    });
}

#[test]
fn producers_and_consumers_process_every_item_once() {
    for flavor in ["current_thread", "multi_thread"] {
        let b = c10k::Runtime::builder();
        let rt = if flavor == "current_thread" {
            b.current_thread().build()
        } else {
            b.multi_thread().worker_threads(2).build()
        }
        .unwrap();
        rt.block_on(async {
            let q = Arc::new(c10k::sync::Queue::bounded(2));
            let consumers: Vec<_> = (1..=3)
                .map(|id| c10k::spawn(producer_consumer::consumer(id, Arc::clone(&q))))
                .collect();
            let producers: Vec<_> = ["a", "b", "c", "d"]
                .into_iter()
                .map(|n| c10k::spawn(producer_consumer::producer(n, Arc::clone(&q))))
                .collect();
            for p in producers {
                p.await.unwrap();
            }
            q.join().await;
            assert_eq!(q.unfinished_tasks(), 0);
            q.shutdown(false);
            let mut total = 0;
            for c in consumers {
                total += c.await.unwrap();
            }
            assert_eq!(total, 4 * producer_consumer::ITEMS, "{flavor}");
        });
    }
}

#[test]
fn callbacks_run_in_order_with_a_task_on_the_same_loop() -> io::Result<()> {
    // The example asserts that its task ran on the loop and that the loop stopped at the
    // reader's end of file.
    callbacks::main()
}
