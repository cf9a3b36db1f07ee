// Reference solution: udp1_retry_backoff (chapter: udp).
//
// UDP itself never resends: a lost datagram is simply gone. The client does
// it: send, wait a while for the reply, and if none comes send again, each
// time waiting twice as long (up to a cap), until it has tried
// `max_attempts` times. Doubling spreads the retries of many clients out, so
// a server that is slow because it is overloaded is not buried in resends.

use std::fmt;
use std::io;
use std::net::UdpSocket;
use std::thread;
use std::time::Duration;

/// What the article's UDP server puts in front of the echoed datagram.
const ACK_PREFIX: &[u8] = b"ACK: ";

/// The largest payload a UDP datagram over IPv4 can carry.
const MAX_DATAGRAM: usize = 65_507;

/// How often and how patiently to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RetryPolicy {
    /// How long the first attempt waits for its reply.
    first_timeout: Duration,
    /// No attempt waits longer than this, however often it doubled.
    max_timeout: Duration,
    /// How many datagrams to send, in all, before giving up.
    max_attempts: u32,
}

impl RetryPolicy {
    /// How long attempt number `attempt` (0 = the first send) waits for its
    /// reply: `first_timeout`, doubled once for each earlier attempt, never
    /// more than `max_timeout`.
    fn timeout_for(&self, attempt: u32) -> Duration {
        // 2^attempt; past 2^31 it no longer fits, and the cap applies anyway.
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.first_timeout
            .saturating_mul(factor)
            .min(self.max_timeout)
    }
}

/// A successful request: the reply, and how long each attempt was allowed
/// to wait (one entry per datagram sent).
#[derive(Debug)]
struct Exchange {
    reply: Vec<u8>,
    waits: Vec<Duration>,
}

/// Why a request failed.
#[derive(Debug)]
enum RetryError {
    /// Every attempt timed out; `waits` says how long each one waited.
    GaveUp { waits: Vec<Duration> },
    /// The socket itself failed.
    Io(io::Error),
}

impl fmt::Display for RetryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryError::GaveUp { waits } => write!(
                f,
                "no reply after {} attempt(s), waiting {waits:?}",
                waits.len()
            ),
            RetryError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for RetryError {
    fn from(e: io::Error) -> Self {
        RetryError::Io(e)
    }
}

/// A read timeout surfaces as `WouldBlock` on Unix and `TimedOut` on Windows.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Sends `message` on `socket` (already `connect`ed to the server) and
/// returns the first reply, resending with exponential backoff as `policy`
/// says.
fn request_with_retry(
    socket: &UdpSocket,
    message: &[u8],
    policy: &RetryPolicy,
) -> Result<Exchange, RetryError> {
    if policy.first_timeout.is_zero() {
        // A zero read timeout means "block for ever" to the OS; refuse it.
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "first_timeout is zero").into());
    }
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut waits = Vec::new();
    for attempt in 0..policy.max_attempts {
        let timeout = policy.timeout_for(attempt);
        waits.push(timeout);
        socket.send(message)?;
        socket.set_read_timeout(Some(timeout))?;
        match socket.recv(&mut buf) {
            Ok(n) => {
                return Ok(Exchange {
                    reply: buf[..n].to_vec(),
                    waits,
                });
            }
            // Lost on the way there or back: try again, more patiently.
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(RetryError::GaveUp { waits })
}

/// The article's UDP server on a bad line: it ignores the first
/// `drop_first` datagrams, then answers `ACK: ` + data, and returns how many
/// datagrams it saw once it has answered `answers` of them (or once none has
/// come for 10 s, so a client that stops sending cannot keep it waiting).
fn lossy_server(socket: UdpSocket, drop_first: usize, answers: usize) -> io::Result<usize> {
    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut seen = 0;
    while seen < drop_first + answers {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(e) if is_timeout(&e) => break,
            Err(e) => return Err(e),
        };
        seen += 1;
        if seen > drop_first {
            socket.send_to(&[ACK_PREFIX, &buf[..n]].concat(), from)?;
        }
    }
    Ok(seen)
}

