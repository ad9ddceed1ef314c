//! The shared-memory ring of a [`Queue`](crate::Queue): its layout, index protocol and
//! waiting protocol.
//!
//! # Layout
//!
//! ```text
//!  region: [ RawMutex | Header | data: data_len bytes ........................ ]
//!  data:   ... | len:u32 pad:u32 | bytes ... pad to 8 | len:u32 pad:u32 | bytes ... |
//!                ^ head % data_len                                        ^ tail % data_len
//! ```
//!
//! `head` and `tail` are byte positions that only grow (a `u64` does not wrap in practice:
//! 584 years at 1 GB/s); `tail - head` bytes are in use. A record is an 8-byte header (the
//! payload length) and the payload rounded up to 8 bytes, so a record header never
//! straddles the end of the data area (its position is a multiple of 8 and `data_len` is
//! too); a payload may wrap and is copied in two parts.
//!
//! # Index protocol (every step under the ring's lock)
//!
//! 1. push: refuse if `closed`, if `count == capacity`, or if the record does not fit in
//!    `data_len - (tail - head)` bytes; copy the record at `tail`; then publish it with
//!    `tail += size` and `count += 1`.
//! 2. pop: if `count == 0`, report closed or empty; otherwise copy the payload at `head`
//!    out, then `head += size` and `count -= 1`.
//! 3. Owner death: the lock is robust, so a process that died in step 1 or 2 hands the next
//!    locker `OwnerDied`. The copy always precedes the index stores, so the records from
//!    `head` to `tail` are whole; only `count` may disagree with them (a death between the
//!    two stores), and [`repair`] recounts it. What a dead process leaves behind is
//!    therefore: a put that did not finish is not in the queue (its `put` never returned);
//!    a get whose index store happened took the item with it (its `get` never returned
//!    it); nothing is duplicated; waiter counters it had raised stay raised, which costs
//!    the others a spurious wake system call, nothing more.
//!
//! # Waiting protocol (lost-wakeup freedom)
//!
//! A getter that finds the ring empty, still under the lock, raises `getters` and reads
//! the `not_empty` sequence, unlocks, and waits on the futex while the word still holds
//! that sequence. A putter, under the lock, publishes its record, bumps `not_empty`, and
//! reads `getters`; after unlocking it wakes one waiter if `getters > 0`. Both sides
//! touch `getters` and `not_empty` under the lock, so either the putter sees the raised
//! counter (and wakes), or the getter read the sequence after the bump (and the futex
//! returns at once). Putters waiting for room mirror this with `putters`/`not_full`. A
//! woken waiter always retries its operation before it looks at its deadline, so a wake
//! is never spent on a waiter that then gives up. Async waiters do the same with
//! `async_getters`/`async_putters` and an eventfd token in place of the futex.

pub(crate) use crate::loom::{AtomicU32, AtomicU64, Ordering};

/// The ring's counters, after the lock in the shared region. Every field is an atomic so
/// that shared references suffice; under the lock they are accessed `Relaxed` (the lock
/// orders them), except the words read outside it (`count` by spinners, the futex words).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) head: AtomicU64,
    pub(crate) tail: AtomicU64,
    /// Records in the ring.
    pub(crate) count: AtomicU32,
    /// Most records at once (Python's `maxsize`).
    pub(crate) capacity: AtomicU32,
    /// Bytes in the data area (a multiple of 8).
    pub(crate) data_len: AtomicU32,
    /// 1 once closed: puts fail, gets drain what is left and then fail.
    pub(crate) closed: AtomicU32,
    /// Blocked getters and putters (futex waiters).
    pub(crate) getters: AtomicU32,
    pub(crate) putters: AtomicU32,
    /// Futex sequence words, bumped by every put (`not_empty`) and get (`not_full`).
    pub(crate) not_empty: AtomicU32,
    pub(crate) not_full: AtomicU32,
    /// Async waiters (woken through the queue's eventfds).
    pub(crate) async_getters: AtomicU32,
    pub(crate) async_putters: AtomicU32,
    /// `JoinableQueue`: 1 if puts count unfinished tasks.
    pub(crate) joinable: AtomicU32,
    /// Items put and not yet marked done (futex word of `join`).
    pub(crate) unfinished: AtomicU32,
}

