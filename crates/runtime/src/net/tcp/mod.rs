//! TCP: [`TcpListener`], [`TcpStream`] and its split halves.

mod listener;
pub mod split;
mod stream;

pub use listener::{Incoming, TcpListener};
pub use stream::TcpStream;
