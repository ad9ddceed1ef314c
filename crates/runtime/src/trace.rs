//! The optional `tracing` feature: what the runtime tells a `tracing` subscriber.
//!
//! | what | kind | target | level |
//! |---|---|---|---|
//! | a task, from spawn to the release of its cell | span `task` (`task.id`, `task.name`, `loc.file`, `loc.line`, `loc.col`) | `c10k::task` | TRACE |
//! | its spawn | event `spawned`, in the task's span | `c10k::task` | TRACE |
//! | each poll | span `poll`, child of the task's span, entered for the poll | `c10k::task` | TRACE |
//! | its completion (output, panic or cancellation) | event `completed`, in the task's span | `c10k::task` | TRACE |
//! | each turn of a scheduler's IO driver | event `turn` (`events`, or `error`) | `c10k::driver` | TRACE |
//! | a long poll (`Builder::long_poll_threshold`) | event (`task_id`, `task_name`, `duration_ms`, `still_running`) | `c10k::long_poll` | WARN |
//! | the blocking pool starting a thread | event (`threads`) | `c10k::blocking` | DEBUG |
//!
//! Like the task-poll hooks (`executor/hooks.rs`), all of it sits on the scheduler's side of
//! the task core. Without the feature every function here is an empty `#[inline]` one over
//! zero-sized types, so the runtime compiles to the same code as if this module did not
//! exist (and the header keeps its size, asserted in `task/header.rs`). With the feature and
//! no subscriber interested, each site costs `tracing`'s callsite-interest check; the spans
//! of a task are created only if a subscriber is interested at spawn time.
//!
//! `BENCHMARKS.md` (§ Task dump and tracing) has the measured cost.

#[cfg(feature = "tracing")]
mod on {
    use std::io;
    use std::time::Duration;

    use crate::task::{Header, Id, Info, Notified, Task};

    /// The span of one task (stored in its header).
    pub(crate) type TaskSpan = tracing::Span;

    pub(crate) fn task_span(id: Id, info: &Info) -> TaskSpan {
        let loc = info.location();
        let span = tracing::trace_span!(
            target: "c10k::task",
            "task",
            task.id = id.as_u64(),
            task.name = info.name(),
            loc.file = loc.file(),
            loc.line = loc.line(),
            loc.col = loc.column(),
        );
        tracing::trace!(target: "c10k::task", parent: &span, "spawned");
        span
    }

    /// What lives for the duration of one poll of a traced task: the entered `poll` span,
    /// and a reference that keeps the header readable after the poll (to see whether it
    /// completed). Nothing for a task whose span no subscriber wanted.
    pub(crate) struct PollGuard(Option<(Task, tracing::span::EnteredSpan)>);

    #[inline]
    pub(crate) fn begin_poll(task: &Notified) -> PollGuard {
        if task.raw().header().span.is_disabled() {
            return PollGuard(None);
        }
        let task = task.to_task();
        let header: &Header = task.0.header();
        let poll =
            tracing::trace_span!(target: "c10k::task", parent: &header.span, "poll").entered();
        PollGuard(Some((task, poll)))
    }

    impl Drop for PollGuard {
        fn drop(&mut self) {
            if let Some((task, _poll)) = &self.0 {
                let header = task.0.header();
                if header.state.load().is(crate::task::state::COMPLETE) {
                    tracing::trace!(target: "c10k::task", parent: &header.span, "completed");
                }
            }
        }
    }

    pub(crate) fn driver_turn(res: &io::Result<usize>) {
        match res {
            Ok(events) => tracing::trace!(target: "c10k::driver", events, "turn"),
            Err(e) => tracing::trace!(target: "c10k::driver", error = %e, "turn"),
        }
    }

    pub(crate) fn long_poll(id: Id, name: Option<&str>, duration: Duration, still_running: bool) {
        tracing::warn!(
            target: "c10k::long_poll",
            task_id = id.as_u64(),
            task_name = name,
            duration_ms = duration.as_secs_f64() * 1e3,
            still_running,
            "long poll"
        );
    }

    pub(crate) fn blocking_grew(threads: usize) {
        tracing::debug!(target: "c10k::blocking", threads, "blocking pool starts a thread");
    }
}

#[cfg(not(feature = "tracing"))]
mod on {
    use std::io;
    use std::time::Duration;

    use crate::task::{Id, Info, Notified};

    /// Nothing, without the feature.
    #[derive(Default)]
    pub(crate) struct TaskSpan;

    #[inline(always)]
    pub(crate) fn task_span(_id: Id, _info: &Info) -> TaskSpan {
        TaskSpan
    }

    pub(crate) struct PollGuard;

    #[inline(always)]
    pub(crate) fn begin_poll(_task: &Notified) -> PollGuard {
        PollGuard
    }

    #[inline(always)]
    pub(crate) fn driver_turn(_res: &io::Result<usize>) {}

    #[inline(always)]
    pub(crate) fn long_poll(_id: Id, _name: Option<&str>, _duration: Duration, _running: bool) {}

    #[inline(always)]
    pub(crate) fn blocking_grew(_threads: usize) {}
}

pub(crate) use on::*;
