//! How values travel: postcard bytes in length-prefixed frames, and descriptors beside them.
//!
//! # Frames
//!
//! A frame is a 4-byte little-endian length followed by that many bytes of
//! [postcard](https://docs.rs/postcard) (serde's compact varint format). Frames are used on
//! the bootstrap socket of a child and by [`Connection`](crate::Connection).
//!
//! # Descriptors inside values
//!
//! The IPC objects of this crate (`Queue`, `Lock`, `Value`, a `Connection`, …) are backed by
//! descriptors: a memfd for shared memory, eventfds, sockets. When such an object is an
//! argument of [`Process::spawn`](crate::Process::spawn), serializing it records the
//! descriptor in a side table and writes only its index; the table travels with the
//! frame as `SCM_RIGHTS` ancillary data, and the child's deserializer takes the received
//! descriptor back by index (and maps the shared memory again). Outside a spawn, such an
//! object refuses to serialize with a clear error: its descriptor would mean nothing to
//! the reader.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest frame accepted from a peer (256 MiB): a corrupt length fails clearly instead of
/// allocating without bound.
pub(crate) const MAX_FRAME: usize = 256 << 20;

thread_local! {
    /// Descriptors recorded while serializing spawn arguments (`None` outside a spawn).
    static OUTGOING: RefCell<Option<Vec<RawFd>>> = const { RefCell::new(None) };
    /// Descriptors received with the arguments being deserialized (`None` outside).
    static INCOMING: RefCell<Option<Vec<OwnedFd>>> = const { RefCell::new(None) };
}

/// `value` as postcard bytes, with the descriptors of the IPC objects inside it (duplicated,
/// so that the objects may be dropped before the bytes travel).
pub(crate) fn encode_with_fds<T: Serialize + ?Sized>(value: &T) -> io::Result<(Vec<u8>, Vec<OwnedFd>)> {
    OUTGOING.with(|o| *o.borrow_mut() = Some(Vec::new()));
    let bytes = postcard::to_stdvec(value);
    let raw = OUTGOING.with(|o| o.borrow_mut().take()).unwrap_or_default();
    let bytes = bytes.map_err(encode_error)?;
    let mut fds = Vec::with_capacity(raw.len());
    for fd in raw {
        // SAFETY: `fd` was recorded from a live `FdHandle` borrowed by `value`, which is
        // still borrowed here, so the descriptor is open.
        let b = unsafe { BorrowedFd::borrow_raw(fd) };
        fds.push(crate::sys::dup(b)?);
    }
    Ok((bytes, fds))
}

/// Decodes `bytes`, handing `fds` to the IPC objects inside by index.
pub(crate) fn decode_with_fds<T: DeserializeOwned>(bytes: &[u8], fds: Vec<OwnedFd>) -> io::Result<T> {
    INCOMING.with(|i| *i.borrow_mut() = Some(fds));
    let value = postcard::from_bytes(bytes);
    INCOMING.with(|i| *i.borrow_mut() = None);
    value.map_err(decode_error)
}

/// `value` as postcard bytes; IPC objects inside refuse (see the module docs).
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> io::Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(encode_error)
}

/// Appends a frame holding `value` to `out`.
pub(crate) fn encode_frame<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> io::Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let mut out2 = std::mem::take(out);
    out2 = postcard::to_extend(value, out2).map_err(encode_error)?;
    *out = out2;
    let len = out.len() - start - 4;
    if len > MAX_FRAME {
        out.truncate(start);
        return Err(too_large(len));
    }
    out[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

/// Decodes `bytes` (IPC objects inside refuse).
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    postcard::from_bytes(bytes).map_err(decode_error)
}

/// The length of the frame starting `buf`, once its header is complete.
pub(crate) fn frame_len(buf: &[u8]) -> io::Result<Option<usize>> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_le_bytes(buf[..4].try_into().expect("4 bytes")) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes announced, more than the {MAX_FRAME}-byte limit"),
        ));
    }
    Ok(Some(len))
}

pub(crate) fn too_large(len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("a value of {len} bytes is more than the {MAX_FRAME}-byte frame limit"),
    )
}

fn encode_error(e: postcard::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("cannot serialize the value: {e}"))
}

fn decode_error(e: postcard::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("cannot deserialize the value: {e}"))
}

/// A shared descriptor that serializes as an index into the spawn's descriptor table.
#[derive(Debug, Clone)]
pub(crate) struct FdHandle(pub(crate) Arc<OwnedFd>);

impl FdHandle {
    pub(crate) fn new(fd: OwnedFd) -> FdHandle {
        FdHandle(Arc::new(fd))
    }
}

impl AsFd for FdHandle {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl Serialize for FdHandle {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let index = OUTGOING.with(|o| {
            o.borrow_mut().as_mut().map(|fds| {
                fds.push(self.0.as_raw_fd());
                fds.len() - 1
            })
        });
        match index {
            Some(i) => s.serialize_u32(i as u32),
            None => Err(serde::ser::Error::custom(
                "this IPC object holds a descriptor: it can only travel as an argument of \
                 Process::spawn (or be shared through a Manager by value)",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for FdHandle {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FdHandle, D::Error> {
        let index = u32::deserialize(d)? as usize;
        let fd = INCOMING.with(|i| {
            let table = i.borrow();
            let table = table.as_ref().ok_or("this IPC object holds a descriptor: it can only be received as an argument of a child process")?;
            let fd = table.get(index).ok_or("descriptor index out of range")?;
            fd.try_clone().map_err(|_| "cannot duplicate a received descriptor")
        });
        fd.map(FdHandle::new).map_err(serde::de::Error::custom)
    }
}
