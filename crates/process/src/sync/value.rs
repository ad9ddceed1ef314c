//! [`Value`] and [`Array`]: plain data in shared memory, each with its own robust lock.

use std::io;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::lock::{wrap, LockResult};
use crate::mutex::RawMutex;
use crate::shm::Shm;

/// Plain data that may live in shared memory: `Copy`, no pointers, no references, no
/// descriptors, valid for the bytes this crate writes into it.
///
/// # Safety
///
/// Implementors must hold no pointer or handle whose meaning is local to one process
/// (references, `Box`, `Vec`, `String`, descriptors), and every value of the type copied
/// byte for byte into another process must be a valid value there.
pub unsafe trait Plain: Copy + Send + Sync + 'static {}

macro_rules! plain {
    ($($t:ty),*) => { $(
        // SAFETY: a primitive number or `bool`: no pointers; we only ever write valid values.
        unsafe impl Plain for $t {}
    )* };
}
plain!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64, bool, char);
// SAFETY: an array of plain values is plain.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}

/// The layout at the start of a `Value` or `Array` region; the data follows at `DATA`.
#[repr(C)]
struct Header {
    lock: RawMutex,
    len: u64,
}

/// Where the data starts: after the header, aligned for anything up to 64 bytes.
const DATA: usize = (std::mem::size_of::<Header>() + 63) & !63;

fn region<T: Plain>(label: &str, len: usize, init: impl Fn(usize) -> T) -> io::Result<Shm> {
    assert!(std::mem::align_of::<T>() <= 64, "Plain types aligned above 64 bytes are not supported");
    let bytes = len.checked_mul(std::mem::size_of::<T>()).and_then(|b| b.checked_add(DATA)).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "an array that large does not fit in memory")
    })?;
    let shm = Shm::new(label, bytes.max(DATA + 1))?;
    // SAFETY: the region is new and ours alone; it holds a zeroed `Header` and room for
    // `len` values of `T` at `DATA` (aligned: the region is page-aligned).
    unsafe {
        let h = shm.header::<Header>();
        h.lock.init(false)?;
        (*shm.ptr().cast::<Header>()).len = len as u64;
        let data = shm.ptr().add(DATA).cast::<T>();
        for i in 0..len {
            data.add(i).write(init(i));
        }
    }
    Ok(shm)
}

/// One value of plain data shared by processes, with its lock (Python's
/// `multiprocessing.Value`).
///
/// [`get`](Self::get) and [`set`](Self::set) take the lock for one copy;
/// [`lock`](Self::lock) holds it for a read-modify-write (`*v.lock()? += 1`). The lock is
/// robust: a holder that died is reported as [`OwnerDied`](crate::OwnerDied) by `lock`,
/// while `get`/`set` carry on with whatever value it left.
///
/// # Examples
///
/// ```
/// let counter = c10k_process::Value::new(0u64)?;
/// *counter.lock().unwrap() += 5;
/// counter.set(counter.get() * 2);
/// assert_eq!(counter.get(), 10);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Value<T: Plain> {
    shm: Shm,
    _t: PhantomData<T>,
}

impl<T: Plain> Clone for Value<T> {
    fn clone(&self) -> Self {
        Value { shm: self.shm.clone(), _t: PhantomData }
    }
}

impl<T: Plain + std::fmt::Debug> std::fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Value").field("value", &self.get()).finish()
    }
}

impl<T: Plain> Value<T> {
    /// A shared value starting at `value`.
    ///
    /// # Errors
    ///
    /// The system's error creating or mapping the memory.
    pub fn new(value: T) -> io::Result<Value<T>> {
        Ok(Value { shm: region("c10k-value", 1, |_| value)?, _t: PhantomData })
    }

    fn header(&self) -> &Header {
        // SAFETY: initialized by the creator before sharing.
        unsafe { self.shm.header::<Header>() }
    }

    fn data(&self) -> *mut T {
        // SAFETY: the region holds the header and one `T` at `DATA`.
        unsafe { self.shm.ptr().add(DATA).cast::<T>() }
    }

    /// A copy of the value.
    pub fn get(&self) -> T {
        let g = self.lock().unwrap_or_else(|e| e.into_guard());
        *g
    }

    /// Replaces the value.
    pub fn set(&self, value: T) {
        let mut g = self.lock().unwrap_or_else(|e| e.into_guard());
        *g = value;
    }

    /// Locks the value for reading and writing in place.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`](crate::OwnerDied) (with the guard) if the previous holder died.
    pub fn lock(&self) -> LockResult<ValueGuard<'_, T>> {
        wrap(self.header().lock.lock(), || ValueGuard { value: self, _not_send: PhantomData }).expect("lock waits")
    }
}

impl<T: Plain> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shm.serialize(s)
    }
}

impl<'de, T: Plain> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let shm = Shm::deserialize(d)?;
        if shm.len() < DATA + std::mem::size_of::<T>() {
            return Err(serde::de::Error::custom("a shared Value of another type"));
        }
        Ok(Value { shm, _t: PhantomData })
    }
}

