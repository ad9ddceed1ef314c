//! Shared memory: a `memfd_create(2)` file mapped `MAP_SHARED`, passed to children as a
//! descriptor (see `wire`) and mapped again there.
//!
//! A region starts zeroed (a fresh memfd reads as zeros), so atomics in it start at 0; the
//! creator initializes anything else (the pthread mutexes) before the region is shared.
//! The mapping lives as long as the last handle of this process; the memory lives as long
//! as any process maps it or holds the descriptor.

use std::io;
use std::os::fd::AsFd;
use std::ptr::NonNull;
use std::sync::Arc;

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::wire::FdHandle;

#[derive(Debug)]
struct Mapping {
    fd: FdHandle,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; every access to it goes through atomics or
// through the process-shared locks stored in it (each object documents its own rule).
unsafe impl Send for Mapping {}
// SAFETY: as for `Send`.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are the mapping made in `map` and nothing borrows it any
        // more (the last `Shm` handle is being dropped).
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// A shared memory region (cheap to clone: handles share one mapping).
#[derive(Debug, Clone)]
pub(crate) struct Shm {
    map: Arc<Mapping>,
}

impl Shm {
    /// A zeroed region of `len` bytes, named `name` in `/proc/PID/fd` for debugging.
    pub(crate) fn new(name: &str, len: usize) -> io::Result<Shm> {
        let fd = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC)?;
        rustix::fs::ftruncate(&fd, len as u64)?;
        Shm::map(FdHandle::new(fd), len)
    }

    fn map(fd: FdHandle, len: usize) -> io::Result<Shm> {
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "an empty shared region"));
        }
        // SAFETY: a fresh mapping chosen by the kernel (null hint), so it aliases nothing of
        // ours; the descriptor is a memfd of at least `len` bytes.
        let ptr = unsafe {
            mmap(std::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::SHARED, fd.as_fd(), 0)?
        };
        let ptr = NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Shm { map: Arc::new(Mapping { fd, ptr, len }) })
    }

    /// The start of the region (page-aligned).
    pub(crate) fn ptr(&self) -> *mut u8 {
        self.map.ptr.as_ptr()
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.map.len
    }

    /// The `T` at the start of the region.
    ///
    /// # Safety
    ///
    /// The region must be at least `size_of::<T>()` bytes and hold a valid `T` (all-zero
    /// bytes or initialized by the creator), and `T` must only be mutated through shared
    /// references (atomics, process-shared locks).
    pub(crate) unsafe fn header<T>(&self) -> &T {
        debug_assert!(std::mem::size_of::<T>() <= self.len());
        // SAFETY: the caller's contract; the region is page-aligned, enough for any `T`.
        unsafe { &*self.ptr().cast::<T>() }
    }
}

impl Serialize for Shm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map.fd.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Shm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Shm, D::Error> {
        let fd = FdHandle::deserialize(d)?;
        let len = rustix::fs::fstat(fd.as_fd()).map_err(serde::de::Error::custom)?.st_size as usize;
        Shm::map(fd, len).map_err(serde::de::Error::custom)
    }
}
