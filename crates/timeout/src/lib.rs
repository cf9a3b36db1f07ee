//! # Chapter 5: timeouts
//!
//! "Nothing frustrates users more than applications that hang
//! indefinitely", says the article, and gives `safe_request(host, port,
//! request_data, timeout=5.0)`: connect, send, read until the server
//! closes, return the response; on a timeout or a network error, print a
//! line and return `None`. This crate is that function, [`safe_request`],
//! and the `safe-request` command that prints what the article prints
//! (`Received N bytes`, `Operation timed out after 5.0 seconds`,
//! `Network error: …`). Three things the article gets wrong are fixed:
//!
//! 1. **Its timeout is per call.** `settimeout(5.0)` gives each `recv` five
//!    seconds; a server that sends a byte a second never trips it, and the
//!    request lasts for ever. Ours has one [`Deadline`] for resolve,
//!    connect, send and every read together; each call waits only for the
//!    time left.
//! 2. **It reads until the server closes**, and an HTTP/1.1 server keeps
//!    the connection open after a complete response: the article waits out
//!    its timeout and throws the response away. Ours knows when an HTTP
//!    response is complete ([`http::ResponseEnd`]) and returns it at once.
//! 3. **It buffers whatever comes.** Ours stops at a cap
//!    ([`DEFAULT_MAX_BYTES`]).
//!
//! And where the article returns `None`, we return a [`RequestError`] that
//! names the step that failed and how, each class with its own exit code.
//!
//! | Python (article)                                   | Rust (here)                                  |
//! |----------------------------------------------------|----------------------------------------------|
//! | `safe_request(host, port, request_data, timeout)`  | [`safe_request`] → `Result<Response, RequestError>` |
//! | `sock.settimeout(timeout)`: each call may take it  | one [`Deadline`]; each call waits [`Deadline::left`] |
//! | `sock.connect((host, port))`: the name lookup      | [`request::resolve`]: `tcp::resolve` on a thread, awaited until the deadline |
//! | `sock.connect((host, port))`: the handshake        | [`request::connect`]: `TcpStream::connect_timeout`, each address in turn |
//! | `sock.send(request_data)`                          | [`request::send`]: `write` until all is sent, each with the time left |
//! | `while True: chunk = sock.recv(4096)`              | [`request::receive`]: `read` with the time left, until the close, a complete HTTP response or the cap |
//! | `except socket.timeout: print(...)`                | [`RequestError::is_timeout`]: connect, send/receive, deadline |
//! | `except socket.error as e: print(...)`             | [`RequestError::Refused`], [`RequestError::Io`], … |
//! | `return None`                                      | `Err(RequestError)`, exit code [`RequestError::exit_code`] |
//! | `finally: sock.close()`                            | the `TcpStream` is dropped on every path     |
//! | `print(f"Received {len(response)} bytes")`         | [`report_line`]                              |
//!
//! The misbehaving servers to try it on are [`serve`] (`slow-server --mode
//! silent|trickle|keepalive|flood|reset`). Run it: `just slow-server --mode
//! trickle` in one terminal, `just safe-request --host localhost --port
//! 8090 --timeout 2` in another.
#![forbid(unsafe_code)]

mod deadline;
mod error;
pub mod http;
pub mod request;
mod server;

pub use deadline::Deadline;
pub use error::{EXIT_CODES, RequestError, Step};
pub use server::{
    Ending, Event, KEEPALIVE_BODY, MAX_CONNECTIONS, Mode, POLL, SLOW_SERVER_PORT, Summary,
    TRICKLE_BYTE, TRICKLE_EVERY, keepalive_response, serve, serve_for_at_most,
};

use std::time::Duration;

use http::{Framing, ResponseEnd};
use request::{connect, receive, resolve, send};

/// The article's host.
pub const DEFAULT_HOST: &str = "example.com";
/// The article's port.
pub const DEFAULT_PORT: u16 = 80;
/// The article's `timeout=5.0`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most a response may hold: ten times a large web page, and little
/// enough memory that a server which never stops sending costs nothing.
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;
/// The article's `recv(4096)`: the size of one read, not a limit.
pub const RECV_SIZE: usize = 4096;

