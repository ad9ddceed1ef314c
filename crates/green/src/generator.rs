//! Generators: functions that pause at `yield`, take values in, and hand values out.
//!
//! A [`Generator<S, Y, R, E>`](Generator) is Python's generator object on a stackful
//! coroutine ([`corosensei`], one guard-paged stack per generator, see [`crate::stack`]).
//! Its body is a closure given a [`Co`] handle: `co.yield_(y)` hands `y: Y` to the caller and
//! pauses; it returns `Ok(s)` with the next value sent in (`S`), or `Err(e)` when the caller
//! [threw](Generator::throw) `e: E` into the generator. The body returns `Result<R, E>`:
//! `Ok(r)` is Python's `return r` (`StopIteration(r)`), `Err(e)` raises `e` out of the call
//! that was driving the generator.
//!
//! | Python | c10k |
//! |---|---|
//! | `gen = gen_func()` | `let mut gen = Generator::new(\|co\| ...)` (state `Created`) |
//! | `next(gen)` / `gen.send(None)` to prime it | [`gen.start()`](Generator::start) |
//! | `gen.send(v)` | [`gen.send(v)`](Generator::send) → [`Step::Yielded`] or [`Step::Returned`] |
//! | `next(gen)` when nothing is sent | [`gen.resume()`](Generator::resume) (`S = ()`), or the [`Iterator`] |
//! | `gen.throw(exc)` | [`gen.throw(e)`](Generator::throw) |
//! | `gen.close()`, `GeneratorExit`, `finally:` | [`gen.close()`](Generator::close): unwinds the body, running its destructors (`Drop` guards are the `finally:` blocks) |
//! | `inspect.getgeneratorstate(gen)` | [`gen.state()`](Generator::state) |
//! | `x = yield from sub` | [`let x = co.yield_from(&mut sub)?`](Co::yield_from) |
//!
//! # Differences from Python, on purpose
//!
//! - Priming is its own call, [`start`](Generator::start): Rust has no `None` of every type,
//!   so "send `None` first" becomes "start first". [`send`](Generator::send) to a generator
//!   that was never started is a programming error and panics, like Python's `TypeError`.
//! - Exhaustion is a value, not an exception: the step that ends the body returns
//!   [`Step::Returned(r)`](Step::Returned). Driving a closed generator again panics (Python
//!   raises `StopIteration` again); the [`Iterator`] simply ends.
//! - `GeneratorExit` is not an error value: [`close`](Generator::close) and dropping a
//!   suspended generator unwind its stack, so every destructor runs in order but the body
//!   cannot catch the exit and carry on. A body that yields while being closed (from a
//!   destructor) makes `close` panic, which is Python's `RuntimeError: generator ignored
//!   GeneratorExit`.
//! - A panic inside the body propagates to the caller of `start`/`send`/`throw`, and the
//!   generator is then closed.
//!
//! # `yield_from`: PEP 380, point by point
//!
//! `let r = co.yield_from(&mut sub)?` in a delegating generator `d`:
//!
//! 1. It starts `sub` (which must be freshly created) and every value `sub` yields goes straight
//!    to `d`'s caller.
//! 2. Every value sent to `d` while it delegates is sent to `sub`. An error `sub` raises
//!    propagates out of `yield_from` as its `Err`, into `d`.
//! 3. An error thrown into `d` while it delegates is thrown into `sub`. If `sub` handles it and
//!    yields, that value goes to `d`'s caller; if `sub` returns, delegation ends with that
//!    return value; if it raises, the error comes out of `yield_from` into `d`.
//! 4. Closing `d` (or dropping it) while it delegates closes `sub` first (its destructors run),
//!    then unwinds `d`.
//! 5. The value of `yield_from` is the return value of `sub`.
//! 6. `d`'s own return value (its body's `Ok(r)`) ends `d` with [`Step::Returned`]`(r)`.
//!
//! Each point has its test in `tests/generator_yield_from.rs`.
//!
//! # Threads
//!
//! A generator is `!Send`: it holds a stack whose frames may refer to thread-locals, so it is
//! resumed only on the thread that created it. The compiler enforces it:
//!
//! ```compile_fail
//! use c10k_green::generator::Generator;
//! let gen: Generator<(), u32, ()> = Generator::new(|co| { co.yield_(1)?; Ok(()) });
//! std::thread::spawn(move || drop(gen));
//! ```

use std::cell::Cell;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};

use crate::stack::{GuardedStack, Running, DEFAULT_STACK_SIZE};

/// The error type generators use unless told otherwise: any error, like Python's exceptions.
pub type Exception = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a generator did when driven: yielded a value, or returned (Python's
/// `StopIteration(value)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step<Y, R> {
    /// The body paused at `co.yield_(y)`.
    Yielded(Y),
    /// The body returned `Ok(r)`; the generator is now closed.
    Returned(R),
}

