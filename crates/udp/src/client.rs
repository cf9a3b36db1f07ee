//! The client: [`Client`] sends with `sendto` and waits, boundedly, for the
//! server's reply; [`exchange`] is the article's whole client; [`broadcast`]
//! asks every server on the machine at once.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use cli::show_seconds;

use crate::server::is_transient;
use crate::{MAX_IPV4_PAYLOAD, MAX_IPV6_PAYLOAD, RECV_BUFFER_SIZE, max_payload};

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
    ///
    /// A message too long for one datagram is an `InvalidInput` error that
    /// says what the limit is, not the kernel's bare "Message too long".
    pub fn request(&mut self, message: &[u8]) -> io::Result<&[u8]> {
        check_fits(message, self.server_address)?;
        self.socket.send_to(message, self.server_address)?;
        let deadline = Instant::now() + self.timeout;
        let mut wait = self.timeout;
        loop {
            if self.read_timeout != Some(wait) {
                self.socket.set_read_timeout(Some(wait))?;
                self.read_timeout = Some(wait);
            }
            match self.socket.recv_from(&mut self.buf) {
                Ok((len, from)) if from == self.server_address => return Ok(&self.buf[..len]),
                // A stray, or a signal that cut the wait short: wait again,
                // but only for what is left of the time.
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if tcp::is_timeout(&e) => {
                    return Err(no_reply(self.server_address, self.timeout));
                }
                Err(e) => return Err(e),
            }
            wait = deadline.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                return Err(no_reply(self.server_address, self.timeout));
            }
        }
    }
}
// ANCHOR_END: client

/// An `InvalidInput` error when `message` cannot travel in one datagram to
/// `to`: UDP does not split a message across datagrams, and `sendto` would
/// refuse it (EMSGSIZE, "Message too long").
pub fn check_fits(message: &[u8], to: SocketAddr) -> io::Result<()> {
    if message.len() <= max_payload(to) {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "the message is {} bytes, more than one UDP datagram can carry: \
             at most {MAX_IPV4_PAYLOAD} bytes over IPv4, {MAX_IPV6_PAYLOAD} over IPv6 \
             (65535, the most a 16-bit length can say, less the headers)",
            message.len()
        ),
    ))
}

fn no_reply(server: SocketAddr, timeout: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no reply from {server} within {}", show_seconds(timeout)),
    )
}

// ANCHOR: exchange
/// The article's whole client: resolve `host`, send `message`, wait for the
/// reply. Tries each resolved address in turn (IPv4 first, see [`tcp::resolve`]),
/// each with the full `timeout`, and returns the address that answered with
/// its reply.
///
/// When every address fails, the error is the last one, unless the message
/// was too long for one of them: that is what to fix, even if the other
/// address (IPv6 carries 20 bytes more) then went unanswered.
pub fn exchange(
    host: &str,
    port: u16,
    message: &[u8],
    timeout: Duration,
) -> io::Result<(SocketAddr, Vec<u8>)> {
    let mut too_long = None;
    let mut last_error = None;
    for addr in tcp::resolve(host, port)? {
        let attempt =
            Client::new(addr, timeout).and_then(|mut client| Ok(client.request(message)?.to_vec()));
        match attempt {
            Ok(reply) => return Ok((addr, reply)),
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => too_long = Some(e),
            Err(e) => last_error = Some(e),
        }
    }
    Err(too_long.or(last_error).unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
    }))
}
// ANCHOR_END: exchange

// ANCHOR: broadcast
/// How many replies [`broadcast`] keeps (the rest it only counts): a
/// classroom has a few dozen servers, and a thousand replies of at most
/// 64 KiB each stay under 64 MiB, whatever floods the port.
pub const BROADCAST_KEEP: usize = 1_000;
/// How many replies [`broadcast`] reads before it stops listening, even
/// before its timeout: more than any real broadcast brings back, and what a
/// flood sends in well under a second.
pub const BROADCAST_READ_AT_MOST: u64 = 100_000;

/// What came back from a [`broadcast`].
#[derive(Debug, Default)]
pub struct Replies {
    /// The first replies, at most `keep` of them, with their senders.
    pub kept: Vec<(SocketAddr, Vec<u8>)>,
    /// Replies that arrived after those, counted but not kept.
    pub more: u64,
    /// True when it stopped listening at `read_at_most` replies, before the
    /// timeout.
    pub cut_short: bool,
}

impl Replies {
    /// Every reply that arrived, kept or not.
    pub fn total(&self) -> u64 {
        self.kept.len() as u64 + self.more
    }
}

/// Sends `message` once to a broadcast address and collects the replies
/// that arrive within `timeout`, with their senders: the first `keep` of
/// them, and a count of the rest. It stops listening early once
/// `read_at_most` have arrived.
///
/// One datagram, many answers: every server bound to the port on an address
/// that covers `destination` (0.0.0.0, for the loopback broadcast) gets its
/// own copy. There is no telling how many will answer, so the client listens
/// until the timeout rather than stopping at the first reply. Nor is there
/// any telling who answers: anything on the network can send to our port,
/// as fast as it likes, so what is kept and how long we listen are bounded
/// too. Broadcast exists only in IPv4; IPv6 replaced it with multicast.
pub fn broadcast(
    destination: SocketAddrV4,
    message: &[u8],
    timeout: Duration,
    keep: usize,
    read_at_most: u64,
) -> io::Result<Replies> {
    check_fits(message, destination.into())?;
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    // Without SO_BROADCAST the kernel refuses to send to a broadcast
    // address (EACCES): sending to every host must be asked for.
    socket.set_broadcast(true)?;
    socket.send_to(message, destination)?;

    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut replies = Replies::default();
    while replies.total() < read_at_most {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(replies);
        }
        socket.set_read_timeout(Some(remaining))?;
        match socket.recv_from(&mut buf) {
            Ok((len, from)) if replies.kept.len() < keep => {
                replies.kept.push((from, buf[..len].to_vec()));
            }
            Ok(_) => replies.more += 1,
            Err(e) if tcp::is_timeout(&e) => return Ok(replies),
            // A port-unreachable from one address says nothing about the
            // others; keep listening.
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e),
        }
    }
    replies.cut_short = true;
    Ok(replies)
}
// ANCHOR_END: broadcast
