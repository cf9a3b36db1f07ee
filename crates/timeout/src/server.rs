//! `slow-server`: five ways a server can misbehave, so that every failure
//! [`safe_request`](crate::safe_request) names can be met on loopback.
//!
//! The article tests `safe_request` against example.com, which behaves.
//! Timeouts are about the servers that do not: one that accepts and says
//! nothing, one that trickles, one that keeps the connection open after a
//! complete answer, one that never stops talking, one that hangs up
//! rudely. [`serve`] plays one of them, per [`Mode`], for every client: the
//! shape of every netlab server (`serve(listener, &stop, …, on_event)`), on
//! the tcp chapter's worker pool ([`tcp::serve_workers`]), so that several
//! clients are served at once. Each connection's thread looks at the stop
//! flag at least every [`POLL`], so a stop ends them all promptly.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cli::python_addr;
use socket2::SockRef;
use tcp::Stop;

/// How the slow server misbehaves; `--mode` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Accepts and says nothing: a receive timeout.
    Silent,
    /// Sends a byte every 200 ms, for ever: only an overall deadline ends it.
    Trickle,
    /// Sends a complete HTTP/1.1 response, then keeps the connection open.
    Keepalive,
    /// Sends without end: the client must cap what it buffers.
    Flood,
    /// Reads the request, then resets the connection (SO_LINGER 0, close).
    Reset,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Silent => "silent",
            Mode::Trickle => "trickle",
            Mode::Keepalive => "keepalive",
            Mode::Flood => "flood",
            Mode::Reset => "reset",
        })
    }
}

/// The slow server's port: free of the other chapters' (8080, 8081, 9090,
/// 8000, 8888).
pub const SLOW_SERVER_PORT: u16 = 8090;
/// How often the trickle sends its byte.
pub const TRICKLE_EVERY: Duration = Duration::from_millis(200);
/// The byte it sends.
pub const TRICKLE_BYTE: u8 = b'.';
/// What `keepalive` answers, after an HTTP/1.1 header with its length.
pub const KEEPALIVE_BODY: &str = "Hello from slow-server. This connection stays open.\n";
/// How often a connection's thread looks up to see whether the server is
/// stopping or its time is up.
pub const POLL: Duration = Duration::from_millis(100);
/// Clients served at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// Once a request has started, this much quiet means it is complete, even
/// without the blank line that ends an HTTP request (`nc`, `--data hi`).
const REQUEST_QUIET: Duration = Duration::from_millis(200);
/// A request longer than this is taken as complete; the rest is dropped.
const MAX_REQUEST: usize = 64 * 1024;
/// What `flood` writes, over and over.
static FLOOD_CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// The complete HTTP/1.1 response of [`Mode::Keepalive`]. It has a
/// `Content-Length` and no `Connection: close`, so under HTTP/1.1 the
/// connection stays open for a next request, and the server keeps it open
/// even when the request asked for `Connection: close`.
pub fn keepalive_response() -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{KEEPALIVE_BODY}",
        KEEPALIVE_BODY.len()
    )
    .into_bytes()
}

/// What the slow server has to say; `Display` is the line it prints.
#[derive(Debug)]
pub enum Event {
    /// `Connection from ('127.0.0.1', 54321)`, as the article's servers say.
    Connection(SocketAddr),
    /// `keepalive` sent its complete response, this many bytes.
    Answered(SocketAddr, usize),
    /// A connection ended: how, and how many bytes were sent on it.
    Finished {
        /// The client.
        peer: SocketAddr,
        /// Bytes the server sent it.
        sent: u64,
        /// How it ended.
        ending: Ending,
    },
    /// An I/O error ended the connection.
    Failed(SocketAddr, io::Error),
    /// A failed accept, as the tcp chapter reports it.
    Accept(tcp::Event),
}