impl Header {
    /// A header for a ring of `capacity` records in `data_len` bytes.
    #[cfg(loom)]
    pub(crate) fn new(capacity: u32, data_len: u32) -> Header {
        let h = Header {
            head: AtomicU64::new(0),
            tail: AtomicU64::new(0),
            count: AtomicU32::new(0),
            capacity: AtomicU32::new(capacity),
            data_len: AtomicU32::new(data_len),
            closed: AtomicU32::new(0),
            getters: AtomicU32::new(0),
            putters: AtomicU32::new(0),
            not_empty: AtomicU32::new(0),
            not_full: AtomicU32::new(0),
            async_getters: AtomicU32::new(0),
            async_putters: AtomicU32::new(0),
            joinable: AtomicU32::new(0),
            unfinished: AtomicU32::new(0),
        };
        h
    }
}

/// Bytes a record of `len` payload bytes takes.
pub(crate) fn record_size(len: usize) -> u64 {
    8 + ((len as u64 + 7) & !7)
}

/// The largest payload a ring of `data_len` bytes can hold.
pub(crate) fn max_payload(data_len: u32) -> usize {
    (data_len as usize).saturating_sub(8)
}

/// Why a push failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    Full,
    Closed,
}

/// Why a pop failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PopError {
    Empty,
    Closed,
}

/// Step 1. The caller holds the ring's lock, and `data` is the data area of `h`.
///
/// # Safety
///
/// `data` points to `h.data_len` bytes that only holders of the ring's lock touch, and
/// the caller holds it; `msg.len() <= max_payload(data_len)`.
pub(crate) unsafe fn push(h: &Header, data: *mut u8, msg: &[u8]) -> Result<(), PushError> {
    if h.closed.load(Ordering::Relaxed) != 0 {
        return Err(PushError::Closed);
    }
    let data_len = h.data_len.load(Ordering::Relaxed) as u64;
    let (head, tail) = (
        h.head.load(Ordering::Relaxed),
        h.tail.load(Ordering::Relaxed),
    );
    let size = record_size(msg.len());
    if h.count.load(Ordering::Relaxed) >= h.capacity.load(Ordering::Relaxed)
        || size > data_len - (tail - head)
    {
        return Err(PushError::Full);
    }
    let at = (tail % data_len) as usize;
    // SAFETY: `at` is a multiple of 8 below `data_len`, so the 8-byte header fits before
    // the end; the payload goes at `at + 8` with wrap-around (`copy_in`); the caller holds
    // the lock, so nobody else touches these bytes (they are free: `size` fits).
    unsafe {
        data.add(at).cast::<u64>().write(msg.len() as u64);
        copy_in(data, data_len as usize, (at + 8) % data_len as usize, msg);
    }
    // Publish: the record is whole before the indices cover it (see "Owner death").
    h.tail.store(tail + size, Ordering::Release);
    h.count
        .store(h.count.load(Ordering::Relaxed) + 1, Ordering::Release);
    Ok(())
}

/// Step 2: appends the payload of the oldest record to `out`.
///
/// # Safety
///
/// As for [`push`].
pub(crate) unsafe fn pop(h: &Header, data: *mut u8, out: &mut Vec<u8>) -> Result<(), PopError> {
    let count = h.count.load(Ordering::Relaxed);
    if count == 0 {
        return Err(if h.closed.load(Ordering::Relaxed) != 0 {
            PopError::Closed
        } else {
            PopError::Empty
        });
    }
    let data_len = h.data_len.load(Ordering::Relaxed) as u64;
    let head = h.head.load(Ordering::Relaxed);
    let at = (head % data_len) as usize;
    // SAFETY: a whole record starts at `head` (the protocol's invariant); its header is
    // 8 aligned bytes before the end; the caller holds the lock.
    let len = unsafe { data.add(at).cast::<u64>().read() } as usize;
    debug_assert!(
        record_size(len) <= h.tail.load(Ordering::Relaxed) - head,
        "a torn record"
    );
    out.reserve(len);
    // SAFETY: as above; `copy_out` writes `len` bytes into the reserved spare capacity.
    unsafe {
        copy_out(
            data,
            data_len as usize,
            (at + 8) % data_len as usize,
            out.as_mut_ptr().add(out.len()),
            len,
        );
        out.set_len(out.len() + len);
    }
    h.head.store(head + record_size(len), Ordering::Release);
    h.count.store(count - 1, Ordering::Release);
    Ok(())
}

