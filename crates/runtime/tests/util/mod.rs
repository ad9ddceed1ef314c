//! Helpers shared by the runtime's integration tests.
#![allow(dead_code)]

use std::io;

use c10k_runtime::Runtime;

/// The two flavors every scheduler test runs on.
pub(crate) fn runtimes() -> io::Result<Vec<(&'static str, Runtime)>> {
    Ok(vec![
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
    ])
}

/// Every scheduler flavor crossed with every selector backend.
pub(crate) fn runtimes_all_backends() -> io::Result<Vec<(String, Runtime)>> {
    let mut v = Vec::new();
    for b in c10k_runtime::driver::Backend::ALL {
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
