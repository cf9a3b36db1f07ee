//! Writing a response as `http.server`'s `send_response`, `send_header` and
//! `end_headers` do (status line, `Server`, `Date`, then the handler's
//! headers), with the one header the article leaves out: `Content-Length`,
//! without which a client can only learn where the body ends when the
//! server closes the connection.

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::date::http_date;

/// The `Server:` header, where Python sends `BaseHTTP/0.6 Python/3.11.7`.
pub const SERVER: &str = concat!("netlab-http/", env!("CARGO_PKG_VERSION"));

/// The reason phrase of each status this server sends (RFC 9110's).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// What the `Connection` header says after this response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// HTTP/1.1's default: nothing to say, the connection stays open.
    KeepAlive,
    /// An HTTP/1.0 client asked for keep-alive: say it is granted.
    KeepAliveHttp10,
    /// The server closes the connection after this response.
    Close,
}

// ANCHOR: write_response
/// Appends a whole response to `out`, to be sent with one write: the head
/// and the body leave together (see the book on `TCP_NODELAY`). For `HEAD`
/// (`head_only`), the headers are those of the `GET`, `Content-Length`
/// included, and the body is left out.
pub fn write_response(
    out: &mut Vec<u8>,
    status: u16,
    extra_headers: &[(&str, String)],
    body: &[u8],
    head_only: bool,
    connection: Connection,
    now: SystemTime,
) {
    let mut head = String::with_capacity(256);
    let _ = write!(
        head,
        "HTTP/1.1 {status} {}\r\nServer: {SERVER}\r\nDate: {}\r\n",
        reason(status),
        http_date(now)
    );
    // The article's own header, spelled as it spells it.
    head.push_str("Content-type: application/json\r\n");
    let _ = write!(head, "Content-Length: {}\r\n", body.len());
    for (name, value) in extra_headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    match connection {
        Connection::KeepAlive => {}
        Connection::KeepAliveHttp10 => head.push_str("Connection: keep-alive\r\n"),
        Connection::Close => head.push_str("Connection: close\r\n"),
    }
    head.push_str("\r\n");
    out.extend_from_slice(head.as_bytes());
    if !head_only {
        out.extend_from_slice(body);
    }
}
// ANCHOR_END: write_response

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_response_has_python_s_headers_and_a_length() {
        let mut out = Vec::new();
        let now = UNIX_EPOCH + Duration::from_secs(1_795_687_921);
        write_response(&mut out, 201, &[], b"{}", false, Connection::KeepAlive, now);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            format!(
                "HTTP/1.1 201 Created\r\nServer: {SERVER}\r\nDate: Thu, 26 Nov 2026 10:12:01 GMT\r\n\
                 Content-type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
            )
        );
    }

    #[test]
    fn head_keeps_the_length_and_drops_the_body() {
        let mut out = Vec::new();
        let retry = [("Retry-After", "1".to_string())];
        write_response(
            &mut out,
            429,
            &retry,
            b"abc",
            true,
            Connection::Close,
            SystemTime::now(),
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Content-Length: 3\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"));
        assert!(text.ends_with("\r\n\r\n"), "{text}");
    }
}
