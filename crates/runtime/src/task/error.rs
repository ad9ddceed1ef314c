use std::any::Any;
use std::fmt;
use std::io;
use std::sync::Mutex;

use super::Id;

/// Why a task produced no output: it was cancelled, or its future panicked.
///
/// Returned by awaiting a [`JoinHandle`](super::JoinHandle). A panic inside a task never
/// unwinds into the scheduler: it is caught, the future is dropped, and the payload travels
/// here, so that the awaiting task decides what to do (`resume_unwind` it, log it, ignore it).
///
/// # Examples
///
/// ```
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     let err = c10k_runtime::spawn(async { panic!("boom") }).await.unwrap_err();
///     assert!(err.is_panic());
///     let payload = err.into_panic();
///     assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct JoinError {
    id: Id,
    repr: Repr,
}

enum Repr {
    Cancelled,
    // The mutex only makes the payload `Sync`, so that `JoinError` can travel inside
    // `anyhow::Error` and `io::Error`; it is never contended.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

/// What the task cell stores when there is no output: kept to one pointer (the payload is
/// boxed twice: panics are rare, cells are many) because the stage holding it shares the cell
/// with every future; the id is added when the `JoinError` is built.
pub(crate) enum Failure {
    Cancelled,
    #[allow(clippy::box_collection)]
    Panic(Box<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn new(id: Id, failure: Failure) -> JoinError {
        let repr = match failure {
            Failure::Cancelled => Repr::Cancelled,
            Failure::Panic(p) => Repr::Panic(Mutex::new(*p)),
        };
        JoinError { id, repr }
    }

    /// Whether the task was cancelled (`abort`, a dropped `JoinSet`, runtime shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     let err = h.await.unwrap_err();
    ///     assert!(err.is_cancelled() && !err.is_panic());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task's future panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let err = c10k_runtime::spawn(async { panic!("boom") }).await.unwrap_err();
    ///     assert!(err.is_panic() && !err.is_cancelled());
    /// });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, to `std::panic::resume_unwind` it or inspect it.
    ///
    /// # Panics
    ///
    /// Panics if the error is not a panic (see [`try_into_panic`](Self::try_into_panic)).
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let err = c10k_runtime::spawn(async { panic!("boom") }).await.unwrap_err();
    ///     let payload = err.into_panic();
    ///     assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    ///     // or: std::panic::resume_unwind(payload) to propagate it
    /// });
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancellation, not a panic")
    }

    /// The panic payload, or the error back if it is a cancellation.
    ///
    /// # Errors
    ///
    /// Returns `self` when the task was cancelled rather than panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     let err = h.await.unwrap_err();
    ///     let err = err.try_into_panic().unwrap_err(); // a cancellation comes back
    ///     assert!(err.is_cancelled());
    /// });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    /// The id of the task that failed.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::spawn(async { panic!("boom") });
    ///     let id = h.id();
    ///     assert_eq!(h.await.unwrap_err().id(), id);
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.id
    }
}

fn panic_message(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(p) => {
                let p = crate::loom::lock(p);
                match panic_message(&**p) {
                    Some(msg) => write!(f, "task {} panicked with message {msg:?}", self.id),
                    None => write!(f, "task {} panicked", self.id),
                }
            }
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({:?})", self.id),
            Repr::Panic(p) => {
                let p = crate::loom::lock(p);
                match panic_message(&**p) {
                    Some(msg) => write!(f, "JoinError::Panic({:?}, {msg:?}, ..)", self.id),
                    None => write!(f, "JoinError::Panic({:?}, ..)", self.id),
                }
            }
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(e: JoinError) -> io::Error {
        io::Error::other(e)
    }
}