impl<Y, R> Step<Y, R> {
    /// The yielded value, if any.
    pub fn yielded(self) -> Option<Y> {
        match self {
            Step::Yielded(y) => Some(y),
            Step::Returned(_) => None,
        }
    }

    /// The returned value, if any.
    pub fn returned(self) -> Option<R> {
        match self {
            Step::Yielded(_) => None,
            Step::Returned(r) => Some(r),
        }
    }
}

/// Where a generator is in its life (Python's `inspect.getgeneratorstate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GeneratorState {
    /// Created, not started yet (`GEN_CREATED`).
    Created,
    /// Paused at a `yield` (`GEN_SUSPENDED`).
    Suspended,
    /// Running its body: what [`Co::state`] sees from inside (`GEN_RUNNING`).
    Running,
    /// Returned, raised, panicked or was closed (`GEN_CLOSED`).
    Closed,
}

/// What the caller passes in at a resume: a value, or an error thrown at the `yield`.
enum Input<S, E> {
    /// The first resume (Python's `next(gen)` on a new generator): carries nothing.
    Start,
    Send(S),
    Throw(E),
}

type Body<S, Y, R, E> = Coroutine<Input<S, E>, Y, Result<R, E>, DefaultStack>;

/// A generator: a body on its own stack that yields `Y`, takes `S` at each `yield`, returns
/// `R` or raises `E`. See the [module docs](self) for the protocol.
///
/// # Examples
///
/// The tutorials' running total, driven with `send`:
///
/// ```
/// use c10k_green::generator::{Generator, Step};
///
/// let mut averager: Generator<f64, f64, u32> = Generator::new(|co| {
///     let (mut total, mut count) = (0.0, 0);
///     let mut average = 0.0;
///     loop {
///         let x = co.yield_(average)?;
///         if x < 0.0 {
///             return Ok(count); // `return count`: StopIteration(count)
///         }
///         total += x;
///         count += 1;
///         average = total / count as f64;
///     }
/// });
/// assert_eq!(averager.start()?, Step::Yielded(0.0));
/// assert_eq!(averager.send(10.0)?, Step::Yielded(10.0));
/// assert_eq!(averager.send(20.0)?, Step::Yielded(15.0));
/// assert_eq!(averager.send(-1.0)?, Step::Returned(2));
/// # Ok::<(), c10k_green::generator::Exception>(())
/// ```
pub struct Generator<S, Y, R, E = Exception> {
    body: Body<S, Y, R, E>,
    range: [usize; 3],
    state: Cell<GeneratorState>,
}

/// The generator's side of the protocol, handed to its body: yield values, delegate.
pub struct Co<'a, S, Y, E = Exception> {
    yielder: &'a Yielder<Input<S, E>, Y>,
}

impl<S, Y, E> Co<'_, S, Y, E> {
    /// Yields `value` to the caller and pauses until resumed.
    ///
    /// # Errors
    ///
    /// `Err(e)` when the caller resumed with [`Generator::throw(e)`](Generator::throw): the
    /// error is raised here, at the `yield`. Propagate it with `?` to let it out of the
    /// generator, or handle it and carry on.
    #[inline]
    pub fn yield_(&self, value: Y) -> Result<S, E> {
        Self::received(self.yielder.suspend(value))
    }

    #[inline]
    fn received(input: Input<S, E>) -> Result<S, E> {
        match input {
            Input::Send(s) => Ok(s),
            Input::Throw(e) => Err(e),
            // `Start` is only ever the coroutine's first input, consumed before the body
            // runs (see `with_stack_size`); `drive` never passes it to a suspended body.
            Input::Start => unreachable!("a suspended generator was resumed with Start"),
        }
    }

    /// Always [`GeneratorState::Running`]: the state of a generator as seen from its own body,
    /// which is what `inspect.getgeneratorstate` answers when called from inside.
    #[inline]
    pub fn state(&self) -> GeneratorState {
        // Only the running body holds a `Co`, and nothing else can look at the generator
        // while it runs (`drive` holds it mutably), so this is the only state seen then.
        GeneratorState::Running
    }

    /// Delegates to `sub` until it returns, then evaluates to its return value: Python's
    /// `yield from sub`, with the semantics of PEP 380 (points 1 to 6 in the [module
    /// docs](self)).
    ///
    /// # Errors
    ///
    /// The error `sub` raises, including an error thrown into this generator that `sub`
    /// did not handle.
    ///
    /// # Panics
    ///
    /// If `sub` has already been started or is closed (Rust has no `None` to send to prime a
    /// started generator with, see the module docs).
    pub fn yield_from<R>(&self, sub: &mut Generator<S, Y, R, E>) -> Result<R, E> {
        assert_eq!(
            sub.state(),
            GeneratorState::Created,
            "yield_from needs a generator that has not been started"
        );
        // Point 4: if this generator is closed while delegating, the unwind passes through
        // here; close the sub-generator first so that its destructors run before ours.
        struct CloseOnUnwind<'g, S, Y, R, E>(&'g mut Generator<S, Y, R, E>);
        impl<S, Y, R, E> Drop for CloseOnUnwind<'_, S, Y, R, E> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.close();
                }
            }
        }
        let guard = CloseOnUnwind(sub);
        // Point 1: start it.
        let mut step = guard.0.start()?;
        loop {
            match step {
                // Point 1: its values go straight to our caller.
                Step::Yielded(y) => {
                    step = match Self::received(self.yielder.suspend(y)) {
                        // Point 2: sends are forwarded; its errors propagate to us via `?`.
                        Ok(s) => guard.0.send(s)?,
                        // Point 3: throws are forwarded; unhandled ones come back via `?`.
                        Err(e) => guard.0.throw(e)?,
                    };
                }
                // Point 5: its return value is ours.
                Step::Returned(r) => return Ok(r),
            }
        }
    }
}

