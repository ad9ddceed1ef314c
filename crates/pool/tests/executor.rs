//! `run_in_executor` over a user's `ThreadPool` and over the runtime's blocking pool.

mod util;

use c10k_pool::{run_in_executor, Executor, PoolError, ThreadPool};
use c10k_runtime::Handle;

#[test]
fn runs_on_the_chosen_pool() -> std::io::Result<()> {
    let pool = ThreadPool::builder()
        .workers(1)
        .name_prefix("mine")
        .build()?;
    let names = c10k_runtime::run(async {
        let name = || std::thread::current().name().unwrap_or("").to_owned();
        let on_pool = run_in_executor(&pool, name).await.unwrap();
        let on_runtime = run_in_executor(&Handle::current(), name).await.unwrap();
        (on_pool, on_runtime)
    });
    assert!(names.0.starts_with("mine-"), "{}", names.0);
    assert!(!names.1.starts_with("mine-"), "{}", names.1);
    Ok(())
}

#[test]
fn generic_code_takes_any_executor() -> std::io::Result<()> {
    fn total(ex: &impl Executor) -> u64 {
        let futures: Vec<_> = (1..=10u64).map(|i| ex.execute(move || i)).collect();
        futures.into_iter().map(|f| f.result().unwrap()).sum()
    }
    let pool = std::sync::Arc::new(ThreadPool::new(2)?);
    assert_eq!(total(&pool), 55);
    let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    assert_eq!(total(rt.handle()), 55);
    Ok(())
}

#[test]
fn a_panic_on_the_runtime_pool_is_the_futures_error() -> std::io::Result<()> {
    let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    let fut = rt
        .handle()
        .execute(|| -> u8 { panic!("blocking call failed (expected by the test)") });
    assert!(matches!(fut.result(), Err(PoolError::Panicked(_))));
    Ok(())
}

#[test]
fn work_the_runtime_drops_unrun_fails_with_shutdown() -> std::io::Result<()> {
    let rt = c10k_runtime::Runtime::builder()
        .current_thread()
        .max_blocking_threads(1)
        .build()?;
    let (open, g) = util::gate();
    let (started_tx, started) = util::gate();
    let busy = rt.handle().execute(move || {
        started_tx.open();
        g.pass();
    });
    started.pass();
    // Queued behind `busy` on the only blocking thread.
    let queued = rt.handle().execute(|| "never runs");
    let callback_saw = std::sync::Arc::new(std::sync::Mutex::new(None));
    let c = callback_saw.clone();
    queued.add_done_callback(move |r| {
        *c.lock().unwrap() = Some(r.err().cloned());
        open.open(); // only now may `busy` finish: the runtime has dropped `queued`
    });
    drop(rt); // cancels the queued closure, then waits for `busy`
    busy.result().unwrap();
    assert_eq!(queued.result(), Err(PoolError::Shutdown));
    assert_eq!(
        *callback_saw.lock().unwrap(),
        Some(Some(PoolError::Shutdown))
    );
    Ok(())
}
