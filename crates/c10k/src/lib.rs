//! c10k: serve and drive many concurrent connections on one machine.
//!
//! This facade is the crate applications depend on. It re-exports the layers:
//!
//! - [`selector`]: readiness IO multiplexing over `select`, `poll` and `epoll`;
//! - [`runtime`]: tasks, schedulers, timers and async sockets, with the most used items
//!   lifted to the top level ([`run`], [`spawn`], [`net`], [`time`], [`task`], …);
//! - [`sync`]: locks, events, channels and queues for threads and tasks;
//! - [`pool`]: thread pools whose futures can be waited on, awaited and given
//!   done-callbacks (`concurrent.futures`);
//! - [`process`]: child processes, pipes, shared-memory queues, cross-process locks and
//!   values, and a manager (Python's `multiprocessing`);
//! - [`generator`] and [`green`]: stackful coroutines, Python's generators and
//!   greenlet/gevent (the table below, and the crate's docs);
//! - the attribute macros [`main`](macro@main) and [`test`](macro@test);
//! - with the feature `hyper`, `c10k::hyper`: hyper 1.x's IO traits, executor and
//!   timer on c10k, so hyper's HTTP/1 and HTTP/2 servers and clients run on c10k;
//! - with the feature `http-client`, `c10k::http_client`: the HTTP/1.1 client of `c10k fetch`
//!   (keep-alive pool, redirects, retries, timeouts, TLS), the crate `c10k-http-client`.
//!
//! # Example: an echo server and its client
//!
//! ```
//! use c10k::net::{TcpListener, TcpStream};
//!
//! # fn main() -> std::io::Result<()> {
//! c10k::run(async {
//!     // The server: one task per connection, as in asyncio's `start_server`.
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = c10k::spawn(async move {
//!         let (stream, _peer) = listener.accept().await?;
//!         let mut buf = [0u8; 1024];
//!         loop {
//!             let n = stream.read(&mut buf).await?;
//!             if n == 0 {
//!                 break; // the client closed
//!             }
//!             stream.write_all(&buf[..n]).await?;
//!         }
//!         Ok::<(), std::io::Error>(())
//!     });
//!
//!     // The client.
//!     let client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello, c10k").await?;
//!     let mut reply = [0u8; 11];
//!     client.read_exact(&mut reply).await?;
//!     assert_eq!(&reply, b"hello, c10k");
//!     drop(client);
//!     server.await.expect("the server task panicked")?;
//!     Ok(())
//! })
//! # }
//! ```
//!
//! # The attribute macros
//!
//! ```
//! #[c10k::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     let answer = c10k::spawn(async { 42 }).await.expect("no panic");
//!     assert_eq!(answer, 42);
//!     Ok(())
//! }
//! ```
//!
//! Mistakes in their arguments are compile errors that point at the argument:
//!
//! ```compile_fail
//! #[c10k::main(flavor = "single_thread")] // unknown flavor
//! async fn main() {}
//! ```
//!
//! ```compile_fail
//! #[c10k::main(flavor = "current_thread", worker_threads = 2)] // needs multi_thread
//! async fn main() {}
//! ```
//!
//! ```compile_fail
//! #[c10k::main(backend = "kqueue")] // not a backend of c10k-selector
//! async fn main() {}
//! ```
//!
//! ```compile_fail
//! #[c10k::main(workers = 2)] // unknown argument: it is `worker_threads`
//! async fn main() {}
//! ```
//!
//! ```compile_fail
//! #[c10k::main]
//! fn main() {} // not async
//! ```
//!
//! ```compile_fail
//! #[c10k::test(worker_threads = "two")] // an integer is expected
//! async fn t() {}
//! ```
//!
//! # Where things are
//!
//! | asyncio / the tutorials | c10k |
//! |---|---|
//! | `asyncio.run(main())` | [`run`], [`#[c10k::main]`](macro@main) |
//! | `asyncio.create_task` | [`spawn`], [`task::Builder`] |
//! | `loop.run_in_executor` | [`spawn_blocking`], [`pool::run_in_executor`] (a pool of yours) |
//! | `ThreadPoolExecutor`, `Future.add_done_callback`, `as_completed` | [`pool::ThreadPool`], [`pool::PoolFuture`], [`pool::as_completed`] |
//! | `asyncio.sleep`, `wait_for` | [`time::sleep`], [`time::timeout`] |
//! | `loop.sock_*`, `open_connection` | [`net`] |
//! | `loop.call_soon`, `add_reader` | [`event_loop`] |
//! | `loop.add_signal_handler(SIGINT)` | [`signal::ctrl_c`] |
//! | a server's Ctrl-C: stop accepting, drain, exit | [`shutdown::Shutdown`] |
//! | `asyncio.Queue`, `Lock`, `Event` | [`sync`] |
//! | generator `send`/`next`/`throw`/`close`, `yield from`, `getgeneratorstate` | [`generator::Generator`], [`generator::Co::yield_from`] |
//! | greenlet `switch` | [`green::spawn`], [`green::switch`] |
//! | gevent `spawn`/`joinall`/`sleep`/`kill` | [`green::spawn`], [`green::joinall`], [`green::sleep`], [`green::GreenHandle::kill`] |
//! | gevent's monkey-patched sockets | [`green::net`] (`std::io::Read`/`Write` that park only the green thread) |
//! | the gevent hub | [`green::run`], [`green::Hub`] (one per OS thread, on the runtime's driver) |
//! | `multiprocessing.Process`, `Queue`, `Pipe`, `Lock`, `Value`, `Manager` | [`process`] |
//!
//! The generator and green-thread demos of the tutorials are the examples `generators`,
//! `greenlets`, `crawler_generators` (callbacks → generators → green threads, beside
//! `crawler_callbacks` and `crawler`) and `green_echo`.
// No unsafe code, but for one block of the `hyper` feature's module (argued there).
#![deny(unsafe_code)]

pub use c10k_pool as pool;
pub use c10k_process as process;
pub use c10k_runtime as runtime;
pub use c10k_selector as selector;
pub use c10k_sync as sync;

/// Green threads, gevent-style (the crate `c10k-green`): see its docs for the protocol.
pub use c10k_green as green;
pub use c10k_green::generator;

#[doc(inline)]
pub use c10k_macros::{main, test};

#[cfg(feature = "hyper")]
pub mod hyper;

/// An HTTP/1.1 client on c10k (the crate `c10k-http-client`, feature `http-client`).
#[cfg(feature = "http-client")]
pub use c10k_http_client as http_client;

/// What the expansions of [`main`](macro@main) and [`test`](macro@test) call; not public
/// API.
#[doc(hidden)]
pub mod __private {
    use crate::runtime::driver::Backend;

    /// The runtime's backend named `name` (as [`Backend::name`] spells it), or `None`.
    ///
    /// A `const fn` over [`Backend::ALL`]: the macros expand `backend = "NAME"` to a
    /// constant evaluated with it, so the names the macros accept are exactly the runtime's
    /// own list, checked at compile time, with no copy of the list in the macro crate.
    pub const fn backend_named(name: &str) -> Option<Backend> {
        let mut i = 0;
        while i < Backend::ALL.len() {
            if str_eq(Backend::ALL[i].name(), name) {
                return Some(Backend::ALL[i]);
            }
            i += 1;
        }
        None
    }

    const fn str_eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
}

#[doc(inline)]
pub use c10k_runtime::{net, task, time};

#[doc(inline)]
pub use c10k_runtime::{event_loop, shutdown, signal};

#[doc(inline)]
pub use c10k_runtime::{
    run, spawn, spawn_blocking, spawn_local, Builder, Handle, JoinError, JoinHandle, Runtime,
};

/// A task dump of the runtime this thread is in: every live task with its name, spawn
/// location, state and what it waits on, including `c10k-sync` locks (with their holder)
/// and channels. Shorthand for [`Handle::current().dump()`](Handle::dump); see
/// [`task::dump`].
///
/// # Panics
///
/// Outside a runtime, as [`Handle::current`].
///
/// # Examples
///
/// ```
/// use c10k::task::dump::WaitOn;
/// use c10k::sync::Mutex;
/// use std::sync::Arc;
///
/// c10k::run(async {
///     let lock = Arc::new(Mutex::new(0));
///     let guard = lock.lock().await;
///     let l2 = Arc::clone(&lock);
///     let waiter = c10k::spawn(async move { *l2.lock().await += 1 });
///     c10k::task::yield_now().await;
///     let dump = c10k::dump();
///     let t = dump.tasks().iter().find(|t| t.id() == waiter.id()).unwrap();
///     assert!(matches!(t.waiting_on(), Some(WaitOn::Sync { .. })));
///     drop(guard);
///     waiter.await.unwrap();
/// });
/// ```
#[track_caller]
pub fn dump() -> task::dump::Dump {
    Handle::current().dump()
}
