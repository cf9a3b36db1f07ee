//! The server: [`serve`] answers every datagram with its ACK, except those
//! [`refuse_reason`] turns away and those over the [`ReplyLimiter`]'s
//! limit; [`Event`]s say what happened.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use cli::{count, preview, python_addr};
use tcp::Stop;

use crate::limit::{DEFAULT_MAX_REPLIES_PER_SECOND, MAX_TRACKED_SOURCES, ReplyLimiter, Verdict};
use crate::{ACK_PREFIX, RECV_BUFFER_SIZE, ack_reply, max_payload};

/// What the server has to say. `Display` gives the line it prints:
/// [`Event::Received`] is the article's line.
#[derive(Debug)]
pub enum Event<'a> {
    /// `Received from ('127.0.0.1', 54321): b'Hello, UDP Server!'`, as the
    /// article prints it (a long datagram is shortened, with its length).
    Received {
        /// The sender, where the ACK goes.
        from: SocketAddr,
        /// The datagram's bytes.
        data: &'a [u8],
    },
    /// A datagram not answered, and why (see [`refuse_reason`]).
    Ignored {
        /// The sender.
        from: SocketAddr,
        /// Why no ACK went back.
        why: &'static str,
    },
    /// The ACK was cut to fit one datagram.
    ReplyCut {
        /// The client.
        to: SocketAddr,
        /// How long the datagram was.
        len: usize,
        /// How long the ACK was allowed to be.
        sent: usize,
    },
    /// `sendto` failed for one client; the server goes on.
    SendFailed {
        /// The client.
        to: SocketAddr,
        /// What the kernel said.
        error: io::Error,
    },
    /// `recvfrom` failed in a way that passes; the server goes on.
    ReceiveFailed(io::Error),
    /// Datagrams from one source dropped unanswered: it sent more than the
    /// [`ReplyLimiter`] allows. Said at most once a
    /// [`NOTICE_INTERVAL`](crate::NOTICE_INTERVAL) per source.
    OverLimit {
        /// The source.
        from: SocketAddr,
        /// Its datagrams dropped since the last notice about it.
        dropped: u64,
        /// The limit, in replies a second.
        limit: u32,
    },
    /// Datagrams from new sources dropped unanswered: the limiter already
    /// keeps count of as many busy sources as it may. Said at most once a
    /// [`NOTICE_INTERVAL`](crate::NOTICE_INTERVAL).
    TooManySources {
        /// Dropped since the last notice.
        dropped: u64,
        /// How many sources the limiter keeps count of.
        tracked: usize,
    },
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Received { from, data } => {
                write!(f, "Received from {}: {}", python_addr(*from), preview(data))
            }
            Event::Ignored { from, why } => {
                write!(f, "ignored a datagram from {}: {why}", python_addr(*from))
            }
            Event::ReplyCut { to, len, sent } => write!(
                f,
                "reply to {} cut to {sent} bytes: `ACK: ` + {len} bytes does not fit one datagram",
                python_addr(*to)
            ),
            Event::SendFailed { to, error } => write!(
                f,
                "sendto {} failed: {error}; still serving",
                python_addr(*to)
            ),
            Event::ReceiveFailed(error) => write!(f, "recvfrom failed: {error}; still serving"),
            Event::OverLimit {
                from,
                dropped,
                limit,
            } => write!(
                f,
                "ignored {} from {}: more than {limit} a second from one source \
                 (a reply loop, or a flood?); no replies to it until it slows down",
                count(*dropped, "datagram"),
                python_addr(*from)
            ),
            Event::TooManySources { dropped, tracked } => write!(
                f,
                "ignored {} from new sources: already keeping count of {tracked} busy ones \
                 (a flood from forged addresses?)",
                count(*dropped, "datagram")
            ),
        }
    }
}

/// How often an idle [`serve`] looks at its stop flag without a wake-up.
pub const STOP_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// What [`serve`] did before it was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Datagrams received (the wake-up of a stop not counted).
    pub datagrams: u64,
    /// Of those, the ones answered with an ACK.
    pub answered: u64,
    /// Not answered because of their source address ([`refuse_reason`]).
    pub refused: u64,
    /// Not answered because their source was over the reply limit
    /// ([`ReplyLimiter`]).
    pub dropped: u64,
}

