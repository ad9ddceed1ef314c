//! The client: its settings, the keep-alive pool, and one GET with its redirects and
//! retries.
//!
//! Failures and retries. GET is idempotent, so a failure *before any response byte
//! arrived* is retried: at once on a fresh connection when the failed one came from the
//! pool (the server may have closed it while idle: the classic keep-alive race), and up to
//! `retries` times, after 100 ms, 200 ms, ..., when a fresh connection failed. Once the
//! response started, a failure is final. A failed TLS handshake (a certificate that does not
//! verify, say) is final too: trying again would not change the certificate. Every exchange
//! (connect, TLS handshake, request, the response head and its whole body) must finish
//! within the timeout.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write as _};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use c10k_runtime::net::TcpStream;
use c10k_runtime::time::{self, Instant};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{Error, ErrorKind};
use crate::head::{parse_head, Body, Head, MAX_HEAD};
use crate::response::Response;
use crate::tls::Trust;
use crate::url::{IntoUrl, Url};

/// Bytes asked for per read (and the size of each connection's buffer, which grows only for
/// a response head that does not fit).
const READ_SIZE: usize = 16 * 1024;

/// Requests, redirects and retries that one [`Client::get`] took, whether it succeeded or
/// not (see [`Response::attempts`] and [`Error::attempts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempts {
    /// Requests sent (redirects and retries included).
    pub requests: u32,
    /// Redirects followed.
    pub redirects: u32,
    /// Requests sent again after their connection failed before any response byte.
    pub retries: u32,
}

/// A connection's stream: plain TCP, or TLS over TCP for `https://`.
#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    /// Boxed: a TLS session holds kilobytes of state.
    Tls(Box<futures_rustls::client::TlsStream<TcpStream>>),
}

/// A connection and its read buffer, which stays with it in the pool.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: Stream,
    /// Always at its full length (zeroed once); what was received is tracked by the user.
    pub(crate) buf: Vec<u8>,
}

impl Conn {
    fn new(stream: Stream) -> Conn {
        Conn {
            stream,
            buf: vec![0; READ_SIZE],
        }
    }

    /// Sends all of `bytes` (for TLS, flushed out of the session to the socket).
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.stream {
            Stream::Tcp(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    /// Reads what arrived into `buf[at..]` (0 at end of file).
    pub(crate) async fn read_at(&mut self, at: usize) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Tcp(s) => s.read(&mut self.buf[at..]).await,
            Stream::Tls(s) => s.read(&mut self.buf[at..]).await,
        }
    }
}

/// Idle connections are kept per scheme, host and port.
type PoolKey = (bool, String, u16);

/// The idle connections, newest last per host, each with the time it went idle. A host with
/// none has no entry, so the map holds at most `max_idle_total` keys.
#[derive(Default)]
struct Pool {
    hosts: HashMap<PoolKey, Vec<(Instant, Conn)>>,
    total: usize,
}

