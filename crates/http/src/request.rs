//! Reading one request from a connection, within limits: the part of
//! `http.server` that the article inherits without seeing it, and the part a
//! hostile client aims at.
//!
//! [`read_request`] reads the head (request line and headers) and then the
//! body, and either returns a [`Request`] for the handler, or a [`Refusal`]
//! (the status to answer before closing), or [`Next::Done`] when the
//! connection ended. Every wait is bounded twice: by the connection's
//! socket timeout, [`crate::POLL`], after which [`Wire`] looks at the stop
//! flag and the clock, and by a deadline for the whole request. Every
//! buffer is bounded too: the head by [`Limits::max_head`], the body by
//! [`Limits::max_body`], checked against the declared `Content-Length`
//! before a single byte of the body is read.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tcp::Stop;

use crate::query::latin1;

/// The bounds [`read_request`] enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The request line and headers together, in bytes.
    pub max_head: usize,
    /// Header lines per request (Python's `http.client` allows 100).
    pub max_headers: usize,
    /// The body, in bytes, however it is sent.
    pub max_body: usize,
    /// How long a connection may wait for the first byte of a request.
    pub idle_timeout: Duration,
    /// How long a request may take to arrive whole, from its first byte.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head: crate::MAX_HEAD,
            max_headers: 100,
            max_body: crate::MAX_BODY,
            idle_timeout: crate::IDLE_TIMEOUT,
            request_timeout: crate::REQUEST_TIMEOUT,
        }
    }
}

/// The methods the article's handler answers (`HEAD` is ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `do_GET`.
    Get,
    /// `do_GET` without the body.
    Head,
    /// `do_POST`.
    Post,
}

/// A request, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// What to do.
    pub method: Method,
    /// Python's `self.path`: the target as sent, read as ISO-8859-1, with a
    /// leading `//` reduced to `/` as `http.server` does.
    pub path: String,
    /// Python's `self.requestline`, for the log.
    pub line: String,
    /// The headers, names and values as sent (ISO-8859-1).
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked if it was sent in chunks.
    pub body: Vec<u8>,
    /// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with
    /// `Connection: keep-alive`: the connection stays open after the answer.
    pub keep_alive: bool,
    /// An HTTP/1.0 client that asked for keep-alive is told it got it.
    pub http10: bool,
}

impl Request {
    /// The first header called `name` (any case), if there is one.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A request answered with an error before it reached the handler; the
/// connection is closed after the answer, since where the next request
/// would start is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 400, 408, 413, 414, 431, 501 or 505.
    pub status: u16,
    /// Why, for the JSON answer.
    pub message: String,
    /// The request line as far as it was read, for the log.
    pub line: String,
}

/// What [`read_request`] found on the connection.
#[derive(Debug)]
pub enum Next {
    /// A whole request for the handler.
    Request(Request),
    /// A request to refuse, then close.
    Refused(Refusal),
    /// The connection is over: the client closed it or went quiet between
    /// requests, or the server is stopping. Nothing is owed.
    Done,
}

/// How a wait for bytes ended without them.
#[derive(Debug)]
enum Cut {
    /// End of stream, or an error such as a reset.
    Closed,
    /// The deadline passed.
    TimedOut,
    /// The server is stopping.
    Stopped,
}

/// A connection's reading end, with its buffer, and its writing end with
/// the same bounded waits. Each `read` returns within [`crate::POLL`]
/// (the socket timeout every connection inherits from the listener), so a
/// wait can look at the stop flag and at its deadline that often.
pub struct Wire<'a> {
    stream: &'a TcpStream,
    stop: &'a Stop,
    buf: Vec<u8>,
    /// Unread bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
}

