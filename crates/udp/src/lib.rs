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
//! | `print(f"Received from {addr}: {data}")`  | [`Event::Received`]                    |
//! | `sendto(b"ACK: " + data, addr)`           | [`ack_reply`], capped at [`max_payload`] |
//! | client `socket(...)`, `server_address`    | [`Client::new`]                        |
//! | client `sendto` + `recvfrom(1024)`        | [`Client::request`], [`exchange`]      |
//! | "ideal for broadcast scenarios"           | [`broadcast`] to [`LOOPBACK_BROADCAST`] |
//! | (answers every datagram, from anyone)     | [`refuse_reason`], [`ReplyLimiter`]    |
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
//!    Ours cuts the reply to [`max_payload`] and logs a line. A client
//!    message too long for one datagram is refused before it is sent, with
//!    the limit in the error ([`check_fits`]), where the kernel says only
//!    "Message too long".
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
//!    broadcast address, never to the whole LAN. Anything may answer a
//!    broadcast, as fast as it likes, so the client keeps at most
//!    [`BROADCAST_KEEP`] replies and stops listening after
//!    [`BROADCAST_READ_AT_MOST`].
//! 7. **A server that answers everyone is a reflector.** A forged source
//!    address turns it against a victim, or against another answering
//!    server in a reply loop that never ends. Ours refuses sources that can
//!    only be forged ([`refuse_reason`]) and answers at most
//!    [`DEFAULT_MAX_REPLIES_PER_SECOND`] datagrams a second from any one
//!    source ([`ReplyLimiter`], [`serve_with_limit`]), which a loop exceeds
//!    and a load test does not.
//!
//! Run it: `just udp-server` in one terminal, `just udp-client` in another.
//! Poke it by hand with `nc -u localhost 9090` (type a line, Enter).
#![forbid(unsafe_code)]

mod client;
mod limit;
mod server;

pub use client::{
    BROADCAST_KEEP, BROADCAST_READ_AT_MOST, Client, Replies, broadcast, check_fits, exchange,
};
pub use limit::{
    DEFAULT_MAX_REPLIES_PER_SECOND, MAX_TRACKED_SOURCES, NOTICE_INTERVAL, ReplyLimiter, Verdict,
};
pub use server::{
    ANSWERING_PORTS, Event, STOP_CHECK_INTERVAL, Summary, refuse_reason, serve, serve_with_limit,
    wake_socket,
};

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

/// The article's port.
pub const DEFAULT_PORT: u16 = 9090;
/// The article binds `localhost`; see [`tcp::choose_bind_address`] for what
/// that means on a machine where `localhost` is both `::1` and `127.0.0.1`.
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

/// [`tcp::server_address`] then [`bind_server`], with an error that names
/// the address and, when the port is taken, what to do about it.
pub fn listen(host: &str, port: u16, reuse_addr: bool) -> io::Result<UdpSocket> {
    let addr = tcp::server_address(host, port)?;
    bind_server(addr, reuse_addr).map_err(|e| match e.kind() {
        io::ErrorKind::AddrInUse => io::Error::new(
            e.kind(),
            format!(
                "cannot bind {addr}: address in use — is another server running? try --port \
                 (or start every server with --reuse-addr to share port {port})"
            ),
        ),
        _ => tcp::bind_error(addr, e),
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::Ipv6Addr;

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
}
