//! c10k: serve and drive many concurrent connections on one machine.
//!
//! This facade is the crate applications depend on. It re-exports the layers:
//!
//! - [`selector`]: readiness IO multiplexing over `select`, `poll` and `epoll`;
//! - [`runtime`]: tasks, schedulers, timers and async sockets, with the most used items
//!   lifted to the top level ([`run`], [`spawn`], [`net`], [`time`], [`task`], …);
//! - [`sync`]: locks, events, channels and queues for threads and tasks;
//! - [`process`]: child processes, pipes, shared-memory queues, cross-process locks and
//!   values, and a manager (Python's `multiprocessing`);
//! - the attribute macros [`main`](macro@main) and [`test`](macro@test).
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
//! | `loop.run_in_executor` | [`spawn_blocking`] |
//! | `asyncio.sleep`, `wait_for` | [`time::sleep`], [`time::timeout`] |
//! | `loop.sock_*`, `open_connection` | [`net`] |
//! | `loop.call_soon`, `add_reader` | [`event_loop`] |
//! | `loop.add_signal_handler(SIGINT)` | [`signal::ctrl_c`] |
//! | a server's Ctrl-C: stop accepting, drain, exit | [`shutdown::Shutdown`] |
//! | `asyncio.Queue`, `Lock`, `Event` | [`sync`] |
//! | `multiprocessing.Process`, `Queue`, `Pipe`, `Lock`, `Value`, `Manager` | [`process`] |
#![forbid(unsafe_code)]

pub use c10k_process as process;
pub use c10k_runtime as runtime;
pub use c10k_selector as selector;
pub use c10k_sync as sync;

#[doc(inline)]
pub use c10k_macros::{main, test};

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
