//! [`Manager`]: a server process that owns dicts and lists of serde values, and the
//! proxies other processes use to reach them (Python's `multiprocessing.Manager`).
//!
//! # Protocol
//!
//! The server is a daemon child (entry `__c10k_manager`) running a current-thread c10k
//! runtime: a task accepts connections on a Unix socket (a fresh directory under the
//! temporary directory, mode 0700, so only this user connects), and one task per
//! connection answers requests in order. A request is one frame (`wire`): an object id
//! and an operation; the answer is one frame: the result or an error message. Keys and
//! values are stored as the postcard bytes the proxies send, so the server needs no
//! knowledge of the types; two keys are the same key when their bytes are equal (postcard
//! encodes equal values of the same type identically).
//!
//! A proxy holds the socket path and its object id, connects on first use, and may be
//! passed to a child as an argument (it carries no descriptor). The server exits on a
//! `Shutdown` request ([`Manager::shutdown`], or dropping the `Manager`), or when the
//! process that started it dies (it is a daemon).
//!
//! # Limits
//!
//! One request or answer is at most `wire::MAX_FRAME` (256 MiB); a client that sends a
//! larger length or bytes that do not decode is disconnected. The server trusts its
//! clients otherwise: they are processes of the same user.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::entry::Entry;
use crate::process::Process;
use crate::wire::{self, FdHandle};
use crate::StartMethod;

pub(crate) static MANAGER: Entry<FdHandle, ()> = Entry::new("__c10k_manager", serve);

#[derive(Debug, Serialize, Deserialize)]
enum Op {
    NewDict,
    NewList(Vec<Vec<u8>>),
    Get(Vec<u8>),
    Set(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Update(Vec<(Vec<u8>, Vec<u8>)>),
    Len,
    Items,
    Append(Vec<u8>),
    Extend(Vec<Vec<u8>>),
    Index(i64),
    SetIndex(i64, Vec<u8>),
    Pop(Option<i64>),
    Clear,
    Shutdown,
}

#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Unit,
    Id(u32),
    Value(Option<Vec<u8>>),
    Len(u64),
    Items(Vec<(Vec<u8>, Vec<u8>)>),
    Values(Vec<Vec<u8>>),
}

#[derive(Debug)]
enum Object {
    Dict(HashMap<Vec<u8>, Vec<u8>>, Vec<Vec<u8>>), // map + insertion order of keys
    List(Vec<Vec<u8>>),
}

#[derive(Debug, Default)]
struct State {
    objects: Vec<Object>,
}

fn index(len: usize, i: i64) -> Result<usize, String> {
    let j = if i < 0 { len as i64 + i } else { i };
    if j < 0 || j >= len as i64 {
        Err(format!("list index {i} out of range (length {len})"))
    } else {
        Ok(j as usize)
    }
}

impl State {
    fn apply(&mut self, id: u32, op: Op) -> Result<Reply, String> {
        match op {
            Op::NewDict => {
                self.objects.push(Object::Dict(HashMap::new(), Vec::new()));
                return Ok(Reply::Id(self.objects.len() as u32 - 1));
            }
            Op::NewList(items) => {
                self.objects.push(Object::List(items));
                return Ok(Reply::Id(self.objects.len() as u32 - 1));
            }
            Op::Shutdown => return Ok(Reply::Unit),
            _ => {}
        }
        let obj = self.objects.get_mut(id as usize).ok_or_else(|| format!("no shared object {id}"))?;
        match (obj, op) {
            (Object::Dict(m, _), Op::Get(k)) => Ok(Reply::Value(m.get(&k).cloned())),
            (Object::Dict(m, order), Op::Set(k, v)) => {
                if m.insert(k.clone(), v).is_none() {
                    order.push(k);
                }
                Ok(Reply::Unit)
            }
            (Object::Dict(m, order), Op::Delete(k)) => {
                let old = m.remove(&k);
                if old.is_some() {
                    order.retain(|o| *o != k);
                }
                Ok(Reply::Value(old))
            }
            (Object::Dict(m, order), Op::Update(kvs)) => {
                for (k, v) in kvs {
                    if m.insert(k.clone(), v).is_none() {
                        order.push(k);
                    }
                }
                Ok(Reply::Unit)
            }
            (Object::Dict(m, _), Op::Len) => Ok(Reply::Len(m.len() as u64)),
            (Object::Dict(m, order), Op::Items) => {
                Ok(Reply::Items(order.iter().map(|k| (k.clone(), m[k].clone())).collect()))
            }
            (Object::Dict(m, order), Op::Clear) => {
                m.clear();
                order.clear();
                Ok(Reply::Unit)
            }
            (Object::List(l), Op::Append(v)) => {
                l.push(v);
                Ok(Reply::Unit)
            }
            (Object::List(l), Op::Extend(vs)) => {
                l.extend(vs);
                Ok(Reply::Unit)
            }
            (Object::List(l), Op::Index(i)) => Ok(Reply::Value(Some(l[index(l.len(), i)?].clone()))),
            (Object::List(l), Op::SetIndex(i, v)) => {
                let j = index(l.len(), i)?;
                l[j] = v;
                Ok(Reply::Unit)
            }
            (Object::List(l), Op::Pop(i)) => {
                if l.is_empty() {
                    return Err("pop from an empty list".into());
                }
                let j = index(l.len(), i.unwrap_or(-1))?;
                Ok(Reply::Value(Some(l.remove(j))))
            }
            (Object::List(l), Op::Len) => Ok(Reply::Len(l.len() as u64)),
            (Object::List(l), Op::Items) => Ok(Reply::Values(l.clone())),
            (Object::List(l), Op::Clear) => {
                l.clear();
                Ok(Reply::Unit)
            }
            (_, op) => Err(format!("{op:?} does not apply to shared object {id}")),
        }
    }
}

