//! The article's `safe_request`, ported literally to `std::net`, flaws and
//! all: the starting point the chapter improves on. Run it with
//! `cargo run -p timeout --example article-safe-request` (`--host`,
//! `--port`, `--timeout`): against example.com as the article does, or
//! against `just slow-server` (`--host localhost --port 8090`).
//!
//! Each flaw is marked `FLAW:` where it happens; `tests/article.rs` checks
//! that they really happen. The robust version is `safe-request`
//! (`src/lib.rs` and `src/request.rs`).
#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a literal port prints like the article"
)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

fn safe_request(host: &str, port: u16, request_data: &[u8], timeout: f64) -> Option<Vec<u8>> {
    // sock.settimeout(timeout): std takes the timeout per call instead.
    let timeout_each = Duration::from_secs_f64(timeout);
    let result = (|| -> io::Result<Vec<u8>> {
        // FLAW: the name lookup inside Python's connect() ignores the
        // timeout altogether; a slow resolver holds it as long as it likes.
        // AF_INET, like the article: the first IPv4 address.
        let addr = (host, port)
            .to_socket_addrs()?
            .find(SocketAddr::is_ipv4)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no IPv4 address"))?;
        let mut sock = TcpStream::connect_timeout(&addr, timeout_each)?;
        sock.set_read_timeout(Some(timeout_each))?;
        sock.set_write_timeout(Some(timeout_each))?;
        // FLAW: send() may send only part of the request; the count it
        // returns is ignored (Python's sendall, Rust's write_all, loop).
        let _ = sock.write(request_data)?;
        let mut response = Vec::new();
        loop {
            let mut chunk = [0u8; 4096];
            // FLAW: the timeout is per recv: a server that sends a byte a
            // second never trips it, and this loop runs for ever.
            // FLAW: only the server's close ends the loop: an HTTP/1.1
            // server that keeps the connection open after a complete
            // response makes it wait out the timeout, then throw the
            // response away.
            let n = sock.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            // FLAW: no limit: a server that never stops sending fills
            // memory.
            response.extend_from_slice(&chunk[..n]);
        }
        Ok(response)
        // finally: sock.close(): the socket is dropped on every path.
    })();
    match result {
        Ok(response) => Some(response),
        // except socket.timeout (Linux reports a timed-out read as
        // WouldBlock, a timed-out connect as TimedOut).
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            println!("Operation timed out after {timeout:?} seconds");
            None
        }
        // FLAW: every other failure is one message and the same `None`:
        // the caller cannot tell a typo in the name from a refusal.
        Err(e) => {
            println!("Network error: {e}");
            None
        }
    }
}

fn main() {
    let (host, port, timeout) = arguments();
    // Example usage
    let response = safe_request(
        &host,
        port,
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        timeout,
    );
    if let Some(response) = response
        && !response.is_empty()
    {
        println!("Received {} bytes", response.len());
    }
}

/// `--host H --port P --timeout S`, defaulting to the article's
/// `safe_request('example.com', 80, ..., timeout=5.0)`.
fn arguments() -> (String, u16, f64) {
    let (mut host, mut port, mut timeout) = ("example.com".to_string(), 80, 5.0);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        let understood = match flag.as_str() {
            "--host" => {
                host = value;
                true
            }
            "--port" => value.parse().map(|p| port = p).is_ok(),
            "--timeout" => value
                .parse()
                .ok()
                .filter(|t: &f64| *t > 0.0 && *t < 1e9)
                .map(|t| timeout = t)
                .is_some(),
            _ => false,
        };
        if !understood {
            eprintln!("usage: article-safe-request [--host H] [--port P] [--timeout SECONDS]");
            std::process::exit(2);
        }
    }
    (host, port, timeout)
}
