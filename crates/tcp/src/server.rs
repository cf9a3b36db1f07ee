//! The echo server: [`serve`] runs the accept loop, [`handle_client`] echoes
//! one client, and [`Event`]s say what happened, one printable line each.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::{ECHO_PREFIX, RECV_BUFFER_SIZE, Stop, is_timeout, wake_listener};
use cli::python_addr;

/// What the server has to say. `Display` gives the line it prints:
/// [`Event::Connection`] is the article's line, the others are the ones the
/// article has no way to notice.
#[derive(Debug)]
pub enum Event {
    /// `Connection from ('127.0.0.1', 54321)`, as the article prints it.
    Connection(SocketAddr),
    /// The client went quiet after sending this many bytes, all echoed;
    /// the server closed its side.
    WentQuiet(SocketAddr, u64),
    /// The client connected and sent nothing within the idle timeout.
    Idle(SocketAddr),
    /// The client stopped reading its echo: our write timed out.
    StoppedReading(SocketAddr),
    /// The connection reached the server's time limit (see
    /// [`MAX_CONNECTION_TIME`]) after this many bytes; closed.
    TookTooLong(SocketAddr, u64),
    /// The client reset the connection (it closed with our echo unread).
    Reset(SocketAddr),
    /// Any other I/O error on one connection.
    Failed(SocketAddr, io::Error),
    /// `accept` failed for a reason that passes (out of file descriptors, a
    /// handshake aborted); `also` more failures were not reported, to keep
    /// the log at one line a second.
    AcceptFailed {
        /// The error of the failure reported.
        error: io::Error,
        /// Failures since the last report that were not reported.
        also: u64,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Connection(addr) => write!(f, "Connection from {}", python_addr(*addr)),
            Event::WentQuiet(addr, echoed) => write!(
                f,
                "{} went quiet after {echoed} bytes; closed",
                python_addr(*addr)
            ),
            Event::Idle(addr) => write!(f, "{} sent nothing; closed", python_addr(*addr)),
            Event::StoppedReading(addr) => write!(
                f,
                "{} stopped reading (write timed out); closed",
                python_addr(*addr)
            ),
            Event::TookTooLong(addr, echoed) => write!(
                f,
                "{} still sending after the time limit ({echoed} bytes echoed); closed",
                python_addr(*addr)
            ),
            Event::Reset(addr) => write!(
                f,
                "{} reset the connection: it closed before reading the whole echo",
                python_addr(*addr)
            ),
            Event::Failed(addr, e) => write!(f, "{}: {e}", python_addr(*addr)),
            Event::AcceptFailed { error, also: 0 } => {
                write!(f, "accept failed: {error}; still listening")
            }
            Event::AcceptFailed { error, also } => write!(
                f,
                "accept failed: {error} (and {also} more); still listening"
            ),
        }
    }
}

/// What [`serve`] did before it was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Connections accepted and served.
    pub connections: u64,
}

// ANCHOR: serve
/// Accepts clients on `listener` and echoes to each, one at a time, until
/// `stop` is used: the article's `while True: accept()` loop.
///
/// The listener's timeouts (set by [`bind_server`](crate::bind_server))
/// are every connection's idle timeout, so a silent client holds the loop
/// for that long at most. Every line worth printing goes to `on_event`.
pub fn serve(listener: &TcpListener, stop: &Stop, on_event: impl Fn(Event)) -> io::Result<Summary> {
    serve_for_at_most(listener, stop, Some(MAX_CONNECTION_TIME), on_event)
}

/// How long [`serve`] and [`serve_prethreaded`] give one client before
/// they close the connection. A byte every 0.4 s never trips a 0.5 s idle
/// timeout: one such client locks the serial loop, and 1024 of them every
/// worker of the threaded one (slowloris). Ten seconds is far more than
/// any honest exchange in this chapter needs.
pub const MAX_CONNECTION_TIME: Duration = Duration::from_secs(10);

