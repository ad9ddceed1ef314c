//! The shared-memory ring of a [`Queue`](crate::Queue): its layout, index protocol and
//! waiting protocol.
//!
//! # Layout
//!
//! ```text
//!  region: [ put lock | get lock | Header: put side | get side | not_empty | not_full | control ]
//!          [ data: data_len bytes ..................................................... ]
//!  data:   ... | seq:u64 len:u64 | payload, padded to 16 | seq:u64 len:u64 | payload ... | 0 |
//!                ^ head % data_len (oldest record)                             tail % data_len ^
//! ```
//!
//! Every part of the header sits on its own 128-byte line, so that producers and
//! consumers do not write the same cache line on the fast path: producers own the put
//! side (`tail`, `pushed`), consumers the get side (`head`, `popped`), each under its own
//! robust lock; they meet only in the data and by reading each other's side.
//!
//! `head`/`tail` are byte positions and `popped`/`pushed` record counts, all only growing
//! (`u64`: no wrap in practice). A record is a 16-byte header (its sequence number, 1 for
//! the first record ever put, then its payload length) and the payload padded to 16 bytes;
//! positions are multiples of 16 and `data_len` is too, so a header never straddles the
//! end of the data (a payload may wrap and is copied in two parts).
//!
//! # Index protocol
//!
//! 1. put (under the put lock): refuse if `closed`, if `pushed - popped == capacity`, or if
//!    the record plus 16 bytes does not fit in `data_len - (tail - head)`. Write the length
//!    and the payload at `tail`, zero the sequence word just after the record (in free
//!    space: the 16 spare bytes), then **commit**: store `pushed + 1` in the record's
//!    sequence word (release). Then `pushed += 1`, then `tail += size`.
//! 2. get (under the get lock): the record at `head` is ready iff its sequence word is
//!    `popped + 1` (acquire; a ready record is whole). Copy the payload out, then
//!    `popped += 1`, then `head += size` (which frees the bytes for producers).
//! 3. Why a reader never mistakes garbage for a record: the word at `tail` is always 0 until
//!    committed (step 1 zeroes it one record ahead; the memory starts zeroed), and a
//!    consumer only ever reads the word at `head <= tail`.
//! 4. Owner death: both locks are robust, so the next locker after a death learns of it and
//!    repairs its side from the sequence word at its position. Put side, word at `tail`:
//!    0 means the dead put never committed (its record is not in the queue); `pushed + 1`
//!    means it committed but stored neither index (advance both); `pushed` means it stored
//!    `pushed` but not `tail` (advance `tail`). Get side, word at `head`: `popped` means
//!    the dead get stored `popped` but not `head` (advance `head`: the dead process took the
//!    item); anything else is consistent (`popped + 1`: the item is still there). So a put
//!    that did not return is in the queue or not, never torn; a get that did not return
//!    left its item or took it, never duplicated it. What a dead process can leave behind:
//!    waiter counters it raised (the others pay a spurious wake system call), and, in a
//!    `JoinableQueue`, an unfinished-task count raised for a put that never committed.
//!
//! # Waiting protocol (lost-wakeup freedom)
//!
//! Each direction has a futex word `seq` and a sleeper flag `asleep`. A getter that finds
//! no ready record sets `not_empty.asleep`, reads `not_empty.seq`, checks the record at
//! `head` again, checks that its flag is still set, and only then sleeps on the futex
//! while the word still holds what it read. A putter, after its commit, reads the flag;
//! only if it is set does it clear it (swap), bump the word and wake every sleeper.
//! Putters waiting for room mirror this with `not_full`, notified by every get.
//!
//! Why no wakeup is lost: the waiter's flag store and the notifier's write of the
//! condition (the commit, or `head`) are each followed by a `SeqCst` fence before the
//! other's read (store buffering, ordered by the fences' total order): either the
//! notifier sees the flag (or a later write to it), or the waiter's second look sees the
//! condition. If it sees the flag, it bumps the word *after* clearing it, so a waiter
//! that read the word before the bump fails its futex compare or is woken, and one that
//! read it after sees the condition (the bump carries it). The "later write" case is a
//! notifier late from an earlier operation that cleared the flag of a newer sleeper: that
//! sleeper's last look at its flag finds it clear, and it tries again instead of
//! sleeping. A woken waiter always retries its operation before it looks at its
//! deadline, so a wake is never spent on a waiter that then gives up.
//!
//! Why a flag and not a count of sleepers: the notifier that clears it pays one wake per
//! sleeping episode; with a count it would pay a `futex` system call on every operation
//! until the woken thread gets a CPU to decrement it, which on a busy machine is most of
//! the cost of a cross-core queue (measured: 1.2 against 6.9 million messages/s).
//! Async waiters are counted in `asleep_async` and get an eventfd token instead.

