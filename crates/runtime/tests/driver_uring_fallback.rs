//! The forced fallback: with `C10K_URING_DISABLE=1`, `Backend::Uring` fails `build()` with a
//! clear error and `Backend::auto()` falls back to the best readiness backend. Its own test
//! binary, because the variable is process-wide.

use std::io;

use c10k_runtime::driver::Backend;
use c10k_runtime::Runtime;

#[test]
fn disabled_uring_fails_build_and_auto_falls_back() -> io::Result<()> {
    std::env::set_var("C10K_URING_DISABLE", "1");
    let err = Runtime::builder()
        .current_thread()
        .backend(Backend::Uring)
        .build()
        .expect_err("uring must be refused while disabled");
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("uring backend is unavailable"), "{msg}");
    let err = Runtime::builder()
        .multi_thread()
        .worker_threads(2)
        .backend(Backend::Uring)
        .build()
        .expect_err("uring must be refused while disabled");
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");

    assert!(!Backend::Uring.is_available());
    assert_eq!(Backend::auto(), Backend::best());
    let rt = Runtime::builder()
        .current_thread()
        .backend(Backend::auto())
        .build()?;
    assert_eq!(rt.handle().backend(), Backend::best());
    assert_eq!(rt.block_on(async { 1 + 1 }), 2);

    std::env::remove_var("C10K_URING_DISABLE");
    if c10k_uring::is_supported().is_ok() {
        assert_eq!(Backend::auto(), Backend::Uring, "enabled again");
    }
    Ok(())
}
