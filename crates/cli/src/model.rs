//! The IO models, listed once: [`IoModel`] is the one list that `c10k echo --model`, the
//! lab's `--models`, the help texts and the lab's table derive from.
//!
//! A model's name is its spelling everywhere (command line, tables, file names, JSON). The
//! models that run the c10k runtime (a task per connection) are exactly those whose name
//! the runtime's [`Backend`] parses: `select`, `poll`, `epoll` and `uring`. Where the kernel
//! forbids io_uring, [`IoModel::Uring`] is [unavailable](IoModel::unavailable): `c10k echo
//! --model uring` exits 2 with the reason and the lab's row says "unavailable".
//!
//! Adding a model: a variant, its entry in [`IoModel::ALL`], its [`name`](IoModel::name) and
//! [`about`](IoModel::about), and its server in `echo/`; parsing, help texts and the lab
//! follow from the list.

use std::fmt;
use std::str::FromStr;

use c10k::runtime::driver::Backend;
use clap::builder::PossibleValue;
use clap::ValueEnum;
use serde::{Serialize, Serializer};

/// An IO model the echo server is built on (the tutorials' tour of Unix IO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IoModel {
    /// Blocking sockets, a thread per connection.
    Threads,
    /// Non-blocking sockets polled in a busy loop.
    Nonblocking,
    /// The c10k runtime on select(2).
    Select,
    /// The c10k runtime on poll(2).
    Poll,
    /// The c10k runtime on epoll(7).
    Epoll,
    /// A hand-written callback loop on the selector.
    Reactor,
    /// Signal-driven IO.
    Sigio,
    /// The c10k runtime on io_uring (completion IO).
    Uring,
    /// Green threads (stackful coroutines) on a hub over the runtime's driver.
    Green,
}

impl IoModel {
    /// Every model, in the order of the tutorials (and of the lab's table).
    pub(crate) const ALL: [IoModel; 9] = [
        IoModel::Threads,
        IoModel::Nonblocking,
        IoModel::Select,
        IoModel::Poll,
        IoModel::Epoll,
        IoModel::Reactor,
        IoModel::Sigio,
        IoModel::Uring,
        IoModel::Green,
    ];

    /// The model's name, as `FromStr` accepts it and every output prints it.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            IoModel::Threads => "threads",
            IoModel::Nonblocking => "nonblocking",
            IoModel::Select => "select",
            IoModel::Poll => "poll",
            IoModel::Epoll => "epoll",
            IoModel::Reactor => "reactor",
            IoModel::Sigio => "sigio",
            IoModel::Uring => "uring",
            IoModel::Green => "green",
        }
    }

    /// One line for the help texts.
    pub(crate) const fn about(self) -> &'static str {
        match self {
            IoModel::Threads => "blocking sockets, a thread per connection",
            IoModel::Nonblocking => {
                "non-blocking sockets polled in a busy loop (a whole CPU even when idle)"
            }
            IoModel::Select => "the c10k runtime on select(2), at most FD_SETSIZE descriptors",
            IoModel::Poll => "the c10k runtime on poll(2)",
            IoModel::Epoll => "the c10k runtime on epoll(7), edge-triggered",
            IoModel::Reactor => "a hand-written callback loop on the selector (--backend)",
            IoModel::Sigio => "signal-driven IO: F_SETSIG real-time signals read from a signalfd",
            IoModel::Uring => "the c10k runtime on io_uring (completion IO)",
            IoModel::Green => {
                "a green thread per connection, blocking style, on the runtime's driver"
            }
        }
    }

    /// Whether the model's server takes CPU while it has nothing to do (`nonblocking`
    /// busy-polls): the lab pauses such a server between its measurements.
    pub(crate) const fn spins_when_idle(self) -> bool {
        matches!(self, IoModel::Nonblocking)
    }

    /// The runtime backend of a model that runs the c10k runtime (a task per connection),
    /// `None` for the others. Derived from the runtime's own list: a model is a runtime
    /// model when the runtime's [`Backend`] parses its name.
    pub(crate) fn runtime_backend(self) -> Option<Backend> {
        match self {
            // Not runtime models, whatever backends the runtime grows.
            IoModel::Threads
            | IoModel::Nonblocking
            | IoModel::Reactor
            | IoModel::Sigio
            | IoModel::Green => None,
            IoModel::Select | IoModel::Poll | IoModel::Epoll | IoModel::Uring => {
                self.name().parse().ok()
            }
        }
    }

    /// Why this build or this machine cannot run the model (a short reason), or `None`
    /// when it can.
    pub(crate) fn unavailable(self) -> Option<&'static str> {
        match (self, self.runtime_backend()) {
            (IoModel::Uring, Some(backend)) if !backend.is_available() => Some(
                "io_uring is unavailable here (a seccomp profile, kernel.io_uring_disabled, \
                 C10K_URING_DISABLE=1 or a kernel older than 6.0)",
            ),
            (_, Some(backend)) if !backend.is_available() => {
                Some("the kernel does not offer this backend here")
            }
            _ => None,
        }
    }

    /// The model `auto` stands for: the runtime on the platform's best readiness backend
    /// (epoll on Linux, poll elsewhere: [`c10k::selector::Backend::best`]).
    pub(crate) fn auto() -> IoModel {
        c10k::selector::Backend::best()
            .name()
            .parse()
            .unwrap_or(IoModel::Poll)
    }

    /// The names of every model, comma-separated, for help texts.
    pub(crate) fn names() -> String {
        IoModel::ALL.map(IoModel::name).join(", ")
    }
}

