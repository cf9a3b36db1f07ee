//! # Chapter 4: connection pooling
//!
//! A TCP connection costs a handshake before the first byte and a
//! `TIME_WAIT` entry after the last. The article's `SocketPool` keeps a few
//! connections open and hands them out again: `get_socket()` takes one from
//! a queue (or, when the queue is empty, opens a new one), `return_socket()`
//! puts it back (or closes it when the queue is full), `close_all()` ends
//! them. This crate is that class, with the same names and policy, made
//! correct, and the server a pool needs: one that keeps a connection open
//! for many requests.
//!
//! | Python (article)                           | Rust (here)                              |
//! |--------------------------------------------|------------------------------------------|
//! | `SocketPool(host, port, pool_size=10)`     | [`SocketPool::new`]                      |
//! | `Queue(pool_size)`                         | a bounded `crossbeam-channel`            |
//! | `pool.get_nowait()`, else `_create_socket` | [`SocketPool::get_socket`]               |
//! | `pool.put_nowait(sock)`, else `close()`    | [`SocketPool::return_socket`]            |
//! | `close_all()`                              | [`SocketPool::close_all`]                |
//! | `try: ... finally: return_socket(sock)`    | [`SocketPool::get`] → [`Pooled`], returned on drop |
//! | "health checks" (the author's addition)    | [`health::is_reusable`], before every reuse |
//! | "automatic reconnection"                   | [`SocketPool::request`]: one retry on a fresh connection |
//!
//! Where the Rust differs, and why:
//!
//! 1. **A connection in the pool may be dead.** The server restarted, or
//!    closed it for being idle; nothing tells the pool until someone writes
//!    to it. Every connection taken from the queue is checked first (one
//!    non-blocking peek, [`health`]) and replaced if the peer has closed it
//!    or it sat unused longer than [`PoolConfig::max_idle`].
//! 2. **A request can still meet a connection that died since.** Then it is
//!    retried once on a new connection. That is safe only because an echo is
//!    idempotent (sending it twice does no harm); a payment is not, and the
//!    book says so. Every retry and failure is counted in [`Stats`].
//! 3. **Nobody can forget to return a connection.** The article needs
//!    `try`/`finally`; [`Pooled`] returns itself when dropped, and a
//!    connection that failed is closed instead of being returned.
//! 4. **The article's fallback has a bug.** Its `except Queue.Empty` names an
//!    attribute the `Queue` class does not have (`Empty` lives in the `queue`
//!    module), so an empty pool raises `AttributeError` instead of creating
//!    a connection. Ours creates one, as intended, or waits a bounded time
//!    ([`Exhausted::Wait`]).
//!
//! Run it: `just pool-server` in one terminal, `just pool-demo` in another.
#![forbid(unsafe_code)]

pub mod health;
mod server;

pub use server::{Event, Summary, echo_until_closed, serve};

use std::io::{self, Read, Write};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::net::TcpStream;

/// Where `pool-server` listens and `pool-demo` connects: next to the
/// article's 8080, so both chapters' servers can run at once.
pub const DEFAULT_PORT: u16 = 8081;
/// The article's host.
pub const DEFAULT_HOST: &str = "localhost";
/// The article's usage: `SocketPool('localhost', 8080, pool_size=5)`.
pub const DEFAULT_POOL_SIZE: usize = 5;
/// What the article's usage sends.
pub const DEFAULT_MESSAGE: &str = "Request data";

/// What [`SocketPool::get_socket`] does when no idle connection is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// The article's policy: open another connection. The pool never makes
    /// a caller wait, but under load it holds more than `pool_size`
    /// connections for a while (the extra ones are closed on return).
    Create,
    /// Wait this long for a connection to be returned, then fail: the
    /// server never sees more than `pool_size` connections from this pool.
    Wait(Duration),
}

/// How a pool behaves; [`PoolConfig::default`] is the article's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Connect timeout, and read/write timeout of every pooled connection.
    pub timeout: Duration,
    /// A connection unused for longer is closed instead of reused: servers
    /// close idle connections (pool-server after 30 s), and one found dead
    /// is a wasted check.
    pub max_idle: Duration,
    /// See [`Exhausted`].
    pub exhausted: Exhausted,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_idle: Duration::from_secs(10),
            exhausted: Exhausted::Create,
        }
    }
}

/// What a pool has done, for the report and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections opened.
    pub created: u64,
    /// Times an idle connection was handed out again.
    pub reused: u64,
    /// Idle connections found closed by the peer and replaced.
    pub found_dead: u64,
    /// Idle connections closed for being idle longer than `max_idle`.
    pub expired: u64,
    /// Requests retried on a fresh connection after a pooled one failed.
    pub retried: u64,
    /// Connections closed after an I/O error instead of being returned.
    pub discarded: u64,
    /// Connections closed on return because the queue was full (made by
    /// the article's policy when the pool ran dry).
    pub surplus: u64,
}