pub(crate) use crate::loom::{seq_cst_pair_fence, AtomicU32, AtomicU64, Ordering};

/// One side's indices (put: `tail`, `pushed`; get: `head`, `popped`), written only by that
/// side's lock holder and read by the other side.
///
/// The put side also keeps the last `head`/`popped` it read (`seen_pos`, `seen_count`):
/// they only grow, so stale values underestimate the room, and producers read the get
/// side's line again only when the stale values say the ring is full. In the common case
/// a put then touches no line that consumers write except the record's own.
#[repr(C, align(128))]
#[derive(Debug)]
pub(crate) struct Side {
    pub(crate) pos: AtomicU64,
    pub(crate) count: AtomicU64,
    pub(crate) seen_pos: AtomicU64,
    pub(crate) seen_count: AtomicU64,
}

/// A futex word and the sleepers on it.
#[repr(C, align(128))]
#[derive(Debug)]
pub(crate) struct Waiters {
    /// Bumped after every commit (`not_empty`) or every get (`not_full`).
    pub(crate) seq: AtomicU32,
    /// 1 while some thread may be asleep on `seq` (set by each waiter before it sleeps,
    /// cleared by the waker that wakes them all).
    pub(crate) asleep: AtomicU32,
    /// Async waiters (woken with an eventfd token).
    pub(crate) asleep_async: AtomicU32,
}

/// Limits and flags, set at creation (except `closed` and `unfinished`).
#[repr(C, align(128))]
#[derive(Debug)]
pub(crate) struct Control {
    /// Most records at once (Python's `maxsize`).
    pub(crate) capacity: AtomicU32,
    /// Bytes in the data area (a multiple of 16).
    pub(crate) data_len: AtomicU32,
    /// 1 once closed: puts fail, gets drain what is left and then fail.
    pub(crate) closed: AtomicU32,
    /// `JoinableQueue`: 1 if puts count unfinished tasks.
    pub(crate) joinable: AtomicU32,
    /// Items put and not yet marked done (the futex word of `join`).
    pub(crate) unfinished: AtomicU32,
}

/// The ring's header (after the two locks in the shared region).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) put: Side,
    pub(crate) get: Side,
    pub(crate) not_empty: Waiters,
    pub(crate) not_full: Waiters,
    pub(crate) ctl: Control,
}

impl Header {
    /// A header for a ring of `capacity` records in `data_len` bytes (the loom model's;
    /// the queue's starts as zeroed shared memory and sets the limits in place).
    #[cfg(loom)]
    pub(crate) fn new(capacity: u32, data_len: u32) -> Header {
        let side = || Side {
            pos: AtomicU64::new(0),
            count: AtomicU64::new(0),
            seen_pos: AtomicU64::new(0),
            seen_count: AtomicU64::new(0),
        };
        let waiters = || Waiters {
            seq: AtomicU32::new(0),
            asleep: AtomicU32::new(0),
            asleep_async: AtomicU32::new(0),
        };
        Header {
            put: side(),
            get: side(),
            not_empty: waiters(),
            not_full: waiters(),
            ctl: Control {
                capacity: AtomicU32::new(capacity),
                data_len: AtomicU32::new(data_len),
                closed: AtomicU32::new(0),
                joinable: AtomicU32::new(0),
                unfinished: AtomicU32::new(0),
            },
        }
    }

    /// Records in the ring now (a snapshot).
    pub(crate) fn len(&self) -> u64 {
        let popped = self.get.count.load(Ordering::Acquire);
        self.put
            .count
            .load(Ordering::Acquire)
            .saturating_sub(popped)
    }
}

/// Bytes a record of `len` payload bytes takes.
pub(crate) fn record_size(len: usize) -> u64 {
    16 + ((len as u64 + 15) & !15)
}

/// The largest payload a ring of `data_len` bytes can hold (one record plus the 16 spare
/// bytes of step 1).
pub(crate) fn max_payload(data_len: u32) -> usize {
    (data_len as usize).saturating_sub(32)
}

/// Which lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    Put,
    Get,
}