/// Step 3: after `OwnerDied`, recounts the whole records between `head` and `tail`.
///
/// # Safety
///
/// As for [`push`].
pub(crate) unsafe fn repair(h: &Header, data: *mut u8) {
    let data_len = h.data_len.load(Ordering::Relaxed) as u64;
    let (mut at, tail) = (
        h.head.load(Ordering::Relaxed),
        h.tail.load(Ordering::Relaxed),
    );
    let mut n = 0;
    while at < tail {
        // SAFETY: every record between head and tail is whole (step 3's argument).
        let len = unsafe { data.add((at % data_len) as usize).cast::<u64>().read() } as usize;
        at += record_size(len);
        n += 1;
    }
    h.count.store(n, Ordering::Release);
}

/// Copies `src` into the ring at `at`, wrapping at `len`.
///
/// # Safety
///
/// `data` points to `len` writable bytes, `at < len`, `src.len() <= len`.
unsafe fn copy_in(data: *mut u8, len: usize, at: usize, src: &[u8]) {
    let first = src.len().min(len - at);
    // SAFETY: the caller's contract bounds both parts.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), data.add(at), first);
        std::ptr::copy_nonoverlapping(src.as_ptr().add(first), data, src.len() - first);
    }
}

/// Copies `n` bytes out of the ring at `at`, wrapping at `len`, to `dst`.
///
/// # Safety
///
/// `data` points to `len` readable bytes, `at < len`, `n <= len`, `dst` has room for `n`.
unsafe fn copy_out(data: *const u8, len: usize, at: usize, dst: *mut u8, n: usize) {
    let first = n.min(len - at);
    // SAFETY: the caller's contract bounds both parts.
    unsafe {
        std::ptr::copy_nonoverlapping(data.add(at), dst, first);
        std::ptr::copy_nonoverlapping(data, dst.add(first), n - first);
    }
}

/// What the waiting protocol needs from its surroundings: the ring's lock, futex waits
/// and wakes on words of the header, and the data area. The queue implements it over the
/// robust mutex and real futexes; the loom model over loom's primitives.
pub(crate) trait Sys {
    /// Locks the ring; returns `true` if the previous owner died holding it.
    fn lock(&self) -> bool;
    /// Unlocks the ring.
    fn unlock(&self);
    /// Waits while `word == expected`, at most until `deadline`.
    fn wait(&self, word: &AtomicU32, expected: u32, deadline: Option<std::time::Instant>);
    /// Wakes at most `n` waiters of `word`.
    fn wake(&self, word: &AtomicU32, n: u32);
    /// The data area.
    fn data(&self) -> *mut u8;
    /// How many times to poll a futex word before sleeping on it.
    fn spins(&self) -> u32;
}

/// How long an operation may wait.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Block {
    /// Not at all (`try_*`).
    No,
    /// Until this instant (`*_timeout`).
    Until(std::time::Instant),
    /// As long as it takes.
    Forever,
}

impl Block {
    fn expired(self) -> bool {
        match self {
            Block::No => true,
            Block::Until(d) => std::time::Instant::now() >= d,
            Block::Forever => false,
        }
    }

    fn deadline(self) -> Option<std::time::Instant> {
        match self {
            Block::Until(d) => Some(d),
            _ => None,
        }
    }
}

fn lock<S: Sys>(h: &Header, s: &S) {
    if s.lock() {
        // SAFETY: we hold the lock; `s.data()` is the ring's data area.
        unsafe { repair(h, s.data()) };
    }
}

