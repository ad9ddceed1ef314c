//! Helpers shared by the runtime's integration tests.
//!
//! # Backends
//!
//! The suites run on the IO backend named by the environment variable `C10K_TEST_BACKEND`
//! (`select`, `poll`, `epoll` or `uring`; default: the runtime's default, epoll), through
//! [`backend`], [`run`] and [`runtimes`]; `.ci/run` runs them once per backend. Tests that
//! loop over [`runtimes_all_backends`] cover every backend in every run.
#![allow(dead_code)]

use std::future::Future;
use std::io;

use c10k_runtime::driver::Backend;
use c10k_runtime::{Builder, Runtime};

/// The backend the suites run on (see the module docs).
///
/// # Panics
///
/// If `C10K_TEST_BACKEND` names no backend.
pub(crate) fn backend() -> Backend {
    match std::env::var("C10K_TEST_BACKEND") {
        Ok(name) => name
            .parse()
            .unwrap_or_else(|e| panic!("C10K_TEST_BACKEND: {e}")),
        Err(_) => Backend::best(),
    }
}

/// A builder on [`backend`].
pub(crate) fn builder() -> Builder {
    Runtime::builder().backend(backend())
}

/// `c10k_runtime::run` on [`backend`]: a current-thread runtime with a `LocalSet`.
pub(crate) fn run<F: Future>(future: F) -> F::Output {
    let rt = builder()
        .current_thread()
        .build()
        .unwrap_or_else(|e| panic!("cannot build a {} runtime: {e}", backend()));
    let local = c10k_runtime::task::LocalSet::new();
    rt.block_on(local.run_until(future))
}

/// The two flavors every scheduler test runs on, on [`backend`].
pub(crate) fn runtimes() -> io::Result<Vec<(String, Runtime)>> {
    let b = backend();
    Ok(vec![
        (
            format!("current_thread/{b}"),
            builder().current_thread().build()?,
        ),
        (
            format!("multi_thread/{b}"),
            builder().multi_thread().worker_threads(2).build()?,
        ),
    ])
}

/// Every backend available here: all of them, except io_uring where the kernel refuses it
/// (said on stderr) and `C10K_TEST_BACKEND` does not ask for it.
pub(crate) fn all_backends() -> Vec<Backend> {
    Backend::ALL
        .into_iter()
        .filter(|&b| {
            let ok = b.is_available() || b == backend();
            if !ok {
                eprintln!("note: skipping the {b} backend: unavailable here");
            }
            ok
        })
        .collect()
}

/// Every scheduler flavor crossed with every backend.
pub(crate) fn runtimes_all_backends() -> io::Result<Vec<(String, Runtime)>> {
    let mut v = Vec::new();
    for b in all_backends() {
        v.push((
            format!("current_thread/{b}"),
            Runtime::builder().current_thread().backend(b).build()?,
        ));
        v.push((
            format!("multi_thread/{b}"),
            Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .backend(b)
                .build()?,
        ));
    }
    Ok(v)
}