impl fmt::Display for IoModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an unknown model name; its message lists the valid names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseModelError(String);

impl fmt::Display for ParseModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown IO model `{}`: expected one of {}",
            self.0,
            IoModel::names()
        )
    }
}

impl std::error::Error for ParseModelError {}

impl FromStr for IoModel {
    type Err = ParseModelError;

    fn from_str(s: &str) -> Result<IoModel, ParseModelError> {
        IoModel::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseModelError(s.to_owned()))
    }
}

impl Serialize for IoModel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl ValueEnum for IoModel {
    fn value_variants<'a>() -> &'a [Self] {
        &IoModel::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(self.about()))
    }
}

/// `c10k echo --model`: a model, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelChoice {
    /// The fastest model available ([`IoModel::auto`]).
    Auto,
    /// That model.
    Model(IoModel),
}

impl ModelChoice {
    const ALL: [ModelChoice; IoModel::ALL.len() + 1] = {
        let mut all = [ModelChoice::Auto; IoModel::ALL.len() + 1];
        let mut i = 0;
        while i < IoModel::ALL.len() {
            all[i] = ModelChoice::Model(IoModel::ALL[i]);
            i += 1;
        }
        all
    };

    /// The model this choice runs.
    pub(crate) fn resolve(self) -> IoModel {
        match self {
            ModelChoice::Auto => IoModel::auto(),
            ModelChoice::Model(m) => m,
        }
    }
}

impl ValueEnum for ModelChoice {
    fn value_variants<'a>() -> &'a [Self] {
        &ModelChoice::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            ModelChoice::Auto => PossibleValue::new("auto")
                .help(format!("the fastest available here ({})", IoModel::auto())),
            ModelChoice::Model(m) => m.to_possible_value()?,
        })
    }
}

/// A selector backend, for `c10k echo --model reactor --backend`: the selector's own list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SelectorBackend(pub(crate) c10k::selector::Backend);

impl ValueEnum for SelectorBackend {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [SelectorBackend; c10k::selector::Backend::ALL.len()] = {
            let mut all = [SelectorBackend(c10k::selector::Backend::ALL[0]);
                c10k::selector::Backend::ALL.len()];
            let mut i = 0;
            while i < all.len() {
                all[i] = SelectorBackend(c10k::selector::Backend::ALL[i]);
                i += 1;
            }
            all
        };
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()))
    }
}

/// `--backend` of the programs on the c10k runtime (`http`, `chat`, `fetch`) and of `load`:
/// one of the runtime's [`Backend::ALL`], spelled by [`Backend::name`], with the help line of
/// the model of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RuntimeBackend(pub(crate) Backend);