/// Spins while `word == seq`, at most `s.spins()` times; returns whether it changed.
fn spin<S: Sys>(s: &S, word: &AtomicU32, seq: u32) -> bool {
    for _ in 0..s.spins() {
        if word.load(Ordering::Acquire) != seq {
            return true;
        }
        std::hint::spin_loop();
    }
    false
}

/// A put with the waiting protocol. Returns whether async getters wait (the caller then
/// hands one of them an eventfd token).
///
/// `msg.len()` must be at most [`max_payload`] of the ring (the caller checks).
pub(crate) fn put<S: Sys>(h: &Header, s: &S, msg: &[u8], block: Block) -> Result<bool, PushError> {
    debug_assert!(msg.len() <= max_payload(h.data_len.load(Ordering::Relaxed)));
    let mut spun = false;
    loop {
        lock(h, s);
        // SAFETY: we hold the lock; the caller checked the length.
        match unsafe { push(h, s.data(), msg) } {
            Ok(()) => {
                if h.joinable.load(Ordering::Relaxed) != 0 {
                    h.unfinished.fetch_add(1, Ordering::Relaxed);
                }
                h.not_empty.fetch_add(1, Ordering::Release);
                let wake = h.getters.load(Ordering::Relaxed) > 0;
                let wake_async = h.async_getters.load(Ordering::Relaxed) > 0;
                s.unlock();
                if wake {
                    s.wake(&h.not_empty, 1);
                }
                return Ok(wake_async);
            }
            Err(PushError::Full) if !block.expired() => {
                let seq = h.not_full.load(Ordering::Relaxed);
                if !spun {
                    s.unlock();
                    spun = true;
                    spin(s, &h.not_full, seq);
                    continue;
                }
                h.putters.fetch_add(1, Ordering::Relaxed);
                s.unlock();
                s.wait(&h.not_full, seq, block.deadline());
                h.putters.fetch_sub(1, Ordering::Relaxed);
            }
            Err(e) => {
                s.unlock();
                return Err(e);
            }
        }
    }
}

/// A get with the waiting protocol, appending the payload to `out`. Returns whether async
/// putters wait.
pub(crate) fn get<S: Sys>(
    h: &Header,
    s: &S,
    out: &mut Vec<u8>,
    block: Block,
) -> Result<bool, PopError> {
    let mut spun = false;
    loop {
        lock(h, s);
        // SAFETY: we hold the lock.
        match unsafe { pop(h, s.data(), out) } {
            Ok(()) => {
                h.not_full.fetch_add(1, Ordering::Release);
                let wake = h.putters.load(Ordering::Relaxed) > 0;
                let wake_async = h.async_putters.load(Ordering::Relaxed) > 0;
                s.unlock();
                if wake {
                    s.wake(&h.not_full, 1);
                }
                return Ok(wake_async);
            }
            Err(PopError::Empty) if !block.expired() => {
                let seq = h.not_empty.load(Ordering::Relaxed);
                if !spun {
                    s.unlock();
                    spun = true;
                    spin(s, &h.not_empty, seq);
                    continue;
                }
                h.getters.fetch_add(1, Ordering::Relaxed);
                s.unlock();
                s.wait(&h.not_empty, seq, block.deadline());
                h.getters.fetch_sub(1, Ordering::Relaxed);
            }
            Err(e) => {
                s.unlock();
                return Err(e);
            }
        }
    }
}

/// Closes the ring and wakes every waiter (they see `closed`).
pub(crate) fn close<S: Sys>(h: &Header, s: &S) {
    lock(h, s);
    h.closed.store(1, Ordering::Relaxed);
    h.not_empty.fetch_add(1, Ordering::Release);
    h.not_full.fetch_add(1, Ordering::Release);
    s.unlock();
    s.wake(&h.not_empty, u32::MAX >> 1);
    s.wake(&h.not_full, u32::MAX >> 1);
}

#[cfg(all(test, loom))]
mod loom_ring;