#[derive(Default)]
struct Counters {
    created: AtomicU64,
    reused: AtomicU64,
    found_dead: AtomicU64,
    expired: AtomicU64,
    retried: AtomicU64,
    discarded: AtomicU64,
    surplus: AtomicU64,
}

/// An idle connection in the queue, and since when it has been idle.
struct Idle {
    stream: TcpStream,
    since: Instant,
}

// ANCHOR: socket_pool
/// The article's `SocketPool`: a bounded queue of open connections to one
/// server, shared by any number of threads (`&SocketPool` is enough: the
/// queue is thread-safe, so the article's lock has nothing left to guard).
pub struct SocketPool {
    host: String,
    port: u16,
    pool_size: usize,
    config: PoolConfig,
    idle_tx: Sender<Idle>,
    idle_rx: Receiver<Idle>,
    /// Connections this pool has open, idle or lent (for [`Exhausted::Wait`]).
    open: AtomicUsize,
    counters: Counters,
}

impl SocketPool {
    /// Opens `pool_size` connections to `host:port`, as the article's
    /// constructor does. A server that is not there is an error here, not
    /// at the first request.
    pub fn new(host: &str, port: u16, pool_size: usize) -> io::Result<Self> {
        Self::with_config(host, port, pool_size, PoolConfig::default())
    }

    /// [`SocketPool::new`] with a chosen [`PoolConfig`].
    pub fn with_config(
        host: &str,
        port: u16,
        pool_size: usize,
        config: PoolConfig,
    ) -> io::Result<Self> {
        let pool_size = pool_size.max(1);
        let (idle_tx, idle_rx) = crossbeam_channel::bounded(pool_size);
        let pool = Self {
            host: host.to_string(),
            port,
            pool_size,
            config,
            idle_tx,
            idle_rx,
            open: AtomicUsize::new(0),
            counters: Counters::default(),
        };
        for _ in 0..pool_size {
            let stream = pool.create_socket()?;
            pool.return_socket(stream);
        }
        Ok(pool)
    }

    /// The article's `_create_socket`: a new connection, with timeouts.
    fn create_socket(&self) -> io::Result<TcpStream> {
        let stream = tcp::connect(&self.host, self.port, self.config.timeout)?;
        stream.set_read_timeout(Some(self.config.timeout))?;
        stream.set_write_timeout(Some(self.config.timeout))?;
        // Requests are small and answered before the next: Nagle's delay
        // would only add latency.
        stream.set_nodelay(true)?;
        self.open.fetch_add(1, Ordering::SeqCst);
        self.counters.created.fetch_add(1, Ordering::Relaxed);
        Ok(stream)
    }

    /// The article's `get_socket`: an idle connection that is still good,
    /// or, when none is left, a new one (or a bounded wait, see
    /// [`Exhausted`]).
    pub fn get_socket(&self) -> io::Result<TcpStream> {
        self.take().map(|(stream, _)| stream)
    }

