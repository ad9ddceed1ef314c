//! TCP: [`TcpListener`], [`TcpStream`] and its split halves, [`TcpSocket`] for options set
//! before listening or connecting.

mod listener;
mod socket;
pub mod split;
mod stream;

pub use listener::{Incoming, TcpListener};
pub use socket::TcpSocket;
pub use stream::TcpStream;