/// An HTTP/1.1 client on the c10k runtime: GET with keep-alive, redirects, retries,
/// timeouts and TLS (see the crate's docs).
///
/// A `Client` is cheap to clone (the clones share the settings and the pool of idle
/// connections) and can be used from many tasks at once. It must be used inside a c10k
/// runtime.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Mutex<Pool>,
    settings: ClientBuilder,
    /// Built on the first `https://` URL (loading the system's roots takes milliseconds).
    tls: OnceLock<Result<Arc<futures_rustls::rustls::ClientConfig>, String>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Client`]; every one has a default.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    max_idle_per_host: usize,
    max_idle_total: usize,
    idle_timeout: Duration,
    timeout: Duration,
    retries: u32,
    max_redirects: u32,
    user_agent: String,
    trust: Trust,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            max_idle_per_host: 10,
            max_idle_total: 100,
            idle_timeout: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            retries: 2,
            max_redirects: 5,
            user_agent: concat!("c10k-http-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            trust: Trust::System,
        }
    }
}

impl ClientBuilder {
    /// Idle connections kept per host (scheme, host and port) for the next requests; default
    /// 10. More may be open at once: a request that finds none idle opens one, and returns
    /// it to the pool afterwards only if fewer than this many are idle. 0 counts as 1.
    pub fn max_idle_per_host(mut self, n: usize) -> Self {
        self.max_idle_per_host = n.max(1);
        self
    }

    /// Idle connections kept in all, over every host; default 100. When a connection comes
    /// back to a full pool, an idle connection of another host (that host's oldest) is
    /// closed to make room (or, when there is none, the returning one is). This bounds the descriptors a
    /// crawl over many hosts keeps open. 0 counts as 1.
    pub fn max_idle_total(mut self, n: usize) -> Self {
        self.max_idle_total = n.max(1);
        self
    }

    /// How long a connection may stay idle in the pool; default 60 s. An older one is
    /// closed instead of reused (servers close idle connections after a while, and a
    /// request on one they closed would have to be sent again).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long one exchange may take: connecting, the TLS handshake, sending the request
    /// and receiving the response, its whole body included; default 30 s. Each redirect
    /// and each retry is an exchange of its own.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries of a request whose fresh connection failed before any response byte (see
    /// the crate's docs); default 2.
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }

    /// Redirects followed for one URL before [`ErrorKind::Redirect`]; default 5.
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.max_redirects = n;
        self
    }

    /// The `User-Agent` sent; default `c10k-http-client/VERSION`.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Which servers `https://` trusts; default [`Trust::System`].
    pub fn trust(mut self, trust: Trust) -> Self {
        self.trust = trust;
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        Client {
            inner: Arc::new(Inner {
                pool: Mutex::new(Pool::default()),
                settings: self,
                tls: OnceLock::new(),
            }),
        }
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

/// How one exchange failed.
enum Failed {
    /// Nothing of a response arrived: safe to send the GET again.
    BeforeResponse(ErrorKind),
    /// The response had started (or the failure was not a connection failure).
    Final(ErrorKind),
}

impl Client {
    /// A client with the default settings (see [`ClientBuilder`]).
    pub fn new() -> Client {
        ClientBuilder::default().build()
    }

    /// Settings for a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The timeout of one exchange.
    pub(crate) fn timeout(&self) -> Duration {
        self.inner.settings.timeout
    }

    /// Sends `GET url`, following redirects and retrying as the crate's docs say, and
    /// returns the final response once its head arrived; read its body from the
    /// [`Response`].
    ///
    /// # Errors
    ///
    /// A URL this client cannot fetch, a connection or TLS failure, a timeout, a malformed
    /// response, or a bad or endless redirect: see [`ErrorKind`]. [`Error::attempts`] says
    /// what was tried.
    pub async fn get(&self, url: impl IntoUrl) -> Result<Response, Error> {
        let mut attempts = Attempts::default();
        let url = url
            .into_url()
            .map_err(|e| Error::new(ErrorKind::Url(e), attempts))?;
        match self.follow(url, &mut attempts).await {
            Ok(mut response) => {
                response.attempts = attempts;
                Ok(response)
            }
            Err(kind) => Err(Error::new(kind, attempts)),
        }
    }

    /// Exchanges until a response that is not a redirect.
    async fn follow(&self, mut url: Url, attempts: &mut Attempts) -> Result<Response, ErrorKind> {
        loop {
            let mut tries = 0;
            let (mut response, location) = loop {
                attempts.requests += 1;
                match self.exchange(&url, attempts).await {
                    Ok(x) => break x,
                    Err(Failed::BeforeResponse(_)) if tries < self.inner.settings.retries => {
                        tries += 1;
                        attempts.retries += 1;
                        time::sleep(Duration::from_millis(100) * tries).await;
                    }
                    Err(Failed::BeforeResponse(e) | Failed::Final(e)) => return Err(e),
                }
            };
            let Some(location) = location else {
                return Ok(response);
            };
            if attempts.redirects == self.inner.settings.max_redirects {
                return Err(ErrorKind::Redirect(format!(
                    "more than {} redirects",
                    self.inner.settings.max_redirects
                )));
            }
            // Read the redirect's body, so that its connection can serve the next request.
            while response.chunk().await.map_err(Error::into_kind)?.is_some() {}
            url = url
                .join(&location)
                .map_err(|e| ErrorKind::Redirect(format!("bad redirect to {location:?}: {e}")))?;
            attempts.redirects += 1;
        }
    }

    /// One GET on a pooled or new connection (a stale pooled connection is replaced once),
    /// up to the response head; returns the response and, for a redirect, its `Location`.
    async fn exchange(
        &self,
        url: &Url,
        attempts: &mut Attempts,
    ) -> Result<(Response, Option<String>), Failed> {
        let now = Instant::now();
        let deadline = now + self.inner.settings.timeout;
        let head = async {
            let (conn, reused) = match self.idle(url, now) {
                Some(conn) => (conn, true),
                None => (self.connect_boxed(url).await?, false),
            };
            match self.head_on(conn, url).await {
                Err(Failed::BeforeResponse(_)) if reused => {
                    attempts.requests += 1;
                    attempts.retries += 1;
                    let fresh = self.connect_boxed(url).await?;
                    self.head_on(fresh, url).await
                }
                other => other,
            }
        };
        let (conn, head, start, end) = match time::timeout_at(deadline, head).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(Failed::Final(ErrorKind::Timeout(
                    self.inner.settings.timeout,
                )))
            }
        };
        let redirect = matches!(head.status, 301 | 302 | 303 | 307 | 308);
        let body = Body::for_response(&head, false);
        let location = head.location.filter(|_| redirect);
        let mut response = Response {
            status: head.status,
            url: url.clone(),
            headers: head.headers,
            attempts: *attempts,
            content_length: if head.chunked {
                None
            } else {
                head.content_length
            },
            conn: Some(conn),
            body,
            start,
            end,
            // After `101 Switching Protocols` the connection no longer speaks HTTP/1.1.
            close: head.close || head.status == 101,
            deadline,
            client: self.clone(),
            received: 0,
        };
        if response.body.is_done() {
            // No body (204, 304, `Content-Length: 0`): the connection is free at once.
            response.finish();
        }
        Ok((response, location))
    }

    /// Sends the GET on `conn` and reads the response head, skipping interim 1xx responses;
    /// returns the connection, the head, and where the received body bytes lie in its
    /// buffer.
    async fn head_on(
        &self,
        mut conn: Conn,
        url: &Url,
    ) -> Result<(Conn, Head, usize, usize), Failed> {
        let mut request = Vec::with_capacity(128 + url.target().len());
        let _ = write!(
            request,
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nAccept: */*\r\n\r\n",
            url.target(),
            url.host_header(),
            self.inner.settings.user_agent
        );
        let before = |e: io::Error| Failed::BeforeResponse(ErrorKind::Io(e));
        conn.write_all(&request).await.map_err(before)?;
        let (mut start, mut end) = (0, 0);
        loop {
            if end > start {
                let parsed =
                    parse_head(&conn.buf[start..end]).map_err(|e| Failed::Final(e.into()))?;
                if let Some(head) = parsed {
                    start += head.len;
                    if (100..200).contains(&head.status) && head.status != 101 {
                        continue;
                    }
                    return Ok((conn, head, start, end));
                }
            }
            // More of the head is needed: make room for it.
            if end == conn.buf.len() {
                if start > 0 {
                    conn.buf.copy_within(start..end, 0);
                    end -= start;
                    start = 0;
                } else {
                    // Past `MAX_HEAD`, `parse_head` refuses the head.
                    let len = (conn.buf.len() * 2).min(MAX_HEAD + READ_SIZE);
                    conn.buf.resize(len, 0);
                }
            }
            let n = match conn.read_at(end).await {
                Ok(n) => n,
                Err(e) if end == 0 => return Err(before(e)),
                Err(e) => return Err(Failed::Final(ErrorKind::Io(e))),
            };
            if n == 0 {
                let e = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before a response",
                );
                return Err(if end == 0 {
                    before(e)
                } else {
                    Failed::Final(ErrorKind::Io(e))
                });
            }
            end += n;
        }
    }

    fn pool(&self) -> MutexGuard<'_, Pool> {
        // The pool holds no invariant a panic elsewhere could break.
        self.inner
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The newest idle connection to the URL's host, unless it has been idle too long (then
    /// it and the older ones of that host are closed).
    fn idle(&self, url: &Url, now: Instant) -> Option<Conn> {
        let key = (url.is_https(), url.host().to_owned(), url.port());
        let mut pool = self.pool();
        let Pool { hosts, total } = &mut *pool;
        let idle = hosts.get_mut(&key)?;
        let (since, conn) = idle.pop()?;
        *total -= 1;
        if now.saturating_duration_since(since) < self.inner.settings.idle_timeout {
            if idle.is_empty() {
                hosts.remove(&key);
            }
            return Some(conn);
        }
        // The others of this host went idle earlier still.
        *total -= idle.len();
        hosts.remove(&key);
        None
    }

    /// Returns a connection whose exchange ended cleanly to the pool, within its limits.
    pub(crate) fn put_back(&self, url: &Url, conn: Conn) {
        let settings = &self.inner.settings;
        let key = (url.is_https(), url.host().to_owned(), url.port());
        let mut pool = self.pool();
        let Pool { hosts, total } = &mut *pool;
        if hosts
            .get(&key)
            .is_some_and(|idle| idle.len() >= settings.max_idle_per_host)
        {
            return;
        }
        if *total >= settings.max_idle_total {
            // Make room: the oldest idle connection of some other host goes (which host does
            // not matter: the bound is what counts).
            let Some(other) = hosts.keys().find(|k| **k != key).cloned() else {
                return;
            };
            if let Some(idle) = hosts.get_mut(&other) {
                idle.remove(0);
                *total -= 1;
                if idle.is_empty() {
                    hosts.remove(&other);
                }
            }
        }
        hosts.entry(key).or_default().push((Instant::now(), conn));
        *total += 1;
    }

    /// [`connect`](Client::connect) on the heap: connecting (a name lookup, a TLS handshake)
    /// takes kilobytes of future state, which every request's future would otherwise carry
    /// and move at each `.await`, although only a new connection uses it.
    async fn connect_boxed(&self, url: &Url) -> Result<Conn, Failed> {
        Box::pin(self.connect(url)).await
    }

    async fn connect(&self, url: &Url) -> Result<Conn, Failed> {
        let connector = if url.is_https() {
            let built = self.inner.tls.get_or_init(|| {
                crate::tls::client_config(&self.inner.settings.trust).map(Arc::new)
            });
            Some(
                built
                    .clone()
                    .map_err(|e| Failed::Final(ErrorKind::Tls(e)))?,
            )
        } else {
            None
        };
        let stream = TcpStream::connect((url.host(), url.port()))
            .await
            .map_err(|e| Failed::BeforeResponse(ErrorKind::Io(e)))?;
        // Requests are small and each waits for its response: do not hold them back.
        let _ = stream.set_nodelay(true);
        let Some(connector) = connector else {
            return Ok(Conn::new(Stream::Tcp(stream)));
        };
        let name = futures_rustls::rustls::pki_types::ServerName::try_from(url.host().to_owned())
            .map_err(|e| Failed::Final(ErrorKind::Tls(format!("{}: {e}", url.host()))))?;
        let connector = futures_rustls::TlsConnector::from(connector);
        match connector.connect(name, stream).await {
            Ok(tls) => Ok(Conn::new(Stream::Tls(Box::new(tls)))),
            Err(e) => Err(Failed::Final(ErrorKind::Tls(tls_error(&e)))),
        }
    }
}

/// A handshake error in few words: rustls' own error (a certificate that does not verify)
/// when there is one, else the IO error.
fn tls_error(e: &io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<futures_rustls::rustls::Error>())
    {
        Some(tls) => tls.to_string(),
        None => e.to_string(),
    }
}
