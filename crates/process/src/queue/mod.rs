//! [`Queue`] and [`JoinableQueue`]: bounded FIFO queues of serde values between processes,
//! on a shared-memory ring (`ring.rs` has the layout and the protocols).
//!
//! # Costs
//!
//! A put serializes the value (postcard) into a per-thread buffer, takes the producers'
//! robust mutex, copies the bytes in, commits and unlocks; a get takes the consumers'
//! mutex, copies the bytes out and deserializes outside it. Producers and consumers share
//! no lock and no written cache line on the fast path, so one producer and one consumer
//! never wait for each other's lock. No system call is made unless a side must sleep:
//! waiters spin briefly, then sleep on a futex, and the other side pays one `futex` wake
//! only when someone sleeps.

use std::cell::RefCell;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use rustix::event::{eventfd, EventfdFlags};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::futex;
use crate::mutex::{Acquired, RawMutex};
use crate::shm::Shm;
use crate::wire::FdHandle;

pub(crate) mod ring;

use ring::{Block, Header, PopError, PushError};

/// The default [`capacity`](QueueBuilder::capacity): items at most in the queue.
pub const DEFAULT_CAPACITY: u32 = 1024;
/// The default [`buffer_bytes`](QueueBuilder::buffer_bytes): the shared ring's size, which
/// also bounds one serialized item (8 bytes less).
pub const DEFAULT_BUFFER_BYTES: u32 = 1 << 20;
/// How long a waiter spins before it sleeps on the futex, in microseconds.
const SPIN_MICROS: u32 = 50;

/// A robust mutex on a cache line of its own.
#[repr(C, align(128))]
struct LockLine(RawMutex);

/// The region: the two locks, then the header, then the data at `DATA`.
#[repr(C)]
struct Region {
    put_lock: LockLine,
    get_lock: LockLine,
    header: Header,
}

const DATA: usize = (std::mem::size_of::<Region>() + 127) & !127;

/// Why a put failed; the item comes back.
#[derive(Debug)]
#[non_exhaustive]
pub enum PutError<T> {
    /// The queue stayed full (`try_put`, `put_timeout`).
    Full(T),
    /// The queue is closed.
    Closed(T),
    /// The item cannot travel: it does not serialize, or its bytes are more than the ring
    /// holds ([`QueueBuilder::buffer_bytes`]).
    Invalid(T, io::Error),
}

impl<T> PutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(t) | PutError::Closed(t) | PutError::Invalid(t, _) => t,
        }
    }
}

impl<T> std::fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("the queue is full"),
            PutError::Closed(_) => f.write_str("the queue is closed"),
            PutError::Invalid(_, e) => write!(f, "the item cannot be queued: {e}"),
        }
    }
}

impl<T: std::fmt::Debug> std::error::Error for PutError<T> {}

/// Why a get failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum GetError {
    /// The queue stayed empty (`try_get`, `get_timeout`).
    Empty,
    /// The queue is closed and drained.
    Closed,
    /// The bytes did not deserialize as the queue's item type (the item is consumed).
    Invalid(io::Error),
}

impl std::fmt::Display for GetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GetError::Empty => f.write_str("the queue is empty"),
            GetError::Closed => f.write_str("the queue is closed"),
            GetError::Invalid(e) => write!(f, "a queued item did not decode: {e}"),
        }
    }
}

impl std::error::Error for GetError {}

/// Builds a [`Queue`] or [`JoinableQueue`] with its limits.
#[derive(Debug, Clone)]
pub struct QueueBuilder {
    capacity: u32,
    buffer_bytes: u32,
    turn_taking: bool,
}

impl Default for QueueBuilder {
    fn default() -> Self {
        QueueBuilder { capacity: DEFAULT_CAPACITY, buffer_bytes: DEFAULT_BUFFER_BYTES, turn_taking: false }
    }
}

impl QueueBuilder {
    /// At most `n` items in the queue (Python's `maxsize`); default
    /// [`DEFAULT_CAPACITY`]. At least 1.
    #[must_use]
    pub fn capacity(mut self, n: u32) -> Self {
        self.capacity = n.max(1);
        self
    }

