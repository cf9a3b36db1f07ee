// tcp2_length_prefix: a message crosses TCP whole               (chapter: tcp)
//
// TCP is a byte stream, not a message stream. The article's `recv(1024)`
// returns whatever bytes have arrived: part of a message, or the end of one
// and the start of the next. To send messages over TCP you need framing:
// a way for the reader to know where each message ends.
//
// Your task: implement the most common framing, a length prefix.
// - `write_frame` writes the payload's length as 4 bytes, big-endian
//   (network byte order), then the payload. A payload longer than
//   MAX_FRAME_LEN is refused with an `InvalidInput` error.
// - `read_frame` reads one frame back, however the network split it:
//   `Ok(Some(payload))` for a frame, `Ok(None)` when the stream ends cleanly
//   between frames, an `UnexpectedEof` error when it ends inside a frame,
//   and an `InvalidData` error (before allocating anything) for a length
//   over MAX_FRAME_LEN.
//
// The check sends a 100 KB message, an empty one and a short one through a
// real connection on 127.0.0.1 (port 0), cut into odd-sized writes and
// reads, and expects exactly those three frames back.
//
// Check it:  rustlings run tcp2_length_prefix
// Stuck?     rustlings hint tcp2_length_prefix

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

/// The largest payload a frame may carry. The 4-byte header could announce
/// up to 4 GiB; a reader that believed it would allocate whatever a broken
/// or hostile peer asks for.
#[allow(dead_code)] // TODO: use it in both functions.
const MAX_FRAME_LEN: usize = 1024 * 1024;

/// Writes `payload` as one frame: its length as 4 bytes, big-endian
/// ("network byte order"), then the payload itself.
fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    // TODO: Put the payload's length in front of it, as 4 big-endian bytes.
    // Refuse a payload longer than MAX_FRAME_LEN (io::ErrorKind::InvalidInput).
    w.write_all(payload)
}

/// Reads one frame. `Ok(None)` when the stream ends cleanly between frames;
/// an `UnexpectedEof` error when it ends inside one.
fn read_frame(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    // TODO: This is the article's `recv(1024)`: one read, and whatever it
    // returns is taken as the message. Read the 4-byte length first, then
    // exactly that many bytes. Tell a clean end (no bytes before the header)
    // from a stream cut inside a frame, and refuse a length over
    // MAX_FRAME_LEN (io::ErrorKind::InvalidData) before allocating it.
    let mut buf = [0u8; 1024];
    let n = r.read(&mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(buf[..n].to_vec()))
}