/// What the protocols need from their surroundings: the two locks, futex waits and wakes,
/// the data area and its sequence words. The queue implements it over robust mutexes and
/// real futexes; the loom model over loom's primitives.
pub(crate) trait Sys {
    /// Locks `which`; returns `true` if the previous owner died holding it.
    fn lock(&self, which: Lock) -> bool;
    /// Unlocks `which`.
    fn unlock(&self, which: Lock);
    /// Waits while `word == expected`, at most until `deadline`.
    fn wait(&self, word: &AtomicU32, expected: u32, deadline: Option<std::time::Instant>);
    /// Wakes at most `n` waiters of `word`.
    fn wake(&self, word: &AtomicU32, n: u32);
    /// The data area.
    fn data(&self) -> *mut u8;
    /// The sequence word of the record header at byte `at` of the data (a multiple of 16).
    fn seq(&self, at: usize) -> &AtomicU64;
    /// How long to spin, in microseconds, before sleeping on a futex.
    fn spin_micros(&self) -> u32;
    /// Whether a spinning waiter yields its CPU between looks ([`spin`]).
    fn yields_while_spinning(&self) -> bool;
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

fn data_len(h: &Header) -> u64 {
    h.ctl.data_len.load(Ordering::Relaxed) as u64
}

/// Whether a record of `len` bytes fits now (step 1's checks, without `closed`). The
/// caller holds the put lock (it refreshes the put side's view of the get side).
fn has_room(h: &Header, len: usize) -> bool {
    let (tail, pushed) = (
        h.put.pos.load(Ordering::Relaxed),
        h.put.count.load(Ordering::Relaxed),
    );
    let fits = |head: u64, popped: u64| {
        pushed - popped < h.ctl.capacity.load(Ordering::Relaxed) as u64
            && record_size(len) + 16 <= data_len(h) - (tail - head)
    };
    if fits(
        h.put.seen_pos.load(Ordering::Relaxed),
        h.put.seen_count.load(Ordering::Relaxed),
    ) {
        return true;
    }
    // A get stores `popped`, then `head` (the write the waiting protocol pairs with).
    // Reading `head` first, `popped` is at least as new: once a waiter sees the `head` of
    // the get that woke it, it also sees that get's `popped`. Either order is safe against
    // overfilling: a stale value only underestimates the room.
    let head = h.get.pos.load(Ordering::SeqCst);
    let popped = h.get.count.load(Ordering::SeqCst);
    h.put.seen_pos.store(head, Ordering::Relaxed);
    h.put.seen_count.store(popped, Ordering::Relaxed);
    fits(head, popped)
}

/// Step 1. The caller holds the put lock; `msg.len() <= max_payload(data_len)`.
pub(crate) fn push<S: Sys>(h: &Header, s: &S, msg: &[u8]) -> Result<(), PushError> {
    if h.ctl.closed.load(Ordering::Relaxed) != 0 {
        return Err(PushError::Closed);
    }
    if !has_room(h, msg.len()) {
        return Err(PushError::Full);
    }
    let dl = data_len(h);
    let (tail, pushed) = (
        h.put.pos.load(Ordering::Relaxed),
        h.put.count.load(Ordering::Relaxed),
    );
    let size = record_size(msg.len());
    let at = (tail % dl) as usize;
    // SAFETY: `at` is a multiple of 16 below `data_len` (a multiple of 16), so the header
    // fits before the end; the record and the 16 spare bytes after it are free space
    // (`has_room`), which only the put lock's holder writes and no consumer reads (a
    // consumer reads only at `head`, and the sequence word at `tail` is not committed).
    unsafe {
        let data = s.data();
        data.add(at + 8).cast::<u64>().write(msg.len() as u64);
        copy_in(data, dl as usize, (at + 16) % dl as usize, msg);
    }
    s.seq(((tail + size) % dl) as usize)
        .store(0, Ordering::Relaxed);
    if h.ctl.joinable.load(Ordering::Relaxed) != 0 {
        h.ctl.unfinished.fetch_add(1, Ordering::SeqCst);
    }
    s.seq(at).store(pushed + 1, Ordering::SeqCst); // commit
    h.put.count.store(pushed + 1, Ordering::Release);
    h.put.pos.store(tail + size, Ordering::Release);
    Ok(())
}

/// Step 2: appends the payload of the oldest record to `out`. The caller holds the get
/// lock.
pub(crate) fn pop<S: Sys>(h: &Header, s: &S, out: &mut Vec<u8>) -> Result<(), PopError> {
    let dl = data_len(h);
    let (head, popped) = (
        h.get.pos.load(Ordering::Relaxed),
        h.get.count.load(Ordering::Relaxed),
    );
    let at = (head % dl) as usize;
    if s.seq(at).load(Ordering::Acquire) != popped + 1 {
        // `closed` is stored under the put lock, after every put that will ever commit:
        // once it is seen, a record not ready now never will be.
        if h.ctl.closed.load(Ordering::SeqCst) != 0
            && s.seq(at).load(Ordering::SeqCst) != popped + 1
        {
            return Err(PopError::Closed);
        }
        return Err(PopError::Empty);
    }
    // SAFETY: the record at `head` is committed (its sequence word, read with acquire
    // ordering, says so), so its header and payload are whole and no producer writes them
    // until `head` moves past; the caller holds the get lock.
    unsafe {
        let data = s.data();
        let len = data.add(at + 8).cast::<u64>().read() as usize;
        debug_assert!(record_size(len) + 16 <= dl, "a torn record");
        out.reserve(len);
        copy_out(
            data,
            dl as usize,
            (at + 16) % dl as usize,
            out.as_mut_ptr().add(out.len()),
            len,
        );
        out.set_len(out.len() + len);
        h.get.count.store(popped + 1, Ordering::Release);
        h.get.pos.store(head + record_size(len), Ordering::SeqCst);
    }
    Ok(())
}

/// Step 4 for the side `which`, after its lock reported the owner's death.
pub(crate) fn repair<S: Sys>(h: &Header, s: &S, which: Lock) {
    let dl = data_len(h);
    let side = match which {
        Lock::Put => &h.put,
        Lock::Get => &h.get,
    };
    let (pos, count) = (
        side.pos.load(Ordering::Relaxed),
        side.count.load(Ordering::Relaxed),
    );
    let at = (pos % dl) as usize;
    let word = s.seq(at).load(Ordering::Acquire);
    // SAFETY: a committed record's header is whole; we hold the side's lock.
    let size = || record_size(unsafe { s.data().add(at + 8).cast::<u64>().read() } as usize);
    match which {
        Lock::Put if word == count + 1 => {
            side.count.store(count + 1, Ordering::Release);
            side.pos.store(pos + size(), Ordering::Release);
        }
        Lock::Put | Lock::Get if word == count && count > 0 => {
            side.pos.store(pos + size(), Ordering::SeqCst);
        }
        _ => {}
    }
}

fn lock<S: Sys>(h: &Header, s: &S, which: Lock) {
    if s.lock(which) {
        repair(h, s, which);
    }
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

/// Spins while `ready()` is false, for at most `s.spin_micros()` microseconds.
///
/// It looks only every [`POLL_EVERY`] spin hints: polling the line the other side is
/// writing takes it away from that side each time. The budget is time, not a count of
/// hints (whose length varies tenfold between CPUs): long enough that a peer which is
/// merely slower, not descheduled, never makes the waiter sleep, because a sleeper costs
/// its peer a `futex` wake system call on every operation until it runs again.
fn spin<S: Sys>(s: &S, mut ready: impl FnMut() -> bool) {
    let budget = s.spin_micros();
    if budget == 0 {
        return;
    }
    let start = std::time::Instant::now();
    loop {
        for _ in 0..POLL_EVERY {
            std::hint::spin_loop();
        }
        if ready() {
            return;
        }
        let spent = start.elapsed().as_micros();
        if spent >= u128::from(budget) {
            return;
        }
        // For turn-taking queues, past the first microseconds: give the CPU to whoever
        // else can run on it. The peer this waiter waits for is often exactly that (just
        // woken, queued on this CPU while the other CPUs are busy); a spinner that kept the
        // CPU made each hop of a request/response cost the whole budget (a process-to-
        // process ping-pong: 108 µs p50 on 2 busy vCPUs; 10 µs with the yield).
        if spent >= u128::from(PAUSE_ONLY_MICROS) && s.yields_while_spinning() {
            std::thread::yield_now();
        }
    }
}

/// How long a waiter spins on the CPU before it starts yielding between looks.
const PAUSE_ONLY_MICROS: u32 = 2;

/// Spin hints between two looks of a spinning waiter.
const POLL_EVERY: u32 = 32;

/// After an operation the other side may wait for: if the sleeper flag is set, clears
/// it, bumps the futex word and wakes every sleeper. One wake per sleeping episode: the
/// operations that follow, while the woken threads wait for a CPU, find the flag clear
/// and make no system call (a wake per operation was the main cost of a cross-core queue
/// on a busy machine). The bump comes after the clear, so that a waker late from an
/// earlier operation that clears the flag of a newer sleeper also changes the word that
/// sleeper compares: its futex wait cannot start on a word that no one will change.
fn notify<S: Sys>(s: &S, w: &Waiters) {
    seq_cst_pair_fence();
    if w.asleep.load(Ordering::SeqCst) != 0 && w.asleep.swap(0, Ordering::SeqCst) != 0 {
        w.seq.fetch_add(1, Ordering::SeqCst);
        s.wake(&w.seq, u32::MAX >> 1);
    }
}

/// A put with the waiting protocol. Returns whether async getters wait (the caller then
/// hands one of them an eventfd token).
///
/// `msg.len()` must be at most [`max_payload`] of the ring (the caller checks).
pub(crate) fn put<S: Sys>(h: &Header, s: &S, msg: &[u8], block: Block) -> Result<bool, PushError> {
    debug_assert!(msg.len() <= max_payload(h.ctl.data_len.load(Ordering::Relaxed)));
    let mut spun = false;
    loop {
        lock(h, s, Lock::Put);
        match push(h, s, msg) {
            Ok(()) => {
                s.unlock(Lock::Put);
                notify(s, &h.not_empty);
                return Ok(h.not_empty.asleep_async.load(Ordering::SeqCst) > 0);
            }
            Err(PushError::Full) if !block.expired() => {
                let w = &h.not_full;
                if !spun {
                    s.unlock(Lock::Put);
                    spun = true;
                    let head = h.get.pos.load(Ordering::Relaxed);
                    spin(s, || h.get.pos.load(Ordering::Relaxed) != head);
                    continue;
                }
                w.asleep.store(1, Ordering::SeqCst);
                seq_cst_pair_fence();
                let seq = w.seq.load(Ordering::SeqCst);
                let room = has_room(h, msg.len());
                s.unlock(Lock::Put);
                // A waker late from an earlier operation may have cleared our flag
                // after we set it; its bump then came before our read of the word, so
                // sleeping would wait for a wake no one sends: look again instead.
                if !room && w.asleep.load(Ordering::SeqCst) != 0 {
                    s.wait(&w.seq, seq, block.deadline());
                }
            }
            Err(e) => {
                s.unlock(Lock::Put);
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
        lock(h, s, Lock::Get);
        match pop(h, s, out) {
            Ok(()) => {
                s.unlock(Lock::Get);
                notify(s, &h.not_full);
                return Ok(h.not_full.asleep_async.load(Ordering::SeqCst) > 0);
            }
            Err(PopError::Empty) if !block.expired() => {
                let w = &h.not_empty;
                let dl = data_len(h);
                let (head, popped) = (
                    h.get.pos.load(Ordering::Relaxed),
                    h.get.count.load(Ordering::Relaxed),
                );
                let at = (head % dl) as usize;
                if !spun {
                    s.unlock(Lock::Get);
                    spun = true;
                    spin(s, || s.seq(at).load(Ordering::Relaxed) == popped + 1);
                    continue;
                }
                w.asleep.store(1, Ordering::SeqCst);
                seq_cst_pair_fence();
                let seq = w.seq.load(Ordering::SeqCst);
                let ready = s.seq(at).load(Ordering::SeqCst) == popped + 1
                    || h.ctl.closed.load(Ordering::SeqCst) != 0;
                s.unlock(Lock::Get);
                // A waker late from an earlier operation may have cleared our flag
                // after we set it; its bump then came before our read of the word, so
                // sleeping would wait for a wake no one sends: look again instead.
                if !ready && w.asleep.load(Ordering::SeqCst) != 0 {
                    s.wait(&w.seq, seq, block.deadline());
                }
            }
            Err(e) => {
                s.unlock(Lock::Get);
                return Err(e);
            }
        }
    }
}

/// Closes the ring and wakes every waiter (they see `closed`). Taken under the put lock,
/// so that every put either committed before or sees `closed`.
pub(crate) fn close<S: Sys>(h: &Header, s: &S) {
    lock(h, s, Lock::Put);
    h.ctl.closed.store(1, Ordering::SeqCst);
    s.unlock(Lock::Put);
    for w in [&h.not_empty, &h.not_full] {
        w.seq.fetch_add(1, Ordering::SeqCst);
        s.wake(&w.seq, u32::MAX >> 1);
    }
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

#[cfg(all(test, loom))]
mod loom_ring;
