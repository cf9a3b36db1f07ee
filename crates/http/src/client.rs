//! A small HTTP/1.1 client that keeps its connection open: what the tour,
//! the bench and the tests use to talk to a server. The chapter's real
//! clients are curl, Python's `urllib` and `http.client`, and a browser;
//! this one exists so the bench can send thousands of requests on a few
//! connections without starting a process for each.
//!
//! It reads a response whose end is marked by `Content-Length` (ours),
//! by chunks (tiny_http's for large bodies), or by the server closing the
//! connection (the article's HTTP/1.0 server, which sends no length).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The largest response this client will hold: it bounds what a broken
/// server can make it buffer.
pub const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// A response, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, as sent.
    pub headers: Vec<(String, String)>,
    /// The body (empty for `HEAD`).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One connection to a server, used for as many requests as it lasts.
pub struct Client {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl Client {
    /// Connects to `addr`; `timeout` bounds the connect and every read and
    /// write after it.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Self {
            stream,
            host: addr.to_string(),
            buf: Vec::new(),
        })
    }

    /// The connection, for tests that need to poke it directly.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// `GET target`.
    pub fn get(&mut self, target: &str) -> io::Result<Response> {
        let request = format!("GET {target} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.send(request.as_bytes())
    }

    /// `POST target` with a JSON body.
    pub fn post(&mut self, target: &str, body: &[u8]) -> io::Result<Response> {
        let mut request = format!(
            "POST {target} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        self.send(&request)
    }

    /// Sends `request` as it is (any bytes) and reads one response.
    pub fn send(&mut self, request: &[u8]) -> io::Result<Response> {
        self.stream.write_all(request)?;
        self.read_response(request.starts_with(b"HEAD "))
    }

    /// Reads the next response; `head` says it answers a `HEAD` (no body).
    pub fn read_response(&mut self, head: bool) -> io::Result<Response> {
        loop {
            let end = self.fill_until(|buf| find(buf, b"\r\n\r\n").map(|at| at + 4))?;
            let head_text = String::from_utf8_lossy(&self.buf[..end - 4]).into_owned();
            self.buf.drain(..end);
            let mut lines = head_text.split("\r\n");
            let status: u16 = lines
                .next()
                .and_then(|line| line.split(' ').nth(1))
                .and_then(|code| code.parse().ok())
                .ok_or_else(|| invalid("not an HTTP status line"))?;
            let headers: Vec<(String, String)> = lines
                .filter_map(|line| line.split_once(':'))
                .map(|(name, value)| (name.to_string(), value.trim().to_string()))
                .collect();
            let mut response = Response {
                status,
                headers,
                body: Vec::new(),
            };
            if (100..200).contains(&status) {
                continue; // `100 Continue`: the real answer follows.
            }
            if head || status == 204 || status == 304 {
                return Ok(response);
            }
            response.body = if response.header("Transfer-Encoding").is_some() {
                self.chunked()?
            } else if let Some(length) = response.header("Content-Length") {
                let length: usize = length.parse().map_err(|_| invalid("bad Content-Length"))?;
                if length > MAX_RESPONSE {
                    return Err(invalid("response too large"));
                }
                self.fill_until(|buf| (buf.len() >= length).then_some(length))?;
                self.buf.drain(..length).collect()
            } else {
                // HTTP/1.0 without a length: the body ends where the server
                // closes the connection.
                self.stream
                    .try_clone()?
                    .take(MAX_RESPONSE as u64)
                    .read_to_end(&mut self.buf)?;
                std::mem::take(&mut self.buf)
            };
            return Ok(response);
        }
    }

    /// Reads a chunked body.
    fn chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = self.fill_until(|buf| find(buf, b"\r\n"))?;
            let size_line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| invalid("bad chunk size"))?;
            if body.len() + size > MAX_RESPONSE {
                return Err(invalid("response too large"));
            }
            let total = line_end + 2 + size + 2;
            self.fill_until(|buf| (buf.len() >= total).then_some(total))?;
            body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
            self.buf.drain(..total);
            if size == 0 {
                return Ok(body);
            }
        }
    }

    /// Reads until `done` finds what it looks for in the buffer.
    fn fill_until(&mut self, done: impl Fn(&[u8]) -> Option<usize>) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(at) = done(&self.buf) {
                return Ok(at);
            }
            if self.buf.len() > MAX_RESPONSE {
                return Err(invalid("response too large"));
            }
            match self.stream.read(&mut chunk)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
