//! # Chapter 1: TCP sockets
//!
//! The article opens with a TCP echo server on port 8080 that answers
//! `Echo: ` + whatever a client sent, and a client that sends
//! `Hello, Server!` and prints the reply. This crate is that pair, with the
//! same port, messages and bytes on the wire, so the article's Python programs
//! and these binaries talk to each other.
//!
//! | Python (article)                          | Rust (here)                         |
//! |-------------------------------------------|-------------------------------------|
//! | `socket(AF_INET, SOCK_STREAM)` + `bind`   | [`bind_server`] (socket2)           |
//! | `setsockopt(SO_REUSEADDR, 1)`             | `set_reuse_address(true)`           |
//! | `listen(5)`                               | `listen(backlog)`, [`DEFAULT_BACKLOG`] |
//! | `while True: accept()`                    | [`serve`]                           |
//! | `recv(1024)` + `send(b"Echo: " + data)`   | [`handle_client`]                   |
//! | client `connect`, `send`, `recv(1024)`    | [`exchange`] = [`connect`] + [`request`] |
//!
//! Three ideas the article's code leaves implicit, and this chapter makes
//! explicit because the later chapters (pool, timeout, proxy) build on them:
//!
//! 1. **TCP is a byte stream, not a message stream.** A `recv` returns whatever
//!    bytes have arrived, which may be part of what the peer sent, or more.
//!    The article reads once and replies; that only works while the message is
//!    small and arrives in one piece. [`handle_client`] echoes every byte as it
//!    arrives instead, and [`request`] reads until the server closes.
//! 2. **Half-close says "I have said everything".** The client shuts down its
//!    write side after sending; the server reads end-of-stream, knows the
//!    request is complete, finishes the echo and closes.
//! 3. **A silent peer must not wedge a server.** Each read has a quiet-period
//!    timeout ([`DEFAULT_IDLE_TIMEOUT`]); a client that connects and says
//!    nothing is dropped and the next one is served.
//!
//! Run it: `just tcp-server` in one terminal, `just tcp-client` in another.
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::thread;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

/// The article's port.
pub const DEFAULT_PORT: u16 = 8080;
/// The article binds `localhost`; see [`choose_bind_address`] for what that
/// means on a machine where `localhost` is both `::1` and `127.0.0.1`.
pub const DEFAULT_HOST: &str = "localhost";
/// What the article's client sends.
pub const DEFAULT_MESSAGE: &str = "Hello, Server!";
/// What the server puts in front of the echoed bytes.
pub const ECHO_PREFIX: &[u8] = b"Echo: ";
/// The article's `recv(1024)`. Here it is only the size of one read, not a
/// limit on a message: longer messages are echoed in several reads.
pub const RECV_BUFFER_SIZE: usize = 1024;
/// The article's `listen(5)`, kept so `--backlog 5` can reproduce it.
pub const ARTICLE_BACKLOG: i32 = 5;
/// Our listen backlog. With 5, a burst of a few dozen connects overflows the
/// accept queue and the kernel drops SYNs, which clients see as a one-second
/// (then three-second) stall while they retransmit. 1024 absorbs any burst a
/// class will produce; the kernel caps it at `net.core.somaxconn` anyway.
pub const DEFAULT_BACKLOG: i32 = 1024;
/// How long the server waits for the next bytes before it considers a client
/// finished (or idle, if it sent nothing). Long enough for a message that
/// arrives in pieces, short enough that one silent client does not hold up
/// the clients queued behind it for long.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the client waits for connect and for each read or write.
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// The client reads until the server closes; a server that never stops
/// talking must not make it buffer without limit.
pub const MAX_REPLY_BYTES: u64 = 16 * 1024 * 1024;

// ANCHOR: resolve
/// Resolves `host` to every address it names, IPv4 ones first.
///
/// The article's sockets are `AF_INET`, so its clients can only reach IPv4
/// servers. Many machines list `::1` before `127.0.0.1` for `localhost`;
/// putting IPv4 first keeps our servers where those clients look, while
/// `--host ::1` still gives IPv6 on purpose.
pub fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let mut addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve {host}: {e}")))?
        .collect();
    // A stable sort keeps the resolver's order within each family.
    addrs.sort_by_key(|addr| !addr.is_ipv4());
    Ok(addrs)
}

