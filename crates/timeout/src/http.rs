//! When is an HTTP response complete?
//!
//! The article reads "until the server closes". An HTTP/1.1 server need not
//! close: a connection stays open for the next request unless the request
//! says `Connection: close`. The response itself says where it ends
//! (RFC 9112, section 6.3), in one of three ways:
//!
//! - a status that has no body (`204`, `304`) or an answer to `HEAD`: the
//!   headers are everything;
//! - `Transfer-Encoding: chunked`: chunks, each with its length in hex in
//!   front, up to a chunk of length 0 and a blank line;
//! - `Content-Length: N`: exactly `N` bytes after the blank line that ends
//!   the headers.
//!
//! Anything else (HTTP/1.0 without a length, or not HTTP at all) ends where
//! the server closes the connection. [`ResponseEnd`] follows a response as
//! it arrives and says when it is complete, looking only at the bytes that
//! are new each time, so a large response costs no more than its reads.

use std::fmt;

/// How a complete response said where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: N`: the body was this many bytes.
    ContentLength(u64),
    /// `Transfer-Encoding: chunked`: the last, empty chunk arrived.
    Chunked,
    /// No body: a `204` or `304`, or the answer to a `HEAD`.
    NoBody,
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Framing::ContentLength(n) => write!(f, "Content-Length: {n}"),
            Framing::Chunked => f.write_str("its last chunk"),
            Framing::NoBody => f.write_str("its headers alone"),
        }
    }
}

/// Where reading a response has got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the headers; the first `searched` bytes hold no blank line.
    Headers { searched: usize },
    /// A body of known length, which ends at byte `end`.
    Length { end: usize, length: u64 },
    /// Chunked: the next chunk's size line starts at byte `next`.
    Chunk { next: usize },
    /// After the last chunk: the trailer line that starts at `next`.
    Trailer { next: usize },
    /// Not HTTP, or no length given: the end is the server's close.
    UntilClose,
}

// ANCHOR: response_end
/// Follows an HTTP response as it arrives; see the module comment.
#[derive(Debug, Clone)]
pub struct ResponseEnd {
    head_request: bool,
    state: State,
}

impl ResponseEnd {
    /// For the response to `request`: the answer to a `HEAD` has no body.
    pub fn for_request(request: &[u8]) -> Self {
        Self {
            head_request: request.starts_with(b"HEAD "),
            state: State::Headers { searched: 0 },
        }
    }

    /// Looks at the response so far (all of it, each time) and returns how
    /// it ended once it is complete; `None` while more is to come, or when
    /// only the server's close can end it.
    pub fn complete(&mut self, response: &[u8]) -> Option<Framing> {
        loop {
            self.state = match self.state {
                State::Headers { searched } => {
                    if !could_be_http(response) {
                        State::UntilClose
                    } else if let Some(end) =
                        find(response, searched.saturating_sub(3), b"\r\n\r\n")
                    {
                        let body = end + 4;
                        match self.body_of(&response[..body], body) {
                            Ok(state) => state,
                            Err(framing) => return Some(framing),
                        }
                    } else {
                        self.state = State::Headers {
                            searched: response.len(),
                        };
                        return None;
                    }
                }
                State::Length { end, length } => {
                    return (response.len() >= end).then_some(Framing::ContentLength(length));
                }
                State::Chunk { next } => {
                    let line_end = find(response, next, b"\r\n")?;
                    let size = std::str::from_utf8(&response[next..line_end])
                        .ok()
                        .and_then(|line| line.split(';').next())
                        .and_then(|size| usize::from_str_radix(size.trim(), 16).ok());
                    match size {
                        Some(0) => State::Trailer { next: line_end + 2 },
                        // The chunk's bytes and the CRLF after them.
                        Some(size) => match size.checked_add(line_end + 4) {
                            Some(next) => State::Chunk { next },
                            None => State::UntilClose,
                        },
                        None => State::UntilClose,
                    }
                }
                State::Trailer { next } => {
                    let line_end = find(response, next, b"\r\n")?;
                    if line_end == next {
                        return Some(Framing::Chunked);
                    }
                    State::Trailer { next: line_end + 2 }
                }
                State::UntilClose => return None,
            };
        }
    }