impl<S, Y, R, E> Generator<S, Y, R, E>
where
    S: 'static,
    Y: 'static,
    R: 'static,
    E: 'static,
{
    /// A generator running `body` on a stack of [`DEFAULT_STACK_SIZE`] (256 KiB of address
    /// space, committed as used). Nothing runs until [`start`](Self::start).
    ///
    /// # Panics
    ///
    /// If the stack cannot be mapped (address space or `vm.max_map_count` exhausted); use
    /// [`with_stack_size`](Self::with_stack_size) to get that as an error.
    pub fn new<F>(body: F) -> Self
    where
        F: for<'c> FnOnce(&'c Co<'c, S, Y, E>) -> Result<R, E> + 'static,
    {
        Self::with_stack_size(DEFAULT_STACK_SIZE, body).expect("cannot map a generator stack")
    }

    /// A generator running `body` on a stack of at least `stack_size` bytes (at least
    /// [`MIN_STACK_SIZE`](crate::stack::MIN_STACK_SIZE), rounded up to whole pages). Running
    /// past it hits the guard page and aborts the process with a report (see
    /// [`crate::stack`]).
    ///
    /// # Errors
    ///
    /// The `mmap`/`mprotect` error if the stack cannot be mapped.
    pub fn with_stack_size<F>(stack_size: usize, body: F) -> io::Result<Self>
    where
        F: for<'c> FnOnce(&'c Co<'c, S, Y, E>) -> Result<R, E> + 'static,
    {
        let stack = GuardedStack::new(stack_size)?.stack;
        let range = GuardedStack::range_of(&stack);
        let body = Coroutine::with_stack(stack, move |yielder, first: Input<S, E>| {
            let co = Co { yielder };
            match first {
                Input::Start | Input::Send(_) => body(&co),
                // A throw into a generator that never started raises at its first line,
                // as in Python.
                Input::Throw(e) => Err(e),
            }
        });
        Ok(Self {
            body,
            range,
            state: Cell::new(GeneratorState::Created),
        })
    }
}

impl<S, Y, R, E> Generator<S, Y, R, E> {
    /// Where the generator is: created, suspended at a `yield`, or closed.
    #[inline]
    pub fn state(&self) -> GeneratorState {
        self.state.get()
    }

    /// Runs a freshly created generator to its first `yield` (Python's `next(gen)` or
    /// `gen.send(None)` on a new generator).
    ///
    /// # Errors
    ///
    /// The error the body raises before its first `yield`.
    ///
    /// # Panics
    ///
    /// If the generator was already started; if the body panics (the panic propagates).
    pub fn start(&mut self) -> Result<Step<Y, R>, E> {
        assert_eq!(
            self.state(),
            GeneratorState::Created,
            "start() on a generator that was already started"
        );
        self.drive(Input::Start)
    }

    /// Resumes the generator with `value` as the result of the `yield` it is paused at.
    ///
    /// # Errors
    ///
    /// The error the body raises (returns as `Err`) before its next `yield`.
    ///
    /// # Panics
    ///
    /// If the generator was never started (call [`start`](Self::start) first, as Python
    /// requires `send(None)` first) or is closed; if the body panics.
    #[inline]
    pub fn send(&mut self, value: S) -> Result<Step<Y, R>, E> {
        match self.state() {
            GeneratorState::Suspended => self.drive(Input::Send(value)),
            GeneratorState::Created => {
                panic!("send() to a generator that was never started: call start() first")
            }
            _ => panic!("send() to a closed generator"),
        }
    }

