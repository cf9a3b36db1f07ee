//! The client: [`connect`] like Python's `create_connection`, then
//! [`request`] sends, half-closes and reads the whole reply; [`exchange`]
//! is both.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::{ECHO_PREFIX, MAX_REPLY_BYTES, resolve};

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
/// closes — all of it within `timeout`.
///
/// One `recv(1024)`, as in the article, returns whatever has arrived so far;
/// a reply sent in two pieces would be cut. Reading to end-of-stream gets it
/// whole, however it was split.
pub fn request(stream: &mut TcpStream, message: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    send_and_read(stream, message, Instant::now() + timeout).into_result()
}

/// What came back from a request: every byte that arrived, and, when the
/// exchange did not end with the server's clean close, why. A reset after
/// half the reply still leaves that half to show.
#[derive(Debug)]
pub struct Reply {
    /// The bytes that arrived, in order.
    pub data: Vec<u8>,
    /// What ended the exchange early, if anything did.
    pub error: Option<io::Error>,
}

impl Reply {
    /// The whole reply, or the error that cut it short.
    pub fn into_result(self) -> io::Result<Vec<u8>> {
        match self.error {
            None => Ok(self.data),
            Some(e) => Err(e),
        }
    }
}

/// Messages up to this size are written before the reply is read: they fit
/// the socket buffers, so the write cannot wait on the server. (Spawning the
/// writer thread below for them too would double a small request's cost.)
pub const WRITE_BEFORE_READING: usize = 64 * 1024;

/// [`request`] that keeps what arrived before an error, and that ends at
/// `deadline` whatever the server does.
///
/// A deadline, not a timeout per read: a server that sends one byte a
/// second never lets a single read time out, yet must not hold the client
/// for ever. Each read waits only for the time left.
///
/// A long message is written by a second (scoped) thread while this one
/// reads. The server echoes as it reads; a client that wrote everything
/// first would fill the server's send buffer and its own receive buffer, and
/// then both would wait on each other for ever: a deadlock.
pub fn send_and_read(stream: &mut TcpStream, message: &[u8], deadline: Instant) -> Reply {
    if message.len() <= WRITE_BEFORE_READING {
        let sent = send(stream, message, deadline);
        // Read even when sending failed: a server that reset the connection
        // may have answered first, and that answer is worth showing.
        let mut reply = read_reply(stream, deadline);
        if let Err(e) = sent {
            reply.error.get_or_insert(e);
        }
        return reply;
    }
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(e) => {
            return Reply {
                data: Vec::new(),
                error: Some(e),
            };
        }
    };
    thread::scope(|scope| {
        let sending = scope.spawn(move || send(&mut writer, message, deadline));
        let mut reply = read_reply(stream, deadline);
        // The reader's error says more (a reset, a timeout); the writer's
        // matters only when the reply looked complete.
        if let Ok(Err(e)) = sending.join()
            && reply.error.is_none()
        {
            reply.error = Some(e);
        }
        reply
    })
}

/// Writes `message` and half-closes, by `deadline`.
fn send(stream: &mut TcpStream, message: &[u8], deadline: Instant) -> io::Result<()> {
    stream.set_write_timeout(Some(time_left(deadline)?))?;
    stream.write_all(message)?;
    match stream.shutdown(Shutdown::Write) {
        // The server already reset the connection (one that closes with our
        // bytes unread does): the reader reports that reset, which says far
        // more than "not connected" would.
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        other => other,
    }
}

/// Reads until the server closes, by `deadline`, up to [`MAX_REPLY_BYTES`].
fn read_reply(stream: &mut TcpStream, deadline: Instant) -> Reply {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let error = loop {
        let wait = match time_left(deadline) {
            Ok(wait) => wait,
            Err(e) => break Some(e),
        };
        if let Err(e) = stream.set_read_timeout(Some(wait)) {
            break Some(e);
        }
        match stream.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) if data.len() + n > MAX_REPLY_BYTES as usize => {
                break Some(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("reply longer than {MAX_REPLY_BYTES} bytes; gave up"),
                ));
            }
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Some(e),
        }
    };
    Reply { data, error }
}

/// The time left until `deadline`, or a `TimedOut` error once it has passed.
fn time_left(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the deadline passed",
        ))
    } else {
        Ok(left)
    }
}
// ANCHOR_END: request

// ANCHOR: exchange
/// The article's whole client: connect to `host:port`, send `message`, and
/// return the server's complete reply, all within `timeout`. `tcp-client`,
/// the tour and the bench all make their requests through here.
pub fn exchange(host: &str, port: u16, message: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    exchange_reply(host, port, message, timeout).into_result()
}

/// [`exchange`] that keeps what arrived before an error (see [`Reply`]).
pub fn exchange_reply(host: &str, port: u16, message: &[u8], timeout: Duration) -> Reply {
    let deadline = Instant::now() + timeout;
    match connect(host, port, timeout) {
        Ok(mut stream) => send_and_read(&mut stream, message, deadline),
        Err(e) => Reply {
            data: Vec::new(),
            error: Some(e),
        },
    }
}
// ANCHOR_END: exchange

/// The reply the server should send for `message`.
pub fn expected_echo(message: &[u8]) -> Vec<u8> {
    [ECHO_PREFIX, message].concat()
}