/// How a connection to the slow server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client closed (or reset) it.
    ClientLeft,
    /// The server hung up after `--max-connection-time`.
    HungUp(Duration),
    /// The server is stopping.
    Stopped,
    /// `reset` aborted it.
    Reset,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Connection(peer) => write!(f, "Connection from {}", python_addr(*peer)),
            Event::Answered(peer, n) => write!(
                f,
                "{}: sent a complete HTTP response ({n} bytes); keeping the connection open",
                python_addr(*peer)
            ),
            Event::Finished { peer, sent, ending } => {
                let peer = python_addr(*peer);
                let sent = cli::count(*sent, "byte");
                match ending {
                    Ending::ClientLeft => write!(f, "{peer} closed the connection; {sent} sent"),
                    Ending::HungUp(after) => write!(
                        f,
                        "{peer}: hung up after {} (--max-connection-time); {sent} sent",
                        cli::show_seconds(*after)
                    ),
                    Ending::Stopped => write!(f, "{peer}: closed as the server stops; {sent} sent"),
                    Ending::Reset => {
                        write!(f, "{peer}: reset the connection (SO_LINGER 0, then close)")
                    }
                }
            }
            Event::Failed(peer, e) => write!(f, "{}: {e}", python_addr(*peer)),
            Event::Accept(event) => event.fmt(f),
        }
    }
}

/// What [`serve`] did before it was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Connections accepted.
    pub connections: u64,
}

// ANCHOR: serve
/// Plays `mode` for every client of `listener` until `stop` is used.
pub fn serve(
    listener: &TcpListener,
    stop: &Stop,
    mode: Mode,
    on_event: impl Fn(Event) + Sync,
) -> io::Result<Summary> {
    serve_for_at_most(listener, stop, mode, None, on_event)
}

/// [`serve`], hanging up on each client after `max_connection_time` (the
/// bench's trickle stops, so that the article's version returns at last).
pub fn serve_for_at_most(
    listener: &TcpListener,
    stop: &Stop,
    mode: Mode,
    max_connection_time: Option<Duration>,
    on_event: impl Fn(Event) + Sync,
) -> io::Result<Summary> {
    let connections = AtomicU64::new(0);
    let on_accept = |event| on_event(Event::Accept(event));
    tcp::serve_workers(
        listener,
        stop,
        MAX_CONNECTIONS,
        &on_accept,
        |stream, peer| {
            connections.fetch_add(1, Ordering::Relaxed);
            on_event(Event::Connection(peer));
            let connection = Connection {
                stream,
                stop,
                started: Instant::now(),
                max_time: max_connection_time,
                sent: 0,
            };
            on_event(
                match connection.misbehave(mode, &|n| on_event(Event::Answered(peer, n))) {
                    (sent, Ok(ending)) => Event::Finished { peer, sent, ending },
                    (_, Err(e)) => Event::Failed(peer, e),
                },
            );
        },
    )?;
    Ok(Summary {
        connections: connections.into_inner(),
    })
}
// ANCHOR_END: serve

/// One client of the slow server.
struct Connection<'a> {
    stream: TcpStream,
    stop: &'a Stop,
    started: Instant,
    max_time: Option<Duration>,
    sent: u64,
}

