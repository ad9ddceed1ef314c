//! Provided buffer rings: a [`BufGroup`] of equal buffers the kernel picks
//! from when data arrives, and the [`ProvidedBuf`] that hands one out.
//! (The design and recycling protocol are documented on [`BufGroup`].)

use std::alloc::{self, Layout};
use std::fmt;
use std::io;
use std::ops::Deref;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::waker::Waker;

/// The kernel's `struct io_uring_buf`.
#[repr(C)]
struct RawBuf {
    addr: u64,
    len: u32,
    bid: u16,
    /// In entry 0: the ring's tail.
    resv: u16,
}

const PAGE: usize = 4096;
/// The kernel's limit on `ring_entries`.
const MAX_ENTRIES: u32 = 1 << 15;

/// The configuration of a [`BufGroup`], registered with
/// [`Ring::register_buf_group`](crate::Ring::register_buf_group).
///
/// | knob | default | meaning |
/// |---|---|---|
/// | `id` | (required) | the buffer group id operations name (`bgid`) |
/// | [`buf_size`](Self::buf_size) | 4096 | bytes per buffer: the most one completion can carry |
/// | [`count`](Self::count) | 256 | buffers registered at first |
/// | [`capacity`](Self::capacity) | `count` | the most buffers the group can [grow](crate::Ring::grow_buf_group) to (the ring's size is this, rounded up to a power of two; at most 32768) |
///
/// # Examples
///
/// ```
/// use c10k_uring::{BufGroup, Ring};
///
/// let mut ring = Ring::new()?;
/// let group = ring.register_buf_group(BufGroup::builder(0).buf_size(2048).count(64).capacity(1024))?;
/// assert_eq!(group.available(), 64);
/// assert_eq!(ring.grow_buf_group(&group, 64)?, 64);
/// assert_eq!(group.available(), 128);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BufGroupBuilder {
    pub(crate) id: u16,
    buf_size: u32,
    count: u16,
    capacity: Option<u16>,
}

impl BufGroupBuilder {
    /// Sets the size of each buffer (default 4096 bytes).
    pub fn buf_size(&mut self, bytes: u32) -> &mut Self {
        self.buf_size = bytes;
        self
    }

    /// Sets the number of buffers registered at first (default 256).
    pub fn count(&mut self, count: u16) -> &mut Self {
        self.count = count;
        self
    }

    /// Sets how many buffers the group may grow to (default: `count`).
    pub fn capacity(&mut self, capacity: u16) -> &mut Self {
        self.capacity = Some(capacity);
        self
    }

    /// Allocates the ring and the first chunk; the caller registers it.
    pub(crate) fn allocate(&self) -> io::Result<(BufGroup, Vec<NonNull<u8>>)> {
        let capacity = self.capacity.unwrap_or(self.count).max(self.count);
        let entries = u32::from(capacity).next_power_of_two();
        if self.count == 0 || self.buf_size == 0 || entries > MAX_ENTRIES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "buffer group {}: need 1 ≤ count ≤ capacity ≤ {MAX_ENTRIES} and buf_size > 0 \
                     (count {}, capacity {capacity}, buf_size {})",
                    self.id, self.count, self.buf_size
                ),
            ));
        }
        let ring_layout = Layout::from_size_align(
            (entries as usize * std::mem::size_of::<RawBuf>()).max(PAGE),
            PAGE,
        )
        .map_err(invalid)?;
        // SAFETY: the layout has a non-zero size (at least a page).
        let ring = NonNull::new(unsafe { alloc::alloc_zeroed(ring_layout) }.cast::<RawBuf>())
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let shared = Arc::new(Shared {
            id: self.id,
            buf_size: self.buf_size,
            entries,
            ring,
            ring_layout,
            producer: Mutex::new(Producer {
                tail: 0,
                chunks: Vec::new(),
                waker: None,
            }),
            available: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            capacity: usize::from(capacity),
            starved: AtomicBool::new(false),
        });
        let group = BufGroup { shared };
        let addrs = group.shared.add_chunk(self.count)?;
        Ok((group, addrs))
    }
}

