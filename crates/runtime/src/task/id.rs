use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// A task's identifier, unique among all tasks spawned by this process.
///
/// Ids are never reused: they come from one process-wide 64-bit counter, which at a billion
/// spawns a second would take more than 500 years to wrap. An id of a finished task may
/// therefore be kept as a key without fear of confusing it with a newer task.
///
/// # Examples
///
/// ```
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     let handle = c10k_runtime::spawn(async { c10k_runtime::task::id() });
///     let id = handle.id();
///     assert_eq!(handle.await.unwrap(), id);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    pub(crate) fn next() -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Id(NonZeroU64::new(n).expect("task id counter wrapped"))
    }

    /// The id numbered `n` (a wait record's task number), if `n` is not 0.
    pub(crate) fn from_u64(n: u64) -> Option<Id> {
        NonZeroU64::new(n).map(Id)
    }

    /// The id as a number (the first task spawned by the process is 1).
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let a = c10k_runtime::spawn(async {});
    ///     let b = c10k_runtime::spawn(async {});
    ///     assert!(a.id().as_u64() >= 1);
    ///     assert_ne!(a.id().as_u64(), b.id().as_u64());
    /// });
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
