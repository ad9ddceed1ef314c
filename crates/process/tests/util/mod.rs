//! A small test runner for targets with `harness = false`: a test binary that starts
//! processes must call `c10k_process::init` first in its own `main`, which libtest's
//! generated `main` cannot do. Each test runs in turn (children are processes, so running
//! tests in parallel buys little on two cores); a panic fails the test, not the run.
//!
//! Arguments: an optional substring filter, as with libtest. The closing line is
//! `test result: ok. N passed; M failed`, and the exit code is 1 if any failed.

#![allow(dead_code)]

use std::io;
use std::time::Instant;

pub(crate) type Test = (&'static str, fn() -> io::Result<()>);

pub(crate) fn run(tests: &[Test]) {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|(name, _)| filter.as_deref().is_none_or(|f| name.contains(f)))
        .collect();
    println!("\nrunning {} tests", selected.len());
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in selected {
        let start = Instant::now();
        let outcome = std::panic::catch_unwind(test);
        let ms = start.elapsed().as_millis();
        match outcome {
            Ok(Ok(())) => {
                passed += 1;
                println!("test {name} ... ok ({ms} ms)");
            }
            Ok(Err(e)) => {
                failed += 1;
                println!("test {name} ... FAILED: {e} ({ms} ms)");
            }
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED: panicked ({ms} ms)");
            }
        }
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!("\ntest result: {verdict}. {passed} passed; {failed} failed\n");
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Fails with a message (tests return `io::Result`).
pub(crate) fn fail(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}