/// The server (entry `__c10k_manager`): serves the listener until a `Shutdown`, which
/// ends the process once the answer is sent.
fn serve(listener: FdHandle) {
    let std_listener = std::os::unix::net::UnixListener::from(
        listener.0.as_ref().try_clone().expect("dup the manager's listener"),
    );
    let rt = c10k_runtime::Runtime::builder().current_thread().build().expect("the manager's runtime");
    rt.block_on(async move {
        let listener = c10k_runtime::net::UnixListener::from_std(std_listener).expect("register the listener");
        let state = Arc::new(Mutex::new(State::default()));
        loop {
            // Accept errors (EMFILE, ECONNABORTED) are the client's or passing: keep serving.
            let Ok((stream, _)) = listener.accept().await else { continue };
            let state = state.clone();
            // Detached: a connection's task ends with its client.
            drop(c10k_runtime::spawn(async move {
                let _ = connection(stream, state).await;
            }));
        }
    });
}

/// Answers one client's requests in order until it disconnects or misbehaves.
async fn connection(stream: c10k_runtime::net::UnixStream, state: Arc<Mutex<State>>) -> io::Result<()> {
    let mut header = [0u8; 4];
    let mut body = Vec::new();
    let mut out = Vec::new();
    loop {
        if let Err(e) = stream.read_exact(&mut header).await {
            return if e.kind() == io::ErrorKind::UnexpectedEof { Ok(()) } else { Err(e) };
        }
        let len = wire::frame_len(&header)?.expect("4 bytes");
        body.resize(len, 0);
        stream.read_exact(&mut body).await?;
        let (id, op): (u32, Op) = wire::decode(&body)?;
        let shutdown = matches!(op, Op::Shutdown);
        let reply = state.lock().unwrap_or_else(|p| p.into_inner()).apply(id, op);
        out.clear();
        wire::encode_frame(&reply, &mut out)?;
        stream.write_all(&out).await?;
        if shutdown {
            std::process::exit(0);
        }
    }
}

/// A client connection (connected on first use, shared by the proxy's clones in this
/// process).
#[derive(Debug, Default)]
struct Client {
    stream: Mutex<Option<UnixStream>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Address {
    path: PathBuf,
    id: u32,
    #[serde(skip)]
    client: Arc<Client>,
}

impl Address {
    fn call(&self, op: Op) -> io::Result<Reply> {
        let mut guard = self.client.stream.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let s = UnixStream::connect(&self.path).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot reach the manager at {}: {e}", self.path.display()))
            })?;
            *guard = Some(s);
        }
        let stream = guard.as_mut().expect("connected above");
        let r = exchange(stream, self.id, op);
        if r.is_err() {
            *guard = None; // a broken connection is not reused
        }
        r?.map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))
    }
}

fn exchange(stream: &mut UnixStream, id: u32, op: Op) -> io::Result<Result<Reply, String>> {
    let mut out = Vec::new();
    wire::encode_frame(&(id, op), &mut out)?;
    stream.write_all(&out)?;
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(io::ErrorKind::BrokenPipe, "the manager is gone")
        } else {
            e
        }
    })?;
    let len = wire::frame_len(&header)?.expect("4 bytes");
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    wire::decode(&body)
}