/// [`serve`] with the time a connection may take chosen by the caller
/// (`None`: no limit but the idle timeout, as in the article).
pub fn serve_for_at_most(
    listener: &TcpListener,
    stop: &Stop,
    max_connection_time: Option<Duration>,
    on_event: impl Fn(Event),
) -> io::Result<Summary> {
    let _wake = stop.on_stop({
        let addr = listener.local_addr()?;
        move || wake_listener(addr, 1)
    });
    let served = AtomicU64::new(0);
    let mut failures = AcceptFailures::default();
    while let Some((stream, addr)) = next_client(listener, stop, &mut failures, &on_event)? {
        serve_client(stream, addr, max_connection_time, &served, &on_event);
    }
    Ok(Summary {
        connections: served.into_inner(),
    })
}

// ANCHOR_END: serve

// ANCHOR: serve_prethreaded
/// How many workers [`serve_prethreaded`] starts with; it adds more as
/// they are needed.
pub const FIRST_WORKERS: usize = 4;

/// [`serve`] with worker threads, each running the same accept loop on the
/// same listener, so up to `max_workers` clients are served at once.
///
/// The kernel hands every new connection to exactly one of the threads
/// blocked in `accept`: this is the "prethreaded" server of Stevens' UNIX
/// Network Programming. It starts [`FIRST_WORKERS`] threads and adds one
/// whenever every worker is busy, so one is always waiting in `accept`,
/// up to `max_workers`; past that, clients wait in the listen backlog.
/// (Starting all of them at once costs nothing in memory, but the kernel
/// then wakes them in turn, each with a cold cache: measured, a third more
/// CPU per request than a pool sized to the load.) The threads are scoped,
/// so none outlives this call.
/// Each client is closed after [`MAX_CONNECTION_TIME`], as in [`serve`].
pub fn serve_prethreaded(
    listener: &TcpListener,
    stop: &Stop,
    max_workers: usize,
    on_event: impl Fn(Event) + Sync,
) -> io::Result<Summary> {
    serve_prethreaded_for_at_most(
        listener,
        stop,
        max_workers,
        Some(MAX_CONNECTION_TIME),
        on_event,
    )
}

/// [`serve_prethreaded`] with the time a connection may take chosen by the
/// caller (`None`: no limit but the idle timeout).
pub fn serve_prethreaded_for_at_most(
    listener: &TcpListener,
    stop: &Stop,
    max_workers: usize,
    max_connection_time: Option<Duration>,
    on_event: impl Fn(Event) + Sync,
) -> io::Result<Summary> {
    let served = AtomicU64::new(0);
    serve_workers(listener, stop, max_workers, &on_event, |stream, addr| {
        serve_client(stream, addr, max_connection_time, &served, &on_event);
    })?;
    Ok(Summary {
        connections: served.into_inner(),
    })
}

/// The worker pool of [`serve_prethreaded`], for any per-connection
/// `handle`: later chapters' servers (the pool chapter's keep-alive echo,
/// the proxy) run on it instead of writing their own. `on_event` hears
/// about failed accepts only; what happens on a connection is `handle`'s.
pub fn serve_workers(
    listener: &TcpListener,
    stop: &Stop,
    max_workers: usize,
    on_event: &(impl Fn(Event) + Sync),
    handle: impl Fn(TcpStream, SocketAddr) + Sync,
) -> io::Result<()> {
    let started = Arc::new(AtomicUsize::new(0));
    let _wake = stop.on_stop({
        let addr = listener.local_addr()?;
        let started = Arc::clone(&started);
        // Every worker is blocked in its own `accept`: one wake-up each.
        move || wake_listener(addr, started.load(Ordering::SeqCst))
    });
    let pool = Pool {
        listener,
        stop,
        on_event,
        handle: &handle,
        max_workers: max_workers.max(1),
        started: &started,
        busy: AtomicUsize::new(0),
        failed: Mutex::new(None),
    };
    thread::scope(|scope| {
        for _ in 0..FIRST_WORKERS.min(pool.max_workers) {
            pool.add_worker(scope);
        }
    });
    match pool.failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// What the workers of [`serve_workers`] share.
struct Pool<'a, E, H> {
    listener: &'a TcpListener,
    stop: &'a Stop,
    on_event: &'a E,
    handle: &'a H,
    max_workers: usize,
    started: &'a AtomicUsize,
    busy: AtomicUsize,
    /// The error that ended a worker; it ends them all.
    failed: Mutex<Option<io::Error>>,
}

