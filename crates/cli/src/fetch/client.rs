//! The HTTP/1.1 client: a small keep-alive pool per host, one GET exchange at a time per
//! connection, redirects, retries and timeouts; `https://` over TLS (`futures-rustls` on
//! the c10k `TcpStream`, configured by `crate::tls`).
//!
//! Fetching a URL:
//! 1. Take an idle connection to the host from the pool, or connect.
//! 2. Send `GET`, read the head, then the body with the framing it declares
//!    ([`Body`]); a redirect's body is discarded, the final body goes to the sink.
//! 3. A connection whose response was fully delimited and did not ask to close goes back
//!    to the pool (at most [`Client::new`]'s `per_host` idle ones per host).
//! 4. A redirect (301, 302, 303, 307, 308 with `Location`) is followed, at most
//!    [`MAX_REDIRECTS`] times, relative locations resolved against the current URL.
//!
//! Failures and retries. GET is idempotent, so a failure *before any response byte
//! arrived* is retried: at once on a fresh connection when the failed one came from the
//! pool (the server may have closed it while idle: the classic keep-alive race), and up to
//! `retries` times, after 100 ms, 200 ms, ..., when a fresh connection failed. Once the
//! response started, a failure is final. A failed TLS handshake (a certificate that does not
//! verify, say) is final too: trying again would not change the certificate. Every exchange
//! (connect, TLS handshake, request, response) must finish within the timeout.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use c10k::runtime::net::TcpStream;
use c10k::runtime::time;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

use super::response::{parse_head, Body, ProtocolError};
use super::url::Url;

/// Most redirects followed for one URL.
pub(crate) const MAX_REDIRECTS: u32 = 5;

/// Bytes asked for per read.
const READ_SIZE: usize = 16 * 1024;

/// Why a URL could not be fetched.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// Connecting, sending or receiving failed.
    Io(io::Error),
    /// The exchange did not finish in time.
    Timeout(Duration),
    /// The server's answer was malformed.
    Protocol(ProtocolError),
    /// Too many redirects, or a redirect to a URL we cannot fetch.
    Redirect(String),
    /// Writing the body to its file failed.
    Save(io::Error),
    /// TLS could not be set up (no root certificates) or its handshake failed.
    Tls(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Io(e) => f.write_str(&crate::errors::short(e)),
            FetchError::Timeout(d) => write!(f, "timed out after {:.1} s", d.as_secs_f64()),
            FetchError::Protocol(e) => write!(f, "{e}"),
            FetchError::Redirect(why) => f.write_str(why),
            FetchError::Save(e) => write!(f, "cannot save the body: {}", crate::errors::short(e)),
            FetchError::Tls(why) => write!(f, "TLS: {why}"),
        }
    }
}

impl From<ProtocolError> for FetchError {
    fn from(e: ProtocolError) -> Self {
        FetchError::Protocol(e)
    }
}

/// The final response of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    /// Status of the final response.
    pub(crate) status: u16,
    /// The URL that gave it.
    pub(crate) url: Url,
    /// Body bytes.
    pub(crate) bytes: u64,
}

/// What fetching one URL took, whether it succeeded or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Requests sent (redirects and retries included).
    pub(crate) requests: u32,
    /// Redirects followed.
    pub(crate) redirects: u32,
    /// Retries after connection failures.
    pub(crate) retries: u32,
}

/// Receives the final response's body.
pub(crate) trait Sink: Send {
    /// Called once the final response's status is known, before any body byte.
    ///
    /// # Errors
    ///
    /// Cannot prepare (e.g. create the file).
    fn start(&mut self, status: u16) -> io::Result<()>;
    /// A piece of the body.
    ///
    /// # Errors
    ///
    /// Cannot store it.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
}

/// A sink that only counts.
#[derive(Debug, Default)]
pub(crate) struct Discard;

impl Sink for Discard {
    fn start(&mut self, _status: u16) -> io::Result<()> {
        Ok(())
    }
    fn write(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

/// A connection's stream: plain TCP, or TLS over TCP for `https://`.
#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    /// Boxed: a TLS session holds kilobytes of state.
    Tls(Box<futures_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    /// Sends all of `bytes` (for TLS, flushed out of the session to the socket).
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    /// Reads what arrived (0 at end of file).
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
        }
    }
}

/// A connection and where it came from.
#[derive(Debug)]
struct Conn {
    stream: Stream,
    reused: bool,
}

