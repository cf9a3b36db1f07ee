//! The four steps of a request, each waiting only for what is left of the
//! one [`Deadline`]: [`resolve`], [`connect`], [`send`], [`receive`].
//! [`request_by`](crate::request_by) runs them in order.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::http::ResponseEnd;
use crate::{Deadline, End, RECV_SIZE, RequestError, Response, Step};

// ANCHOR: longest_wait
/// The longest one read or write waits before its loop looks at the
/// deadline again, however much time is left.
///
/// `set_read_timeout` sets `SO_RCVTIMEO`, and Linux keeps that timeout on
/// its timer wheel, whose slots grow coarser the further off a timeout is
/// (by design: most timeouts are cancelled long before they fire). With
/// this book's kernel (`HZ=250`) a 1 s wait ends up to 32 ms late and a
/// 5 s one up to 256 ms late; we measured +24 ms and +124 ms. A wait of
/// 100 ms sits in fine slots and ends within a few milliseconds, so the
/// deadline is kept to the same. (Python's `settimeout` waits in
/// `poll`, whose timer is precise; std offers no `poll` on a socket.
/// `connect_timeout` uses `poll` inside, so it needs no slicing.)
pub const LONGEST_WAIT: Duration = Duration::from_millis(100);
// ANCHOR_END: longest_wait

// ANCHOR: resolve
/// The host's addresses, IPv4 first (`tcp::resolve`), by the deadline.
///
/// std's name lookup (`getaddrinfo`) takes no timeout and cannot be
/// cancelled; the resolver gives up on its own after its own timeouts
/// (5 s per try by default in /etc/resolv.conf). So the lookup runs on a
/// thread of its own and we wait for its answer only until the deadline.
/// A late lookup is abandoned: its thread ends when the resolver does.
/// An address needs no lookup, and no thread.
pub fn resolve(host: &str, port: u16, deadline: Deadline) -> Result<Vec<SocketAddr>, RequestError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let failed = |error| RequestError::Resolve {
        host: host.to_string(),
        error,
    };
    let (answer, answered) = mpsc::channel();
    let name = host.to_string();
    thread::Builder::new()
        .name(format!("resolve {host}"))
        .spawn(move || {
            // Nobody may be waiting any more: then the answer is dropped.
            let _ = answer.send(tcp::resolve(&name, port));
        })
        .map_err(failed)?;
    let late = || {
        let why = format!(
            "cannot resolve {host}: no answer within {}",
            cli::show_seconds(deadline.timeout())
        );
        failed(io::Error::new(io::ErrorKind::TimedOut, why))
    };
    let left = deadline.left().ok_or_else(late)?;
    match answered.recv_timeout(left) {
        Ok(Ok(addrs)) if addrs.is_empty() => Err(failed(io::Error::new(
            io::ErrorKind::NotFound,
            format!("cannot resolve {host}: no addresses"),
        ))),
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(failed(e)),
        Err(_) => Err(late()),
    }
}
// ANCHOR_END: resolve

// ANCHOR: connect
/// Connects to each address in turn until one answers, all of them
/// within the one deadline: an address that does not answer uses up the
/// time, and the next gets only what is left.
pub fn connect(
    addrs: &[SocketAddr],
    deadline: Deadline,
) -> Result<(TcpStream, SocketAddr), RequestError> {
    let timeout = deadline.timeout();
    let mut refused = Vec::new();
    let mut failed = None;
    for &addr in addrs {
        let left = deadline
            .left()
            .ok_or(RequestError::ConnectTimedOut { addr, timeout })?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => return Ok((stream, addr)),
            Err(e) if tcp::is_timeout(&e) => {
                return Err(RequestError::ConnectTimedOut { addr, timeout });
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => refused.push(addr),
            Err(error) => failed = Some((addr, error)),
        }
    }
    Err(match failed {
        // "Network unreachable" says more than another address's refusal.
        Some((addr, error)) => RequestError::Io {
            step: Step::Connect,
            addr: Some(addr),
            error,
        },
        None => RequestError::Refused { addrs: refused },
    })
}
// ANCHOR_END: connect

