use std::fmt;
use std::future::Future;

use super::{Id, JoinError, JoinSet};

/// asyncio's `TaskGroup`: spawn children, then wait for all of them; the first child that
/// fails (returns `Err` or panics) cancels its siblings, and its error is returned.
///
/// Results come back in spawn order, like `asyncio.gather`. Dropping the group without
/// joining cancels the children.
///
/// # Examples
///
/// ```
/// use c10k_runtime::task::{GroupError, TaskGroup};
///
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     let mut group = TaskGroup::new();
///     group.spawn(async { Ok::<_, String>(1) });
///     group.spawn(async { Ok(2) });
///     assert_eq!(group.join().await.unwrap(), vec![1, 2]);
///
///     let mut group = TaskGroup::new();
///     group.spawn(async { Err::<u32, _>("bad input".to_string()) });
///     group.spawn(std::future::pending()); // cancelled by its sibling's failure
///     match group.join().await {
///         Err(GroupError::Failed(e)) => assert_eq!(e, "bad input"),
///         other => panic!("{other:?}"),
///     }
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TaskGroup<T, E> {
    /// Each child returns its spawn index with its result.
    set: JoinSet<(usize, Result<T, E>)>,
    spawned: usize,
}

/// Why a [`TaskGroup`] failed.
///
/// # Examples
///
/// ```
/// use c10k_runtime::task::{GroupError, TaskGroup};
/// c10k_runtime::run(async {
///     let mut group = TaskGroup::<(), String>::new();
///     group.spawn(async { panic!("child panicked") });
///     match group.join().await {
///         Err(GroupError::Join(e)) => assert!(e.is_panic()),
///         other => panic!("{other:?}"),
///     }
/// });
/// ```
#[non_exhaustive]
pub enum GroupError<E> {
    /// A child returned this error; the others were cancelled.
    Failed(E),
    /// A child panicked or was cancelled from outside; the others were cancelled.
    Join(JoinError),
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            GroupError::Join(e) => f.debug_tuple("Join").field(e).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Failed(e) => write!(f, "a task of the group failed: {e}"),
            GroupError::Join(e) => write!(f, "a task of the group failed: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}

impl<T, E> Default for TaskGroup<T, E> {
    fn default() -> TaskGroup<T, E> {
        TaskGroup::new()
    }
}

impl<T, E> TaskGroup<T, E> {
    /// An empty group.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::task::TaskGroup;
    /// let group: TaskGroup<u32, std::io::Error> = TaskGroup::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn new() -> TaskGroup<T, E> {
        TaskGroup {
            set: JoinSet::new(),
            spawned: 0,
        }
    }

    /// The number of children not yet joined.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::task::TaskGroup;
    /// c10k_runtime::run(async {
    ///     let mut group = TaskGroup::<u32, ()>::new();
    ///     group.spawn(async { Ok(1) });
    ///     group.spawn(async { Ok(2) });
    ///     assert_eq!(group.len(), 2);
    ///     assert_eq!(group.join().await.unwrap(), [1, 2]);
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether the group has no children left.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::task::TaskGroup;
    /// c10k_runtime::run(async {
    ///     let mut group = TaskGroup::<u32, ()>::new();
    ///     assert!(group.is_empty());
    ///     group.spawn(async { Ok(1) });
    ///     assert!(!group.is_empty());
    ///     assert_eq!(group.join().await.unwrap(), [1]);
    /// });
    /// ```
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Waits for every child. Returns their outputs in spawn order, or the first failure
    /// after cancelling (and waiting for) the remaining children.
    ///
    /// # Errors
    ///
    /// The first child's `Err`, panic, or external cancellation.
    ///
    /// # Examples
    ///
    /// Outputs come back in spawn order, whatever the completion order:
    ///
    /// ```
    /// use c10k_runtime::task::TaskGroup;
    /// c10k_runtime::run(async {
    ///     let mut group = TaskGroup::<u32, String>::new();
    ///     for i in 0..3u32 {
    ///         group.spawn(async move {
    ///             c10k_runtime::time::sleep(std::time::Duration::from_millis(u64::from(3 - i))).await;
    ///             Ok(i)
    ///         });
    ///     }
    ///     assert_eq!(group.len(), 3);
    ///     assert_eq!(group.join().await.unwrap(), [0, 1, 2]);
    /// });
    /// ```
    pub async fn join(mut self) -> Result<Vec<T>, GroupError<E>> {
        let mut out: Vec<Option<T>> = (0..self.spawned).map(|_| None).collect();
        let mut failure = None;
        while let Some(res) = self.set.join_next().await {
            if failure.is_some() {
                continue; // draining the cancelled siblings
            }
            match res {
                Ok((idx, Ok(v))) => out[idx] = Some(v),
                Ok((_, Err(e))) => {
                    failure = Some(GroupError::Failed(e));
                    self.set.abort_all();
                }
                Err(e) => {
                    failure = Some(GroupError::Join(e));
                    self.set.abort_all();
                }
            }
        }
        match failure {
            Some(f) => Err(f),
            None => Ok(out.into_iter().flatten().collect()),
        }
    }
}

impl<T: Send + 'static, E: Send + 'static> TaskGroup<T, E> {
    /// Spawns a child on the current runtime.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime, as [`spawn`](super::spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::task::TaskGroup;
    /// c10k_runtime::run(async {
    ///     let mut group = TaskGroup::<&str, ()>::new();
    ///     let _id = group.spawn(async { Ok("child") });
    ///     assert_eq!(group.join().await.unwrap(), ["child"]);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> Id
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let idx = self.spawned;
        self.spawned += 1;
        self.set.spawn(async move { (idx, future.await) }).id()
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("len", &self.len())
            .finish()
    }
}