/// A registered provided buffer group: a cheap, cloneable handle (`Send +
/// Sync`) to pass to [`Op::recv_multi`](crate::Op::recv_multi) and to watch
/// ([`available`](Self::available)).
///
/// # Why
///
/// A receive that owns its buffer pins that buffer for as long as the
/// connection is idle: 10 000 idle connections × 4 KiB = 40 MiB doing
/// nothing. With a provided group, a multishot receive owns no buffer; the
/// kernel takes one from the group only when data arrives, so memory scales
/// with the data in flight, not with the connections.
///
/// # Layout
///
/// The group's ring (`IORING_REGISTER_PBUF_RING`, ring-mapped, Linux 5.19)
/// is a page-aligned array of `entries` (a power of two) 16-byte
/// `io_uring_buf { addr, len, bid, resv }` in *our* memory; the `resv` field
/// of entry 0 doubles as the ring's `tail`. Userspace is the only producer:
/// it writes an entry at `tail & (entries - 1)` and then publishes it with a
/// release store of `tail + 1`. The kernel is the only consumer; its head is
/// private, so the group counts what it handed out itself
/// ([`BufGroup::available`]).
///
/// The buffers themselves live in page-aligned chunks (one per
/// registration or [`grow`](crate::Ring::grow_buf_group)); buffer id `bid`
/// is an index over all chunks. Chunks are allocated without being written
/// (not zeroed), so a page becomes resident only when the kernel first
/// receives into it: a large group that is mostly idle costs address space,
/// not memory.
///
/// # The recycling protocol
///
/// 1. A buffer is the kernel's while it sits in the ring (between its
///    publication and the CQE that names it).
/// 2. The ring's owner turns a CQE with `IORING_CQE_F_BUFFER` into a
///    [`ProvidedBuf`]: from then on the buffer is that value's, and nobody
///    else reads or writes it.
/// 3. Dropping the `ProvidedBuf`, on any thread, publishes the buffer again:
///    under the group's producer mutex, write the entry, bump the tail with
///    a release store. The mutex makes producers from several threads
///    correct; the kernel never writes the ring, so it needs no lock.
/// 4. If the group ran dry (a receive on it ended with `ENOBUFS`: the owner
///    sets `starved`), the first buffer to come back clears the flag and
///    wakes the ring's [`Waker`](crate::Waker), if it has one: an owner
///    asleep in `submit_and_wait` wakes up to re-arm its starved receives.
/// 5. The chunks and the ring live in an `Arc` shared by the owner and every
///    `ProvidedBuf`, so a buffer dropped after its ring is gone writes into
///    memory that is still ours. The [`Ring`](crate::Ring) unregisters the
///    group before dropping its reference (or leaks it, rule 7 of the
///    [protocol](crate#the-buffer-ownership-protocol)).
#[derive(Clone)]
pub struct BufGroup {
    pub(crate) shared: Arc<Shared>,
}

impl BufGroup {
    /// Starts the configuration of group `id` (see [`BufGroupBuilder`]).
    pub fn builder(id: u16) -> BufGroupBuilder {
        BufGroupBuilder {
            id,
            buf_size: 4096,
            count: 256,
            capacity: None,
        }
    }

    /// The group id (`bgid`).
    pub fn id(&self) -> u16 {
        self.shared.id
    }

    /// Bytes per buffer.
    pub fn buf_size(&self) -> u32 {
        self.shared.buf_size
    }

    /// Buffers in the group's ring now, as far as the owner has reaped:
    /// registered buffers minus those handed out in [`ProvidedBuf`]s not yet
    /// dropped. (A buffer the kernel filled but whose completion is not
    /// reaped yet still counts.) When every completion is reaped and every
    /// `ProvidedBuf` dropped, this equals [`total`](Self::total).
    pub fn available(&self) -> usize {
        self.shared.available.load(Ordering::Acquire)
    }

    /// Buffers the group owns, in the ring or handed out.
    pub fn total(&self) -> usize {
        self.shared.total.load(Ordering::Acquire)
    }

    /// The most buffers the group can grow to.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }
}

impl fmt::Debug for BufGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufGroup")
            .field("id", &self.id())
            .field("buf_size", &self.buf_size())
            .field("available", &self.available())
            .field("total", &self.total())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// The state of a group shared by its owner and every [`ProvidedBuf`].
pub(crate) struct Shared {
    id: u16,
    buf_size: u32,
    /// Ring entries, a power of two.
    entries: u32,
    /// The ring: `entries` `RawBuf`s, written only under `producer`.
    ring: NonNull<RawBuf>,
    ring_layout: Layout,
    producer: Mutex<Producer>,
    available: AtomicUsize,
    total: AtomicUsize,
    capacity: usize,
    /// A receive ended with `ENOBUFS` since the last return (step 4).
    starved: AtomicBool,
}

/// What only a producer (under the mutex) touches.
struct Producer {
    /// The next tail to publish (a free-running `u16`, like the kernel's).
    tail: u16,
    /// Buffer memory, freed when `Shared` drops.
    chunks: Vec<(NonNull<u8>, Layout)>,
    /// The owner's waker, woken by the first return after starvation.
    waker: Option<Waker>,
}