// ANCHOR: send
/// Writes all of `data` by the deadline. `write_all` would wait up to the
/// write timeout on *each* write it makes, the article's flaw again; this
/// loop sets the time left before each one.
pub fn send(
    stream: &mut TcpStream,
    addr: SocketAddr,
    data: &[u8],
    deadline: Deadline,
) -> Result<(), RequestError> {
    let failed = |error| RequestError::Io {
        step: Step::Send,
        addr: Some(addr),
        error,
    };
    let mut rest = data;
    while !rest.is_empty() {
        let left = deadline.left().ok_or(RequestError::TimedOut {
            step: Step::Send,
            addr,
            timeout: deadline.timeout(),
        })?;
        stream
            .set_write_timeout(Some(left.min(LONGEST_WAIT)))
            .map_err(failed)?;
        match stream.write(rest) {
            Ok(0) => return Err(failed(io::ErrorKind::WriteZero.into())),
            Ok(n) => rest = &rest[n..],
            // The wait ran out: the deadline check above decides.
            Err(e) if tcp::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failed(e)),
        }
    }
    Ok(())
}
// ANCHOR_END: send

// ANCHOR: receive
/// Reads the response until the server closes, the response is complete
/// by its HTTP framing, or `max_bytes` is passed, all by the deadline.
pub fn receive(
    stream: &mut TcpStream,
    addr: SocketAddr,
    deadline: Deadline,
    max_bytes: usize,
    mut response_end: ResponseEnd,
) -> Result<Response, RequestError> {
    let failed = |error| RequestError::Io {
        step: Step::Receive,
        addr: Some(addr),
        error,
    };
    let mut response = Vec::new();
    let mut buf = [0u8; RECV_SIZE];
    loop {
        let Some(left) = deadline.left() else {
            let timeout = deadline.timeout();
            return Err(if response.is_empty() {
                RequestError::TimedOut {
                    step: Step::Receive,
                    addr,
                    timeout,
                }
            } else {
                RequestError::DeadlineExceeded {
                    addr,
                    timeout,
                    partial: response,
                }
            });
        };
        stream
            .set_read_timeout(Some(left.min(LONGEST_WAIT)))
            .map_err(failed)?;
        // One byte past the cap at most, to know the cap was passed.
        let room = (max_bytes - response.len())
            .saturating_add(1)
            .min(RECV_SIZE);
        match stream.read(&mut buf[..room]) {
            Ok(0) => {
                return Ok(Response {
                    bytes: response,
                    end: End::Closed,
                });
            }
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e) if tcp::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(e)),
        }
        if response.len() > max_bytes {
            return Err(RequestError::TooLarge { max_bytes });
        }
        if let Some(framing) = response_end.complete(&response) {
            let end = if closed(stream) {
                End::Closed
            } else {
                End::KeptOpen(framing)
            };
            return Ok(Response {
                bytes: response,
                end,
            });
        }
    }
}

/// Whether the server has closed its side: a look at the socket that
/// does not wait (a peek that finds the end of the stream).
fn closed(stream: &TcpStream) -> bool {
    let peeked = stream
        .set_nonblocking(true)
        .and_then(|()| stream.peek(&mut [0u8; 1]));
    let _ = stream.set_nonblocking(false);
    matches!(peeked, Ok(0))
}
// ANCHOR_END: receive

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_address_is_not_looked_up() {
        let deadline = Deadline::after(Duration::from_secs(1));
        let addrs = resolve("::1", 80, deadline).unwrap();
        assert_eq!(addrs, ["[::1]:80".parse().unwrap()]);
    }

    #[test]
    fn a_lookup_that_has_no_time_left_is_late() {
        let deadline = Deadline::after(Duration::from_nanos(1));
        std::thread::sleep(Duration::from_millis(1));
        let err = resolve("localhost", 80, deadline).unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert_eq!(err.exit_code(), 3);
    }
}
