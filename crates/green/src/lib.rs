//! Stackful coroutines for c10k: Python's generators, greenlet and gevent.
//!
//! c10k's tasks are stackless `async fn` state machines. This crate adds the other kind the
//! tutorials teach before asyncio: coroutines with their own stack, on [`corosensei`]
//! (one guard-paged stack each, committed page by page as it is touched, see [`stack`]).
//!
//! - [`generator`]: `Generator<Send, Yield, Return>` with `send`, `next`, `throw`, `close`,
//!   `state` and `yield_from` (PEP 380, point by point). Runs anywhere, no runtime needed.
//! - Green threads: a hub per OS thread runs green threads on the c10k runtime's IO driver
//!   (select, poll, epoll or io_uring); blocking calls park only the green thread:
//!   [`spawn`] → [`GreenHandle`] (`join`, `kill`, `is_dead`, `name`; a task can `.await` it),
//!   [`joinall`], [`sleep`] (zero yields), [`switch`], [`block_on`] (a future, on the hub),
//!   [`net`] (`TcpListener`, `TcpStream` with `std::io::Read`/`Write`, `UdpSocket`), and
//!   `c10k-sync`'s `_blocking` waits, which park the green thread through the parking hook
//!   `c10k_sync::park` that the hub installs.
//!
//! # Python → c10k
//!
//! | Python | c10k |
//! |---|---|
//! | `def gen(): x = yield v` | `Generator::new(\|co\| { let x = co.yield_(v)?; ... })` |
//! | `next(gen)`, `gen.send(None)` first | [`Generator::start`](generator::Generator::start), then [`resume`](generator::Generator::resume) (`S = ()`) |
//! | `gen.send(x)` | [`Generator::send`](generator::Generator::send) → `Step::Yielded(v)` / `Step::Returned(r)` |
//! | `gen.throw(e)` | [`Generator::throw`](generator::Generator::throw) |
//! | `gen.close()`, `GeneratorExit`, `finally:` | [`Generator::close`](generator::Generator::close) (unwinds: `Drop` runs) |
//! | `inspect.getgeneratorstate` | [`Generator::state`](generator::Generator::state) |
//! | `r = yield from sub` | [`Co::yield_from`](generator::Co::yield_from) |
//! | `for x in gen` | `impl Iterator for Generator<(), Y, R>` |
//! | `greenlet(f).switch()` | [`spawn`] then [`switch`] |
//! | `gevent.spawn(f)`, `g.join()`, `g.value` | [`spawn`], [`GreenHandle::join`] |
//! | `gevent.joinall(gs, timeout)` | [`joinall`] |
//! | `gevent.sleep(0)`, `gevent.sleep(s)` | [`sleep`]`(Duration::ZERO)`, [`sleep`] |
//! | `g.kill()`, `g.dead` | [`GreenHandle::kill`], [`GreenHandle::is_dead`] |
//! | `monkey.patch_all()` + `socket` | [`net::TcpStream`] / [`net::TcpListener`] / [`net::UdpSocket`]; `c10k_sync`'s `_blocking` methods |
//! | the gevent hub's loop | [`run`] / [`Hub::enter`] on the c10k runtime |
//!
//! The demos are in the facade's `examples/`: `generators` (send/next/close/throw, states,
//! `sales_sum` through `yield from`, the baozi producer/consumer), `greenlets` (switch
//! ping-pong, spawn/joinall with `sleep(0)`, synchronous vs concurrent timing),
//! `crawler_generators` (the crawler with generators on the event loop, and with green
//! threads; read beside `crawler_callbacks` and `crawler`), `green_echo` (the gevent echo
//! server, to drive with `c10k load echo -c 1000`). `c10k echo --model green` is the same
//! server in the lab.
//!
//! # One thread per hub, on purpose
//!
//! A green thread never migrates between OS threads (see the [`Hub`] docs): the hub future
//! is `!Send`, and every resume checks its thread. Thread-locals, `!Send` values and locks
//! held across a blocking call stay sound. More cores means more hubs.

pub mod generator;
mod handle;
mod hub;
pub mod net;
pub mod stack;

pub use handle::{joinall, GreenError, GreenHandle};
pub use hub::{
    block_on, in_green_thread, run, run_with, sleep, spawn, switch, yield_now, Builder, Hub,
    HubFuture, BUDGET, STACK_POOL,
};

/// Locks a mutex, ignoring poisoning: our critical sections call no user code.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
