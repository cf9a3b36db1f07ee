//! Choppy I/O: make "TCP is a byte stream" happen on demand.
//!
//! On loopback a short message almost always arrives in one `recv`, so code
//! that assumes one `send` = one `recv` (as the article's server does) passes
//! every test and then fails on a real network. These wrappers cut data into
//! small pieces so tests can show the difference:
//!
//! - [`ChoppyWriter`] writes at most `piece` bytes per `write` call, with an
//!   optional pause between pieces, so a peer really receives fragments.
//! - [`write_in_pieces`] does that on a [`TcpStream`] with `TCP_NODELAY` set.
//! - [`ChoppyReader`] returns at most `piece` bytes per `read` call, so the
//!   code under test sees fragments even when the bytes arrived together.
//!
//! Only the reader *guarantees* what the reading side sees. The kernel may
//! still merge a writer's pieces: Nagle's algorithm holds back a small
//! segment while an earlier one is unacknowledged (`TCP_NODELAY` turns that
//! off), and a receiver that reads late finds several segments waiting in its
//! buffer (a pause between pieces makes that unlikely, never impossible).
//! So a test that must see fragments reads through a [`ChoppyReader`]; a test
//! that wants real fragments on the wire, for a server it does not control,
//! uses a [`ChoppyWriter`] with `TCP_NODELAY` and a pause.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

/// A writer that passes at most `piece` bytes to the inner writer per call.
///
/// `write_all` through it therefore becomes one inner `write` per piece.
/// Over TCP, set `TCP_NODELAY` on the stream first
/// ([`TcpStream::set_nodelay`]) or the kernel may join the pieces again.
///
/// ```
/// use std::io::Write;
/// use test_support::ChoppyWriter;
///
/// let mut writer = ChoppyWriter::new(Vec::new(), 4);
/// writer.write_all(b"Hello, Server!").unwrap();
/// assert_eq!(writer.pieces(), 4); // "Hell" "o, S" "erve" "r!"
/// assert_eq!(writer.into_inner(), b"Hello, Server!");
/// ```
#[derive(Debug)]
pub struct ChoppyWriter<W: Write> {
    inner: W,
    piece: usize,
    pause: Duration,
    pieces: usize,
}

impl<W: Write> ChoppyWriter<W> {
    /// Wraps `inner`, writing at most `piece` bytes per call, without pauses.
    ///
    /// # Panics
    /// If `piece` is 0: a writer that writes nothing would never finish.
    pub fn new(inner: W, piece: usize) -> Self {
        assert!(piece > 0, "a piece must be at least one byte");
        ChoppyWriter {
            inner,
            piece,
            pause: Duration::ZERO,
            pieces: 0,
        }
    }