// SAFETY: the raw pointers are owned allocations. The ring entries are
// written only under `producer` (step 3 of the recycling protocol) and read
// by the kernel; the buffers are written by the kernel and read only through
// the one `ProvidedBuf` that owns each (step 2). Nothing is tied to a thread.
unsafe impl Send for Shared {}
// SAFETY: see `Send`: all shared mutation goes through the mutex or atomics.
unsafe impl Sync for Shared {}

impl Shared {
    pub(crate) fn ring_addr(&self) -> u64 {
        self.ring.as_ptr() as u64
    }

    pub(crate) fn ring_entries(&self) -> u16 {
        // `entries` ≤ 32768 fits; the kernel takes it as u16 here.
        self.entries as u16
    }

    fn lock(&self) -> MutexGuard<'_, Producer> {
        // A panic while holding the lock cannot leave the ring torn: the
        // tail is published last. So a poisoned lock is still usable.
        self.producer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Allocates `count` more buffers and publishes them; returns their
    /// addresses, indexed from the first new bid.
    pub(crate) fn add_chunk(&self, count: u16) -> io::Result<Vec<NonNull<u8>>> {
        let mut p = self.lock();
        let first = self.total.load(Ordering::Acquire);
        if first + usize::from(count) > self.capacity {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "buffer group {}: {first} + {count} buffers exceed its capacity {}",
                    self.id, self.capacity
                ),
            ));
        }
        if count == 0 {
            return Ok(Vec::new());
        }
        let size = usize::from(count)
            .checked_mul(self.buf_size as usize)
            .ok_or_else(|| invalid("buffer group too large"))?;
        let layout = Layout::from_size_align(size, PAGE).map_err(invalid)?;
        // SAFETY: size > 0 (count > 0 and buf_size > 0, checked at build).
        // Not zeroed on purpose: zeroing would make every page of the chunk
        // resident at once. Nothing reads a byte the kernel has not written:
        // a `ProvidedBuf` shows only the `len` bytes its CQE says were
        // received.
        let base = NonNull::new(unsafe { alloc::alloc(layout) })
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        p.chunks.push((base, layout));
        let mut addrs = Vec::with_capacity(usize::from(count));
        for i in 0..usize::from(count) {
            // SAFETY: i * buf_size < size, inside the chunk just allocated.
            let addr =
                unsafe { NonNull::new_unchecked(base.as_ptr().add(i * self.buf_size as usize)) };
            addrs.push(addr);
            self.publish(&mut p, (first + i) as u16, addr);
        }
        self.commit(&p);
        self.total.fetch_add(usize::from(count), Ordering::AcqRel);
        self.available
            .fetch_add(usize::from(count), Ordering::AcqRel);
        Ok(addrs)
    }

    /// Writes buffer `bid` at the producer's tail (not yet visible).
    fn publish(&self, p: &mut Producer, bid: u16, addr: NonNull<u8>) {
        let index = usize::from(p.tail) & (self.entries as usize - 1);
        // SAFETY: index < entries, inside the ring allocation. We hold the
        // producer lock, so no other thread writes this entry; the kernel
        // reads only entries before the published tail, and this one is at
        // or after it. The fields are written through raw pointers, never
        // touching `resv` (entry 0's `resv` is the tail).
        unsafe {
            let entry = self.ring.as_ptr().add(index);
            ptr::addr_of_mut!((*entry).addr).write(addr.as_ptr() as u64);
            ptr::addr_of_mut!((*entry).len).write(self.buf_size);
            ptr::addr_of_mut!((*entry).bid).write(bid);
        }
        p.tail = p.tail.wrapping_add(1);
    }

    /// Makes every published entry visible to the kernel.
    fn commit(&self, p: &Producer) {
        // SAFETY: the tail is the `resv` field of entry 0, a u16 at byte 14
        // of the page-aligned ring, so it is aligned for `AtomicU16`; the
        // kernel reads it with an acquire load (`smp_load_acquire`), and we
        // only ever write it through this atomic.
        let tail = unsafe { &*ptr::addr_of!((*self.ring.as_ptr()).resv).cast::<AtomicU16>() };
        tail.store(p.tail, Ordering::Release);
    }

    /// Step 3 (and 4) of the recycling protocol.
    fn recycle(&self, bid: u16, addr: NonNull<u8>) {
        let mut p = self.lock();
        self.publish(&mut p, bid, addr);
        self.commit(&p);
        self.available.fetch_add(1, Ordering::AcqRel);
        let waker =
            if self.starved.load(Ordering::Acquire) && self.starved.swap(false, Ordering::AcqRel) {
                p.waker.clone()
            } else {
                None
            };
        drop(p);
        if let Some(waker) = waker {
            // A destructor cannot report it; `wake` fails only if eventfd's
            // counter overflows, which coalesced wakes never reach.
            let _ = waker.wake();
        }
    }

    /// Step 4: a receive on this group ended with `ENOBUFS`.
    pub(crate) fn set_starved(&self) {
        self.starved.store(true, Ordering::Release);
    }

    /// Step 4: who to wake when a buffer returns to a starved group.
    pub(crate) fn set_waker(&self, waker: Waker) {
        self.lock().waker = Some(waker);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let p = self.producer.get_mut().unwrap_or_else(|e| e.into_inner());
        for (base, layout) in p.chunks.drain(..) {
            // SAFETY: allocated in `add_chunk` with this layout; the last
            // reference is gone, so no ProvidedBuf points into it, and the
            // ring unregistered the group or leaked a reference (so this
            // never runs while the kernel may write here).
            unsafe { alloc::dealloc(base.as_ptr(), layout) };
        }
        // SAFETY: allocated in `allocate` with this layout; same argument.
        unsafe { alloc::dealloc(self.ring.as_ptr().cast(), self.ring_layout) };
    }
}