/// Picks the one address a server binds when given a host name: the first
/// IPv4 address if there is one, so clients that only speak IPv4 can connect.
pub fn choose_bind_address(addrs: &[SocketAddr]) -> Option<SocketAddr> {
    addrs
        .iter()
        .find(|addr| addr.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
}
// ANCHOR_END: resolve

// ANCHOR: bind_server
/// Creates the listening socket the way the article does, step by step:
/// socket, `SO_REUSEADDR`, bind, listen.
///
/// `SO_REUSEADDR` lets a restarted server bind its port while connections
/// from the previous run still sit in `TIME_WAIT`. Without it, restarting
/// the server right after a client disconnected fails with "address in use"
/// for up to a minute. (std's `TcpListener::bind` sets it on Unix too;
/// Python's bare socket does not, which is why the article sets it.)
pub fn bind_server(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    // The address decides the family: AF_INET for 127.0.0.1, AF_INET6 for
    // ::1, where the article hard-codes AF_INET.
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}
// ANCHOR_END: bind_server

/// How [`serve`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// See [`DEFAULT_IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// `false`: one client at a time, like the article. `true`: a thread per
    /// connection, so a slow client holds up nobody else.
    pub threaded: bool,
    /// Stop after this many connections (the tour and tests use it);
    /// `None` serves for ever, like the article.
    pub max_connections: Option<usize>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            threaded: false,
            max_connections: None,
        }
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

/// Where the server's messages go: the binary prints them, the tour labels
/// them, tests collect them. Libraries report; binaries print.
pub type Log<'a> = &'a (dyn Fn(&str) + Sync);

// ANCHOR: serve
/// Accepts clients on `listener` and echoes to each, until
/// `config.max_connections` have been served (or for ever).
///
/// Serial by default, like the article's `while True: accept()` loop; with
/// `config.threaded` each client gets its own thread. The scope makes sure
/// no client thread outlives this call.
pub fn serve(listener: &TcpListener, config: &ServerConfig, log: Log<'_>) -> io::Result<()> {
    thread::scope(|scope| {
        let mut served = 0;
        while config.max_connections.is_none_or(|max| served < max) {
            let (stream, addr) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if is_transient_accept_error(&e) => {
                    // One client's failed handshake or a full file table is
                    // no reason to stop serving everyone else.
                    log(&format!("accept failed: {e}; still listening"));
                    thread::sleep(Duration::from_millis(10));
                    continue;
                }
                Err(e) => return Err(e),
            };
            served += 1;
            log(&format!("Connection from {addr}"));
            if config.threaded {
                let spawned = thread::Builder::new()
                    .name(format!("client {addr}"))
                    .spawn_scoped(scope, move || {
                        report(addr, handle_client(stream, config.idle_timeout), log)
                    });
                if let Err(e) = spawned {
                    log(&format!("cannot start a thread for {addr}: {e}; dropped"));
                }
            } else {
                report(addr, handle_client(stream, config.idle_timeout), log);
            }
        }
        Ok(())
    })
}
// ANCHOR_END: serve

/// Errors from `accept` that concern one connection or a passing shortage,
/// not the listening socket itself.
fn is_transient_accept_error(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
        // EMFILE / ENFILE / ENOMEM / ENOBUFS: out of descriptors or memory
        // for a moment; they free up as other connections close.
        || matches!(e.raw_os_error(), Some(23 | 24 | 12 | 105))
}

/// Logs the unusual endings; a normal echo needs no line beyond the
/// article's `Connection from`.
fn report(addr: SocketAddr, ending: io::Result<Ending>, log: Log<'_>) {
    match ending {
        Ok(Ending::Finished(_) | Ending::ClosedEmpty) => {}
        Ok(Ending::WentQuiet(bytes)) => {
            log(&format!("{addr} went quiet after {bytes} bytes; closed"))
        }
        Ok(Ending::Idle) => log(&format!("{addr} sent nothing; closed")),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => log(&format!(
            "{addr} reset the connection: it closed before reading the whole echo"
        )),
        Err(e) => log(&format!("{addr}: {e}")),
    }
}

// ANCHOR: handle_client
/// Echoes one client: `Echo: ` once, then every byte it sends, as it
/// arrives, until it closes its side or goes quiet for `idle_timeout`.
///
/// The article does one `recv(1024)` and one `send`. That answers a message
/// split across two segments with only its first part, and closes on a long
/// message with unread bytes, which makes the kernel reset the connection.
/// Reading until end-of-stream fixes both. The article's client, which reads
/// once and then closes, still gets a short message's whole reply in its one
/// read; a long one it cuts at 1024 bytes, and its close resets the rest.
pub fn handle_client(mut stream: TcpStream, idle_timeout: Duration) -> io::Result<Ending> {
    // A read timeout turns "the client is silent" into an error we can act
    // on; the write timeout does the same for a client that stops reading.
    stream.set_read_timeout(Some(idle_timeout))?;
    stream.set_write_timeout(Some(idle_timeout))?;
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

/// A socket read timeout surfaces as `WouldBlock` on Unix and `TimedOut` on
/// Windows.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

// ANCHOR: connect
/// Connects to `host:port`, trying every address the name resolves to in
/// turn (IPv4 first, see [`resolve`]), like Python's `create_connection`.
pub fn connect(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let mut last_error = None;
    for addr in resolve(host, port)? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last_error = Some(io::Error::new(e.kind(), format!("{addr}: {e}"))),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
    }))
}
// ANCHOR_END: connect

