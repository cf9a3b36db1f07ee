//! # Chapter 2: UDP sockets
//!
//! The article's second section trades TCP's connection for UDP's datagrams:
//! a server on port 9090 that answers every datagram with `ACK: ` + its bytes,
//! and a client that sends `Hello, UDP Server!` with `sendto` — no `connect`,
//! each datagram names its destination — and prints the reply. This crate is
//! that pair, with the same port, messages and bytes on the wire, so the
//! article's Python programs and these binaries talk to each other.
//!
//! | Python (article)                          | Rust (here)                            |
//! |-------------------------------------------|----------------------------------------|
//! | `socket(AF_INET, SOCK_DGRAM)` + `bind`    | [`bind_server`] (socket2)              |
//! | `while True: recvfrom(1024)`              | [`serve`], buffer [`RECV_BUFFER_SIZE`] |
//! | `sendto(b"ACK: " + data, addr)`           | [`ack_reply`], capped at [`max_payload`] |
//! | client `socket(...)`, `server_address`    | [`Client::new`]                        |
//! | client `sendto` + `recvfrom(1024)`        | [`Client::request`], [`exchange`]      |
//! | "ideal for broadcast scenarios"           | [`broadcast`] to [`LOOPBACK_BROADCAST`] |
//!
//! Where this chapter differs from the article, and why:
//!
//! 1. **A datagram is read whole.** UDP keeps message boundaries: one
//!    `recvfrom` returns one datagram, and whatever does not fit the buffer is
//!    thrown away — Python's `recvfrom(1024)` silently cuts a 3000-byte
//!    datagram to 1024 bytes. Our buffer is [`RECV_BUFFER_SIZE`] (65,535)
//!    bytes, more than the largest datagram UDP can carry, so nothing is ever
//!    cut and there is no truncation left to detect. (The alternative,
//!    detecting the cut with `MSG_TRUNC`, would still lose the bytes.)
//! 2. **The reply must fit one datagram too.** The article's reply is at most
//!    `ACK: ` + 1024 bytes, but a server that receives whole datagrams must
//!    also answer a maximal one, and `ACK: ` + 65,507 bytes is 5 bytes too
//!    long to send: `sendto` fails (in Python it raises, ending the loop).
//!    Ours cuts the reply to [`max_payload`] and logs a line.
//! 3. **One bad peer must not stop the server.** An error from `recvfrom` or
//!    `sendto` (an ICMP "port unreachable", which Windows reports even on an
//!    unconnected socket; a reply too big for its route) is logged and the
//!    loop goes on.
//! 4. **A lost datagram must not hang the client.** UDP does not retransmit;
//!    the article's client would wait for ever. Ours waits
//!    [`DEFAULT_TIMEOUT`] and reports "no reply". Without `connect`, any
//!    socket can send to the client's port, so it also ignores datagrams
//!    that do not come from the server it asked.
//! 5. **An empty datagram is a datagram.** The article's UDP server has no
//!    `if data:` (its TCP server does): zero bytes is a real message, and the
//!    reply is a bare `ACK: `. We keep that.
//! 6. **IPv6 and broadcast.** The socket's family comes from the address, so
//!    `--host ::1` works; broadcast (IPv4 only) goes to the loopback
//!    broadcast address, never to the whole LAN.
//!
//! Run it: `just udp-server` in one terminal, `just udp-client` in another.
//! Poke it by hand with `nc -u localhost 9090` (type a line, Enter).
#![forbid(unsafe_code)]

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// The article's port.
pub const DEFAULT_PORT: u16 = 9090;
/// The article binds `localhost`; see [`choose_bind_address`] for what that
/// means on a machine where `localhost` is both `::1` and `127.0.0.1`.
pub const DEFAULT_HOST: &str = "localhost";
/// What the article's client sends.
pub const DEFAULT_MESSAGE: &str = "Hello, UDP Server!";
/// What the server puts in front of the bytes it acknowledges.
pub const ACK_PREFIX: &[u8] = b"ACK: ";
/// The article's `recvfrom(1024)`: a datagram longer than this is cut there.
pub const ARTICLE_RECV_BUFFER_SIZE: usize = 1024;
/// Our receive buffer. UDP's length field is 16 bits, so no datagram carries
/// more than 65,535 bytes (header included): a buffer this size receives
/// every datagram whole, and a truncated read cannot happen.
pub const RECV_BUFFER_SIZE: usize = 65_535;
/// The largest UDP payload over IPv4: 65,535 minus the 20-byte IPv4 header
/// and the 8-byte UDP header. `sendto` refuses anything longer (EMSGSIZE).
pub const MAX_IPV4_PAYLOAD: usize = 65_507;
/// The largest UDP payload over IPv6 (without jumbograms): 65,535 minus the
/// 8-byte UDP header; IPv6's length field does not count its own header.
pub const MAX_IPV6_PAYLOAD: usize = 65_527;
// Checked when compiling: the buffer must hold the largest datagram of
// either family, or a read could be cut short.
const _: () = assert!(RECV_BUFFER_SIZE >= MAX_IPV4_PAYLOAD && RECV_BUFFER_SIZE >= MAX_IPV6_PAYLOAD);
/// How long the client waits for a reply. Loopback answers in microseconds;
/// two seconds is long enough for a slow network, short enough that a
/// learner is not left staring at a silent terminal.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Where `udp-client --broadcast` sends: every address in 127.0.0.0/8 is
/// this machine, and this is that network's broadcast address, so the
/// datagram never leaves the machine. 255.255.255.255 would go out on the
/// LAN to every host there.
pub const LOOPBACK_BROADCAST: Ipv4Addr = Ipv4Addr::new(127, 255, 255, 255);
/// How many bytes of a datagram the server's log line shows; longer data is
/// shortened and its length given, so a 64 KiB datagram is one line.
pub const LOG_PREVIEW_BYTES: usize = 100;