/// The owner's view of a registered group: the address of every buffer id,
/// to build [`ProvidedBuf`]s without taking the producer lock.
pub(crate) struct GroupOwner {
    pub(crate) group: BufGroup,
    pub(crate) addrs: Vec<NonNull<u8>>,
}

// SAFETY: the addresses point into the group's chunks, owned by `Shared`
// (Send + Sync); the owner only copies them into `ProvidedBuf`s.
unsafe impl Send for GroupOwner {}

impl GroupOwner {
    /// Step 2 of the recycling protocol: the CQE named `bid` and carried
    /// `len` bytes. `None` if the kernel named a buffer this group never had.
    pub(crate) fn take(&self, bid: u16, len: usize) -> Option<ProvidedBuf> {
        let ptr = *self.addrs.get(usize::from(bid))?;
        self.group.shared.available.fetch_sub(1, Ordering::AcqRel);
        Some(ProvidedBuf {
            shared: Arc::clone(&self.group.shared),
            ptr,
            // At most `buf_size`, a `u32`: the value stays three words.
            len: len.min(self.group.shared.buf_size as usize) as u32,
            bid,
        })
    }
}

/// One buffer of a [`BufGroup`], filled by a receive: derefs to the bytes
/// received, and goes back to its group when dropped (on any thread).
///
/// Hold it only as long as the data is needed: while it lives the kernel
/// cannot use the buffer, and a group with every buffer held makes multishot
/// receives end with `ENOBUFS`.
///
/// # Examples
///
/// See [`Op::recv_multi`](crate::Op::recv_multi) and the crate's
/// `tests/uring_ops.rs`; in a reap loop:
///
/// ```no_run
/// # let mut ring = c10k_uring::Ring::new()?;
/// ring.reap(|mut c| {
///     if let Some(buf) = c.take_provided() {
///         println!("received {:?}", &buf[..]);
///     } // dropped here: the buffer is back in its group
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ProvidedBuf {
    shared: Arc<Shared>,
    ptr: NonNull<u8>,
    len: u32,
    bid: u16,
}

// SAFETY: the buffer is exclusively this value's (step 2 of the recycling
// protocol) and `Shared` is Send + Sync; recycling takes the producer lock.
unsafe impl Send for ProvidedBuf {}
// SAFETY: shared access only reads the bytes, which nobody writes while this
// value lives.
unsafe impl Sync for ProvidedBuf {}

impl ProvidedBuf {
    /// The buffer id within its group.
    pub fn bid(&self) -> u16 {
        self.bid
    }

    /// The id of the group it came from.
    pub fn group_id(&self) -> u16 {
        self.shared.id
    }
}

impl Deref for ProvidedBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` points at a buffer of `buf_size` ≥ `len` bytes in a
        // chunk kept alive by `shared`; the kernel wrote the first `len` bytes
        // before posting the CQE (which the owner read with acquire ordering)
        // and will not write again until `drop` republishes it. Chunks are not
        // zeroed, but only those `len` bytes, written by the kernel, are exposed.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len as usize) }
    }
}

impl AsRef<[u8]> for ProvidedBuf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Drop for ProvidedBuf {
    fn drop(&mut self) {
        self.shared.recycle(self.bid, self.ptr);
    }
}

impl fmt::Debug for ProvidedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvidedBuf")
            .field("group", &self.shared.id)
            .field("bid", &self.bid)
            .field("len", &self.len)
            .finish()
    }
}

fn invalid(e: impl fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
}
