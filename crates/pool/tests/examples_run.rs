//! Runs the tutorial demos of `examples/` in-process, so that they keep working (each is
//! bounded: a handful of short tasks).

#[path = "../examples/thread_pool_callback.rs"]
mod thread_pool_callback;
#[path = "../examples/thread_pool_submit.rs"]
mod thread_pool_submit;

#[test]
fn thread_pool_submit_runs() -> std::io::Result<()> {
    thread_pool_submit::main()
}

#[test]
fn thread_pool_callback_runs() -> std::io::Result<()> {
    thread_pool_callback::main()
}