    /// Raises `error` at the `yield` the generator is paused at (Python's `gen.throw`).
    ///
    /// If the body handles it and yields again, that value comes back as
    /// [`Step::Yielded`]; if it returns, [`Step::Returned`]. A generator that was never started
    /// raises it at its first line, so it comes straight back out.
    ///
    /// # Errors
    ///
    /// `error` itself if the body lets it out (with `?`), or whatever other error it raises.
    /// A closed generator returns `Err(error)` at once, as Python re-raises the exception.
    ///
    /// # Panics
    ///
    /// If the body panics.
    pub fn throw(&mut self, error: E) -> Result<Step<Y, R>, E> {
        match self.state() {
            GeneratorState::Suspended | GeneratorState::Created => self.drive(Input::Throw(error)),
            _ => Err(error),
        }
    }

    /// Closes the generator: a suspended one is unwound from its `yield`, running the
    /// destructors of everything its stack holds (Python's `GeneratorExit` and `finally:`);
    /// a created one drops its body unrun. Closing a closed generator does nothing.
    ///
    /// # Panics
    ///
    /// If the body yields while it is being unwound (a destructor that yields: Python's
    /// "generator ignored GeneratorExit"), or a destructor panics.
    pub fn close(&mut self) {
        if self.state() != GeneratorState::Closed {
            let _running = Running::enter(&self.range);
            self.body.force_unwind();
            self.state.set(GeneratorState::Closed);
        }
    }

    /// Resumes the coroutine, keeping `state` true on every exit path, panics included.
    ///
    /// Inlined into `send`/`resume`/`next`, so that the input is built where it is passed:
    /// out of line, the caller stored it in two halves and `drive` copied it in one wide
    /// load, which the CPU cannot forward from the stores (a stall on every resume).
    #[inline(always)]
    fn drive(&mut self, input: Input<S, E>) -> Result<Step<Y, R>, E> {
        // Closed while it runs: a panic out of the body propagates from `resume` and leaves
        // it closed, without a guard to check for a panic on every resume. The body itself
        // sees `Running` (`Co::state`), and nothing else can look while `drive` holds it.
        self.state.set(GeneratorState::Closed);
        let result = {
            let _running = Running::enter(&self.range);
            self.body.resume(input)
        };
        match result {
            CoroutineResult::Yield(y) => {
                self.state.set(GeneratorState::Suspended);
                Ok(Step::Yielded(y))
            }
            CoroutineResult::Return(r) => r.map(Step::Returned),
        }
    }
}

impl<Y, R, E> Generator<(), Y, R, E> {
    /// Runs the generator to its next `yield` without sending a value (Python's `next(gen)`):
    /// starts a created generator, resumes a suspended one.
    ///
    /// # Errors
    ///
    /// The error the body raises.
    ///
    /// # Panics
    ///
    /// If the generator is closed; if the body panics.
    #[inline]
    pub fn resume(&mut self) -> Result<Step<Y, R>, E> {
        match self.state() {
            GeneratorState::Created => self.start(),
            _ => self.send(()),
        }
    }
}

/// Iterating a generator that takes no values: each item is a yielded value, or the error the
/// body raised (after which the iteration ends). The return value is dropped, as a Python
/// `for` loop drops it; use [`Generator::resume`] to see it.
impl<Y, R, E> Iterator for Generator<(), Y, R, E> {
    type Item = Result<Y, E>;

    #[inline]
    fn next(&mut self) -> Option<Result<Y, E>> {
        if self.state() == GeneratorState::Closed {
            return None;
        }
        match self.resume() {
            Ok(Step::Yielded(y)) => Some(Ok(y)),
            Ok(Step::Returned(_)) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

impl<S, Y, R, E> Drop for Generator<S, Y, R, E> {
    /// Dropping a suspended generator closes it: its destructors run (see
    /// [`close`](Generator::close)). A destructor that panics while the generator is being
    /// dropped is caught and reported, never rethrown from `drop`.
    fn drop(&mut self) {
        if self.state() == GeneratorState::Suspended {
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| self.close())) {
                let what = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("a panic");
                eprintln!("c10k-green: a generator panicked while being dropped: {what}");
            }
        }
    }
}

impl<S, Y, R, E> fmt::Debug for Generator<S, Y, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("state", &self.state())
            .field("stack_size", &self.range[2])
            .finish_non_exhaustive()
    }
}

impl<S, Y, E> fmt::Debug for Co<'_, S, Y, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Co").finish_non_exhaustive()
    }
}