    /// The shared ring's size in bytes (rounded up to 16, at least 64); default
    /// [`DEFAULT_BUFFER_BYTES`]. Each item takes its serialized size rounded up to 16,
    /// plus 16; items wait for room when the ring is full of bytes even below the
    /// capacity, and an item whose serialized form is larger than this minus 32 bytes is
    /// refused ([`PutError::Invalid`]). Pages are touched only as they are used.
    #[must_use]
    pub fn buffer_bytes(mut self, n: u32) -> Self {
        self.buffer_bytes = n.clamp(64, u32::MAX - 15).div_ceil(16) * 16;
        self
    }

    /// Tunes the wait for request/response traffic, where each side waits for the other's
    /// answer (a process pool's jobs and results); default `false`, tuned for streams.
    ///
    /// A waiter spins briefly before it sleeps, and a spinner holds its CPU. When the peer
    /// it waits for was just woken and the machine's other CPUs are busy, the peer can only
    /// run on that CPU: with `true` the waiter yields it (`sched_yield`) between looks
    /// after its first 2 µs. On 2 busy vCPUs a ping-pong between two processes took 108 µs
    /// without and 10 µs with; a one-way stream, whose consumer rarely waits long, lost
    /// about a third of its rate with it, hence the default.
    #[must_use]
    pub fn turn_taking(mut self, yes: bool) -> Self {
        self.turn_taking = yes;
        self
    }

    /// A queue with these limits.
    ///
    /// # Errors
    ///
    /// The system's error creating the shared memory or the eventfds.
    pub fn build<T>(self) -> io::Result<Queue<T>> {
        Queue::create(self, false)
    }

    /// A joinable queue with these limits.
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build).
    pub fn build_joinable<T>(self) -> io::Result<JoinableQueue<T>> {
        Ok(JoinableQueue { queue: Queue::create(self, true)? })
    }
}

/// A bounded FIFO queue of `T` shared by processes (Python's `multiprocessing.Queue`).
///
/// Many producers and many consumers, in any processes that received a clone as an
/// argument of [`Process::spawn`](crate::Process::spawn). Items travel as postcard bytes
/// through a shared-memory ring; nothing goes through a pipe or a feeder thread, so a put
/// is visible to `get` as soon as it returns.
///
/// Each operation comes as `put`/`get` (block), `try_put`/`try_get`, `put_timeout`/
/// `get_timeout`, and `put_async`/`get_async` (wait on the c10k runtime, no thread held).
///
/// A process that dies in the middle of a put or a get leaves the queue usable and
/// consistent: the unfinished put is not in the queue, the item of an unfinished get is
/// either still there or gone with the dead process, never duplicated (`ring.rs`, "Owner
/// death").
///
/// # Examples
///
/// ```
/// let q = c10k_process::Queue::<String>::new()?;
/// q.put("hello".to_string()).unwrap();
/// assert_eq!(q.get().unwrap(), "hello");
/// assert!(matches!(q.try_get(), Err(c10k_process::GetError::Empty)));
/// q.close();
/// assert!(matches!(q.get(), Err(c10k_process::GetError::Closed)));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Queue<T> {
    shm: Shm,
    /// Tokens for async getters (eventfd, semaphore mode, non-blocking).
    getters_efd: FdHandle,
    /// Tokens for async putters.
    putters_efd: FdHandle,
    /// [`QueueBuilder::turn_taking`]: travels with the handle, so every process waits alike.
    turn_taking: bool,
    #[serde(skip)]
    _t: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            shm: self.shm.clone(),
            getters_efd: self.getters_efd.clone(),
            putters_efd: self.putters_efd.clone(),
            turn_taking: self.turn_taking,
            _t: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("len", &self.len()).field("capacity", &self.capacity()).finish()
    }
}

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

struct RealSys<'a> {
    region: &'a Region,
    data: *mut u8,
    turn_taking: bool,
}

impl RealSys<'_> {
    fn mutex(&self, which: ring::Lock) -> &RawMutex {
        match which {
            ring::Lock::Put => &self.region.put_lock.0,
            ring::Lock::Get => &self.region.get_lock.0,
        }
    }
}

