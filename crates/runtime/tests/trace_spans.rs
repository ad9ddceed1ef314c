//! The `tracing` feature: a subscriber sees a span per task (with its name and spawn
//! location) and a `poll` span per poll, `spawned`/`completed` events in the task's span,
//! driver turns, long polls and the blocking pool's growth. Both schedulers.
//!
//! `cargo test -p c10k-runtime --features tracing --test trace_spans`

use std::fmt::Write as _;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use c10k_runtime::Runtime;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Every span created and event emitted, one line each: `span NAME fields` or
/// `event TARGET fields in PARENT-SPAN`.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Collect {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut f = Fields(String::new());
        attrs.record(&mut f);
        let line = format!("span {}{}", attrs.metadata().name(), f.0);
        self.0.lock().unwrap().push(line);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut f = Fields(String::new());
        event.record(&mut f);
        let parent = ctx
            .event_span(event)
            .map_or("-".to_owned(), |s| s.name().to_owned());
        let line = format!("event {}{} in {parent}", event.metadata().target(), f.0);
        self.0.lock().unwrap().push(line);
    }
}

#[test]
fn a_subscriber_sees_tasks_polls_turns_long_polls_and_the_pool() -> io::Result<()> {
    let collect = Collect::default();
    let subscriber = tracing_subscriber::registry().with(collect.clone());
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let runtimes = [
        (
            "current_thread",
            Runtime::builder()
                .current_thread()
                .long_poll_threshold(Duration::from_millis(5))
                .build()?,
        ),
        (
            "multi_thread",
            Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .long_poll_threshold(Duration::from_millis(5))
                .long_poll_watchdog(false)
                .build()?,
        ),
    ];
    for (flavor, rt) in runtimes {
        collect.0.lock().unwrap().clear();
        rt.block_on(async {
            let h = c10k_runtime::task::Builder::new()
                .name("traced")
                .spawn(async {
                    c10k_runtime::task::yield_now().await;
                    // A long poll: the subject of the test, not a synchronisation.
                    std::thread::sleep(Duration::from_millis(30));
                    7
                });
            assert_eq!(h.await.unwrap(), 7);
            c10k_runtime::task::spawn_blocking(|| ()).await.unwrap();
        });
        let lines = collect.0.lock().unwrap().clone();
        let has = |pred: &dyn Fn(&str) -> bool| lines.iter().any(|l| pred(l));
        let text = lines.join("\n");
        assert!(
            has(&|l| l.starts_with("span task ")
                && l.contains("task.name=\"traced\"")
                && l.contains("trace_spans.rs")),
            "{flavor}: no task span:\n{text}"
        );
        let polls = lines.iter().filter(|l| *l == "span poll").count();
        assert!(polls >= 2, "{flavor}: {polls} poll spans:\n{text}");
        assert!(
            has(&|l| l.starts_with("event c10k::task")
                && l.contains("spawned")
                && l.ends_with("in task")),
            "{flavor}:\n{text}"
        );
        assert!(
            has(&|l| l.starts_with("event c10k::task")
                && l.contains("completed")
                && l.ends_with("in task")),
            "{flavor}:\n{text}"
        );
        assert!(
            has(&|l| l.starts_with("event c10k::driver") && l.contains("turn")),
            "{flavor}:\n{text}"
        );
        assert!(
            has(&|l| l.starts_with("event c10k::long_poll") && l.contains("task_name=\"traced\"")),
            "{flavor}:\n{text}"
        );
        assert!(
            has(&|l| l.starts_with("event c10k::blocking")),
            "{flavor}:\n{text}"
        );
    }
    Ok(())
}