impl<E, H> Pool<'_, E, H>
where
    E: Fn(Event) + Sync,
    H: Fn(TcpStream, SocketAddr) + Sync,
{
    /// Starts one more worker in `scope`, if the pool may grow.
    fn add_worker<'scope>(&'scope self, scope: &'scope thread::Scope<'scope, '_>) {
        let grown = self
            .started
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max_workers).then_some(n + 1)
            });
        if grown.is_ok() {
            scope.spawn(move || self.work(scope));
        }
    }

    /// One worker: the accept loop of [`serve`], counting itself busy while
    /// it serves a client.
    fn work<'scope>(&'scope self, scope: &'scope thread::Scope<'scope, '_>) {
        let mut failures = AcceptFailures::default();
        loop {
            let next = next_client(self.listener, self.stop, &mut failures, self.on_event);
            let (stream, addr) = match next {
                Ok(Some(client)) => client,
                Ok(None) => return,
                Err(e) => {
                    // The listener itself failed: no worker can go on.
                    self.failed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                    self.stop.stop();
                    return;
                }
            };
            let busy = self.busy.fetch_add(1, Ordering::SeqCst) + 1;
            if busy >= self.started.load(Ordering::SeqCst) {
                // Nobody is left in `accept`: add a worker for the next client.
                self.add_worker(scope);
            }
            (self.handle)(stream, addr);
            self.busy.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

// ANCHOR_END: serve_prethreaded

// ANCHOR: next_client
/// Waits for the next client; `None` once `stop` is used.
fn next_client(
    listener: &TcpListener,
    stop: &Stop,
    failures: &mut AcceptFailures,
    on_event: &impl Fn(Event),
) -> io::Result<Option<(TcpStream, SocketAddr)>> {
    while !stop.is_stopped() {
        match listener.accept() {
            // A connection that arrives after the stop (ours, to wake this
            // thread, or a late client) is closed unanswered.
            Ok(_) if stop.is_stopped() => break,
            Ok(client) => return Ok(Some(client)),
            // The listener's read timeout: nobody came. Look at the flag.
            Err(e) if is_timeout(&e) => {}
            // One client's failed handshake or a full file table is no
            // reason to stop serving everyone else.
            Err(e) if is_transient_accept_error(&e) => failures.report(e, on_event),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Echoes one client and reports how it went.
fn serve_client(
    stream: TcpStream,
    addr: SocketAddr,
    max_time: Option<Duration>,
    served: &AtomicU64,
    on_event: &impl Fn(Event),
) {
    served.fetch_add(1, Ordering::Relaxed);
    on_event(Event::Connection(addr));
    match handle_client(stream, max_time) {
        Ok(Ending::Finished(_) | Ending::ClosedEmpty) => {}
        Ok(Ending::TookTooLong(echoed)) => on_event(Event::TookTooLong(addr, echoed)),
        Ok(Ending::WentQuiet(echoed)) => on_event(Event::WentQuiet(addr, echoed)),
        Ok(Ending::Idle) => on_event(Event::Idle(addr)),
        // Our reads time out inside handle_client; a timeout that escapes
        // it is a write the client never made room for.
        Err(e) if is_timeout(&e) => on_event(Event::StoppedReading(addr)),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => on_event(Event::Reset(addr)),
        Err(e) => on_event(Event::Failed(addr, e)),
    }
}
// ANCHOR_END: next_client

/// Errors from `accept` that concern one connection or a passing shortage,
/// not the listening socket itself.
fn is_transient_accept_error(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted)
        // EMFILE / ENFILE / ENOMEM / ENOBUFS: out of descriptors or memory
        // for a moment; they free up as other connections close.
        || matches!(e.raw_os_error(), Some(23 | 24 | 12 | 105))
}

/// Reports failed accepts at most once a second, and backs off a little
/// after each: at the descriptor limit `accept` fails at once, every time,
/// and a loop without a pause would spin and flood the log.
#[derive(Default)]
struct AcceptFailures {
    last_report: Option<Instant>,
    unreported: u64,
}

impl AcceptFailures {
    fn report(&mut self, error: io::Error, on_event: &impl Fn(Event)) {
        if self
            .last_report
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
        {
            on_event(Event::AcceptFailed {
                error,
                also: self.unreported,
            });
            self.last_report = Some(Instant::now());
            self.unreported = 0;
        } else {
            self.unreported += 1;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// How one connection ended, as [`handle_client`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client closed (or half-closed) after sending this many bytes,
    /// all of them echoed.
    Finished(u64),
    /// The client went quiet after sending this many bytes, all echoed;
    /// the server closed its side.
    WentQuiet(u64),
    /// The client connected and closed without sending anything. Like the
    /// article (`if data:`), the server sends nothing back.
    ClosedEmpty,
    /// The client connected and sent nothing within the idle timeout.
    Idle,
    /// The connection reached its time limit after this many bytes were
    /// echoed; the server closed it.
    TookTooLong(u64),
}

// ANCHOR: handle_client
/// Echoes one client: `Echo: ` once, then every byte it sends, as it
/// arrives, until it closes its side or goes quiet (its socket's read
/// timeout, copied from the listener).
///
/// The article does one `recv(1024)` and one `send`. That answers a message
/// split across two segments with only its first part, and closes on a long
/// message with unread bytes, which makes the kernel reset the connection.
/// Reading until end-of-stream fixes both. The article's client, which reads
/// once and then closes, still gets a short message's whole reply in its one
/// read; a long one it cuts at 1024 bytes, and its close resets the rest.
///
/// `max_time` bounds the whole connection: a client that trickles bytes
/// just faster than the idle timeout is closed once it has had that long.
pub fn handle_client(mut stream: TcpStream, max_time: Option<Duration>) -> io::Result<Ending> {
    let started = Instant::now();
    let out_of_time = || max_time.is_some_and(|max| started.elapsed() >= max);
    let mut buf = [0u8; RECV_BUFFER_SIZE];
    let first = match stream.read(&mut buf) {
        Ok(0) => return Ok(Ending::ClosedEmpty),
        Ok(n) => n,
        Err(e) if is_timeout(&e) => return Ok(Ending::Idle),
        Err(e) => return Err(e),
    };
    // Prefix and first bytes in one write, so they leave in one segment:
    // a client that reads once (the article's) sees the whole reply.
    let mut reply = Vec::with_capacity(ECHO_PREFIX.len() + first);
    reply.extend_from_slice(ECHO_PREFIX);
    reply.extend_from_slice(&buf[..first]);
    stream.write_all(&reply)?;

    let mut echoed = first as u64;
    let ending = loop {
        match stream.read(&mut buf) {
            Ok(0) => break Ending::Finished(echoed),
            Ok(n) => {
                stream.write_all(&buf[..n])?;
                echoed += n as u64;
                if out_of_time() {
                    break Ending::TookTooLong(echoed);
                }
            }
            Err(e) if is_timeout(&e) => break Ending::WentQuiet(echoed),
            Err(e) => return Err(e),
        }
    };
    // Our FIN: the client's read-until-close ends here. Every byte the
    // client sent has been read, so closing sends no reset.
    stream.shutdown(Shutdown::Write)?;
    Ok(ending)
}
// ANCHOR_END: handle_client

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn events_print_like_the_article() {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 54321));
        assert_eq!(
            Event::Connection(addr).to_string(),
            "Connection from ('127.0.0.1', 54321)"
        );
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 54321));
        assert_eq!(
            Event::Connection(v6).to_string(),
            "Connection from ('::1', 54321, 0, 0)"
        );
    }
}