impl ring::Sys for RealSys<'_> {
    fn lock(&self, which: ring::Lock) -> bool {
        self.mutex(which).lock() == Acquired::OwnerDied
    }
    fn unlock(&self, which: ring::Lock) {
        // SAFETY: the ring protocol unlocks only what it locked, on the same thread.
        unsafe { self.mutex(which).unlock() }
    }
    fn wait(&self, word: &std::sync::atomic::AtomicU32, expected: u32, deadline: Option<std::time::Instant>) {
        // A failing futex (never for a valid address) degrades to a retry loop.
        let _ = futex::wait(word, expected, deadline);
    }
    fn wake(&self, word: &std::sync::atomic::AtomicU32, n: u32) {
        futex::wake(word, n);
    }
    fn data(&self) -> *mut u8 {
        self.data
    }
    fn seq(&self, at: usize) -> &std::sync::atomic::AtomicU64 {
        // SAFETY: `at` is a multiple of 16 inside the data area (the ring's invariant), so
        // the 8 bytes there are aligned and in the mapping, which outlives `self`; the
        // word is only accessed atomically while others may touch it (ring.rs, step 3).
        unsafe { &*self.data.add(at).cast::<std::sync::atomic::AtomicU64>() }
    }
    fn spin_micros(&self) -> u32 {
        SPIN_MICROS
    }
    fn yields_while_spinning(&self) -> bool {
        self.turn_taking
    }
}

impl<T> Queue<T> {
    /// A queue with the default limits ([`DEFAULT_CAPACITY`] items, a
    /// [`DEFAULT_BUFFER_BYTES`] ring).
    ///
    /// # Errors
    ///
    /// The system's error creating the shared memory or the eventfds.
    pub fn new() -> io::Result<Queue<T>> {
        QueueBuilder::default().build()
    }

