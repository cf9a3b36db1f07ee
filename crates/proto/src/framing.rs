//! Several messages on one stream: a length prefix before each.
//!
//! A protobuf message does not say where it ends: a parser reads fields
//! until the input runs out. That is fine for a file or a UDP datagram, but
//! on a TCP stream the bytes of one message run straight into the next. The
//! usual fix, the one Java's `writeDelimitedTo` and quick-protobuf's
//! `serialize_into_vec` use, is to write the message's length as a varint
//! first. Python has no public call for it; `_VarintBytes(len(data)) + data`
//! from `google.protobuf.internal.encoder` builds the same bytes.
//!
//! The length comes from the peer, so it is a claim to check, not a size to
//! allocate: [`read_frame`] refuses anything above its limit before reading
//! the body, and even below the limit memory grows only with the bytes that
//! actually arrive.

use std::fmt;
use std::io::{self, Read, Write};

use crate::wire::{MAX_VARINT_LEN, read_varint, write_varint};

/// The default bound on one frame: 1 MiB. The article's record is about a
/// hundred bytes, so this is generous, yet a peer claiming 4 GiB is turned
/// away before we read a byte of it.
pub const MAX_FRAME_LEN: usize = 1024 * 1024;

/// What can go wrong reading a frame from a stream.
#[derive(Debug)]
pub enum FrameError {
    /// The stream itself failed (reset, timeout, ...).
    Io(io::Error),
    /// The stream ended inside the length prefix.
    TruncatedLength,
    /// The length prefix is a varint longer than 10 bytes.
    LengthTooLong,
    /// The declared length is above the reader's limit.
    TooLarge {
        /// What the peer declared.
        declared: u64,
        /// The limit the reader was given.
        limit: usize,
    },
    /// The stream ended before the declared number of bytes arrived.
    TruncatedBody {
        /// What the prefix declared.
        declared: usize,
        /// What arrived before the end of the stream.
        received: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot read frame: {e}"),
            Self::TruncatedLength => write!(f, "stream ended inside a frame's length prefix"),
            Self::LengthTooLong => write!(
                f,
                "frame length prefix is longer than {MAX_VARINT_LEN} bytes: not a length-prefixed stream?"
            ),
            Self::TooLarge { declared, limit } => write!(
                f,
                "frame declares {declared} bytes, above the limit of {limit}: refused without reading it"
            ),
            Self::TruncatedBody { declared, received } => write!(
                f,
                "stream ended after {received} of the frame's {declared} bytes"
            ),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

// ANCHOR: write_frame
/// Writes one message (its bare bytes) with its length in front.
///
/// Prefix and body go out in one `write_all`: two small writes in a row can
/// meet Nagle's algorithm and the peer's delayed ACK and wait ~40 ms.
pub fn write_frame<W: Write>(writer: &mut W, message: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(MAX_VARINT_LEN + message.len());
    write_varint(&mut frame, message.len() as u64);
    frame.extend_from_slice(message);
    writer.write_all(&frame)
}
// ANCHOR_END: write_frame

// ANCHOR: read_frame
/// Reads the next message's bytes; `Ok(None)` when the stream ends cleanly
/// between frames. Refuses frames longer than `max_len`.
///
/// It reads the prefix a byte at a time, so give it a `BufReader` around a
/// socket, not the bare socket.
pub fn read_frame<R: Read>(reader: &mut R, max_len: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let Some(declared) = read_length(reader)? else {
        return Ok(None);
    };
    let len = match usize::try_from(declared) {
        Ok(len) if len <= max_len => len,
        _ => {
            return Err(FrameError::TooLarge {
                declared,
                limit: max_len,
            });
        }
    };
    // `take` + `read_to_end` grows the buffer as bytes come in: a peer that
    // declares 1 MiB and sends 10 bytes costs us 10 bytes, not 1 MiB.
    let mut body = Vec::new();
    reader.take(len as u64).read_to_end(&mut body)?;
    if body.len() < len {
        return Err(FrameError::TruncatedBody {
            declared: len,
            received: body.len(),
        });
    }
    Ok(Some(body))
}

/// The varint prefix; `None` if the stream ends before its first byte.
fn read_length<R: Read>(reader: &mut R) -> Result<Option<u64>, FrameError> {
    let mut value = 0u64;
    for i in 0..MAX_VARINT_LEN {
        let mut byte = [0u8; 1];
        if let Err(e) = reader.read_exact(&mut byte) {
            return match e.kind() {
                io::ErrorKind::UnexpectedEof if i == 0 => Ok(None),
                io::ErrorKind::UnexpectedEof => Err(FrameError::TruncatedLength),
                _ => Err(FrameError::Io(e)),
            };
        }
        value |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(FrameError::LengthTooLong)
}
// ANCHOR_END: read_frame

/// Whether `data` is whole frames back to back: a length prefix, exactly
/// that many bytes, and so on to the very end.
///
/// `employee decode` asks this when bytes fail to parse as one bare message:
/// if they split exactly into frames, the user most likely forgot
/// `--framed`. Bare messages rarely pass by chance: the first byte, read as
/// a length, has to land exactly on a boundary, and so on to the end.
pub fn looks_framed(data: &[u8]) -> bool {
    let mut pos = 0;
    while pos < data.len() {
        let Ok((declared, start)) = read_varint(data, pos, 0) else {
            return false;
        };
        match usize::try_from(declared) {
            Ok(len) if len <= data.len() - start => pos = start + len,
            _ => return false,
        }
    }
    !data.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_length_then_message() {
        let mut out = Vec::new();
        write_frame(&mut out, b"\x08\x2a").unwrap();
        assert_eq!(out, b"\x02\x08\x2a");
    }

    #[test]
    fn clean_end_between_frames_is_none() {
        let mut input: &[u8] = b"";
        assert!(read_frame(&mut input, MAX_FRAME_LEN).unwrap().is_none());
    }

    #[test]
    fn empty_message_is_a_zero_length_frame() {
        let mut input: &[u8] = b"\x00";
        assert_eq!(read_frame(&mut input, 10).unwrap(), Some(Vec::new()));
    }

    #[test]
    fn end_inside_the_prefix_is_truncated_length() {
        let mut input: &[u8] = b"\x80";
        assert!(matches!(
            read_frame(&mut input, 10),
            Err(FrameError::TruncatedLength)
        ));
    }

    #[test]
    fn eleven_byte_prefix_is_rejected() {
        let mut input: &[u8] = &[0xff; 11];
        assert!(matches!(
            read_frame(&mut input, 10),
            Err(FrameError::LengthTooLong)
        ));
    }

    #[test]
    fn whole_frames_look_framed_and_a_bare_message_does_not() {
        let message = crate::create_employee();
        let mut two = Vec::new();
        write_frame(&mut two, &message).unwrap();
        assert!(looks_framed(&two));
        write_frame(&mut two, b"").unwrap();
        assert!(looks_framed(&two));
        assert!(!looks_framed(&message));
        assert!(!looks_framed(&two[..two.len() - 2]));
        assert!(!looks_framed(b""));
    }
}