    /// What follows the headers `head` (the body starts at byte `body`):
    /// the state to read it in, or `Err` with the framing when the
    /// headers are the whole response.
    fn body_of(&self, head: &[u8], body: usize) -> Result<State, Framing> {
        let Ok(head) = std::str::from_utf8(head) else {
            return Ok(State::UntilClose);
        };
        let mut lines = head.split("\r\n");
        let status: Option<u16> = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok());
        match status {
            Some(204 | 304) => return Err(Framing::NoBody),
            _ if self.head_request => return Err(Framing::NoBody),
            // 1xx is an interim answer with another response behind it:
            // rare enough to leave to the close.
            Some(100..=199) | None => return Ok(State::UntilClose),
            Some(_) => {}
        }
        let header = |name: &str| {
            head.split("\r\n").skip(1).find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
            })
        };
        if let Some(coding) = header("Transfer-Encoding") {
            let last = coding.rsplit(',').next().unwrap_or_default().trim();
            return Ok(if last.eq_ignore_ascii_case("chunked") {
                State::Chunk { next: body }
            } else {
                State::UntilClose
            });
        }
        let length = header("Content-Length").and_then(|n| n.parse::<u64>().ok());
        Ok(match length {
            Some(length) => match usize::try_from(length)
                .ok()
                .and_then(|n| body.checked_add(n))
            {
                Some(end) => State::Length { end, length },
                None => State::UntilClose,
            },
            None => State::UntilClose,
        })
    }
}
// ANCHOR_END: response_end

/// Whether `response` starts like an HTTP response (or is too short to
/// tell yet).
fn could_be_http(response: &[u8]) -> bool {
    let prefix = b"HTTP/";
    let n = response.len().min(prefix.len());
    response[..n] == prefix[..n]
}

/// Where `needle` starts in `haystack`, looking from byte `from` on.
fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| from + at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `response` a few bytes at a time, as reads would, and returns
    /// how it ended and after how many bytes.
    fn feed(request: &[u8], response: &[u8], piece: usize) -> Option<(Framing, usize)> {
        let mut end = ResponseEnd::for_request(request);
        let mut so_far = Vec::new();
        for chunk in response.chunks(piece) {
            so_far.extend_from_slice(chunk);
            if let Some(framing) = end.complete(&so_far) {
                return Some((framing, so_far.len()));
            }
        }
        None
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    #[test]
    fn content_length_completes_at_its_last_byte_however_it_is_split() {
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        for piece in [1, 2, 3, 7, 100] {
            assert_eq!(
                feed(GET, response, piece),
                Some((Framing::ContentLength(5), response.len())),
                "pieces of {piece}"
            );
        }
        let short = b"HTTP/1.1 200 OK\r\ncontent-length:  6 \r\n\r\nhello";
        assert_eq!(feed(GET, short, 4), None);
    }

    #[test]
    fn chunked_completes_after_the_last_chunk_and_trailers() {
        let response =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n";
        for piece in [1, 5, 1000] {
            assert_eq!(
                feed(GET, response, piece),
                Some((Framing::Chunked, response.len())),
                "pieces of {piece}"
            );
        }
        let unfinished =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n";
        assert_eq!(feed(GET, unfinished, 3), None);
    }

    #[test]
    fn some_responses_have_no_body() {
        let no_content = b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n";
        assert_eq!(
            feed(GET, no_content, 4),
            Some((Framing::NoBody, no_content.len()))
        );
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1256\r\n\r\n";
        assert_eq!(
            feed(b"HEAD / HTTP/1.1\r\n\r\n", head, 9),
            Some((Framing::NoBody, head.len()))
        );
    }

    #[test]
    fn without_a_length_only_the_close_ends_it() {
        for response in [
            &b"HTTP/1.0 200 OK\r\n\r\nbody until close"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\nx",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nx",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            b"Echo: GET / HTTP/1.1\r\n\r\n",
            b"..........",
        ] {
            assert_eq!(feed(GET, response, 3), None, "{}", response.escape_ascii());
        }
    }
}