    /// A queue holding at most `capacity` items.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_capacity(capacity: u32) -> io::Result<Queue<T>> {
        QueueBuilder::default().capacity(capacity).build()
    }

    /// A builder for the limits.
    pub fn builder() -> QueueBuilder {
        QueueBuilder::default()
    }

    fn create(b: QueueBuilder, joinable: bool) -> io::Result<Queue<T>> {
        let shm = Shm::new("c10k-queue", DATA + b.buffer_bytes as usize)?;
        // SAFETY: the region is new and ours alone, zeroed, sized for the region header
        // and the data; the lock is initialized before the region is shared.
        unsafe {
            let r = shm.header::<Region>();
            r.put_lock.0.init(false)?;
            r.get_lock.0.init(false)?;
            let c = &r.header.ctl;
            c.capacity.store(b.capacity, ring::Ordering::Relaxed);
            c.data_len.store(b.buffer_bytes, ring::Ordering::Relaxed);
            c.joinable.store(joinable as u32, ring::Ordering::Relaxed);
        }
        let flags = EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK | EventfdFlags::SEMAPHORE;
        Ok(Queue {
            shm,
            getters_efd: FdHandle::new(eventfd(0, flags)?),
            putters_efd: FdHandle::new(eventfd(0, flags)?),
            turn_taking: b.turn_taking,
            _t: PhantomData,
        })
    }

    fn region(&self) -> &Region {
        // SAFETY: initialized by the creator before sharing; accessed through atomics and
        // the robust lock only.
        unsafe { self.shm.header::<Region>() }
    }

    fn sys(&self) -> RealSys<'_> {
        // SAFETY: the data area starts at `DATA` inside the region.
        RealSys { region: self.region(), data: unsafe { self.shm.ptr().add(DATA) }, turn_taking: self.turn_taking }
    }

    fn header(&self) -> &Header {
        &self.region().header
    }

    /// Items in the queue now (Python's `qsize`; a snapshot that other processes change).
    pub fn len(&self) -> usize {
        self.header().len() as usize
    }

    /// Whether the queue is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue holds `capacity` items now.
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity()
    }

    /// The most items it holds.
    pub fn capacity(&self) -> usize {
        self.header().ctl.capacity.load(ring::Ordering::Relaxed) as usize
    }

    /// The largest serialized item it accepts, in bytes.
    pub fn max_item_bytes(&self) -> usize {
        ring::max_payload(self.header().ctl.data_len.load(ring::Ordering::Relaxed))
    }

    /// Closes the queue for every process: puts fail with `Closed`, gets return what is
    /// left and then `Closed`; every waiter wakes.
    pub fn close(&self) {
        ring::close(self.header(), &self.sys());
        for efd in [&self.getters_efd, &self.putters_efd] {
            let _ = rustix::io::write(efd.as_fd(), &(u32::MAX as u64).to_ne_bytes());
        }
    }

    /// Whether the queue was closed.
    pub fn is_closed(&self) -> bool {
        self.header().ctl.closed.load(ring::Ordering::Acquire) != 0
    }

    fn token(efd: &FdHandle) {
        // A full counter (never in practice) only means the waiters have tokens already.
        let _ = rustix::io::write(efd.as_fd(), &1u64.to_ne_bytes());
    }
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    fn put_with(&self, item: T, block: Block) -> Result<(), PutError<T>> {
        SCRATCH.with(|s| {
            let mut buf = s.borrow_mut();
            buf.clear();
            let taken = std::mem::take(&mut *buf);
            let bytes = match postcard::to_extend(&item, taken) {
                Ok(b) => b,
                Err(e) => return Err(PutError::Invalid(item, io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))),
            };
            let r = if bytes.len() > self.max_item_bytes() {
                Err(PutError::Invalid(
                    item,
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{} bytes serialized; the queue's ring takes at most {}", bytes.len(), self.max_item_bytes()),
                    ),
                ))
            } else {
                match ring::put(self.header(), &self.sys(), &bytes, block) {
                    Ok(wake_async) => {
                        if wake_async {
                            Queue::<T>::token(&self.getters_efd);
                        }
                        Ok(())
                    }
                    Err(PushError::Full) => Err(PutError::Full(item)),
                    Err(PushError::Closed) => Err(PutError::Closed(item)),
                }
            };
            *buf = bytes;
            r
        })
    }

    fn get_with(&self, block: Block) -> Result<T, GetError> {
        SCRATCH.with(|s| {
            let mut buf = s.borrow_mut();
            buf.clear();
            match ring::get(self.header(), &self.sys(), &mut buf, block) {
                Ok(wake_async) => {
                    if wake_async {
                        Queue::<T>::token(&self.putters_efd);
                    }
                    postcard::from_bytes(&buf)
                        .map_err(|e| GetError::Invalid(io::Error::new(io::ErrorKind::InvalidData, e.to_string())))
                }
                Err(PopError::Empty) => Err(GetError::Empty),
                Err(PopError::Closed) => Err(GetError::Closed),
            }
        })
    }

    /// Puts `item`, waiting for room as long as it takes.
    ///
    /// # Errors
    ///
    /// `Closed` or `Invalid`, with the item.
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_with(item, Block::Forever)
    }

    /// Puts `item` if there is room now.
    ///
    /// # Errors
    ///
    /// `Full`, `Closed` or `Invalid`, with the item.
    pub fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_with(item, Block::No)
    }

    /// Puts `item`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// As [`try_put`](Self::try_put).
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        match crate::sys::deadline(timeout) {
            Some(d) => self.put_with(item, Block::Until(d)),
            None => self.put_with(item, Block::Forever),
        }
    }

    /// Takes the oldest item, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// `Closed` once closed and drained; `Invalid` if the bytes do not decode.
    pub fn get(&self) -> Result<T, GetError> {
        self.get_with(Block::Forever)
    }

    /// Takes the oldest item if there is one.
    ///
    /// # Errors
    ///
    /// `Empty`, `Closed` or `Invalid`.
    pub fn try_get(&self) -> Result<T, GetError> {
        self.get_with(Block::No)
    }

    /// Takes the oldest item, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`try_get`](Self::try_get).
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        match crate::sys::deadline(timeout) {
            Some(d) => self.get_with(Block::Until(d)),
            None => self.get_with(Block::Forever),
        }
    }

    /// Puts `item`, waiting for room on the current c10k runtime (the task sleeps on an
    /// eventfd; the thread is free).
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put); outside a runtime, `Invalid` with the registration error.
    pub async fn put_async(&self, item: T) -> Result<(), PutError<T>> {
        let mut item = item;
        loop {
            let waiting = AsyncWaiter::register(&self.header().not_full.asleep_async);
            item = match self.put_with(item, Block::No) {
                Err(PutError::Full(item)) => item,
                r => return r,
            };
            if let Err(e) = waiting.wait(&self.putters_efd).await {
                return Err(PutError::Invalid(item, e));
            }
        }
    }

    /// Takes the oldest item, waiting on the current c10k runtime.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get); outside a runtime, `Invalid` with the registration error.
    pub async fn get_async(&self) -> Result<T, GetError> {
        loop {
            let waiting = AsyncWaiter::register(&self.header().not_empty.asleep_async);
            match self.get_with(Block::No) {
                Err(GetError::Empty) => {}
                r => return r,
            }
            waiting.wait(&self.getters_efd).await.map_err(GetError::Invalid)?;
        }
    }
}

