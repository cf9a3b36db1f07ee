//! Loopback plumbing every check shares: connections with timeouts, data cut
//! into small pieces on purpose, and [`within`], which runs the learner's
//! code with a time limit.
//!
//! On loopback a short message almost always arrives in one `read`, so code
//! that takes one `read` for one message passes every quick try and then
//! fails on a real network. [`ChoppyReader`] and [`send_in_pieces`] make the
//! network's worst case happen every time.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long any one wait in a check may last. The right code needs
/// milliseconds; the rest is margin for a machine busy compiling.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// 127.0.0.1, port 0: the system picks a free port, so checks running side
/// by side never clash, and nothing is reachable from outside the machine.
pub const LOOPBACK: (Ipv4Addr, u16) = (Ipv4Addr::LOCALHOST, 0);

/// A socket timeout shows up as `WouldBlock` on Unix and `TimedOut` on
/// Windows: both mean "the time ran out".
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Connects to `addr`, giving up after `timeout`, and uses the same
/// `timeout` for every later read and write on the stream.
pub fn connect_within(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

/// [`connect_within`] with [`TIMEOUT`].
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    connect_within(addr, TIMEOUT)
}

/// Both ends of one TCP connection on 127.0.0.1: `(client, server)`.
///
/// Each end has [`TIMEOUT`] as read and write timeout, and `TCP_NODELAY`
/// set, so a small write leaves at once instead of waiting to be batched
/// with the next one (Nagle's algorithm).
pub fn connected_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind(LOOPBACK)?;
    let client = connect(listener.local_addr()?)?;
    // `connect` returned, so the connection waits in the accept queue:
    // this `accept` returns at once.
    let (server, _) = listener.accept()?;
    server.set_read_timeout(Some(TIMEOUT))?;
    server.set_write_timeout(Some(TIMEOUT))?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    Ok((client, server))
}

/// Writes `bytes` to `stream` in pieces: the sizes in `pieces` in turn (then
/// from the start again), with `pause` after each piece.
///
/// With `TCP_NODELAY` set (as [`connected_pair`] does) each piece leaves as
/// its own segment, so the peer really receives fragments. The kernel may
/// still join a few on the receiving side; a [`ChoppyReader`] there makes
/// the fragments certain.
pub fn send_in_pieces(
    stream: &mut TcpStream,
    bytes: &[u8],
    pieces: &[usize],
    pause: Duration,
) -> io::Result<()> {
    let mut sizes = pieces.iter().cycle();
    let mut rest = bytes;
    while !rest.is_empty() {
        let size = rest.len().min(*sizes.next().expect("pieces is empty"));
        stream.write_all(&rest[..size])?;
        rest = &rest[size..];
        thread::sleep(pause);
    }
    stream.flush()
}

/// A reader that returns at most a few bytes from each `read`: the sizes in
/// `pieces` in turn, then from the start again.
///
/// This is what a slow network can do to the reading side, made certain:
/// a frame's header arrives in two reads, the end of one message and the
/// start of the next in one. Code that reads correctly does not notice.
pub struct ChoppyReader {
    inner: Box<dyn Read + Send>,
    pieces: Vec<usize>,
    next: usize,
}

impl ChoppyReader {
    /// Reads from `inner` (a `TcpStream`, say) in pieces of the sizes in
    /// `pieces`, none of which may be 0.
    pub fn new(inner: impl Read + Send + 'static, pieces: &[usize]) -> Self {
        assert!(
            !pieces.is_empty() && !pieces.contains(&0),
            "pieces must be sizes above 0"
        );
        ChoppyReader {
            inner: Box::new(inner),
            pieces: pieces.to_vec(),
            next: 0,
        }
    }

    /// Reads `bytes` in pieces, then ends like a stream its peer closed.
    pub fn from_bytes(bytes: &[u8], pieces: &[usize]) -> Self {
        Self::new(io::Cursor::new(bytes.to_vec()), pieces)
    }

    /// Everything not read yet, up to the end of the stream: a check calls
    /// it to see whether the learner's code read further than it should.
    pub fn rest(&mut self) -> io::Result<Vec<u8>> {
        let mut rest = Vec::new();
        self.inner.read_to_end(&mut rest)?;
        Ok(rest)
    }
}

impl Read for ChoppyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = buf.len().min(self.pieces[self.next]);
        self.next = (self.next + 1) % self.pieces.len();
        self.inner.read(&mut buf[..size])
    }
}

/// Runs `f` on a thread of its own and returns what it returns; panics if
/// it has not returned after `limit`, or if it panicked itself.
///
/// Every check calls the learner's code through this, with `what` naming
/// that code in the message: a function that waits for bytes that never
/// come, or loops for ever, fails its check instead of hanging it. (The
/// thread left behind ends with the test process.)
#[track_caller]
pub fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (result_tx, result_rx) = mpsc::channel();
    thread::spawn(move || {
        // The check may have given up already: nobody left to tell.
        let _ = result_tx.send(f());
    });
    match result_rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{what} had not returned after {limit:?}: is it waiting for bytes that \
             never come, or looping without reading?"
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("{what} panicked: its message is above")
        }
    }
}

/// Up to 24 bytes of `bytes`, the way Python prints `bytes`, and how many
/// there are: short enough for a check's message, even for 100 KB.
pub fn show(bytes: &[u8]) -> String {
    const SHOWN: usize = 24;
    let more = if bytes.len() > SHOWN { "..." } else { "" };
    format!(
        "b'{}{more}' ({} bytes)",
        bytes[..bytes.len().min(SHOWN)].escape_ascii(),
        bytes.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choppy_reader_returns_the_sizes_it_is_given() {
        let mut reader = ChoppyReader::from_bytes(b"Hello, Server!", &[1, 4]);
        let mut buf = [0u8; 64];
        let sizes: Vec<usize> = (0..6).map(|_| reader.read(&mut buf).unwrap()).collect();
        assert_eq!(sizes, [1, 4, 1, 4, 1, 3]);
        assert_eq!(reader.read(&mut buf).unwrap(), 0, "then the end");
    }

    #[test]
    fn pieces_sent_arrive_whole() {
        let (mut client, mut server) = connected_pair().unwrap();
        let sent: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let writer = {
            let sent = sent.clone();
            thread::spawn(move || send_in_pieces(&mut client, &sent, &[1, 7, 4093], Duration::ZERO))
        };
        let mut received = Vec::new();
        (&mut server)
            .take(20_000)
            .read_to_end(&mut received)
            .unwrap();
        writer.join().unwrap().unwrap();
        assert!(received == sent, "got {}", show(&received));
    }

    #[test]
    #[should_panic(expected = "had not returned")]
    fn within_gives_up_on_a_function_that_never_returns() {
        within(Duration::from_millis(50), "sleeper", || {
            thread::sleep(Duration::from_secs(5))
        });
    }
}