/// Where the server's messages go: the binary prints them, the tour labels
/// them, tests collect them. Libraries report; binaries print.
pub type Log<'a> = &'a (dyn Fn(&str) + Sync);

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
/// IPv4 address if there is one, so clients that only speak IPv4 can reach it.
pub fn choose_bind_address(addrs: &[SocketAddr]) -> Option<SocketAddr> {
    addrs
        .iter()
        .find(|addr| addr.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
}
// ANCHOR_END: resolve

// ANCHOR: bind_server
/// Creates the server's socket: `socket(family, SOCK_DGRAM)`, then `bind`.
///
/// The article sets no options on its UDP socket, and none is needed to
/// restart it: UDP has no `TIME_WAIT`. `reuse_addr` sets `SO_REUSEADDR` for
/// another reason: so several servers can bind the same port, every one of
/// them with the option set. A unicast datagram then reaches only one of
/// them, but a broadcast reaches them all — which is how
/// `udp-client --broadcast` collects several ACKs on one machine.
pub fn bind_server(addr: SocketAddr, reuse_addr: bool) -> io::Result<UdpSocket> {
    // The address decides the family: AF_INET for 127.0.0.1, AF_INET6 for
    // ::1, where the article hard-codes AF_INET.
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if reuse_addr {
        socket.set_reuse_address(true)?;
        // The BSDs and macOS want SO_REUSEPORT as well before two sockets
        // may share a unicast port; Linux shares with SO_REUSEADDR alone.
        #[cfg(any(
            target_os = "macos",
            target_os = "freebsd",
            target_os = "openbsd",
            target_os = "netbsd"
        ))]
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}
// ANCHOR_END: bind_server

// ANCHOR: serve
/// Receives datagrams on `socket` and answers each with `ACK: ` + its bytes,
/// until `max_datagrams` have arrived (or for ever, like the article's
/// `while True`).
///
/// UDP has no connections, so there is nothing to accept and no client to
/// wait for: each datagram carries its sender's address, and the reply goes
/// back to that address. One loop serves every client, one datagram at a
/// time.
pub fn serve(socket: &UdpSocket, max_datagrams: Option<usize>, log: Log<'_>) -> io::Result<()> {
    // Allocated once and reused: big enough for any datagram (see
    // RECV_BUFFER_SIZE), so no datagram is ever cut short.
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut received = 0;
    while max_datagrams.is_none_or(|max| received < max) {
        let (len, addr) = match socket.recv_from(&mut buf) {
            Ok(datagram) => datagram,
            Err(e) if is_transient(&e) => {
                log(&format!("recvfrom failed: {e}; still serving"));
                continue;
            }
            Err(e) if is_timeout(&e) => continue,
            Err(e) => return Err(e),
        };
        received += 1;
        let data = &buf[..len];
        log(&format!("Received from {addr}: {}", preview(data)));
        let reply = ack_reply(data, max_payload(addr));
        if reply.len() < ACK_PREFIX.len() + data.len() {
            log(&format!(
                "reply to {addr} cut to {} bytes: `ACK: ` + {len} bytes does not fit one datagram",
                reply.len()
            ));
        }
        // A reply that cannot be sent concerns that one client only.
        if let Err(e) = socket.send_to(&reply, addr) {
            log(&format!("sendto {addr} failed: {e}; still serving"));
        }
    }
    Ok(())
}
// ANCHOR_END: serve