/// Idle connections are kept per scheme, host and port.
type PoolKey = (bool, String, u16);

/// The client: settings and the idle-connection pool.
#[derive(Debug)]
pub(crate) struct Client {
    pool: Mutex<HashMap<PoolKey, Vec<Stream>>>,
    per_host: usize,
    timeout: Duration,
    retries: u32,
    trust: crate::tls::Trust,
    /// Built on the first `https://` URL (loading the system's roots takes milliseconds).
    tls: OnceLock<Result<Arc<futures_rustls::rustls::ClientConfig>, String>>,
}

/// How one exchange failed.
enum Failed {
    /// Nothing of a response arrived: safe to send the GET again.
    BeforeResponse(FetchError),
    /// The response had started (or the failure was not a connection failure).
    Final(FetchError),
}

/// What one exchange gave.
struct Exchange {
    status: u16,
    location: Option<String>,
    bytes: u64,
}

impl Client {
    /// A client keeping at most `per_host` idle connections per host, trusting `trust` for
    /// `https://`.
    pub(crate) fn new(
        per_host: usize,
        timeout: Duration,
        retries: u32,
        trust: crate::tls::Trust,
    ) -> Client {
        Client {
            pool: Mutex::new(HashMap::new()),
            per_host: per_host.max(1),
            timeout,
            retries,
            trust,
            tls: OnceLock::new(),
        }
    }

    /// Fetches a URL, following redirects; the final body goes to `sink`.
    ///
    /// # Errors
    ///
    /// See [`FetchError`].
    pub(crate) async fn fetch(
        &self,
        url: &Url,
        sink: &mut (dyn Sink + Send),
        counts: &mut Counts,
    ) -> Result<Fetched, FetchError> {
        let mut url = url.clone();
        loop {
            let mut attempt = 0;
            let exchange = loop {
                counts.requests += 1;
                let result =
                    match time::timeout(self.timeout, self.exchange(&url, sink, counts)).await {
                        Ok(r) => r,
                        Err(_) => Err(Failed::Final(FetchError::Timeout(self.timeout))),
                    };
                match result {
                    Ok(x) => break x,
                    Err(Failed::BeforeResponse(_)) if attempt < self.retries => {
                        attempt += 1;
                        counts.retries += 1;
                        time::sleep(Duration::from_millis(100) * attempt).await;
                    }
                    Err(Failed::BeforeResponse(e) | Failed::Final(e)) => return Err(e),
                }
            };
            match exchange.location {
                Some(location) => {
                    if counts.redirects == MAX_REDIRECTS {
                        return Err(FetchError::Redirect(format!(
                            "more than {MAX_REDIRECTS} redirects"
                        )));
                    }
                    url = url.join(&location).map_err(|e| {
                        FetchError::Redirect(format!("bad redirect to {location:?}: {e}"))
                    })?;
                    counts.redirects += 1;
                }
                None => {
                    return Ok(Fetched {
                        status: exchange.status,
                        url,
                        bytes: exchange.bytes,
                    })
                }
            }
        }
    }

    /// One GET on a pooled or new connection; a stale pooled connection is replaced once.
    async fn exchange(
        &self,
        url: &Url,
        sink: &mut (dyn Sink + Send),
        counts: &mut Counts,
    ) -> Result<Exchange, Failed> {
        let conn = self.connection(url).await?;
        let reused = conn.reused;
        match self.exchange_on(conn, url, sink).await {
            Err(Failed::BeforeResponse(_)) if reused => {
                counts.requests += 1;
                counts.retries += 1;
                let fresh = Conn {
                    stream: self.connect(url).await?,
                    reused: false,
                };
                self.exchange_on(fresh, url, sink).await
            }
            other => other,
        }
    }

    async fn connection(&self, url: &Url) -> Result<Conn, Failed> {
        let idle = {
            let mut pool = crate::sync::lock(&self.pool);
            pool.get_mut(&(url.tls, url.host.clone(), url.port))
                .and_then(Vec::pop)
        };
        match idle {
            Some(stream) => Ok(Conn {
                stream,
                reused: true,
            }),
            None => Ok(Conn {
                stream: self.connect(url).await?,
                reused: false,
            }),
        }
    }