fn main() -> io::Result<()> {
    // Two frames through a loopback connection, then a clean end.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut sender = TcpStream::connect(listener.local_addr()?)?;
    let (mut receiver, _) = listener.accept()?;

    let writer = thread::spawn(move || -> io::Result<()> {
        write_frame(&mut sender, b"Hello, Server!")?;
        write_frame(&mut sender, &vec![b'x'; 100_000])
        // Dropping `sender` closes the connection: the reader's clean end.
    });
    let mut sizes = Vec::new();
    // Bounded, whatever `read_frame` does.
    while sizes.len() < 1000 {
        match read_frame(&mut receiver)? {
            Some(frame) => sizes.push(frame.len()),
            None => break,
        }
    }
    let shown = &sizes[..sizes.len().min(8)];
    let more = if sizes.len() > 8 { " ..." } else { "" };
    println!(
        "Sent 2 frames of [14, 100000] bytes; received {}: {shown:?}{more}",
        sizes.len()
    );
    writer
        .join()
        .map_err(|_| io::Error::other("the writer thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Generous: the whole exchange takes milliseconds.
    const TIMEOUT: Duration = Duration::from_secs(10);

    /// Passes each `write` on cut to the next size in `sizes`, so one frame
    /// leaves in many small pieces, the header included.
    struct ChoppyWriter {
        inner: TcpStream,
        sizes: std::iter::Cycle<std::slice::Iter<'static, usize>>,
    }

    impl Write for ChoppyWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(*self.sizes.next().unwrap());
            self.inner.write_all(&buf[..n])?;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    /// Returns at most the next size in `sizes` from each `read`: what a
    /// slow network can do, made certain.
    struct ChoppyReader {
        inner: TcpStream,
        sizes: std::iter::Cycle<std::slice::Iter<'static, usize>>,
    }

    impl Read for ChoppyReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(*self.sizes.next().unwrap());
            self.inner.read(&mut buf[..n])
        }
    }

    /// A connected pair of sockets on 127.0.0.1, port 0.
    fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        for stream in [&client, &server] {
            stream.set_read_timeout(Some(TIMEOUT)).unwrap();
            stream.set_write_timeout(Some(TIMEOUT)).unwrap();
            // Send each small write at once instead of waiting to batch it.
            stream.set_nodelay(true).unwrap();
        }
        (client, server)
    }

    fn sizes(frames: &[Vec<u8>]) -> String {
        let shown: Vec<String> = frames
            .iter()
            .take(12)
            .map(|f| f.len().to_string())
            .collect();
        let more = if frames.len() > 12 { ", ..." } else { "" };
        format!("[{}{more}]", shown.join(", "))
    }

    #[test]
    fn a_frame_is_its_length_then_its_payload() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").unwrap();
        write_frame(&mut wire, b"").unwrap();
        assert_eq!(
            wire,
            [0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o', 0, 0, 0, 0],
            "expected 4 length bytes, big-endian, before each payload"
        );
    }

    #[test]
    fn a_100_kb_message_crosses_tcp_whole() {
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let frames = vec![big, Vec::new(), b"after the big one".to_vec()];
        let (client, server) = socket_pair();

        let to_send = frames.clone();
        let writer = thread::spawn(move || {
            let mut out = ChoppyWriter {
                inner: client,
                sizes: [1, 3, 7, 4093, 13, 65_537, 5].iter().cycle(),
            };
            for frame in &to_send {
                write_frame(&mut out, frame).unwrap();
            }
            // Dropping the socket closes it: the reader sees a clean end.
        });

        let mut input = ChoppyReader {
            inner: server,
            sizes: [1, 2, 5, 11, 1021, 8191].iter().cycle(),
        };
        let mut received = Vec::new();
        // Bounded: a broken reader cannot loop for ever.
        while received.len() < 100_000 {
            match read_frame(&mut input) {
                Ok(Some(frame)) => received.push(frame),
                Ok(None) => break,
                Err(e) => panic!(
                    "read_frame failed after {} frames {}: {e}",
                    received.len(),
                    sizes(&received)
                ),
            }
        }
        writer.join().unwrap();

        assert!(
            received == frames,
            "sent 3 frames of sizes {}, received {} of sizes {}.\n\
             One `read` returns whatever has arrived so far: part of a frame, or \
             the end of one and the start of the next. Read the 4-byte length, \
             then exactly that many bytes.",
            sizes(&frames),
            received.len(),
            sizes(&received)
        );
    }

    #[test]
    fn end_of_stream_between_frames_is_a_clean_end() {
        assert!(read_frame(&mut &b""[..]).unwrap().is_none());
    }

    #[test]
    fn end_of_stream_inside_a_frame_is_an_error() {
        for cut in [&[0u8, 0][..], &[0, 0, 0, 10, 1, 2, 3]] {
            match read_frame(&mut &cut[..]) {
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{cut:?}: {e}"),
                Ok(frame) => panic!(
                    "{cut:?} stops in the middle of a frame; expected an UnexpectedEof \
                     error, got Ok({frame:?})"
                ),
            }
        }
    }

    #[test]
    fn a_huge_length_is_refused_before_allocating() {
        // Announces 2 GiB and sends nothing: the reader must refuse at once
        // (InvalidData), not allocate and then hit the end of the stream.
        match read_frame(&mut &[0x7f, 0xff, 0xff, 0xff][..]) {
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}"),
            Ok(frame) => panic!("expected an InvalidData error, got Ok({frame:?})"),
        }
        let too_big = vec![0; MAX_FRAME_LEN + 1];
        match write_frame(&mut Vec::new(), &too_big) {
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}"),
            Ok(()) => panic!("write_frame accepted a payload over MAX_FRAME_LEN"),
        }
    }
}