impl<'a> Wire<'a> {
    /// Wraps a connection; the buffer holds one whole request head
    /// (`buffer` bytes) and whatever of the next request came with it.
    pub fn new(stream: &'a TcpStream, stop: &'a Stop, buffer: usize) -> Self {
        Self {
            stream,
            stop,
            buf: vec![0; buffer.max(64)],
            pos: 0,
            end: 0,
        }
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    // ANCHOR: fill
    /// Reads more bytes into the buffer (which must have room), waiting
    /// until `deadline` at most.
    fn fill(&mut self, deadline: Instant) -> Result<(), Cut> {
        if self.pos == self.end {
            (self.pos, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.pos..self.end, 0);
            (self.pos, self.end) = (0, self.end - self.pos);
        }
        loop {
            // Before every read, not only after one that timed out: a
            // client sending a byte more often than every POLL never lets
            // a read time out, and must still meet the deadline.
            if Instant::now() >= deadline {
                return Err(Cut::TimedOut);
            }
            match (&mut &*self.stream).read(&mut self.buf[self.end..]) {
                Ok(0) => return Err(Cut::Closed),
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if tcp::is_timeout(&e) => {
                    if self.stop.is_stopped() {
                        return Err(Cut::Stopped);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Cut::Closed),
            }
        }
    }
    // ANCHOR_END: fill

    /// Writes all of `bytes` by `deadline`; a client that does not read
    /// cannot hold the connection longer than that.
    pub fn write_all_by(&mut self, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
        while !bytes.is_empty() {
            match (&mut &*self.stream).write(bytes) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if tcp::is_timeout(&e) => {
                    if self.stop.is_stopped() || Instant::now() >= deadline {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Closes after a refusal without losing the answer. Closing with
    /// unread bytes (a body we refused) makes the kernel send a reset,
    /// which can destroy the answer before the client reads it; so we send
    /// our FIN first and read and discard what the client still sends, for
    /// a second and a megabyte at most, as web servers do ("lingering
    /// close").
    pub fn linger(mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut discarded = 0;
        while discarded < 1024 * 1024 {
            (self.pos, self.end) = (0, 0);
            if self.fill(deadline).is_err() {
                return;
            }
            discarded += self.end;
        }
    }

    /// Takes one line (up to and without its `\n`, and a `\r` before it)
    /// from the buffer, reading more until `deadline`; `Err(None)` when a
    /// line longer than the buffer arrives.
    fn line(&mut self, deadline: Instant) -> Result<Vec<u8>, Option<Cut>> {
        let mut searched = 0;
        loop {
            if let Some(at) = self.unread()[searched..].iter().position(|&b| b == b'\n') {
                let end = self.pos + searched + at;
                let line = self.buf[self.pos..end]
                    .strip_suffix(b"\r")
                    .unwrap_or(&self.buf[self.pos..end]);
                let line = line.to_vec();
                self.pos = end + 1;
                return Ok(line);
            }
            searched = self.unread().len();
            if self.pos == 0 && self.end == self.buf.len() {
                return Err(None);
            }
            self.fill(deadline).map_err(Some)?;
        }
    }

    /// Appends exactly `n` more bytes of the request to `body`, as they
    /// arrive (memory grows with what was sent, not with what was declared).
    fn take(&mut self, mut n: usize, body: &mut Vec<u8>, deadline: Instant) -> Result<(), Cut> {
        while n > 0 {
            if self.pos == self.end {
                self.fill(deadline)?;
            }
            let got = n.min(self.end - self.pos);
            body.extend_from_slice(&self.buf[self.pos..self.pos + got]);
            self.pos += got;
            n -= got;
        }
        Ok(())
    }
}

fn refuse(status: u16, message: impl Into<String>, line: &str) -> Next {
    Next::Refused(Refusal {
        status,
        message: message.into(),
        line: line.to_string(),
    })
}

/// What a connection that stopped sending mid-request is owed: a 408 if
/// it ran out of time, nothing if it left or the server is stopping.
fn cut_short(cut: Cut, line: &str) -> Next {
    match cut {
        Cut::TimedOut => refuse(408, "Request timed out", line),
        Cut::Closed | Cut::Stopped => Next::Done,
    }
}

// ANCHOR: read_request
/// Reads the next request on the connection; see the module comment.
pub fn read_request(wire: &mut Wire<'_>, limits: &Limits) -> Next {
    // Between requests: wait for a first byte, skipping the blank lines
    // some clients send after a body. Silence here ends the connection
    // quietly; a keep-alive client expects that.
    let idle = Instant::now() + limits.idle_timeout;
    loop {
        while let [b'\r' | b'\n', ..] = wire.unread() {
            wire.pos += 1;
        }
        if !wire.unread().is_empty() {
            break;
        }
        if wire.fill(idle).is_err() {
            return Next::Done;
        }
    }
    // From the first byte on, the whole request has one deadline: a client
    // that sends a byte a second cannot hold a worker for longer.
    let deadline = Instant::now() + limits.request_timeout;
    let head = match read_head(wire, limits, deadline) {
        Ok(head) => head,
        Err(next) => return next,
    };
    match read_body(wire, limits, deadline, &head) {
        Ok(body) => Next::Request(Request {
            method: head.method,
            path: head.path,
            line: head.line,
            keep_alive: head.keep_alive,
            http10: head.http10,
            headers: head.headers,
            body,
        }),
        Err(next) => next,
    }
}
// ANCHOR_END: read_request

/// A request's head, parsed.
struct Head {
    method: Method,
    path: String,
    line: String,
    headers: Vec<(String, String)>,
    keep_alive: bool,
    http10: bool,
}

/// Python's `str.split()` whitespace, for the request line.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn read_head(wire: &mut Wire<'_>, limits: &Limits, deadline: Instant) -> Result<Head, Next> {
    let first = wire.line(deadline).map_err(|cut| match cut {
        None => refuse(414, "Request line too long", ""),
        Some(cut) => cut_short(cut, &latin1(wire.unread())),
    })?;
    let line = latin1(&first);
    let RequestLine {
        method,
        path,
        version,
    } = parse_request_line(&line)?;
    let mut headers = Vec::new();
    let mut head_bytes = first.len();
    loop {
        let raw = wire.line(deadline).map_err(|cut| match cut {
            None => refuse(431, "Header line too long", &line),
            Some(cut) => cut_short(cut, &line),
        })?;
        if raw.is_empty() {
            break;
        }
        head_bytes += raw.len() + 2;
        if head_bytes > limits.max_head {
            return Err(refuse(431, "Request headers too large", &line));
        }
        if headers.len() == limits.max_headers {
            return Err(refuse(431, "Too many headers", &line));
        }
        headers.push(parse_header(&raw).ok_or_else(|| refuse(400, "Bad header line", &line))?);
    }
    let connection = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Connection"))
        .map(|(_, value)| value.to_ascii_lowercase());
    let http10 = version < (1, 1);
    let keep_alive = match connection.as_deref() {
        Some(value) if value.contains("close") => false,
        Some(value) if value.contains("keep-alive") => true,
        _ => !http10,
    };
    let Some(method) = method else {
        let command = line.split(is_python_space).next().unwrap_or_default();
        return Err(refuse(
            501,
            format!("Unsupported method ({})", cli::python_repr(command)),
            &line,
        ));
    };
    Ok(Head {
        method,
        path,
        line,
        headers,
        keep_alive,
        http10,
    })
}

/// A request line's three words, understood.
#[derive(Debug, PartialEq, Eq)]
struct RequestLine {
    /// `None` for a method we do not answer: a 501 once the headers are read.
    method: Option<Method>,
    path: String,
    version: (u32, u32),
}

/// `http.server`'s `parse_request`, for the request line: three words, the
/// last `HTTP/major.minor`.
fn parse_request_line(line: &str) -> Result<RequestLine, Next> {
    let words: Vec<&str> = line
        .split(is_python_space)
        .filter(|w| !w.is_empty())
        .collect();
    let [command, target, version] = words[..] else {
        let shown = cli::python_repr(line);
        return Err(refuse(400, format!("Bad request syntax ({shown})"), line));
    };
    let bad_version = || {
        refuse(
            400,
            format!("Bad request version ({})", cli::python_repr(version)),
            line,
        )
    };
    let numbers = version.strip_prefix("HTTP/").ok_or_else(bad_version)?;
    let (major, minor) = numbers.split_once('.').ok_or_else(bad_version)?;
    let number = |text: &str| {
        (!text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u32>().ok())
            .flatten()
    };
    let (Some(major), Some(minor)) = (number(major), number(minor)) else {
        return Err(bad_version());
    };
    if major >= 2 {
        return Err(refuse(
            505,
            format!("Invalid HTTP version ({numbers})"),
            line,
        ));
    }
    let method = match command {
        "GET" => Some(Method::Get),
        "HEAD" => Some(Method::Head),
        "POST" => Some(Method::Post),
        _ => None,
    };
    // gh-87389: `//host/x` would look like a URL with a host to a client
    // that follows a redirect to it; http.server reduces it to `/host/x`.
    let path = match target.strip_prefix("//") {
        Some(_) => format!("/{}", target.trim_start_matches('/')),
        None => target.to_string(),
    };
    Ok(RequestLine {
        method,
        path,
        version: (major, minor),
    })
}

/// `Name: value`, or `None` for a line that is not a header (no colon, a
/// name with spaces, or a continuation line, which RFC 9112 lets a server
/// refuse).
fn parse_header(raw: &[u8]) -> Option<(String, String)> {
    let colon = raw.iter().position(|&b| b == b':')?;
    let name = &raw[..colon];
    let is_token = |b: &u8| b.is_ascii_graphic() && !b"\"(),/:;<=>?@[\\]{}".contains(b);
    if name.is_empty() || !name.iter().all(is_token) {
        return None;
    }
    let value = raw[colon + 1..].trim_ascii();
    Some((latin1(name), latin1(value)))
}

/// How the body is sent.
enum Framing {
    Length(usize),
    Chunked,
}

fn framing(head: &Head, limits: &Limits) -> Result<Framing, Next> {
    let line = &head.line;
    let values = |name: &str| -> Vec<&str> {
        head.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    };
    let lengths = values("Content-Length");
    let codings = values("Transfer-Encoding");
    if !codings.is_empty() {
        // Both headers: two readers of this request could disagree on where
        // it ends ("request smuggling"); RFC 9112 lets us refuse it.
        if !lengths.is_empty() {
            return Err(refuse(
                400,
                "Both Content-Length and Transfer-Encoding",
                line,
            ));
        }
        return match codings[..] {
            [coding] if coding.eq_ignore_ascii_case("chunked") => Ok(Framing::Chunked),
            _ => Err(refuse(501, "Unsupported Transfer-Encoding", line)),
        };
    }
    let Some(&first) = lengths.first() else {
        return Ok(Framing::Length(0));
    };
    // Digits only: `abc`, `-1`, `+5` and `1e3` are all refused, and so are
    // two headers that disagree.
    let valid = !first.is_empty() && first.len() <= 20 && first.bytes().all(|b| b.is_ascii_digit());
    if !valid || lengths.iter().any(|&other| other != first) {
        return Err(refuse(400, "Invalid Content-Length", line));
    }
    match first.parse::<u64>() {
        Ok(n) if n <= limits.max_body as u64 => Ok(Framing::Length(n as usize)),
        _ => Err(refuse(413, too_large(limits), line)),
    }
}

fn too_large(limits: &Limits) -> String {
    format!("Body larger than {} bytes", limits.max_body)
}

// ANCHOR: read_body
/// Reads the body the head announced, refusing one over the limit before
/// reading it: the declared length is checked first, and a chunked body
/// is counted chunk by chunk and refused as soon as it passes the limit.
fn read_body(
    wire: &mut Wire<'_>,
    limits: &Limits,
    deadline: Instant,
    head: &Head,
) -> Result<Vec<u8>, Next> {
    let framing = framing(head, limits)?;
    let line = head.line.as_str();
    let expects_continue = head.headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("Expect") && value.eq_ignore_ascii_case("100-continue")
    });
    if expects_continue && !head.http10 && !matches!(framing, Framing::Length(0)) {
        // The client waits for this before it sends a large body (curl does,
        // above 1 MiB): the limit is already checked, so it may come.
        wire.write_all_by(b"HTTP/1.1 100 Continue\r\n\r\n", deadline)
            .map_err(|_| Next::Done)?;
    }
    let mut body = Vec::new();
    match framing {
        Framing::Length(n) => wire
            .take(n, &mut body, deadline)
            .map_err(|cut| cut_short(cut, line))?,
        Framing::Chunked => loop {
            let size_line = wire.line(deadline).map_err(|cut| match cut {
                None => refuse(400, "Bad chunk size", line),
                Some(cut) => cut_short(cut, line),
            })?;
            let size_text = latin1(&size_line);
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            if size_text.is_empty() || !size_text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(refuse(400, "Bad chunk size", line));
            }
            let size = usize::from_str_radix(size_text, 16).unwrap_or(usize::MAX);
            if size > limits.max_body - body.len() {
                return Err(refuse(413, too_large(limits), line));
            }
            if size == 0 {
                // The trailer section: header lines up to a blank one, ignored.
                loop {
                    let trailer = wire.line(deadline).map_err(|cut| match cut {
                        None => refuse(431, "Trailer line too long", line),
                        Some(cut) => cut_short(cut, line),
                    })?;
                    if trailer.is_empty() {
                        break;
                    }
                }
                break;
            }
            wire.take(size, &mut body, deadline)
                .map_err(|cut| cut_short(cut, line))?;
            let end = wire.line(deadline).map_err(|cut| match cut {
                None => refuse(400, "Bad chunk end", line),
                Some(cut) => cut_short(cut, line),
            })?;
            if !end.is_empty() {
                return Err(refuse(400, "Bad chunk end", line));
            }
        },
    }
    Ok(body)
}
// ANCHOR_END: read_body

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = (Option<Method>, String, (u32, u32));

    fn line(text: &str) -> Result<Parsed, u16> {
        parse_request_line(text)
            .map(|parsed| (parsed.method, parsed.path, parsed.version))
            .map_err(|next| match next {
                Next::Refused(refusal) => refusal.status,
                _ => 0,
            })
    }

    #[test]
    fn request_lines_parse_like_http_server() {
        assert_eq!(
            line("GET /items?x=1 HTTP/1.1"),
            Ok((Some(Method::Get), "/items?x=1".into(), (1, 1)))
        );
        assert_eq!(
            line("POST  /  HTTP/1.0"),
            Ok((Some(Method::Post), "/".into(), (1, 0)))
        );
        assert_eq!(line("DELETE / HTTP/1.1"), Ok((None, "/".into(), (1, 1))));
        assert_eq!(
            line("GET //evil.example/x HTTP/1.1").unwrap().1,
            "/evil.example/x"
        );
        assert_eq!(line("GARBAGE"), Err(400));
        assert_eq!(line("GET /"), Err(400));
        assert_eq!(line("GET / HTTP/1.1 extra"), Err(400));
        assert_eq!(line("GET / FTP/1.1"), Err(400));
        assert_eq!(line("GET / HTTP/1"), Err(400));
        assert_eq!(line("GET / HTTP/2.0"), Err(505));
    }

    #[test]
    fn header_lines_need_a_token_and_a_colon() {
        assert_eq!(
            parse_header(b"Content-Length:  12 "),
            Some(("Content-Length".into(), "12".into()))
        );
        assert_eq!(parse_header(b"Bad Name: x"), None);
        assert_eq!(parse_header(b" folded"), None);
        assert_eq!(parse_header(b"no colon"), None);
    }
}
