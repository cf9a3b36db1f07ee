//! Chapter 7's server, fed a client's bytes over a real loopback connection.
//!
//! The request reader (`http::request::read_request`) reads from a
//! `TcpStream`, as the server does, so the target is the server itself:
//! one `http::serve` started once per process on 127.0.0.1 with its
//! default configuration, as `http-server` runs, and one connection per
//! input that sends the bytes, half-closes and reads every answer.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread;

use serde_json::Value;

use crate::loopback;

/// Every status this server may send with its default configuration: the
/// handler's, and those of the refusals `read_request` documents.
const STATUSES: [u16; 10] = [100, 200, 201, 400, 408, 413, 414, 431, 501, 505];

/// What the server logged: which client, the request line, the status.
static LOG: Mutex<Vec<(SocketAddr, String, u16)>> = Mutex::new(Vec::new());

/// The bytes as one client's connection: every answer is a well-formed
/// response with a known status and a JSON body of its `Content-Length`,
/// one per request the server logged, in order, and none follows a
/// `Connection: close`. The server never panics and never hangs.
pub fn request(data: &[u8]) {
    let mut stream =
        loopback::patient(TcpStream::connect(server()).expect("connect to the HTTP server"));
    let me = stream
        .local_addr()
        .expect("a connected socket has an address");
    // A server that refuses early may close before it has read it all:
    // the write then fails, and what matters is what it answered.
    let _ = stream.write_all(data);
    let _ = stream.shutdown(Shutdown::Write);
    let (answers, error) = loopback::read_all(&mut stream);
    if let Some(e) = &error {
        assert!(!loopback::timed_out(e), "the server hung: {e}");
    }
    let logged = take_log(me);
    check_answers(&answers, &logged, error.is_some());
}

/// The shared server's address; started on first use.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let listener = http::listen("127.0.0.1", 0).expect("listen on 127.0.0.1");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        // Runs until the process ends: nothing ever stops it.
        thread::spawn(move || {
            let stop = tcp::Stop::new();
            let log = |event| {
                if let http::Event::Request(logged) = event {
                    let entry = (logged.client, logged.line, logged.status);
                    LOG.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(entry);
                }
            };
            http::serve(&listener, &stop, log)
        });
        addr
    })
}

/// The log lines of the connection from `client`.
fn take_log(client: SocketAddr) -> Vec<(String, u16)> {
    let mut log = LOG.lock().unwrap_or_else(PoisonError::into_inner);
    let (mine, others) = log.drain(..).partition(|(from, _, _)| *from == client);
    *log = others;
    mine.into_iter()
        .map(|(_, line, status)| (line, status))
        .collect()
}

/// Walks the answers one response at a time; see [`request`].
fn check_answers(mut rest: &[u8], logged: &[(String, u16)], reset: bool) {
    let mut finals = 0;
    while !rest.is_empty() {
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            assert!(
                reset,
                "an unfinished response head: {:?}",
                rest.escape_ascii()
            );
            return;
        };
        let head = std::str::from_utf8(&rest[..head_end]).expect("a response head is text");
        rest = &rest[head_end + 4..];
        let status = status_of(head);
        assert!(STATUSES.contains(&status), "unexpected status in {head:?}");
        if status == 100 {
            continue;
        }
        let (line, logged_status) = logged
            .get(finals)
            .expect("an answer the server did not log");
        assert_eq!(
            status, *logged_status,
            "answered and logged statuses differ"
        );
        finals += 1;
        let length: usize = header(head, "Content-Length")
            .and_then(|n| n.parse().ok())
            .expect("every answer has a Content-Length");
        // `HEAD` gets the headers of a `GET`, its body left out; a JSON
        // body starts with `{`, never with a status line.
        let no_body = length > 0 && (rest.is_empty() || rest.starts_with(b"HTTP/1.1 "));
        if no_body {
            let method = line.trim_start_matches(|c: char| c.is_whitespace() || c.is_control());
            assert!(
                method.starts_with("HEAD"),
                "a {status} without its body to {line:?}"
            );
        } else {
            let Some(body) = rest.get(..length) else {
                assert!(reset, "a body shorter than its Content-Length");
                return;
            };
            let json: Value = serde_json::from_slice(body).expect("every body is JSON");
            if status >= 400 {
                assert_eq!(json["status"], "error", "{status} without an error body");
            }
            rest = &rest[length..];
        }
        if header(head, "Connection") == Some("close") {
            assert!(rest.is_empty(), "bytes after Connection: close");
        }
    }
    assert!(
        finals == logged.len() || reset,
        "{finals} answers for {} logged requests",
        logged.len()
    );
}

/// The status of `HTTP/1.1 200 OK`, checking the line's shape.
fn status_of(head: &str) -> u16 {
    let line = head.lines().next().unwrap_or_default();
    let mut words = line.splitn(3, ' ');
    assert_eq!(words.next(), Some("HTTP/1.1"), "status line {line:?}");
    let status = words.next().and_then(|code| code.parse().ok());
    let status = status.unwrap_or_else(|| panic!("status line {line:?}"));
    assert_eq!(words.next(), Some(http::response::reason(status)));
    status
}

/// The value of the header `name` in `head`, if present.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Where `needle` first starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
