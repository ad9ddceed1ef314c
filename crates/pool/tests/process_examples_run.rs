//! Runs the process-pool demos of `examples/` in this one process (after one `init` with
//! all their entries), so that the tutorial ports keep working and end on their own. Each
//! demo asserts its own story (callbacks once each, in the main program; tasks in other
//! processes; every crawled page parsed by a worker). `harness = false`: a binary that starts
//! processes calls `c10k_process::init` first in its own `main`.

use std::time::Instant;

#[path = "../examples/crawler_pools.rs"]
mod crawler_pools;
#[path = "../examples/pool_apply_async.rs"]
mod pool_apply_async;
#[path = "../examples/process_pool_callback.rs"]
mod process_pool_callback;

type Demo = (&'static str, fn() -> std::io::Result<()>);

fn main() {
    let all: Vec<&'static dyn c10k_process::Registered> = [
        &[c10k_pool::PROCESS_WORKER][..],
        crawler_pools::ENTRIES,
        pool_apply_async::ENTRIES,
        process_pool_callback::ENTRIES,
    ]
    .concat();
    c10k_process::init(&all);
    let demos: &[Demo] = &[
        ("process_pool_callback", process_pool_callback::demo),
        ("pool_apply_async", pool_apply_async::demo),
        ("crawler_pools", crawler_pools::demo),
    ];
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let (mut passed, mut failed) = (0, 0);
    println!("\nrunning {} tests", demos.len());
    for (name, demo) in demos
        .iter()
        .filter(|(n, _)| filter.as_deref().is_none_or(|f| n.contains(f)))
    {
        let start = Instant::now();
        let verdict = match std::panic::catch_unwind(demo) {
            Ok(Ok(())) => {
                passed += 1;
                "ok".to_owned()
            }
            Ok(Err(e)) => {
                failed += 1;
                format!("FAILED: {e}")
            }
            Err(_) => {
                failed += 1;
                "FAILED: panicked".to_owned()
            }
        };
        println!(
            "test {name} ... {verdict} ({} ms)",
            start.elapsed().as_millis()
        );
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!("\ntest result: {verdict}. {passed} passed; {failed} failed\n");
    if failed > 0 {
        std::process::exit(1);
    }
}
