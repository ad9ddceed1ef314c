//! The scheduler-independent view of a runtime, used by `spawn`, IO registration and timers.

use std::future::Future;
use std::sync::Arc;

use super::{current_thread, multi_thread};
use crate::blocking;
use crate::driver::Driver;
use crate::task::{Id, Info, JoinHandle};
use crate::time::TimeDriver;

#[derive(Clone)]
pub(crate) enum Handle {
    CurrentThread(Arc<current_thread::Handle>),
    MultiThread(Arc<multi_thread::Handle>),
}

impl Handle {
    pub(crate) fn spawn<F>(&self, future: F, id: Id, info: Info) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Handle::CurrentThread(h) => current_thread::Handle::spawn(h, future, id, info),
            Handle::MultiThread(h) => multi_thread::Handle::spawn(h, future, id, info),
        }
    }

    /// The driver new IO registrations made on this thread go to.
    pub(crate) fn io_driver(&self) -> Arc<Driver> {
        match self {
            Handle::CurrentThread(h) => Arc::clone(&h.driver),
            Handle::MultiThread(h) => h.io_driver(),
        }
    }

    /// Free and total provided buffers over the runtime's rings (`None`: no ring).
    pub(crate) fn uring_buffers(&self) -> Option<(usize, usize)> {
        let one = |d: &Driver| match d {
            Driver::Uring(u) => Some((u.buf_group().available(), u.buf_group().total())),
            Driver::Selector(_) => None,
        };
        match self {
            Handle::CurrentThread(h) => one(&h.driver),
            Handle::MultiThread(h) => h
                .drivers()
                .try_fold((0, 0), |(f, t), d| one(d).map(|(f2, t2)| (f + f2, t + t2))),
        }
    }

    pub(crate) fn time(&self) -> &Arc<TimeDriver> {
        match self {
            Handle::CurrentThread(h) => &h.time,
            Handle::MultiThread(h) => &h.time,
        }
    }

    pub(crate) fn blocking(&self) -> &blocking::Spawner {
        match self {
            Handle::CurrentThread(h) => &h.blocking,
            Handle::MultiThread(h) => &h.blocking,
        }
    }

    /// What runs around each task poll (`hooks.rs`); a `LocalSet` driven on this runtime
    /// runs its tasks with them too.
    pub(crate) fn hooks(&self) -> Option<&std::sync::Arc<crate::executor::hooks::TaskHooks>> {
        match self {
            Handle::CurrentThread(h) => h.hooks.as_ref(),
            Handle::MultiThread(h) => h.hooks.as_ref(),
        }
    }

    /// Makes the next `n` parks of the runtime's IO driver(s) fail (`park.rs`).
    pub(crate) fn inject_park_failures(&self, n: u32) {
        // Wake the drivers too: a thread already parked without a timeout would otherwise
        // never reach its next park, where the failures are taken.
        match self {
            Handle::CurrentThread(h) => {
                h.park_faults.add(n);
                h.driver.wake();
            }
            Handle::MultiThread(h) => {
                h.park_faults.add(n);
                h.drivers().for_each(Driver::wake);
            }
        }
    }

    pub(crate) fn backend(&self) -> crate::driver::Backend {
        match self {
            Handle::CurrentThread(h) => h.driver.backend(),
            Handle::MultiThread(h) => h.io_driver().backend(),
        }
    }

    /// Every live task of the runtime and its blocking pool (`task/dump.rs`).
    pub(crate) fn dump(&self) -> crate::task::dump::Dump {
        use crate::task::dump::{self, Raw};
        let started = std::time::Instant::now();
        let owned = match self {
            Handle::CurrentThread(h) => &h.owned,
            Handle::MultiThread(h) => &h.owned,
        };
        let mut raws = Vec::with_capacity(owned.len_hint() + 16);
        owned.for_each(|h| raws.push(Raw::of(h, false)));
        self.blocking().dump_into(&mut raws);
        crate::task::local::dump_into(self, &mut raws);
        dump::finish(raws, self.time().now(), started)
    }

    pub(crate) fn num_tasks_hint(&self) -> usize {
        match self {
            Handle::CurrentThread(h) => h.owned.len_hint(),
            Handle::MultiThread(h) => h.owned.len_hint(),
        }
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Handle::CurrentThread(_) => f.write_str("Handle(CurrentThread)"),
            Handle::MultiThread(h) => write!(f, "Handle(MultiThread({} workers))", h.num_workers()),
        }
    }
}