/// A server process holding shared dicts and lists (Python's `multiprocessing.Manager`).
///
/// [`dict`](Self::dict) and [`list`](Self::list) create objects in the server and return
/// proxies; pass proxies (clones) to children as arguments. Every proxy call is one
/// request and one answer on a Unix socket (about the cost of a [`Pipe`](crate::Pipe)
/// round trip, plus serialization).
///
/// # Examples
///
/// ```no_run
/// use c10k_process::Manager;
///
/// fn main() -> std::io::Result<()> {
///     c10k_process::init(&[]); // the manager's entry is built in
///     let manager = Manager::start()?;
///     let d = manager.dict::<String, u32>()?;
///     d.set(&"a".to_string(), &1)?;
///     assert_eq!(d.get(&"a".to_string())?, Some(1));
///     manager.shutdown()?;
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct Manager {
    admin: Address,
    dir: PathBuf,
    process: Option<Process<()>>,
}

impl Manager {
    /// Starts the server process (a daemon child, with the default start method).
    ///
    /// # Errors
    ///
    /// The system's error creating the socket or the process; `NotFound` if
    /// [`init`](crate::init) was not called.
    pub fn start() -> io::Result<Manager> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("c10k-manager-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir)?;
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        let path = dir.join("socket");
        let listener = std::os::unix::net::UnixListener::bind(&path)?;
        let process = Process::new(&MANAGER, FdHandle::new(listener.into()))?
            .name("c10k-manager")
            .daemon(true)
            .start_method(StartMethod::Spawn);
        let mut process = process;
        process.start()?;
        Ok(Manager { admin: Address { path, id: 0, client: Arc::default() }, dir, process: Some(process) })
    }

    /// The server's pid.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(|p| p.pid())
    }

    /// A new, empty shared dict.
    ///
    /// # Errors
    ///
    /// The manager is gone, or the connection failed.
    pub fn dict<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned>(&self) -> io::Result<DictProxy<K, V>> {
        match self.admin.call(Op::NewDict)? {
            Reply::Id(id) => Ok(DictProxy { addr: Address { id, ..self.admin.clone() }, _kv: PhantomData }),
            r => Err(unexpected(r)),
        }
    }

    /// A new shared list holding `items`.
    ///
    /// # Errors
    ///
    /// As [`dict`](Self::dict), and `InvalidInput` if an item does not serialize.
    pub fn list<T: Serialize + DeserializeOwned>(&self, items: impl IntoIterator<Item = T>) -> io::Result<ListProxy<T>> {
        let items = items.into_iter().map(|t| wire::encode(&t)).collect::<io::Result<Vec<_>>>()?;
        match self.admin.call(Op::NewList(items))? {
            Reply::Id(id) => Ok(ListProxy { addr: Address { id, ..self.admin.clone() }, _t: PhantomData }),
            r => Err(unexpected(r)),
        }
    }

    /// Stops the server and waits for it (dropping the `Manager` does the same).
    ///
    /// # Errors
    ///
    /// The system's error waiting for it.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<()> {
        if let Some(mut p) = self.process.take() {
            if self.admin.call(Op::Shutdown).is_err() {
                p.kill()?;
            }
            p.join()?;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn unexpected(r: Reply) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("unexpected answer from the manager: {r:?}"))
}

fn decode_err(e: io::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("a shared value did not decode: {e}"))
}

/// The types a `DictProxy` moves (variance marker).
type KeyValue<K, V> = fn(K, V) -> (K, V);

/// A proxy of a dict held by a [`Manager`] (Python's `DictProxy`). Clones share one
/// connection; a proxy passed to a child connects anew there.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct DictProxy<K, V> {
    addr: Address,
    #[serde(skip)]
    _kv: PhantomData<KeyValue<K, V>>,
}

impl<K, V> Clone for DictProxy<K, V> {
    fn clone(&self) -> Self {
        DictProxy { addr: self.addr.clone(), _kv: PhantomData }
    }
}

impl<K, V> std::fmt::Debug for DictProxy<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DictProxy").field("id", &self.addr.id).finish()
    }
}

impl<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> DictProxy<K, V> {
    /// The value of `key`, if any.
    ///
    /// # Errors
    ///
    /// The manager is gone or the value does not decode.
    pub fn get(&self, key: &K) -> io::Result<Option<V>> {
        match self.addr.call(Op::Get(wire::encode(key)?))? {
            Reply::Value(v) => v.map(|b| wire::decode(&b).map_err(decode_err)).transpose(),
            r => Err(unexpected(r)),
        }
    }

    /// Sets `key` to `value`.
    ///
    /// # Errors
    ///
    /// The manager is gone, or a value does not serialize.
    pub fn set(&self, key: &K, value: &V) -> io::Result<()> {
        self.addr.call(Op::Set(wire::encode(key)?, wire::encode(value)?)).map(drop)
    }

