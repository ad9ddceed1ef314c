//! Runs the `threads` example and checks the story it tells. Its own `main` (no test
//! harness), because part 2 of the demo runs this executable again as a child process.

#[path = "../examples/threads.rs"]
mod threads;

fn main() {
    if std::env::var_os(threads::CHILD_ENV).is_some() {
        threads::child();
        return;
    }
    let report = threads::demo();

    let [before, during, after] = report.active;
    assert!(during >= before + 5, "{:?}", report.active);
    assert!(after < during, "{:?}", report.active);
    assert_eq!(report.locals, ([1000, 2000, 3000], 0));

    let lines = &report.child_lines;
    let at = |line: &str| lines.iter().position(|l| l == line);
    let worker_done = at("worker: done").expect("the joined worker finished");
    let returning = at("main: joined the worker, returning now").expect("main returned");
    assert!(worker_done < returning, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("daemon: started")),
        "{lines:?}"
    );

    let (natural, forced) = report.unlocked;
    assert!((0..100).contains(&natural), "{natural}");
    assert_eq!(forced, 99, "every thread read 100 and wrote 99");
    assert_eq!(report.locked, 0, "under the lock no decrement is lost");
    println!("example_threads: ok");
}
