//! `http-server` against clients that misbehave, each on real loopback
//! connections, and each test ending the way the chapter promises: the
//! next ordinary client is answered, within a second.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use http::client::Client;
use test_support::Server;

const SERVER: &str = env!("CARGO_BIN_EXE_http-server");
/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(10);
/// What "still served" means here.
const PROMPTLY: Duration = Duration::from_secs(1);

fn start(extra: &[&str]) -> Server {
    let mut args = vec!["--host", "127.0.0.1"];
    args.extend_from_slice(extra);
    Server::start(SERVER, &args).unwrap()
}

/// An ordinary client: a new connection, a GET, a 200, all within
/// [`PROMPTLY`].
#[track_caller]
fn ordinary_get_is_answered(addr: SocketAddr) {
    let started = Instant::now();
    let mut client = Client::connect(addr, PATIENCE).unwrap();
    let response = client.get("/items?x=1").unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(
        response.text().contains("\"x\": [\"1\"]"),
        "{}",
        response.text()
    );
    let took = started.elapsed();
    assert!(took < PROMPTLY, "an ordinary GET took {took:?}");
}

/// Sends `request` on a new connection and reads until the server closes
/// it: the whole answer to a request the server refuses.
fn refused(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(
        text.contains("Connection: close\r\n"),
        "a refusal closes: {text}"
    );
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_string();
    (status, body)
}

/// The server's resident memory, in MiB (Linux).
fn resident_mib(server: &Server) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{}/status", server.pid())).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

#[test]
fn a_100_gb_content_length_is_refused_without_reading_the_body() {
    let server = start(&[]);
    let started = Instant::now();
    let (status, body) = refused(
        server.addr(),
        b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000\r\n\r\n",
    );
    assert_eq!(status, 413);
    assert_eq!(
        body,
        r#"{"status": "error", "message": "Body larger than 1048576 bytes"}"#
    );
    // No body was sent, so the answer cannot have waited for one (the
    // close after it waits a second at most for the client to close).
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    if let Some(mib) = resident_mib(&server) {
        assert!(mib < 64, "the server holds {mib} MiB");
    }
    ordinary_get_is_answered(server.addr());
    server.expect_line("\"POST /items HTTP/1.1\" 413 -", PATIENCE);
}

#[test]
fn a_body_over_the_limit_is_refused_before_it_is_sent() {
    let server = start(&[]);
    for expect in ["", "Expect: 100-continue\r\n"] {
        let request =
            format!("POST / HTTP/1.1\r\nHost: x\r\n{expect}Content-Length: 1048577\r\n\r\n");
        let (status, _) = refused(server.addr(), request.as_bytes());
        assert_eq!(status, 413, "{expect}");
    }
    // A smaller limit, and a body that fits it.
    let small = start(&["--max-body", "10"]);
    let mut client = Client::connect(small.addr(), PATIENCE).unwrap();
    assert_eq!(client.post("/", b"[1, 2, 3]").unwrap().status, 201);
    let (status, _) = refused(
        small.addr(),
        b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n[1, 2, 3, 4]",
    );
    assert_eq!(status, 413);
    ordinary_get_is_answered(server.addr());
}

#[test]
fn a_chunked_body_over_the_limit_is_refused_as_it_passes_the_limit() {
    let server = start(&[]);
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    // 17 chunks of 64 KiB: the 17th takes the body past 1 MiB.
    let sending = thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        let _ =
            writer.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
        for _ in 0..17 {
            let sent = writer
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .and_then(|()| writer.write_all(&chunk))
                .and_then(|()| writer.write_all(b"\r\n"));
            if sent.is_err() {
                break;
            }
        }
    });
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let _ = sending.join();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    ordinary_get_is_answered(server.addr());
}