impl Connection<'_> {
    // ANCHOR: misbehave
    /// Plays `mode` to the end; returns the bytes sent and how it ended.
    fn misbehave(mut self, mode: Mode, answered: &dyn Fn(usize)) -> (u64, io::Result<Ending>) {
        let ended = match mode {
            Mode::Silent => self.hold(),
            Mode::Trickle => self.trickle(),
            Mode::Keepalive => self.keep_alive(answered),
            Mode::Flood => self.flood(),
            Mode::Reset => self.reset(),
        };
        if !matches!(ended, Ok(Ending::Reset)) {
            // Our FIN: every byte the client sent has been read, so the
            // close is clean, not a reset.
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        (self.sent, ended)
    }

    /// Reads and drops whatever comes, says nothing, until the client
    /// leaves, the server stops or the connection's time is up.
    fn hold(&mut self) -> io::Result<Ending> {
        loop {
            if let Some(ending) = self.over() {
                return Ok(ending);
            }
            if self.listen(POLL)? {
                return Ok(Ending::ClientLeft);
            }
        }
    }

    /// A byte, a pause, a byte: never quiet for long enough to trip a
    /// timeout on one read.
    fn trickle(&mut self) -> io::Result<Ending> {
        loop {
            if let Some(ending) = self.over() {
                return Ok(ending);
            }
            if !self.send(&[TRICKLE_BYTE])? || self.listen(TRICKLE_EVERY)? {
                return Ok(Ending::ClientLeft);
            }
        }
    }

    /// A complete HTTP/1.1 answer, then silence on an open connection.
    fn keep_alive(&mut self, answered: &dyn Fn(usize)) -> io::Result<Ending> {
        if let Some(ending) = self.read_request()? {
            return Ok(ending);
        }
        let response = keepalive_response();
        if !self.send(&response)? {
            return Ok(Ending::ClientLeft);
        }
        answered(response.len());
        self.hold()
    }

    /// Writes for as long as the client reads. The write timeout is short
    /// so that a client that has stopped reading does not keep this thread
    /// from seeing a stop.
    fn flood(&mut self) -> io::Result<Ending> {
        self.stream.set_write_timeout(Some(POLL))?;
        loop {
            if let Some(ending) = self.over() {
                return Ok(ending);
            }
            match self.stream.write(&FLOOD_CHUNK) {
                Ok(n) => self.sent += n as u64,
                Err(e) if tcp::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if client_left(&e) => return Ok(Ending::ClientLeft),
                Err(e) => return Err(e),
            }
        }
    }

    /// The request, then an abort: with `SO_LINGER` set to 0 seconds,
    /// closing a socket throws away anything unsent and sends a reset
    /// (RST) instead of the orderly FIN.
    fn reset(&mut self) -> io::Result<Ending> {
        if let Some(ending) = self.read_request()? {
            return Ok(ending);
        }
        SockRef::from(&self.stream).set_linger(Some(Duration::ZERO))?;
        // The close itself happens when the stream is dropped, just after.
        Ok(Ending::Reset)
    }
    // ANCHOR_END: misbehave

    /// Why this connection should end now, if it should.
    fn over(&self) -> Option<Ending> {
        if self.stop.is_stopped() {
            return Some(Ending::Stopped);
        }
        self.max_time
            .filter(|max| self.started.elapsed() >= *max)
            .map(Ending::HungUp)
    }

    /// Sends `bytes`; `Ok(false)` if the client has gone.
    fn send(&mut self, bytes: &[u8]) -> io::Result<bool> {
        match self.stream.write_all(bytes) {
            Ok(()) => {
                self.sent += bytes.len() as u64;
                Ok(true)
            }
            Err(e) if client_left(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Reads and drops what the client sends for `wait`; `Ok(true)` if it
    /// closed its side meanwhile.
    fn listen(&mut self, wait: Duration) -> io::Result<bool> {
        let until = Instant::now() + wait;
        let mut buf = [0u8; 4096];
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(_) => {}
                Err(e) if tcp::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if client_left(&e) => return Ok(true),
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the client's request: up to the blank line that ends an HTTP
    /// request, the client's close, or a pause once it has started.
    /// `Some` if the connection ended first.
    fn read_request(&mut self) -> io::Result<Option<Ending>> {
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(ending) = self.over() {
                return Ok(Some(ending));
            }
            let wait = if request.is_empty() {
                POLL
            } else {
                REQUEST_QUIET
            };
            self.stream.set_read_timeout(Some(wait))?;
            match self.stream.read(&mut buf) {
                Ok(0) if request.is_empty() => return Ok(Some(Ending::ClientLeft)),
                // A half-close after the request: answer it all the same.
                Ok(0) => return Ok(None),
                Ok(n) => {
                    request.extend_from_slice(&buf[..n]);
                    let blank_line = request.windows(4).any(|w| w == b"\r\n\r\n");
                    if blank_line || request.len() >= MAX_REQUEST {
                        return Ok(None);
                    }
                }
                Err(e) if tcp::is_timeout(&e) && !request.is_empty() => return Ok(None),
                Err(e) if tcp::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if client_left(&e) => return Ok(Some(Ending::ClientLeft)),
                Err(e) => return Err(e),
            }
        }
    }
}

/// The errors of writing to, or reading from, a client that has gone.
fn client_left(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keepalive_response_says_its_length() {
        let response = keepalive_response();
        let text = String::from_utf8(response).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        assert!(!head.to_ascii_lowercase().contains("connection: close"));
    }

    #[test]
    fn events_print_one_line_each() {
        let peer: SocketAddr = "127.0.0.1:54321".parse().unwrap();
        assert_eq!(
            Event::Connection(peer).to_string(),
            "Connection from ('127.0.0.1', 54321)"
        );
        let hung_up = Event::Finished {
            peer,
            sent: 15,
            ending: Ending::HungUp(Duration::from_secs(3)),
        };
        assert_eq!(
            hung_up.to_string(),
            "('127.0.0.1', 54321): hung up after 3 s (--max-connection-time); 15 bytes sent"
        );
        assert_eq!(Mode::Keepalive.to_string(), "keepalive");
    }
}