/// The locked value of a [`Value`]; unlocks when dropped.
#[must_use = "the value is unlocked as soon as the guard is dropped"]
pub struct ValueGuard<'a, T: Plain> {
    value: &'a Value<T>,
    _not_send: PhantomData<*const ()>,
}

impl<T: Plain + std::fmt::Debug> std::fmt::Debug for ValueGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: Plain> Deref for ValueGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock that serializes every access to the data.
        unsafe { &*self.value.data() }
    }
}

impl<T: Plain> DerefMut for ValueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and the guard is borrowed mutably.
        unsafe { &mut *self.value.data() }
    }
}

impl<T: Plain> Drop for ValueGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this thread holds the lock (the guard is not `Send`).
        unsafe { self.value.header().lock.unlock() };
    }
}

/// A fixed-length array of plain data shared by processes, with one lock (Python's
/// `multiprocessing.Array`).
///
/// # Examples
///
/// ```
/// let a = c10k_process::Array::from_slice(&[1i32, 2, 3])?;
/// a.set(0, 10);
/// for x in a.lock().unwrap().iter_mut() {
///     *x *= 2;
/// }
/// assert_eq!(a.to_vec(), [20, 4, 6]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Array<T: Plain> {
    shm: Shm,
    _t: PhantomData<T>,
}

impl<T: Plain> Clone for Array<T> {
    fn clone(&self) -> Self {
        Array { shm: self.shm.clone(), _t: PhantomData }
    }
}

impl<T: Plain + std::fmt::Debug> std::fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.to_vec()).finish()
    }
}

impl<T: Plain> Array<T> {
    /// An array holding a copy of `values`.
    ///
    /// # Errors
    ///
    /// The system's error creating or mapping the memory.
    pub fn from_slice(values: &[T]) -> io::Result<Array<T>> {
        Ok(Array { shm: region("c10k-array", values.len(), |i| values[i])?, _t: PhantomData })
    }

    /// An array of `len` copies of `value`.
    ///
    /// # Errors
    ///
    /// As [`from_slice`](Self::from_slice).
    pub fn filled(value: T, len: usize) -> io::Result<Array<T>> {
        Ok(Array { shm: region("c10k-array", len, |_| value)?, _t: PhantomData })
    }

    fn header(&self) -> &Header {
        // SAFETY: initialized by the creator before sharing.
        unsafe { self.shm.header::<Header>() }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.header().len as usize
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i`.
    ///
    /// # Panics
    ///
    /// If `i` is out of bounds.
    pub fn get(&self, i: usize) -> T {
        self.lock().unwrap_or_else(|e| e.into_guard())[i]
    }

    /// Sets element `i`.
    ///
    /// # Panics
    ///
    /// If `i` is out of bounds.
    pub fn set(&self, i: usize, value: T) {
        self.lock().unwrap_or_else(|e| e.into_guard())[i] = value;
    }

    /// A copy of every element.
    pub fn to_vec(&self) -> Vec<T> {
        self.lock().unwrap_or_else(|e| e.into_guard()).to_vec()
    }

    /// Locks the array for reading and writing in place (as a slice).
    ///
    /// # Errors
    ///
    /// [`OwnerDied`](crate::OwnerDied) (with the guard) if the previous holder died.
    pub fn lock(&self) -> LockResult<ArrayGuard<'_, T>> {
        wrap(self.header().lock.lock(), || ArrayGuard { array: self, _not_send: PhantomData }).expect("lock waits")
    }
}

impl<T: Plain> Serialize for Array<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shm.serialize(s)
    }
}

impl<'de, T: Plain> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let shm = Shm::deserialize(d)?;
        // SAFETY: at least a header's worth is checked before reading it.
        let len = if shm.len() >= DATA { unsafe { shm.header::<Header>() }.len as usize } else { usize::MAX };
        match len.checked_mul(std::mem::size_of::<T>()).and_then(|b| b.checked_add(DATA)) {
            Some(need) if need <= shm.len() => Ok(Array { shm, _t: PhantomData }),
            _ => Err(serde::de::Error::custom("a shared Array of another type")),
        }
    }
}

/// The locked elements of an [`Array`]; unlocks when dropped.
#[must_use = "the array is unlocked as soon as the guard is dropped"]
pub struct ArrayGuard<'a, T: Plain> {
    array: &'a Array<T>,
    _not_send: PhantomData<*const ()>,
}

impl<T: Plain + std::fmt::Debug> std::fmt::Debug for ArrayGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: Plain> Deref for ArrayGuard<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: we hold the lock; the region holds `len` values at `DATA`.
        unsafe { std::slice::from_raw_parts(self.array.shm.ptr().add(DATA).cast::<T>(), self.array.len()) }
    }
}

impl<T: Plain> DerefMut for ArrayGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and the guard is borrowed mutably.
        unsafe { std::slice::from_raw_parts_mut(self.array.shm.ptr().add(DATA).cast::<T>(), self.array.len()) }
    }
}

impl<T: Plain> Drop for ArrayGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this thread holds the lock (the guard is not `Send`).
        unsafe { self.array.header().lock.unlock() };
    }
}