impl fmt::Display for Summary {
    /// `1 datagram, 1 answered`, then the refused and dropped ones if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {} answered",
            count(self.datagrams, "datagram"),
            self.answered
        )?;
        if self.refused > 0 {
            write!(f, ", {} refused", self.refused)?;
        }
        if self.dropped > 0 {
            write!(f, ", {} over the rate limit", self.dropped)?;
        }
        Ok(())
    }
}

// ANCHOR: serve
/// Receives datagrams on `socket` and answers each with `ACK: ` + its bytes,
/// until `stop` is used (the article's `while True`), with the default reply
/// limit ([`DEFAULT_MAX_REPLIES_PER_SECOND`] per source); see
/// [`serve_with_limit`].
pub fn serve(socket: &UdpSocket, stop: &Stop, on_event: impl Fn(Event<'_>)) -> io::Result<Summary> {
    serve_with_limit(socket, stop, DEFAULT_MAX_REPLIES_PER_SECOND, on_event)
}

/// [`serve`], answering at most `max_replies_per_second` datagrams a second
/// from any one source address and port ([`ReplyLimiter`]).
///
/// UDP has no connections, so there is nothing to accept and no client to
/// wait for: each datagram carries its sender's address, and the reply goes
/// back to that address. One loop serves every client, one datagram at a
/// time.
///
/// A stop wakes the loop with an empty datagram of its own. When several
/// servers share the port (`--reuse-addr`), the kernel gives a unicast
/// datagram to only one of them, so the socket's read timeout is set to
/// [`STOP_CHECK_INTERVAL`] as well: a server that missed the wake-up looks
/// at the flag when it next has nothing to do.
pub fn serve_with_limit(
    socket: &UdpSocket,
    stop: &Stop,
    max_replies_per_second: u32,
    on_event: impl Fn(Event<'_>),
) -> io::Result<Summary> {
    let local = socket.local_addr()?;
    socket.set_read_timeout(Some(STOP_CHECK_INTERVAL))?;
    let _wake = stop.on_stop(move || wake_socket(local));
    // Allocated once and reused: big enough for any datagram (see
    // RECV_BUFFER_SIZE), so no datagram is ever cut short.
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut limiter = ReplyLimiter::new(max_replies_per_second, MAX_TRACKED_SOURCES);
    let mut summary = Summary::default();
    while !stop.is_stopped() {
        let (len, from) = match socket.recv_from(&mut buf) {
            // The stop's wake-up, or a datagram that came after it.
            Ok(_) if stop.is_stopped() => break,
            Ok(datagram) => datagram,
            // A signal (Ctrl-C, SIGTERM) arrived: a socket with a read
            // timeout is not restarted by the kernel. Not an error; the
            // loop looks at the stop flag next.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_transient(&e) => {
                on_event(Event::ReceiveFailed(e));
                continue;
            }
            Err(e) if tcp::is_timeout(&e) => continue,
            Err(e) => return Err(e),
        };
        summary.datagrams += 1;
        // Over the limit: dropped before it is even logged, so a loop or a
        // flood costs one log line a second, not one per datagram.
        match limiter.check(from, Instant::now()) {
            Verdict::Answer => {}
            Verdict::OverLimit { notice } => {
                summary.dropped += 1;
                if let Some(dropped) = notice {
                    let limit = max_replies_per_second;
                    on_event(Event::OverLimit {
                        from,
                        dropped,
                        limit,
                    });
                }
                continue;
            }
            Verdict::NoRoom { notice } => {
                summary.dropped += 1;
                if let Some(dropped) = notice {
                    let tracked = limiter.tracked();
                    on_event(Event::TooManySources { dropped, tracked });
                }
                continue;
            }
        }
        let data = &buf[..len];
        on_event(Event::Received { from, data });
        if let Some(why) = refuse_reason(from, local) {
            summary.refused += 1;
            on_event(Event::Ignored { from, why });
            continue;
        }
        let reply = ack_reply(data, max_payload(from));
        if reply.len() < ACK_PREFIX.len() + len {
            let sent = reply.len();
            on_event(Event::ReplyCut {
                to: from,
                len,
                sent,
            });
        }
        // A reply that cannot be sent concerns that one client only.
        match socket.send_to(&reply, from) {
            Ok(_) => summary.answered += 1,
            Err(error) => on_event(Event::SendFailed { to: from, error }),
        }
    }
    Ok(summary)
}
// ANCHOR_END: serve

// ANCHOR: refuse_reason
/// Ports of the old "simple services" (echo, discard, daytime, quote of the
/// day, chargen, time): servers there answer every datagram, as ours does.
pub const ANSWERING_PORTS: [u16; 6] = [7, 9, 13, 17, 19, 37];

/// Why a datagram from `from` must not be answered, if it must not.
///
/// An answering server is a reflector: anyone can forge the source address
/// of a datagram, and the answer goes to whoever the source names. Forge
/// the server's own address and it answers itself, for ever, at full speed;
/// forge another echo server's and the two ping-pong until one dies. The
/// article's server answers everything. Ours refuses a source that is
/// itself, port 0 (no real socket sends from it), or one of the
/// [`ANSWERING_PORTS`].
pub fn refuse_reason(from: SocketAddr, local: SocketAddr) -> Option<&'static str> {
    if from == local
        || (from.port() == local.port() && local.ip().is_unspecified() && from.ip().is_loopback())
    {
        Some("it claims to come from this server itself (a reply would loop)")
    } else if from.port() == 0 {
        Some("its source port is 0, which no real sender uses")
    } else if ANSWERING_PORTS.contains(&from.port()) {
        Some(
            "its source port belongs to a service that answers every datagram (a reply would loop)",
        )
    } else {
        None
    }
}
// ANCHOR_END: refuse_reason