fn main() -> Result<(), RetryError> {
    let server = UdpSocket::bind("127.0.0.1:0")?;
    let client = UdpSocket::bind("127.0.0.1:0")?;
    // `connect` on UDP only sets the default destination, and makes the
    // kernel drop datagrams from anyone else.
    client.connect(server.local_addr()?)?;
    thread::spawn(move || lossy_server(server, 2, 1));

    let policy = RetryPolicy {
        first_timeout: Duration::from_millis(50),
        max_timeout: Duration::from_secs(1),
        max_attempts: 5,
    };
    let exchange = request_with_retry(&client, b"Hello, UDP Server!", &policy)?;
    println!(
        "Server response: b'{}' after {} attempts, waiting {:?}",
        exchange.reply.escape_ascii(),
        exchange.waits.len(),
        exchange.waits
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const MESSAGE: &[u8] = b"Hello, UDP Server!";

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A client socket `connect`ed to a fresh server socket, both on
    /// 127.0.0.1 with ports the system picks.
    fn client_and_server() -> (UdpSocket, UdpSocket) {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.connect(server.local_addr().unwrap()).unwrap();
        (client, server)
    }

    #[test]
    fn timeouts_double_then_stop_at_the_cap() {
        let policy = RetryPolicy {
            first_timeout: ms(100),
            max_timeout: ms(1000),
            max_attempts: 10,
        };
        let timeouts: Vec<Duration> = (0..6).map(|a| policy.timeout_for(a)).collect();
        assert_eq!(
            timeouts,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)],
            "each attempt should wait twice as long as the one before, up to max_timeout"
        );
        // Large attempt numbers must not overflow (or panic): the cap holds.
        assert_eq!(policy.timeout_for(40), ms(1000));
        assert_eq!(policy.timeout_for(u32::MAX), ms(1000));
    }

    #[test]
    fn retries_until_the_ack_arrives() {
        let (client, server) = client_and_server();
        // The server ignores 3 datagrams, answers the 4th, and reports how
        // many datagrams it saw.
        let server = thread::spawn(move || lossy_server(server, 3, 1));
        let policy = RetryPolicy {
            first_timeout: ms(100),
            max_timeout: Duration::from_secs(10),
            max_attempts: 8,
        };

        let started = Instant::now();
        let result = request_with_retry(&client, MESSAGE, &policy);
        let elapsed = started.elapsed();

        let exchange = match result {
            Ok(exchange) => exchange,
            Err(e) => panic!(
                "the server drops the first 3 datagrams and answers the 4th, so the \
                 client should get its ACK on attempt 4; instead: {e}.\n\
                 Does request_with_retry send again when an attempt times out?"
            ),
        };
        assert_eq!(
            exchange.reply.escape_ascii().to_string(),
            "ACK: Hello, UDP Server!"
        );
        assert_eq!(
            exchange.waits,
            [ms(100), ms(200), ms(400), ms(800)],
            "4 attempts, each waiting twice as long as the one before"
        );
        // Three attempts ran out their full timeouts before the fourth
        // succeeded; time can only add to that, never take away.
        assert!(
            elapsed >= ms(700),
            "3 timeouts of 100+200+400 ms should take at least 700 ms, took {elapsed:?}"
        );
        assert_eq!(
            server.join().unwrap().unwrap(),
            4,
            "datagrams the server saw"
        );
    }

    #[test]
    fn answers_at_once_when_nothing_is_lost() {
        let (client, server) = client_and_server();
        thread::spawn(move || lossy_server(server, 0, 1));
        let policy = RetryPolicy {
            first_timeout: Duration::from_secs(5),
            max_timeout: Duration::from_secs(5),
            max_attempts: 3,
        };
        let exchange = request_with_retry(&client, MESSAGE, &policy).unwrap();
        assert_eq!(exchange.reply, [ACK_PREFIX, MESSAGE].concat());
        assert_eq!(exchange.waits, [Duration::from_secs(5)]);
    }

    #[test]
    fn gives_up_after_max_attempts() {
        // A server socket that never answers: every datagram waits, unread,
        // in its receive buffer, where the test counts them afterwards.
        let (client, silent_server) = client_and_server();
        let policy = RetryPolicy {
            first_timeout: ms(20),
            max_timeout: ms(80),
            max_attempts: 5,
        };

        let started = Instant::now();
        let result = request_with_retry(&client, MESSAGE, &policy);
        let elapsed = started.elapsed();

        match result {
            Err(RetryError::GaveUp { waits }) => assert_eq!(
                waits,
                [ms(20), ms(40), ms(80), ms(80), ms(80)],
                "5 attempts, doubling from 20 ms, capped at 80 ms"
            ),
            other => panic!("expected RetryError::GaveUp after 5 attempts, got {other:?}"),
        }
        assert!(
            elapsed >= ms(300),
            "5 timeouts of 20+40+80+80+80 ms should take at least 300 ms, took {elapsed:?}"
        );

        silent_server.set_read_timeout(Some(ms(200))).unwrap();
        let mut buf = [0u8; 64];
        let mut sent = Vec::new();
        while sent.len() < 100 {
            match silent_server.recv(&mut buf) {
                Ok(n) => sent.push(buf[..n].to_vec()),
                Err(_) => break,
            }
        }
        assert_eq!(sent.len(), 5, "datagrams the client sent");
        assert!(
            sent.iter().all(|d| d == MESSAGE),
            "every attempt resends the same message"
        );
    }
}
