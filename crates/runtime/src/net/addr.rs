//! Address resolution: [`ToSocketAddrs`] and [`lookup_host`].
//!
//! Literal addresses (`"127.0.0.1:80"`, `SocketAddr`, `(IpAddr, u16)`) resolve in place with
//! no system call. Host names (`"localhost:80"`, `("example.com", 443)`) need the system
//! resolver (`getaddrinfo`), which blocks — possibly for seconds on a slow DNS server — so it
//! runs on the runtime's blocking pool ([`spawn_blocking`](crate::task::spawn_blocking)) and
//! the calling task waits without holding its worker thread, as asyncio's
//! `loop.getaddrinfo` does with its default executor.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Anything that names one or more socket addresses: what [`TcpStream::connect`],
/// [`TcpListener::bind`] and [`UdpSocket::bind`] accept.
///
/// Implemented for `SocketAddr` (v4/v6), `(IpAddr, u16)`, `(Ipv4Addr, u16)`,
/// `(Ipv6Addr, u16)`, `(&str, u16)`, `(String, u16)`, `&str`, `String`, `&[SocketAddr]` and
/// references to them. It is sealed: the resolution protocol is internal.
///
/// [`TcpStream::connect`]: super::TcpStream::connect
/// [`TcpListener::bind`]: super::TcpListener::bind
/// [`UdpSocket::bind`]: super::UdpSocket::bind
///
/// # Examples
///
/// ```
/// use std::net::{Ipv4Addr, SocketAddr};
/// use c10k_runtime::net::UdpSocket;
/// c10k_runtime::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?; // a literal: no resolver call
///     let b = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
///     let addr: SocketAddr = b.local_addr()?;
///     a.send_to(b"to b", addr).await?;
///     a.send_to(b"again", ("127.0.0.1", addr.port())).await?;
///     let c = UdpSocket::bind("localhost:0").await?; // a name: looked up on the blocking pool
///     assert!(c.local_addr()?.ip().is_loopback());
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

pub(crate) mod sealed {
    use std::net::SocketAddr;

    /// The result of looking at an address without the resolver.
    #[derive(Debug)]
    pub enum Resolved {
        /// Literal addresses.
        Ready(Vec<SocketAddr>),
        /// A `host:port` string for `getaddrinfo`, or a parse error.
        Lookup(String),
    }

    /// The private half of [`super::ToSocketAddrs`].
    pub trait ToSocketAddrsPriv {
        /// Resolves literal addresses in place, or names the host to look up.
        fn to_resolved(&self) -> Resolved;
    }
}

use sealed::{Resolved, ToSocketAddrsPriv};

macro_rules! literal {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {}
        impl ToSocketAddrsPriv for $t {
            fn to_resolved(&self) -> Resolved {
                Resolved::Ready(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

literal!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    fn to_resolved(&self) -> Resolved {
        match self.parse::<SocketAddr>() {
            Ok(a) => Resolved::Ready(vec![a]),
            Err(_) => Resolved::Lookup(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn to_resolved(&self) -> Resolved {
        self.as_str().to_resolved()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn to_resolved(&self) -> Resolved {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Resolved::Ready(vec![SocketAddr::new(ip, self.1)]),
            // `host:port`; an IPv6 literal would have parsed above.
            Err(_) => Resolved::Lookup(format!("{}:{}", self.0, self.1)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn to_resolved(&self) -> Resolved {
        (self.0.as_str(), self.1).to_resolved()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl ToSocketAddrsPriv for [SocketAddr] {
    fn to_resolved(&self) -> Resolved {
        Resolved::Ready(self.to_vec())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrsPriv + ?Sized> ToSocketAddrsPriv for &T {
    fn to_resolved(&self) -> Resolved {
        (**self).to_resolved()
    }
}

/// Resolves `addr` to its socket addresses, using the system resolver on the blocking pool
/// for host names (see the module docs).
///
/// # Errors
///
/// The resolver's error (e.g. unknown host, or a string without a port), or an error of kind
/// `Other` if the blocking pool is shut down. An empty result is an error of kind
/// `InvalidInput`.
///
/// # Examples
///
/// ```
/// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// # rt.block_on(async {
/// let addrs = c10k_runtime::net::lookup_host("localhost:80").await?;
/// assert!(addrs.iter().all(|a| a.port() == 80 && a.ip().is_loopback()));
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn lookup_host(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    resolve(&addr).await
}

pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    let addrs = match addr.to_resolved() {
        Resolved::Ready(a) => a,
        Resolved::Lookup(host) => crate::task::spawn_blocking(move || {
            std::net::ToSocketAddrs::to_socket_addrs(&host).map(Iterator::collect)
        })
        .await
        .map_err(|e| io::Error::other(format!("name lookup task failed: {e}")))??,
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket address",
        ));
    }
    Ok(addrs)
}

/// Tries `f` on each address in turn, returning the first success or the last error.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: &A, mut f: F) -> io::Result<T>
where
    A: ToSocketAddrs + ?Sized,
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in resolve(addr).await? {
        match f(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to try")))
}