/// An async waiter counted in the header while it exists (the count tells the other side
/// to hand out eventfd tokens); registered before the attempt, so a put that lands
/// between the attempt and the wait leaves a token.
struct AsyncWaiter<'a> {
    count: &'a ring::AtomicU32,
}

impl<'a> AsyncWaiter<'a> {
    fn register(count: &'a ring::AtomicU32) -> AsyncWaiter<'a> {
        count.fetch_add(1, ring::Ordering::SeqCst);
        AsyncWaiter { count }
    }

    async fn wait(self, efd: &FdHandle) -> io::Result<()> {
        use c10k_runtime::driver::{Interest, Registration};
        let reg = Registration::new(efd.as_fd().as_raw_fd(), Interest::READABLE)?;
        let mut b = [0u8; 8];
        std::future::poll_fn(|cx| reg.poll_read_io(cx, || rustix::io::read(efd.as_fd(), &mut b).map_err(io::Error::from))).await?;
        Ok(())
    }
}

impl Drop for AsyncWaiter<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, ring::Ordering::SeqCst);
    }
}

/// A [`Queue`] whose consumers mark items done, and whose [`join`](Self::join) waits
/// until every item put was marked (Python's `multiprocessing.JoinableQueue`).
///
/// It dereferences to [`Queue`] for `put`/`get` and the rest. A consumer that dies after
/// `get` and before `task_done` leaves its item unfinished forever: `join` then waits
/// until its timeout (`join_timeout`).
///
/// # Examples
///
/// ```
/// let q = c10k_process::JoinableQueue::<u32>::new()?;
/// q.put(1).unwrap();
/// q.put(2).unwrap();
/// while let Ok(n) = q.try_get() {
///     let _ = n;
///     q.task_done()?;
/// }
/// q.join(); // every item is done
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct JoinableQueue<T> {
    queue: Queue<T>,
}

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> Self {
        JoinableQueue { queue: self.queue.clone() }
    }
}

impl<T> std::fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinableQueue").field("len", &self.len()).field("unfinished", &self.unfinished()).finish()
    }
}

impl<T> std::ops::Deref for JoinableQueue<T> {
    type Target = Queue<T>;
    fn deref(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T> JoinableQueue<T> {
    /// A joinable queue with the default limits.
    ///
    /// # Errors
    ///
    /// As [`Queue::new`].
    pub fn new() -> io::Result<JoinableQueue<T>> {
        QueueBuilder::default().build_joinable()
    }

    /// A joinable queue holding at most `capacity` items.
    ///
    /// # Errors
    ///
    /// As [`Queue::new`].
    pub fn with_capacity(capacity: u32) -> io::Result<JoinableQueue<T>> {
        QueueBuilder::default().capacity(capacity).build_joinable()
    }

    /// Items put and not yet marked done.
    pub fn unfinished(&self) -> usize {
        self.queue.header().ctl.unfinished.load(ring::Ordering::Acquire) as usize
    }

    /// Marks one item taken with `get` as done; the last one wakes the joiners.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if called more times than items were put (Python's `ValueError`).
    pub fn task_done(&self) -> io::Result<()> {
        let w = &self.queue.header().ctl.unfinished;
        let mut cur = w.load(ring::Ordering::Acquire);
        loop {
            if cur == 0 {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "task_done() called more times than items were put"));
            }
            match w.compare_exchange_weak(cur, cur - 1, ring::Ordering::AcqRel, ring::Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        if cur == 1 {
            futex::wake_all(w);
        }
        Ok(())
    }

    /// Waits until every item put has been marked done.
    pub fn join(&self) {
        self.join_until(None);
    }

    /// Waits at most `timeout`; returns whether every item was done.
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.join_until(crate::sys::deadline(timeout))
    }

    fn join_until(&self, deadline: Option<std::time::Instant>) -> bool {
        let w = &self.queue.header().ctl.unfinished;
        loop {
            let v = w.load(ring::Ordering::Acquire);
            if v == 0 {
                return true;
            }
            if !futex::wait(w, v, deadline).unwrap_or(true) {
                return w.load(ring::Ordering::Acquire) == 0;
            }
        }
    }
}