// ANCHOR: request
/// The article's client exchange on an open connection: send `message`,
/// say "that is all" with a half-close, and read the reply until the server
/// closes.
///
/// One `recv(1024)`, as in the article, returns whatever has arrived so far;
/// a reply sent in two pieces would be cut. Reading to end-of-stream gets it
/// whole, however it was split.
pub fn request(stream: &mut TcpStream, message: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(message)?;
    match stream.shutdown(Shutdown::Write) {
        // The server already reset the connection (one that closes with our
        // bytes unread does): the read below reports that reset, which says
        // far more than "not connected" would.
        Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
        other => other?,
    }

    let mut reply = Vec::new();
    // Read one byte past the limit to tell "exactly at the limit" from "over".
    stream.take(MAX_REPLY_BYTES + 1).read_to_end(&mut reply)?;
    if reply.len() as u64 > MAX_REPLY_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("reply longer than {MAX_REPLY_BYTES} bytes; gave up"),
        ));
    }
    Ok(reply)
}
// ANCHOR_END: request

// ANCHOR: exchange
/// The article's whole client: connect to `host:port`, send `message`, and
/// return the server's complete reply. `tcp-client`, the tour and the bench
/// all make their requests through here.
pub fn exchange(host: &str, port: u16, message: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let mut stream = connect(host, port, timeout)?;
    request(&mut stream, message, timeout)
}
// ANCHOR_END: exchange

/// The reply the server should send for `message`.
pub fn expected_echo(message: &[u8]) -> Vec<u8> {
    [ECHO_PREFIX, message].concat()
}

/// Parses a number of seconds as the article writes them (`5.0`, `0.5`), for
/// the binaries' `--timeout`-style flags.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    // Zero would mean "no timeout at all" to some APIs and is an error to
    // others (set_read_timeout); neither is what a user typing 0 wants.
    match Duration::try_from_secs_f64(secs) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(format!(
            "{text} s is not a usable timeout: give more than 0 seconds"
        )),
    }
}

/// Shows bytes the way Python prints them (`b'Echo: Hello, Server!'`), so the
/// two terminals can be compared line by line.
pub fn python_bytes(data: &[u8]) -> String {
    // Python's rule: single quotes, unless the bytes hold a `'` and no `"`.
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut shown = format!("b{quote}");
    for &byte in data {
        match byte {
            b'\\' => shown.push_str("\\\\"),
            b'\t' => shown.push_str("\\t"),
            b'\n' => shown.push_str("\\n"),
            b'\r' => shown.push_str("\\r"),
            _ if char::from(byte) == quote => {
                shown.push('\\');
                shown.push(quote);
            }
            b' '..=b'~' => shown.push(char::from(byte)),
            _ => shown.push_str(&format!("\\x{byte:02x}")),
        }
    }
    shown.push(quote);
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn bind_address_prefers_ipv4_when_localhost_lists_ipv6_first() {
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 8080));
        let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, 8080));
        assert_eq!(choose_bind_address(&[v6, v4]), Some(v4));
        assert_eq!(choose_bind_address(&[v6]), Some(v6));
        assert_eq!(choose_bind_address(&[]), None);
    }

    #[test]
    fn resolve_puts_ipv4_first_and_keeps_literals() {
        let addrs = resolve("::1", 9).unwrap();
        assert_eq!(addrs, [SocketAddr::from((Ipv6Addr::LOCALHOST, 9))]);
        let addrs = resolve("localhost", 9).unwrap();
        assert!(addrs[0].is_ipv4(), "{addrs:?}");
    }

    #[test]
    fn resolve_names_the_host_it_could_not_find() {
        let err = resolve("no-such-host.invalid", 80).unwrap_err();
        assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
    }

    #[test]
    fn seconds_parse_like_python_floats() {
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("5"), Ok(Duration::from_secs(5)));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("soon").is_err());
    }

    #[test]
    fn python_bytes_matches_python_repr() {
        assert_eq!(
            python_bytes(b"Echo: Hello, Server!"),
            "b'Echo: Hello, Server!'"
        );
        assert_eq!(python_bytes(b"a\r\n\x00\xff"), r"b'a\r\n\x00\xff'");
        assert_eq!(python_bytes(b"it's"), r#"b"it's""#);
        assert_eq!(python_bytes(br#"it's "quoted""#), r#"b'it\'s "quoted"'"#);
        assert_eq!(python_bytes(b"\\ \t"), r"b'\\ \t'");
    }
}