#[test]
fn a_content_length_that_is_not_a_number_is_a_400() {
    let server = start(&[]);
    for value in ["abc", "-1", "+5", "1.5", "0x10", "1 2", ""] {
        let request = format!("POST / HTTP/1.1\r\nContent-Length: {value}\r\n\r\n{{}}");
        let (status, body) = refused(server.addr(), request.as_bytes());
        assert_eq!(status, 400, "Content-Length: {value}");
        assert_eq!(
            body,
            r#"{"status": "error", "message": "Invalid Content-Length"}"#
        );
    }
    let two = b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}";
    assert_eq!(refused(server.addr(), two).0, 400);
    let both = b"POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}";
    assert_eq!(refused(server.addr(), both).0, 400);
    ordinary_get_is_answered(server.addr());
}

#[test]
fn a_body_that_is_not_utf8_or_not_json_is_a_400() {
    let server = start(&[]);
    let mut client = Client::connect(server.addr(), PATIENCE).unwrap();
    for body in [
        &b"\xff\xfe\xfd"[..],
        b"{\"name\": ",
        b"hello",
        b"",
        b"{\"a\": 1}}",
    ] {
        let response = client.post("/items", body).unwrap();
        assert_eq!(response.status, 400, "{body:?}");
        assert_eq!(
            response.text(),
            r#"{"status": "error", "message": "Invalid JSON"}"#
        );
    }
    // The body was read whole each time, so the connection is still good.
    assert_eq!(client.get("/").unwrap().status, 200);
    ordinary_get_is_answered(server.addr());
}

#[test]
fn a_malformed_request_line_is_a_400() {
    let server = start(&[]);
    let cases: [(&[u8], u16); 6] = [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /\r\n\r\n", 400),
        (b"GET / HTTP/one\r\n\r\n", 400),
        (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        // What a browser sends when told https:// for an http:// server:
        // a TLS ClientHello, which has no line break at all.
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    ];
    for (request, expected) in cases {
        let (status, body) = refused(server.addr(), request);
        assert_eq!(status, expected, "{}", String::from_utf8_lossy(request));
        assert!(
            body.starts_with(r#"{"status": "error", "message": "#),
            "{body}"
        );
    }
    let bad_header = b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n";
    assert_eq!(refused(server.addr(), bad_header).0, 400);
    ordinary_get_is_answered(server.addr());
}

#[test]
fn an_unknown_method_is_a_501_like_http_server() {
    let server = start(&[]);
    for method in ["DELETE", "PUT", "OPTIONS", "get"] {
        let request = format!("{method} /items HTTP/1.1\r\nHost: x\r\n\r\n");
        let (status, body) = refused(server.addr(), request.as_bytes());
        assert_eq!(status, 501);
        assert_eq!(
            body,
            format!(r#"{{"status": "error", "message": "Unsupported method ('{method}')"}}"#)
        );
    }
    ordinary_get_is_answered(server.addr());
}

#[test]
fn head_gets_headers_only() {
    let server = start(&[]);
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(b"HEAD /items HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("Content-Length: "), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\n"),
        "no body after the headers: {answer}"
    );
    ordinary_get_is_answered(server.addr());
}

#[test]
fn request_heads_over_the_limit_are_refused() {
    let server = start(&[]);
    let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(20_000));
    assert_eq!(refused(server.addr(), long_line.as_bytes()).0, 414);
    let many: String = (0..150).map(|i| format!("X-{i}: y\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
    assert_eq!(refused(server.addr(), many.as_bytes()).0, 431);
    let big: String = (0..10)
        .map(|i| format!("X-{i}: {}\r\n", "y".repeat(2000)))
        .collect();
    let big = format!("GET / HTTP/1.1\r\n{big}\r\n");
    assert_eq!(refused(server.addr(), big.as_bytes()).0, 431);
    ordinary_get_is_answered(server.addr());
}

#[test]
fn two_hundred_idle_connections_do_not_hold_up_the_others() {
    let server = start(&["--idle-timeout", "1.5"]);
    let before = resident_mib(&server);
    let mut idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect_timeout(&server.addr(), PATIENCE).unwrap())
        .collect();
    for _ in 0..5 {
        ordinary_get_is_answered(server.addr());
    }
    if let (Some(before), Some(after)) = (before, resident_mib(&server)) {
        assert!(
            after < before + 64,
            "{before} MiB before, {after} MiB with 200 idle clients"
        );
    }
    // After the idle timeout each one is closed: a read sees end-of-stream.
    for stream in &mut idle {
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut byte = [0u8; 1];
        assert_eq!(stream.read(&mut byte).unwrap_or(0), 0);
    }
    ordinary_get_is_answered(server.addr());
}

#[test]
fn a_client_sending_a_byte_a_second_is_cut_off_at_the_deadline() {
    let server = start(&["--request-timeout", "3"]);
    let addr = server.addr();
    let slow = thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let started = Instant::now();
        let mut sent = 0;
        for byte in b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n" {
            if stream.write_all(&[*byte]).is_err() {
                break;
            }
            sent += 1;
            // Waits a second for the server to answer; it never does
            // before the deadline, so this is the byte-a-second pace.
            stream
                .set_read_timeout(Some(Duration::from_secs(1)))
                .unwrap();
            let mut answer = [0u8; 12];
            if let Ok(n) = stream.read(&mut answer) {
                let mut rest = Vec::new();
                stream.set_read_timeout(Some(PATIENCE)).unwrap();
                let _ = stream.read_to_end(&mut rest);
                let text = String::from_utf8_lossy(&answer[..n]).into_owned();
                return (text, sent, started.elapsed());
            }
        }
        (String::new(), sent, started.elapsed())
    });
    // Meanwhile everyone else is served as usual.
    for _ in 0..3 {
        ordinary_get_is_answered(addr);
        thread::sleep(Duration::from_millis(500));
    }
    let (answer, sent, took) = slow.join().unwrap();
    assert_eq!(answer, "HTTP/1.1 408", "after {sent} bytes in {took:?}");
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert!(sent < 8, "the slow client got {sent} bytes in");
    server.expect_line("\" 408 -", PATIENCE);
    ordinary_get_is_answered(addr);
}

