//! Unix domain stream sockets: [`UnixListener`], [`UnixStream`] and its split halves.
//!
//! They mirror the TCP types (same readiness protocol, same short-read rule, same split
//! halves, same accept back-off); addresses are filesystem paths (or unnamed, for
//! [`UnixStream::pair`]).

mod listener;
pub mod split;
mod stream;

pub use listener::{Incoming, UnixListener};
pub use stream::UnixStream;