/// Wakes a server blocked in `recvfrom` on `addr` with one empty datagram.
pub fn wake_socket(addr: SocketAddr) {
    let addr = tcp::reachable(addr);
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => (Ipv4Addr::LOCALHOST, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::LOCALHOST, 0).into(),
    };
    if let Ok(socket) = UdpSocket::bind(local) {
        let _ = socket.send_to(&[], addr);
    }
}

/// Errors from `recvfrom` that a datagram or a peer caused, not the socket.
/// An ICMP "port unreachable" (a reply sent to a client that had already
/// gone) is reported on the next call as `ConnectionRefused` by Linux, but
/// only on a *connected* socket, and as `ConnectionReset` by Windows even on
/// an unconnected one. Our sockets are unconnected, so on Linux this is a
/// guard rather than a path taken; it keeps the server portable.
pub(crate) fn is_transient(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionReset | Interrupted)
        // ENOMEM / ENOBUFS: the kernel was short of memory for a moment.
        || matches!(e.raw_os_error(), Some(12 | 105))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_print_like_the_article() {
        let from = SocketAddr::from((Ipv4Addr::LOCALHOST, 54321));
        let data = b"Hello, UDP Server!";
        assert_eq!(
            Event::Received { from, data }.to_string(),
            "Received from ('127.0.0.1', 54321): b'Hello, UDP Server!'"
        );
    }

    #[test]
    fn sources_that_would_loop_are_refused() {
        let server: SocketAddr = "127.0.0.1:9090".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:9090".parse().unwrap();
        let client: SocketAddr = "127.0.0.1:54321".parse().unwrap();
        assert_eq!(refuse_reason(client, server), None);
        assert!(refuse_reason(server, server).is_some());
        assert!(refuse_reason(server, any).is_some());
        assert!(refuse_reason("127.0.0.1:0".parse().unwrap(), server).is_some());
        assert!(refuse_reason("127.0.0.1:7".parse().unwrap(), server).is_some());
        assert!(refuse_reason("127.0.0.1:19".parse().unwrap(), server).is_some());
    }
}
