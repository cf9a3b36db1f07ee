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
//! | `while True: accept()`                    | [`serve`], stopped by a [`Stop`]    |
//! | (a thread per client, capped)             | [`serve_prethreaded`]               |
//! | `print(f"Connection from {address}")`     | [`Event::Connection`]               |
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
//! Every server in netlab has the shape of [`serve`]: it takes a listener
//! that is already bound (tests bind port 0), a [`Stop`] handle, and a
//! closure that receives [`Event`]s, whose `Display` is the line the Python
//! prints. The library reports; the binary prints.
//!
//! Run it: `just tcp-server` in one terminal, `just tcp-client` in another.
#![forbid(unsafe_code)]

mod client;
mod server;
mod stop;

pub use client::{
    Reply, WRITE_BEFORE_READING, connect, exchange, exchange_reply, expected_echo, request,
    send_and_read,
};
pub use server::{
    Ending, Event, FIRST_WORKERS, MAX_CONNECTION_TIME, Summary, handle_client, serve,
    serve_for_at_most, serve_prethreaded, serve_prethreaded_for_at_most, serve_workers,
};
pub use stop::{Stop, WakeGuard, reachable, wake_listener};

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
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
/// How many clients `tcp-server --threads` serves at once, one worker thread
/// each (see [`serve_prethreaded`]). More clients wait in the listen backlog
/// until a worker is free, rather than each getting a new thread: a flood of
/// connections cannot exhaust the machine's threads.
pub const DEFAULT_WORKERS: usize = 1024;
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

/// [`resolve`] then [`choose_bind_address`]: the address a server given
/// `--host` and `--port` binds. Every server binary in netlab starts here.
pub fn server_address(host: &str, port: u16) -> io::Result<SocketAddr> {
    choose_bind_address(&resolve(host, port)?).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} has no address to bind"),
        )
    })
}
// ANCHOR_END: resolve

// ANCHOR: bind_server
/// Creates the listening socket the way the article does, step by step:
/// socket, `SO_REUSEADDR`, bind, listen — plus the idle timeout of every
/// connection it will accept.
///
/// `SO_REUSEADDR` lets a restarted server bind its port while connections
/// from the previous run still sit in `TIME_WAIT`. Without it, restarting
/// the server right after a client disconnected fails with "address in use"
/// for up to a minute. (std's `TcpListener::bind` sets it on Unix too;
/// Python's bare socket does not, which is why the article sets it.)
///
/// The read and write timeouts are set on the listener because Linux (and
/// the BSDs) copy them to every connection it accepts: one system call
/// instead of two per client. The copy is made when the handshake
/// completes, which can be before `accept`, so they are set before
/// `listen`. They also make `accept` return when nobody came for
/// `idle_timeout`, a regular moment for [`serve`] to look at its stop flag.
pub fn bind_server(
    addr: SocketAddr,
    backlog: i32,
    idle_timeout: Duration,
) -> io::Result<TcpListener> {
    // The address decides the family: AF_INET for 127.0.0.1, AF_INET6 for
    // ::1, where the article hard-codes AF_INET.
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_read_timeout(Some(idle_timeout))?;
    socket.set_write_timeout(Some(idle_timeout))?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}
// ANCHOR_END: bind_server

/// [`server_address`] then [`bind_server`], with an error that names the
/// address and, when the port is taken, what to do about it.
pub fn listen(
    host: &str,
    port: u16,
    backlog: i32,
    idle_timeout: Duration,
) -> io::Result<TcpListener> {
    let addr = server_address(host, port)?;
    bind_server(addr, backlog, idle_timeout).map_err(|e| bind_error(addr, e))
}

/// The error of a failed bind, as a user should read it.
pub fn bind_error(addr: SocketAddr, e: io::Error) -> io::Error {
    let why = match e.kind() {
        io::ErrorKind::AddrInUse => "address in use — is another server running? try --port",
        io::ErrorKind::AddrNotAvailable => "no interface of this machine has that address",
        io::ErrorKind::PermissionDenied => "ports below 1024 need root; try a port above 1024",
        _ => "",
    };
    let shown = if why.is_empty() {
        e.to_string()
    } else {
        why.to_string()
    };
    io::Error::new(e.kind(), format!("cannot bind {addr}: {shown}"))
}

/// A socket timeout surfaces as `WouldBlock` on Unix and `TimedOut` on
/// Windows; netlab treats both as "the time ran out".
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
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
    fn a_taken_port_says_what_to_do() {
        let idle = DEFAULT_IDLE_TIMEOUT;
        let taken = bind_server(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), 1, idle).unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = listen("127.0.0.1", port, 1, idle).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains("try --port"), "{err}");
    }
}