    /// Removes `key`, returning its value.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    pub fn delete(&self, key: &K) -> io::Result<Option<V>> {
        match self.addr.call(Op::Delete(wire::encode(key)?))? {
            Reply::Value(v) => v.map(|b| wire::decode(&b).map_err(decode_err)).transpose(),
            r => Err(unexpected(r)),
        }
    }

    /// Sets every pair, in one request.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    pub fn update<'a>(&self, pairs: impl IntoIterator<Item = (&'a K, &'a V)>) -> io::Result<()>
    where
        K: 'a,
        V: 'a,
    {
        let kvs = pairs.into_iter().map(|(k, v)| Ok((wire::encode(k)?, wire::encode(v)?))).collect::<io::Result<Vec<_>>>()?;
        self.addr.call(Op::Update(kvs)).map(drop)
    }

    /// The number of keys.
    ///
    /// # Errors
    ///
    /// The manager is gone.
    pub fn len(&self) -> io::Result<usize> {
        match self.addr.call(Op::Len)? {
            Reply::Len(n) => Ok(n as usize),
            r => Err(unexpected(r)),
        }
    }

    /// Whether it has no keys.
    ///
    /// # Errors
    ///
    /// The manager is gone.
    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// A snapshot of every pair, in insertion order (iterate over it).
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    pub fn items(&self) -> io::Result<Vec<(K, V)>> {
        match self.addr.call(Op::Items)? {
            Reply::Items(kvs) => kvs
                .into_iter()
                .map(|(k, v)| Ok((wire::decode(&k).map_err(decode_err)?, wire::decode(&v).map_err(decode_err)?)))
                .collect(),
            r => Err(unexpected(r)),
        }
    }

    /// Removes every key.
    ///
    /// # Errors
    ///
    /// The manager is gone.
    pub fn clear(&self) -> io::Result<()> {
        self.addr.call(Op::Clear).map(drop)
    }
}

/// A proxy of a list held by a [`Manager`] (Python's `ListProxy`). Indices may be
/// negative, counting from the end, as in Python.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ListProxy<T> {
    addr: Address,
    #[serde(skip)]
    _t: PhantomData<fn(T) -> T>,
}

impl<T> Clone for ListProxy<T> {
    fn clone(&self) -> Self {
        ListProxy { addr: self.addr.clone(), _t: PhantomData }
    }
}

impl<T> std::fmt::Debug for ListProxy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListProxy").field("id", &self.addr.id).finish()
    }
}

impl<T: Serialize + DeserializeOwned> ListProxy<T> {
    /// Appends `value`.
    ///
    /// # Errors
    ///
    /// The manager is gone, or the value does not serialize.
    pub fn append(&self, value: &T) -> io::Result<()> {
        self.addr.call(Op::Append(wire::encode(value)?)).map(drop)
    }

    /// Appends every value, in one request.
    ///
    /// # Errors
    ///
    /// As [`append`](Self::append).
    pub fn extend<'a>(&self, values: impl IntoIterator<Item = &'a T>) -> io::Result<()>
    where
        T: 'a,
    {
        let vs = values.into_iter().map(wire::encode).collect::<io::Result<Vec<_>>>()?;
        self.addr.call(Op::Extend(vs)).map(drop)
    }

    /// Element `i`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if out of range; the manager is gone; the value does not decode.
    pub fn get(&self, i: i64) -> io::Result<T> {
        match self.addr.call(Op::Index(i))? {
            Reply::Value(Some(b)) => wire::decode(&b).map_err(decode_err),
            r => Err(unexpected(r)),
        }
    }

    /// Sets element `i`.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    pub fn set(&self, i: i64, value: &T) -> io::Result<()> {
        self.addr.call(Op::SetIndex(i, wire::encode(value)?)).map(drop)
    }

    /// Removes and returns element `i` (the last one if `None`).
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get), and for an empty list.
    pub fn pop(&self, i: Option<i64>) -> io::Result<T> {
        match self.addr.call(Op::Pop(i))? {
            Reply::Value(Some(b)) => wire::decode(&b).map_err(decode_err),
            r => Err(unexpected(r)),
        }
    }

    /// The number of elements.
    ///
    /// # Errors
    ///
    /// The manager is gone.
    pub fn len(&self) -> io::Result<usize> {
        match self.addr.call(Op::Len)? {
            Reply::Len(n) => Ok(n as usize),
            r => Err(unexpected(r)),
        }
    }

    /// Whether it is empty.
    ///
    /// # Errors
    ///
    /// The manager is gone.
    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// A snapshot of every element (iterate over it).
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    pub fn items(&self) -> io::Result<Vec<T>> {
        match self.addr.call(Op::Items)? {
            Reply::Values(vs) => vs.iter().map(|b| wire::decode(b).map_err(decode_err)).collect(),
            r => Err(unexpected(r)),
        }
    }

    /// Removes every element.
    ///
    /// # Errors
    ///
    /// The manager is gone.
    pub fn clear(&self) -> io::Result<()> {
        self.addr.call(Op::Clear).map(drop)
    }
}