    async fn connect(&self, url: &Url) -> Result<Stream, Failed> {
        let connector = if url.tls {
            let built = self.tls.get_or_init(|| {
                crate::tls::client_config(&self.trust)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            });
            Some(
                built
                    .clone()
                    .map_err(|e| Failed::Final(FetchError::Tls(e)))?,
            )
        } else {
            None
        };
        let stream = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| Failed::BeforeResponse(FetchError::Io(e)))?;
        let _ = stream.set_nodelay(true);
        let Some(connector) = connector else {
            return Ok(Stream::Tcp(stream));
        };
        let name = futures_rustls::rustls::pki_types::ServerName::try_from(url.host.clone())
            .map_err(|e| Failed::Final(FetchError::Tls(format!("{}: {e}", url.host))))?;
        let connector = futures_rustls::TlsConnector::from(connector);
        match connector.connect(name, stream).await {
            Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
            Err(e) => Err(Failed::Final(FetchError::Tls(tls_error(&e)))),
        }
    }

    async fn exchange_on(
        &self,
        mut conn: Conn,
        url: &Url,
        sink: &mut (dyn Sink + Send),
    ) -> Result<Exchange, Failed> {
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: c10k-fetch/{}\r\nAccept: */*\r\n\r\n",
            url.target,
            url.host_header(),
            env!("CARGO_PKG_VERSION")
        );
        let before = |e: io::Error| Failed::BeforeResponse(FetchError::Io(e));
        conn.stream
            .write_all(request.as_bytes())
            .await
            .map_err(before)?;
        let mut buf: Vec<u8> = Vec::with_capacity(READ_SIZE);
        // The head, skipping interim 1xx responses.
        let head = loop {
            if let Some(head) = parse_head(&buf).map_err(|e| Failed::Final(e.into()))? {
                if (100..200).contains(&head.status) && head.status != 101 {
                    buf.drain(..head.len);
                    continue;
                }
                buf.drain(..head.len);
                break head;
            }
            let len = buf.len();
            buf.resize(len + READ_SIZE, 0);
            let n = match conn.stream.read(&mut buf[len..]).await {
                Ok(n) => n,
                Err(e) if len == 0 => return Err(before(e)),
                Err(e) => return Err(Failed::Final(FetchError::Io(e))),
            };
            buf.truncate(len + n);
            if n == 0 {
                let e = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before a response",
                );
                return Err(if len == 0 {
                    before(e)
                } else {
                    Failed::Final(FetchError::Io(e))
                });
            }
        };
        let redirect = matches!(head.status, 301 | 302 | 303 | 307 | 308);
        let location = head.location.clone().filter(|_| redirect);
        if location.is_none() {
            sink.start(head.status)
                .map_err(|e| Failed::Final(FetchError::Save(e)))?;
        }
        let mut body = Body::for_response(&head, false);
        let mut bytes = 0u64;
        let mut save_error = None;
        let mut deliver = |piece: &[u8]| -> Result<(), ProtocolError> {
            bytes += piece.len() as u64;
            if location.is_none() && save_error.is_none() {
                if let Err(e) = sink.write(piece) {
                    save_error = Some(e);
                }
            }
            Ok(())
        };
        let mut used = body
            .feed(&buf, &mut deliver)
            .map_err(|e| Failed::Final(e.into()))?;
        let mut tmp = vec![0u8; READ_SIZE];
        while !body.is_done() {
            let n = conn
                .stream
                .read(&mut tmp)
                .await
                .map_err(|e| Failed::Final(FetchError::Io(e)))?;
            if n == 0 {
                body.finish_at_eof().map_err(|e| Failed::Final(e.into()))?;
                break;
            }
            buf.clear();
            buf.extend_from_slice(&tmp[..n]);
            used = body
                .feed(&buf, &mut deliver)
                .map_err(|e| Failed::Final(e.into()))?;
        }
        if let Some(e) = save_error {
            return Err(Failed::Final(FetchError::Save(e)));
        }
        // Bytes past the response (nothing may follow it unasked) or a close: not reusable.
        let clean = used == buf.len() && body.is_done() && body.reusable() && !head.close;
        if clean {
            self.put_back(url, conn.stream);
        }
        Ok(Exchange {
            status: head.status,
            location,
            bytes,
        })
    }

    fn put_back(&self, url: &Url, stream: Stream) {
        let mut pool = crate::sync::lock(&self.pool);
        let idle = pool
            .entry((url.tls, url.host.clone(), url.port))
            .or_default();
        if idle.len() < self.per_host {
            idle.push(stream);
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
        None => crate::errors::short(e),
    }
}
