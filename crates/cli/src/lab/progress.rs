//! The lab's progress: an `indicatif` bar (cells done, time left) when stderr is a terminal,
//! plain lines otherwise (a log, CI, a pipe), so that a captured run reads the same as
//! before the bar existed.
//!
//! Either way each measured cell's result line is printed as it comes: above the bar on a
//! terminal (`ProgressBar::println`), as a `lab: [i/N] ...` line otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress over `total` cells (or pairs).
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
}

impl Progress {
    /// Starts the progress of `total` units, announced by `headline` (printed as a plain
    /// line in both modes); a bar only if stderr is a terminal.
    pub(crate) fn start(total: usize, headline: &str) -> Progress {
        let target = std::io::stderr()
            .is_terminal()
            .then(ProgressDrawTarget::stderr);
        Progress::with_target(total, headline, target)
    }

    /// As [`start`](Self::start), drawing on `target` (`None`: plain lines).
    pub(crate) fn with_target(
        total: usize,
        headline: &str,
        target: Option<ProgressDrawTarget>,
    ) -> Progress {
        eprintln!("{headline}");
        let bar = target.map(|target| {
            let bar = ProgressBar::with_draw_target(Some(total as u64), target);
            bar.set_style(
                ProgressStyle::with_template(
                    "lab [{bar:30}] {pos}/{len} cells, {elapsed} elapsed, ~{eta} left {msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(500));
            bar
        });
        Progress {
            bar,
            total,
            done: 0,
        }
    }

    /// One unit done, described by `line` (without the `lab: [i/N] ` prefix).
    pub(crate) fn done(&mut self, line: &str) {
        self.done += 1;
        let text = format!("lab: [{}/{}] {line}", self.done, self.total);
        match &self.bar {
            Some(bar) => {
                bar.println(text);
                bar.inc(1);
            }
            None => eprintln!("{text}"),
        }
    }

    /// One unit skipped (unavailable, interrupted): counted, nothing printed.
    pub(crate) fn skip(&mut self) {
        self.done += 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_counts_the_cells_and_plain_mode_has_none() {
        let mut p = Progress::with_target(3, "lab: test", Some(ProgressDrawTarget::hidden()));
        p.done("a");
        p.done("b");
        let bar = p.bar.as_ref().expect("a bar");
        assert_eq!((bar.position(), bar.length()), (2, Some(3)));
        p.skip();
        assert_eq!(p.bar.as_ref().map(ProgressBar::position), Some(3));
        assert_eq!(p.done, 3);
        let mut plain = Progress::with_target(2, "lab: test", None);
        plain.skip();
        plain.done("c");
        assert!(plain.bar.is_none());
        assert_eq!(plain.done, 2);
    }
}