impl RuntimeBackend {
    /// The backend `--backend` chose, or the runtime's default ([`Backend::best`]).
    ///
    /// # Errors
    ///
    /// A usage error (exit 2) naming the reason when this machine lacks the chosen backend
    /// (io_uring forbidden by seccomp or `kernel.io_uring_disabled`, ...): the program is not
    /// silently run on another backend.
    pub(crate) fn resolve(choice: Option<RuntimeBackend>) -> anyhow::Result<Backend> {
        let Some(RuntimeBackend(backend)) = choice else {
            return Ok(Backend::best());
        };
        let model: Option<IoModel> = backend.name().parse().ok();
        match model.and_then(IoModel::unavailable) {
            Some(why) => Err(crate::errors::usage(format!(
                "--backend {backend} is not available: {why} (try --backend epoll)"
            ))),
            None => Ok(backend),
        }
    }
}

impl ValueEnum for RuntimeBackend {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [RuntimeBackend; Backend::ALL.len()] = {
            let mut all = [RuntimeBackend(Backend::ALL[0]); Backend::ALL.len()];
            let mut i = 0;
            while i < all.len() {
                all[i] = RuntimeBackend(Backend::ALL[i]);
                i += 1;
            }
            all
        };
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let value = PossibleValue::new(self.0.name());
        Some(match self.0.name().parse::<IoModel>() {
            Ok(model) => value.help(model.about()),
            Err(_) => value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_and_clap() {
        for model in IoModel::ALL {
            assert_eq!(model.name().parse::<IoModel>(), Ok(model));
            assert_eq!(model.name().to_uppercase().parse::<IoModel>(), Ok(model));
            assert_eq!(
                <IoModel as ValueEnum>::from_str(model.name(), false),
                Ok(model)
            );
            assert_eq!(
                ModelChoice::from_str(model.name(), false),
                Ok(ModelChoice::Model(model))
            );
        }
        assert_eq!(ModelChoice::from_str("auto", false), Ok(ModelChoice::Auto));
        let e = "fibers".parse::<IoModel>().unwrap_err().to_string();
        assert!(
            e.contains("threads, nonblocking, select, poll, epoll, reactor"),
            "{e}"
        );
    }

    #[test]
    fn runtime_models_are_the_runtime_backends() {
        // Every backend of the runtime is a model, and only those models run the runtime.
        for backend in Backend::ALL {
            let model: IoModel = backend.name().parse().expect("a model per backend");
            assert_eq!(model.runtime_backend(), Some(backend));
            assert_eq!(model.unavailable().is_none(), backend.is_available());
        }
        for model in [IoModel::Threads, IoModel::Reactor, IoModel::Sigio] {
            assert_eq!(model.runtime_backend(), None);
        }
        let auto = IoModel::auto().runtime_backend().map(|b| b.name());
        assert_eq!(auto, Some(c10k::selector::Backend::best().name()));
        assert_eq!(IoModel::Uring.runtime_backend(), Some(Backend::Uring));
    }

    #[test]
    fn selector_backends_are_the_selector_list() {
        let names: Vec<_> = SelectorBackend::value_variants()
            .iter()
            .map(|b| b.0.name())
            .collect();
        assert_eq!(names, c10k::selector::Backend::ALL.map(|b| b.name()));
    }

    #[test]
    fn runtime_backends_are_the_runtime_list() {
        let names: Vec<_> = RuntimeBackend::value_variants()
            .iter()
            .map(|b| b.0.name())
            .collect();
        assert_eq!(names, Backend::ALL.map(|b| b.name()));
        assert_eq!(RuntimeBackend::resolve(None).ok(), Some(Backend::best()));
        for backend in Backend::ALL {
            let chosen = RuntimeBackend::resolve(Some(RuntimeBackend(backend)));
            assert_eq!(chosen.is_ok(), backend.is_available(), "{backend}");
        }
    }

    #[test]
    fn help_texts_list_every_model() {
        use clap::CommandFactory;
        let mut cli = crate::Cli::command();
        let top = cli.render_help().to_string();
        let echo_line = top.lines().find(|l| l.trim_start().starts_with("echo"));
        let echo_line = echo_line.expect("an echo line");
        for sub in ["echo", "lab"] {
            let help = cli
                .find_subcommand_mut(sub)
                .expect("subcommand")
                .render_long_help()
                .to_string();
            for model in IoModel::ALL {
                let entry = format!("- {}:", model.name());
                assert!(
                    help.contains(&entry),
                    "`c10k {sub} --help` lacks {entry}\n{help}"
                );
                assert!(echo_line.contains(model.name()), "{echo_line}");
            }
        }
    }
}