// ANCHOR: ack_reply
/// The server's answer to `data`: `ACK: ` followed by the data, cut to
/// `limit` bytes so it still fits in one datagram (see [`max_payload`]).
pub fn ack_reply(data: &[u8], limit: usize) -> Vec<u8> {
    let mut reply = Vec::with_capacity(ACK_PREFIX.len() + data.len());
    reply.extend_from_slice(ACK_PREFIX);
    reply.extend_from_slice(data);
    reply.truncate(limit);
    reply
}

/// The largest payload one datagram to `addr` can carry.
pub fn max_payload(addr: SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => MAX_IPV4_PAYLOAD,
        SocketAddr::V6(_) => MAX_IPV6_PAYLOAD,
    }
}
// ANCHOR_END: ack_reply

/// The reply a server should send for `message` (when it fits one datagram).
pub fn expected_ack(message: &[u8]) -> Vec<u8> {
    [ACK_PREFIX, message].concat()
}

/// Errors from `recvfrom` that a datagram or a peer caused, not the socket.
/// An ICMP "port unreachable" (a reply sent to a client that had already
/// gone) is reported on the next call as `ConnectionRefused` by Linux, but
/// only on a *connected* socket, and as `ConnectionReset` by Windows even on
/// an unconnected one. Our sockets are unconnected, so on Linux this is a
/// guard rather than a path taken; it keeps the server portable.
fn is_transient(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionReset | Interrupted)
        // ENOMEM / ENOBUFS: the kernel was short of memory for a moment.
        || matches!(e.raw_os_error(), Some(12 | 105))
}

/// A socket read timeout surfaces as `WouldBlock` on Unix and `TimedOut` on
/// Windows.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

// ANCHOR: client
/// The article's client side: a socket, the `server_address` it talks to,
/// and how long to wait for a reply.
///
/// The receive buffer lives here so that a client sending many requests
/// (the load mode) reuses it instead of zeroing 64 KiB per request.
pub struct Client {
    socket: UdpSocket,
    server_address: SocketAddr,
    timeout: Duration,
    /// What the socket's read timeout is set to now, so the common request
    /// (no stray datagrams) costs no extra system call to set it again.
    read_timeout: Option<Duration>,
    buf: Vec<u8>,
}

impl Client {
    /// A socket of the server's family on a port the OS picks: what Python's
    /// first `sendto` does implicitly on an unbound socket.
    pub fn new(server_address: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let local: SocketAddr = match server_address {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        Ok(Self {
            socket: UdpSocket::bind(local)?,
            server_address,
            timeout,
            read_timeout: None,
            buf: vec![0u8; RECV_BUFFER_SIZE],
        })
    }

    /// The address replies come back to (tests aim stray datagrams at it).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Sends `message` to the server with `sendto` and returns the first
    /// datagram that comes back *from the server*, or a `TimedOut` error if
    /// none does within the timeout.
    ///
    /// With no `connect`, the socket accepts datagrams from anyone; a stray
    /// one is skipped, and the wait goes on only until the original
    /// deadline, so a flood of strays cannot stretch it.
    pub fn request(&mut self, message: &[u8]) -> io::Result<&[u8]> {
        self.socket.send_to(message, self.server_address)?;
        let deadline = Instant::now() + self.timeout;
        let mut wait = self.timeout;
        loop {
            if self.read_timeout != Some(wait) {
                self.socket.set_read_timeout(Some(wait))?;
                self.read_timeout = Some(wait);
            }
            let (len, from) = match self.socket.recv_from(&mut self.buf) {
                Ok(datagram) => datagram,
                Err(e) if is_timeout(&e) => {
                    return Err(no_reply(self.server_address, self.timeout));
                }
                Err(e) => return Err(e),
            };
            if from == self.server_address {
                return Ok(&self.buf[..len]);
            }
            // A stray: skip it, and wait only for what is left of the time.
            wait = deadline.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                return Err(no_reply(self.server_address, self.timeout));
            }
        }
    }
}
// ANCHOR_END: client

fn no_reply(server: SocketAddr, timeout: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no reply from {server} within {}", seconds(timeout)),
    )
}

// ANCHOR: exchange
/// The article's whole client: resolve `host`, send `message`, wait for the
/// reply. Tries each resolved address in turn (IPv4 first, see [`resolve`]),
/// each with the full `timeout`, and returns the address that answered with
/// its reply.
pub fn exchange(
    host: &str,
    port: u16,
    message: &[u8],
    timeout: Duration,
) -> io::Result<(SocketAddr, Vec<u8>)> {
    let mut last_error = None;
    for addr in resolve(host, port)? {
        let attempt =
            Client::new(addr, timeout).and_then(|mut client| Ok(client.request(message)?.to_vec()));
        match attempt {
            Ok(reply) => return Ok((addr, reply)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
    }))
}
// ANCHOR_END: exchange