    /// [`SocketPool::get_socket`], also saying whether the connection was
    /// reused (only a reused one can have died unnoticed).
    fn take(&self) -> io::Result<(TcpStream, bool)> {
        loop {
            let idle = match self.idle_rx.try_recv() {
                Ok(idle) => idle,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                    match self.when_exhausted()? {
                        Some(idle) => idle,
                        None => return self.create_socket().map(|s| (s, false)),
                    }
                }
            };
            if idle.since.elapsed() > self.config.max_idle {
                self.forget(idle.stream, &self.counters.expired);
            } else if !health::is_reusable(&idle.stream) {
                self.forget(idle.stream, &self.counters.found_dead);
            } else {
                self.counters.reused.fetch_add(1, Ordering::Relaxed);
                return Ok((idle.stream, true));
            }
        }
    }

    /// The queue is empty: `None` means "create one"; a connection is one
    /// that was returned while we waited.
    fn when_exhausted(&self) -> io::Result<Option<Idle>> {
        let Exhausted::Wait(wait) = self.config.exhausted else {
            return Ok(None);
        };
        if self.open.load(Ordering::SeqCst) < self.pool_size {
            // Fewer open than allowed (some were discarded): make up the number.
            return Ok(None);
        }
        match self.idle_rx.recv_timeout(wait) {
            Ok(idle) => Ok(Some(idle)),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "pool exhausted: all {} connections stayed in use for {}",
                    self.pool_size,
                    cli::show_seconds(wait)
                ),
            )),
        }
    }

    /// The article's `return_socket`: back in the queue, or closed when the
    /// queue is full (connections created beyond `pool_size`).
    pub fn return_socket(&self, sock: TcpStream) {
        let idle = Idle {
            stream: sock,
            since: Instant::now(),
        };
        if let Err(full) = self.idle_tx.try_send(idle) {
            self.forget(full.into_inner().stream, &self.counters.surplus);
        }
    }

    /// Closes a connection the pool will not hand out again.
    fn forget(&self, stream: TcpStream, reason: &AtomicU64) {
        reason.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_sub(1, Ordering::SeqCst);
        drop(stream);
    }

    /// The article's `close_all`: closes every idle connection. A lent one
    /// that comes back afterwards goes into the (now empty) queue, and is
    /// closed when the pool is dropped.
    pub fn close_all(&self) {
        while let Ok(idle) = self.idle_rx.try_recv() {
            self.open.fetch_sub(1, Ordering::SeqCst);
            drop(idle.stream);
        }
    }
    // ANCHOR_END: socket_pool

    // ANCHOR: pooled
    /// The Rust twin of `get_socket` + `try`/`finally` + `return_socket`:
    /// a connection that goes back to the pool when the guard is dropped,
    /// or is closed if [`Pooled::discard`] was called (after an error).
    pub fn get(&self) -> io::Result<Pooled<'_>> {
        let (stream, reused) = self.take()?;
        Ok(Pooled {
            pool: self,
            stream: Some(stream),
            reused,
        })
    }

    /// One echo request through the pool: send `message`, read as many
    /// bytes back. A failure on a reused connection (it died while idle
    /// since its check) is retried once on a fresh one; any other failure
    /// is the caller's, and the broken connection is closed, not returned.
    pub fn request(&self, message: &[u8]) -> io::Result<Vec<u8>> {
        let mut conn = self.get()?;
        match round_trip(&mut conn, message) {
            Ok(reply) => Ok(reply),
            Err(_) if conn.reused => {
                conn.discard();
                self.counters.retried.fetch_add(1, Ordering::Relaxed);
                let mut fresh = Pooled {
                    pool: self,
                    stream: Some(self.create_socket()?),
                    reused: false,
                };
                round_trip(&mut fresh, message).inspect_err(|_| fresh.discard_in_place())
            }
            Err(e) => {
                conn.discard();
                Err(e)
            }
        }
    }
    // ANCHOR_END: pooled

    /// What the pool has done so far.
    pub fn stats(&self) -> Stats {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        let c = &self.counters;
        Stats {
            created: get(&c.created),
            reused: get(&c.reused),
            found_dead: get(&c.found_dead),
            expired: get(&c.expired),
            retried: get(&c.retried),
            discarded: get(&c.discarded),
            surplus: get(&c.surplus),
        }
    }

    /// Connections idle in the queue right now.
    pub fn idle(&self) -> usize {
        self.idle_rx.len()
    }
}

// ANCHOR: guard
/// A pooled connection; see [`SocketPool::get`]. Derefs to the
/// `TcpStream`.
///
/// `Drop` cannot tell a connection that did its job from one whose request
/// failed half-way: code that leaves early with `?` gives a possibly broken
/// connection back. Call [`Pooled::discard`] on an error path (as
/// [`SocketPool::request`] does); the health check is the second line of
/// defence.
pub struct Pooled<'a> {
    pool: &'a SocketPool,
    stream: Option<TcpStream>,
    reused: bool,
}

impl Pooled<'_> {
    /// Closes the connection instead of returning it: after an I/O error its
    /// state is unknown (half a reply may still be in flight), and the next
    /// user would read someone else's bytes.
    pub fn discard(mut self) {
        self.discard_in_place();
    }

    fn discard_in_place(&mut self) {
        if let Some(stream) = self.stream.take() {
            self.pool.forget(stream, &self.pool.counters.discarded);
        }
    }
}

impl Deref for Pooled<'_> {
    type Target = TcpStream;
    fn deref(&self) -> &TcpStream {
        self.stream
            .as_ref()
            .expect("present until dropped or discarded")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut TcpStream {
        self.stream
            .as_mut()
            .expect("present until dropped or discarded")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            self.pool.return_socket(stream);
        }
    }
}
// ANCHOR_END: guard

// ANCHOR: round_trip
/// One request on a kept-open connection to an echo server: write
/// `message`, read exactly as many bytes back. On a connection that stays
/// open there is no end-of-stream to mark the end of a reply; its length
/// does (the request's own length, for an echo).
pub fn round_trip(stream: &mut TcpStream, message: &[u8]) -> io::Result<Vec<u8>> {
    stream.write_all(message)?;
    let mut reply = vec![0; message.len()];
    stream.read_exact(&mut reply)?;
    Ok(reply)
}
// ANCHOR_END: round_trip
