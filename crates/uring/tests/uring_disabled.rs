//! `C10K_URING_DISABLE=1` makes ring setup fail with `Unsupported`, for the
//! fallback tests of the layers above. One test in its own binary, since it
//! changes the process environment.

use std::io;

use c10k_uring::{is_supported, Ring, DISABLE_ENV};

#[test]
fn the_env_hook_forces_setup_to_fail() -> io::Result<()> {
    std::env::set_var(DISABLE_ENV, "1");
    let err = Ring::new().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    assert!(err.to_string().contains(DISABLE_ENV), "{err}");
    let err = Ring::builder().entries(8).build().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    assert_eq!(
        is_supported().unwrap_err().kind(),
        io::ErrorKind::Unsupported
    );

    // Read on every call: removing it restores the real answer.
    std::env::remove_var(DISABLE_ENV);
    assert_eq!(is_supported().is_ok(), Ring::new().is_ok());
    Ok(())
}