#[test]
fn a_client_sending_a_byte_every_100_ms_is_cut_off_at_the_deadline_too() {
    // Faster than the server's read poll (`http::POLL`, 200 ms), so none
    // of its reads ever times out: the deadline must be checked before
    // every read, not only after one that timed out (`just soak` found it).
    let server = start(&["--request-timeout", "2"]);
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let head = b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Slowloris: ";
    let started = Instant::now();
    let (mut sent, mut answer) = (0, Vec::new());
    while started.elapsed() < PATIENCE {
        let byte = head.get(sent).copied().unwrap_or(b'a');
        if stream.write_all(&[byte]).is_err() {
            break;
        }
        sent += 1;
        let mut buf = [0u8; 512];
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "after {sent} bytes in {:?}: {text:?}",
        started.elapsed()
    );
    ordinary_get_is_answered(server.addr());
}

#[test]
fn many_slow_clients_are_capped_and_memory_stays_bounded() {
    let server = start(&["--request-timeout", "2", "--max-connections", "64"]);
    let addr = server.addr();
    let before = resident_mib(&server);
    // 40 clients each with half a request line, then silence; and a
    // flood of headers that never ends, cut off by the head limit.
    let slow: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(b"GET /never").unwrap();
            stream
        })
        .collect();
    let mut flood = TcpStream::connect(addr).unwrap();
    flood.set_write_timeout(Some(PATIENCE)).unwrap();
    let _ = flood.write_all(b"GET / HTTP/1.1\r\n");
    for _ in 0..1000 {
        if flood
            .write_all(b"X-Filler: 0123456789012345678901234567890123456789\r\n")
            .is_err()
        {
            break;
        }
    }
    for _ in 0..3 {
        ordinary_get_is_answered(addr);
    }
    if let (Some(before), Some(after)) = (before, resident_mib(&server)) {
        assert!(
            after < before + 64,
            "{before} MiB before, {after} MiB after"
        );
    }
    drop(slow);
    ordinary_get_is_answered(addr);
}
