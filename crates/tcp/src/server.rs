//! The echo server: [`serve`] runs the accept loop, [`handle_client`] echoes
//! one client, and [`Event`]s say what happened, one printable line each.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
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
    let _wake = stop.on_stop({
        let addr = listener.local_addr()?;
        move || wake_listener(addr, 1)
    });
    let served = AtomicU64::new(0);
    accept_loop(listener, stop, &served, &on_event)?;
    Ok(Summary {
        connections: served.into_inner(),
    })
}

/// [`serve`] with `workers` threads, each running the same accept loop on
/// the same listener, so up to `workers` clients are served at once.
///
/// The kernel hands every new connection to exactly one of the threads
/// blocked in `accept`: this is the "prethreaded" server of Stevens' UNIX
/// Network Programming. The threads are started once, not per client, and
/// they are scoped, so none outlives this call.
pub fn serve_prethreaded(
    listener: &TcpListener,
    stop: &Stop,
    workers: usize,
    on_event: impl Fn(Event) + Sync,
) -> io::Result<Summary> {
    let workers = workers.max(1);
    let _wake = stop.on_stop({
        let addr = listener.local_addr()?;
        // Every worker is blocked in its own `accept`: one wake-up each.
        move || wake_listener(addr, workers)
    });
    let served = AtomicU64::new(0);
    thread::scope(|scope| {
        let threads: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| accept_loop(listener, stop, &served, &on_event)))
            .collect();
        // Join them all before looking at any result: scoped threads are
        // joined anyway, and the first error is the one to report.
        let results: Vec<_> = threads.into_iter().map(|t| t.join()).collect();
        results
            .into_iter()
            .try_for_each(|r| r.unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })?;
    Ok(Summary {
        connections: served.into_inner(),
    })
}

/// One worker: accept a client, echo to it, and again, until stopped.
fn accept_loop(
    listener: &TcpListener,
    stop: &Stop,
    served: &AtomicU64,
    on_event: &impl Fn(Event),
) -> io::Result<()> {
    let mut failures = AcceptFailures::default();
    while !stop.is_stopped() {
        let (stream, addr) = match listener.accept() {
            // A connection that arrives after the stop (ours, to wake this
            // thread, or a late client) is closed unanswered.
            Ok(_) if stop.is_stopped() => break,
            Ok(accepted) => accepted,
            // The listener's read timeout: nobody came. Look at the flag.
            Err(e) if is_timeout(&e) => continue,
            Err(e) if is_transient_accept_error(&e) => {
                // One client's failed handshake or a full file table is no
                // reason to stop serving everyone else.
                failures.report(e, on_event);
                continue;
            }
            Err(e) => return Err(e),
        };
        served.fetch_add(1, Ordering::Relaxed);
        on_event(Event::Connection(addr));
        match handle_client(stream) {
            Ok(Ending::Finished(_) | Ending::ClosedEmpty) => {}
            Ok(Ending::WentQuiet(echoed)) => on_event(Event::WentQuiet(addr, echoed)),
            Ok(Ending::Idle) => on_event(Event::Idle(addr)),
            // Our reads time out inside handle_client; a timeout that
            // escapes it is a write the client never made room for.
            Err(e) if is_timeout(&e) => on_event(Event::StoppedReading(addr)),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => on_event(Event::Reset(addr)),
            Err(e) => on_event(Event::Failed(addr, e)),
        }
    }
    Ok(())
}
// ANCHOR_END: serve

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
pub fn handle_client(mut stream: TcpStream) -> io::Result<Ending> {
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