    /// Sleeps for `pause` before every piece but the first, giving each piece
    /// time to leave as its own segment and be read on its own.
    pub fn with_pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// How many pieces have been written so far.
    pub fn pieces(&self) -> usize {
        self.pieces
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer, mutably (to set socket options, say).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Unwraps the inner writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for ChoppyWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pieces > 0 && !self.pause.is_zero() {
            thread::sleep(self.pause);
        }
        let end = buf.len().min(self.piece);
        let written = self.inner.write(&buf[..end])?;
        self.pieces += 1;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `data` to `stream` in pieces of at most `piece` bytes with `pause`
/// between them, and returns how many pieces it took.
///
/// Sets `TCP_NODELAY` for the duration, so that the kernel sends each piece
/// at once instead of holding small segments back (Nagle's algorithm), and
/// restores the previous setting afterwards. See the [module
/// docs](crate::choppy) for why the peer may still read pieces together.
///
/// # Panics
/// If `piece` is 0.
pub fn write_in_pieces(
    stream: &mut TcpStream,
    data: &[u8],
    piece: usize,
    pause: Duration,
) -> io::Result<usize> {
    let nodelay_before = stream.nodelay()?;
    stream.set_nodelay(true)?;
    let mut writer = ChoppyWriter::new(&mut *stream, piece).with_pause(pause);
    let result = writer.write_all(data).and_then(|()| writer.flush());
    let pieces = writer.pieces();
    stream.set_nodelay(nodelay_before)?;
    result.map(|()| pieces)
}

/// A reader that returns at most `piece` bytes per `read` call, however many
/// the inner reader has ready: the worst case a TCP peer is allowed to give.
///
/// ```
/// use std::io::Read;
/// use test_support::ChoppyReader;
///
/// let mut reader = ChoppyReader::new(&b"Echo: Hello, Server!"[..], 6);
/// let mut buf = [0; 1024];
/// assert_eq!(reader.read(&mut buf).unwrap(), 6); // "Echo: ", not the whole reply
/// ```
#[derive(Debug)]
pub struct ChoppyReader<R: Read> {
    inner: R,
    piece: usize,
    pieces: usize,
}

impl<R: Read> ChoppyReader<R> {
    /// Wraps `inner`, returning at most `piece` bytes per call.
    ///
    /// # Panics
    /// If `piece` is 0: every read would look like end-of-file.
    pub fn new(inner: R, piece: usize) -> Self {
        assert!(piece > 0, "a piece must be at least one byte");
        ChoppyReader {
            inner,
            piece,
            pieces: 0,
        }
    }

    /// How many reads returned data so far.
    pub fn pieces(&self) -> usize {
        self.pieces
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader, mutably (to set a read timeout, say).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Unwraps the inner reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for ChoppyReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let end = buf.len().min(self.piece);
        let read = self.inner.read(&mut buf[..end])?;
        if read > 0 {
            self.pieces += 1;
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpListener};
    use std::time::Instant;

    /// Records the size of every write it receives.
    #[derive(Default)]
    struct Recorder {
        bytes: Vec<u8>,
        writes: Vec<usize>,
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.bytes.extend_from_slice(buf);
            self.writes.push(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writer_passes_at_most_a_piece_per_write() {
        let mut writer = ChoppyWriter::new(Recorder::default(), 3);
        writer.write_all(b"Hello, Server!").unwrap();
        assert_eq!(writer.pieces(), 5);
        let recorder = writer.into_inner();
        assert_eq!(recorder.writes, [3, 3, 3, 3, 2]);
        assert_eq!(recorder.bytes, b"Hello, Server!");
    }

    #[test]
    fn writer_with_a_piece_larger_than_the_data_writes_once() {
        let mut writer = ChoppyWriter::new(Recorder::default(), 1024);
        writer.write_all(b"Hello").unwrap();
        assert_eq!(writer.get_ref().writes, [5]);
    }

    #[test]
    fn writer_pauses_between_pieces_not_before_the_first() {
        let mut writer =
            ChoppyWriter::new(Recorder::default(), 1).with_pause(Duration::from_millis(20));
        let started = Instant::now();
        writer.write_all(b"abc").unwrap();
        // Two pauses for three pieces.
        assert!(started.elapsed() >= Duration::from_millis(40));
        assert_eq!(writer.get_ref().writes, [1, 1, 1]);
    }

    #[test]
    fn writer_ignores_empty_writes() {
        let mut writer = ChoppyWriter::new(Recorder::default(), 2);
        assert_eq!(writer.write(b"").unwrap(), 0);
        assert_eq!(writer.pieces(), 0);
    }

    #[test]
    #[should_panic(expected = "at least one byte")]
    fn a_zero_byte_piece_is_refused() {
        let _ = ChoppyWriter::new(Vec::new(), 0);
    }

    #[test]
    fn reader_returns_at_most_a_piece_per_read() {
        let data = b"Echo: Hello, Server!";
        let mut reader = ChoppyReader::new(&data[..], 6);
        let mut buf = [0; 1024];
        let sizes: Vec<usize> = std::iter::from_fn(|| match reader.read(&mut buf).unwrap() {
            0 => None,
            n => Some(n),
        })
        .collect();
        assert_eq!(sizes, [6, 6, 6, 2]);
        assert_eq!(reader.pieces(), 4);
    }

    #[test]
    fn reader_delivers_every_byte_in_order() {
        let data: Vec<u8> = (0..=255).collect();
        let mut reader = ChoppyReader::new(&data[..], 7);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        // read_to_end sometimes offers a buffer smaller than a piece, so
        // there may be more reads than 256 / 7 rounded up, never fewer.
        assert!(reader.pieces() >= 256_usize.div_ceil(7));
    }

    #[test]
    fn reader_never_exceeds_the_callers_buffer() {
        let mut reader = ChoppyReader::new(&b"abcdef"[..], 100);
        let mut buf = [0; 2];
        assert_eq!(reader.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf, b"ab");
    }

    #[test]
    fn write_in_pieces_sends_everything_and_restores_nodelay() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();

        let pieces =
            write_in_pieces(&mut client, b"Hello, Server!", 4, Duration::from_millis(1)).unwrap();
        assert_eq!(pieces, 4);
        assert!(!client.nodelay().unwrap());
        client.shutdown(std::net::Shutdown::Write).unwrap();

        let mut received = Vec::new();
        server.read_to_end(&mut received).unwrap();
        assert_eq!(received, b"Hello, Server!");
    }
}