// ANCHOR: broadcast
/// Sends `message` once to a broadcast address and collects every reply
/// that arrives within `timeout`, with its sender.
///
/// One datagram, many answers: every server bound to the port on an address
/// that covers `destination` (0.0.0.0, for the loopback broadcast) gets its
/// own copy. There is no telling how many will answer, so the client listens
/// until the timeout rather than stopping at the first reply. Broadcast
/// exists only in IPv4; IPv6 replaced it with multicast.
pub fn broadcast(
    destination: SocketAddrV4,
    message: &[u8],
    timeout: Duration,
) -> io::Result<Vec<(SocketAddr, Vec<u8>)>> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    // Without SO_BROADCAST the kernel refuses to send to a broadcast
    // address (EACCES): sending to every host must be asked for.
    socket.set_broadcast(true)?;
    socket.send_to(message, destination)?;

    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut replies = Vec::new();
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(replies);
        }
        socket.set_read_timeout(Some(remaining))?;
        match socket.recv_from(&mut buf) {
            Ok((len, from)) => replies.push((from, buf[..len].to_vec())),
            Err(e) if is_timeout(&e) => return Ok(replies),
            // A port-unreachable from one address says nothing about the
            // others; keep listening.
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e),
        }
    }
}
// ANCHOR_END: broadcast

/// Parses a number of seconds as the article writes them (`2.0`, `0.5`), for
/// the binaries' `--timeout` flag.
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

/// Shows a duration the way it was typed: `2 s`, `0.3 s`.
pub fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// Shows bytes the way Python prints them (`b'ACK: Hello, UDP Server!'`), so
/// the two terminals can be compared line by line.
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

/// [`python_bytes`] for a log line: data longer than [`LOG_PREVIEW_BYTES`]
/// is shortened, with its length, so one datagram stays one line.
pub fn preview(data: &[u8]) -> String {
    if data.len() <= LOG_PREVIEW_BYTES {
        python_bytes(data)
    } else {
        format!(
            "{}... ({} bytes)",
            python_bytes(&data[..LOG_PREVIEW_BYTES]),
            data.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_address_prefers_ipv4_when_localhost_lists_ipv6_first() {
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 9090));
        let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, 9090));
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
    fn ack_is_prefix_plus_data() {
        assert_eq!(
            ack_reply(b"Hello, UDP Server!", MAX_IPV4_PAYLOAD),
            b"ACK: Hello, UDP Server!"
        );
        assert_eq!(ack_reply(b"", MAX_IPV4_PAYLOAD), b"ACK: ");
    }

    #[test]
    fn ack_of_a_maximal_datagram_is_cut_to_fit() {
        let data = vec![b'x'; MAX_IPV4_PAYLOAD];
        let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, 1));
        let reply = ack_reply(&data, max_payload(v4));
        assert_eq!(reply.len(), MAX_IPV4_PAYLOAD);
        assert!(reply.starts_with(ACK_PREFIX));
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 1));
        assert_eq!(max_payload(v6), MAX_IPV6_PAYLOAD);
    }

    #[test]
    fn seconds_parse_like_python_floats() {
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("2"), Ok(Duration::from_secs(2)));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("soon").is_err());
        assert_eq!(seconds(DEFAULT_TIMEOUT), "2 s");
        assert_eq!(seconds(Duration::from_millis(300)), "0.3 s");
    }

    #[test]
    fn python_bytes_matches_python_repr() {
        assert_eq!(
            python_bytes(b"ACK: Hello, UDP Server!"),
            "b'ACK: Hello, UDP Server!'"
        );
        assert_eq!(python_bytes(b"a\r\n\x00\xff"), r"b'a\r\n\x00\xff'");
        assert_eq!(python_bytes(b"it's"), r#"b"it's""#);
        assert_eq!(python_bytes(br#"it's "quoted""#), r#"b'it\'s "quoted"'"#);
        assert_eq!(python_bytes(b"\\ \t"), r"b'\\ \t'");
        assert_eq!(python_bytes(b""), "b''");
    }

    #[test]
    fn preview_shortens_long_data_and_gives_its_length() {
        assert_eq!(preview(b"hi"), "b'hi'");
        let long = vec![b'x'; 3000];
        let shown = preview(&long);
        assert!(shown.ends_with("... (3000 bytes)"), "{shown}");
        assert!(shown.len() < 200, "{shown}");
    }
}
