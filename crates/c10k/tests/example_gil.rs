//! Runs the `gil` example with a small job and checks that every row counted the same primes,
//! in Rust and (where `python3` exists) in Python's threads and processes.

#[path = "../examples/gil.rs"]
mod gil;

#[test]
fn gil_demo_counts_the_same_primes_everywhere() {
    let (rust, python) = gil::demo(20_000, &[1, 2], 1);
    let primes = 2262; // below 20 000
    assert_eq!(rust.len(), 2);
    assert!(rust.iter().all(|r| r.2 == primes && r.1 > 0.0), "{rust:?}");
    let have_python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match python {
        Ok((version, threads, processes)) => {
            assert!(version.starts_with('3'), "{version}");
            for rows in [&threads, &processes] {
                assert_eq!(rows.len(), 2);
                assert!(rows.iter().all(|r| r.2 == primes), "{rows:?}");
            }
        }
        Err(why) => assert!(!have_python, "python3 is here but the script failed: {why}"),
    }
}
