// tcp2_length_prefix: one frame, however TCP splits it        (chapter: tcp)
//
// TCP carries a stream of bytes, not messages: one `read` returns whatever
// has arrived, part of a message, or the end of one and the start of the
// next. To send several messages on one connection, put each in a frame:
// its length as 4 big-endian bytes, then its bytes. `write_frame` is given.
//
// Write `read_frame`. It returns one whole frame, however the network split
// it; `Ok(None)` if the stream ends where a frame would start; an
// `UnexpectedEof` error if it ends inside a frame; and an `InvalidData`
// error, before allocating anything, for a length over MAX_FRAME_LEN.
//
// The check sends a 100 KB frame, an empty one and a short one through a
// real connection in odd-sized pieces, and expects exactly those back.
//
// Check it:  rustlings run tcp2_length_prefix
// Stuck?     rustlings hint tcp2_length_prefix

use std::io::{self, Read, Write};

/// The longest payload a reader accepts. The header could announce 4 GiB;
/// a reader that believed it would allocate whatever a peer asks for.
const MAX_FRAME_LEN: usize = 1024 * 1024;

/// Writes one frame: the length of `payload` as 4 big-endian bytes, then it.
fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    if payload.len() > MAX_FRAME_LEN {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    // Fits in 4 bytes: MAX_FRAME_LEN is far below 4 GiB.
    w.write_all(&(payload.len() as u32).to_be_bytes())?;
    w.write_all(payload)
}

/// Reads one frame written by `write_frame`.
fn read_frame(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    // TODO: This is the article's `recv(1024)`: it takes whatever one read
    // returns for a whole message. Read the 4-byte header, check the length
    // it announces, then read exactly that many bytes.
    let mut buf = vec![0; 1024];
    let n = r.read(&mut buf)?;
    buf.truncate(n);
    Ok((n > 0).then_some(buf))
}

fn main() -> io::Result<()> {
    // Two frames through a loopback connection, then its end.
    let (mut client, server) = harness::net::connected_pair()?;
    write_frame(&mut client, b"Hello, Server!")?;
    write_frame(&mut client, &[b'x'; 5000])?;
    drop(client);
    let mut server = io::BufReader::new(server);
    for _ in 0..10 {
        let Some(frame) = read_frame(&mut server)? else {
            break;
        };
        println!("A frame: {}", harness::net::show(&frame));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_100_kb_frame_crosses_tcp_whole() {
        harness::tcp::check_frames_cross_tcp(read_frame);
    }

    #[test]
    fn a_stream_ends_between_frames_not_inside_one() {
        harness::tcp::check_ends_of_stream(read_frame);
    }

    #[test]
    fn a_huge_length_is_refused_before_allocating() {
        harness::tcp::check_huge_length_is_refused(read_frame);
    }
}