/// The article's request, `GET / HTTP/1.1` with its `Host`, plus
/// `Connection: close`: without it an HTTP/1.1 server may keep the
/// connection open after its answer, and a client that reads until the
/// server closes (the article's) waits for its timeout.
pub fn article_request(host: &str, port: u16) -> Vec<u8> {
    // An IPv6 address goes in brackets; a port other than 80 is named.
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let host = if port == 80 {
        host
    } else {
        format!("{host}:{port}")
    };
    format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Every byte the server sent.
    pub bytes: Vec<u8>,
    /// How we knew it was complete.
    pub end: End,
}

/// How [`safe_request`] knew the response was complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The server closed the connection: the article's only way to know.
    Closed,
    /// An HTTP response complete by its own framing, on a connection the
    /// server had not closed.
    KeptOpen(Framing),
}

// ANCHOR: safe_request
/// The article's `safe_request`: connects to `host:port`, sends
/// `request_data`, and returns the response, all within `timeout` and at
/// most [`DEFAULT_MAX_BYTES`]. It can never hang: every step waits only for
/// what is left of the one deadline.
pub fn safe_request(
    host: &str,
    port: u16,
    request_data: &[u8],
    timeout: Duration,
) -> Result<Response, RequestError> {
    request_by(
        host,
        port,
        request_data,
        Deadline::after(timeout),
        DEFAULT_MAX_BYTES,
    )
}

/// [`safe_request`] with a deadline set by the caller, so that several
/// requests can share one, and a cap of the caller's choosing.
pub fn request_by(
    host: &str,
    port: u16,
    request_data: &[u8],
    deadline: Deadline,
    max_bytes: usize,
) -> Result<Response, RequestError> {
    let addrs = resolve(host, port, deadline)?;
    let (mut stream, addr) = connect(&addrs, deadline)?;
    send(&mut stream, addr, request_data, deadline)?;
    let response_end = ResponseEnd::for_request(request_data);
    receive(&mut stream, addr, deadline, max_bytes, response_end)
    // `stream` is dropped here, closing the socket, whatever happened:
    // the article's `finally: sock.close()`.
}
// ANCHOR_END: safe_request

// ANCHOR: report_line
/// The line `safe-request` prints for a result: the article's words
/// (`Received N bytes`, `Operation timed out after 5.0 seconds`,
/// `Network error: …`), each followed by what the article cannot say.
pub fn report_line(result: &Result<Response, RequestError>, timeout: Duration) -> String {
    match result {
        Ok(Response {
            bytes,
            end: End::Closed,
        }) => format!("Received {} bytes", bytes.len()),
        Ok(Response {
            bytes,
            end: End::KeptOpen(framing),
        }) => format!(
            "Received {} bytes (complete by {framing}; the server kept the connection open)",
            bytes.len()
        ),
        // Python prints a float as `5.0`; so does Rust's `{:?}`.
        Err(e) if e.is_timeout() => format!(
            "Operation timed out after {:?} seconds ({e})",
            timeout.as_secs_f64()
        ),
        // "response too large: …", capitalised as a line of its own.
        Err(e @ RequestError::TooLarge { .. }) => {
            let line = e.to_string();
            line[..1].to_uppercase() + &line[1..]
        }
        Err(e) => format!("Network error: {e}"),
    }
}
// ANCHOR_END: report_line

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_articles_request_asks_the_server_to_close() {
        assert_eq!(
            article_request("example.com", 80),
            b"GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
        );
        let other = String::from_utf8(article_request("::1", 8090)).unwrap();
        assert!(other.contains("\r\nHost: [::1]:8090\r\n"), "{other}");
    }

    #[test]
    fn report_lines_use_the_articles_words() {
        let timeout = Duration::from_secs(5);
        let ok = Ok(Response {
            bytes: vec![b'x'; 1256],
            end: End::Closed,
        });
        assert_eq!(report_line(&ok, timeout), "Received 1256 bytes");
        let addr: std::net::SocketAddr = "127.0.0.1:8090".parse().unwrap();
        let silent = Err(RequestError::TimedOut {
            step: Step::Receive,
            addr,
            timeout,
        });
        assert!(
            report_line(&silent, timeout).starts_with("Operation timed out after 5.0 seconds ("),
            "{}",
            report_line(&silent, timeout)
        );
        let refused = Err(RequestError::Refused { addrs: vec![addr] });
        assert!(report_line(&refused, timeout).starts_with("Network error: connection refused"));
    }
}
