//! The client: [`connect`] like Python's `create_connection`, then
//! [`request`] sends, half-closes and reads the whole reply; [`exchange`]
//! is both.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use crate::{ECHO_PREFIX, MAX_REPLY_BYTES, resolve};

// ANCHOR: connect
/// Connects to `host:port`, trying every address the name resolves to in
/// turn (IPv4 first, see [`resolve`]), like Python's `create_connection`.
pub fn connect(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let mut last_error = None;
    for addr in resolve(host, port)? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last_error = Some(io::Error::new(e.kind(), format!("{addr}: {e}"))),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
    }))
}
// ANCHOR_END: connect

// ANCHOR: request
/// The article's client exchange on an open connection: send `message`,
/// say "that is all" with a half-close, and read the reply until the server
/// closes.
///
/// One `recv(1024)`, as in the article, returns whatever has arrived so far;
/// a reply sent in two pieces would be cut. Reading to end-of-stream gets it
/// whole, however it was split.
pub fn request(stream: &mut TcpStream, message: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(message)?;
    match stream.shutdown(Shutdown::Write) {
        // The server already reset the connection (one that closes with our
        // bytes unread does): the read below reports that reset, which says
        // far more than "not connected" would.
        Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
        other => other?,
    }

    let mut reply = Vec::new();
    // Read one byte past the limit to tell "exactly at the limit" from "over".
    stream.take(MAX_REPLY_BYTES + 1).read_to_end(&mut reply)?;
    if reply.len() as u64 > MAX_REPLY_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("reply longer than {MAX_REPLY_BYTES} bytes; gave up"),
        ));
    }
    Ok(reply)
}
// ANCHOR_END: request

// ANCHOR: exchange
/// The article's whole client: connect to `host:port`, send `message`, and
/// return the server's complete reply. `tcp-client`, the tour and the bench
/// all make their requests through here.
pub fn exchange(host: &str, port: u16, message: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let mut stream = connect(host, port, timeout)?;
    request(&mut stream, message, timeout)
}
// ANCHOR_END: exchange

/// The reply the server should send for `message`.
pub fn expected_echo(message: &[u8]) -> Vec<u8> {
    [ECHO_PREFIX, message].concat()
}
