//! `safe_request` against every kind of server, on real loopback sockets:
//! each failure named, each on time.
//!
//! The times asserted are a hang guard, not a benchmark: a failure that the
//! deadline ends must come no sooner than the timeout and no later than
//! half as much again.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tcp::Stop;
use test_support::Background;
use timeout::http::Framing;
use timeout::{Deadline, End, Mode, RequestError, Step};

/// The timeout of the requests that the deadline ends.
const TIMEOUT: Duration = Duration::from_secs(1);
/// For the requests that should end long before it.
const GENEROUS: Duration = Duration::from_secs(5);

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// A slow server on a free loopback port, stopped when the test ends.
fn slow_server(mode: Mode) -> (SocketAddr, Background<io::Result<timeout::Summary>>) {
    let listener = tcp::bind_server(loopback(), tcp::DEFAULT_BACKLOG, timeout::POLL).unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(Stop::new());
    let stopper = Arc::clone(&stop);
    let server = Background::spawn(
        move || stopper.stop(),
        move || timeout::serve(&listener, &stop, mode, |_| {}),
    );
    (addr, server)
}

/// `safe_request` to `addr` with the article's request, and how long it took.
fn request(
    addr: SocketAddr,
    timeout: Duration,
) -> (Result<timeout::Response, RequestError>, Duration) {
    let started = Instant::now();
    let data = timeout::article_request("localhost", addr.port());
    let result = timeout::safe_request(&addr.ip().to_string(), addr.port(), &data, timeout);
    (result, started.elapsed())
}

#[track_caller]
fn assert_on_time(took: Duration, timeout: Duration) {
    assert!(
        took >= timeout && took <= timeout.mul_f64(1.5),
        "took {took:?} for a timeout of {timeout:?}"
    );
}

#[test]
fn a_silent_server_is_a_receive_timeout_on_time() {
    let (addr, _server) = slow_server(Mode::Silent);
    let (result, took) = request(addr, TIMEOUT);
    match result {
        Err(
            e @ RequestError::TimedOut {
                step: Step::Receive,
                ..
            },
        ) => {
            assert_eq!(e.exit_code(), 6);
            assert!(e.to_string().contains("sent nothing"), "{e}");
        }
        other => panic!("expected a receive timeout, got {other:?}"),
    }
    assert_on_time(took, TIMEOUT);
}

#[test]
fn a_trickling_server_is_deadline_exceeded_on_time() {
    // A byte every 200 ms: no single read ever waits a whole second.
    let (addr, _server) = slow_server(Mode::Trickle);
    let (result, took) = request(addr, TIMEOUT);
    match result {
        Err(e @ RequestError::DeadlineExceeded { .. }) => {
            assert_eq!(e.exit_code(), 7);
            let RequestError::DeadlineExceeded { partial, .. } = &e else {
                unreachable!()
            };
            assert!(partial.len() >= 2, "{partial:?}");
            assert!(partial.iter().all(|&b| b == timeout::TRICKLE_BYTE));
            assert!(e.to_string().contains("still arriving"), "{e}");
        }
        other => panic!("expected the deadline to be exceeded, got {other:?}"),
    }
    assert_on_time(took, TIMEOUT);
}

#[test]
fn a_kept_open_response_is_returned_at_once() {
    let (addr, _server) = slow_server(Mode::Keepalive);
    let (result, took) = request(addr, GENEROUS);
    let response = result.unwrap();
    assert_eq!(response.bytes, timeout::keepalive_response());
    let length = timeout::KEEPALIVE_BODY.len() as u64;
    assert_eq!(response.end, End::KeptOpen(Framing::ContentLength(length)));
    assert!(took < GENEROUS / 4, "took {took:?}");
}

#[test]
fn a_flood_is_too_large_and_reading_stops_at_the_cap() {
    let (addr, _server) = slow_server(Mode::Flood);
    let started = Instant::now();
    let max_bytes = 1 << 20;
    let result = timeout::request_by(
        &addr.ip().to_string(),
        addr.port(),
        b"GET / HTTP/1.1\r\n\r\n",
        Deadline::after(GENEROUS),
        max_bytes,
    );
    match result {
        Err(e @ RequestError::TooLarge { .. }) => {
            assert_eq!(e.exit_code(), 8);
            assert!(e.to_string().contains("more than 1048576 bytes"), "{e}");
        }
        other => panic!("expected too large, got {other:?}"),
    }
    assert!(started.elapsed() < GENEROUS / 2, "{:?}", started.elapsed());
}

#[test]
fn a_reset_is_a_network_error_that_names_it() {
    let (addr, _server) = slow_server(Mode::Reset);
    let (result, took) = request(addr, GENEROUS);
    match result {
        Err(
            e @ RequestError::Io {
                step: Step::Receive,
                ..
            },
        ) => {
            assert_eq!(e.exit_code(), 9);
            assert!(
                e.to_string().starts_with("connection reset by 127.0.0.1:"),
                "{e}"
            );
        }
        other => panic!("expected a reset, got {other:?}"),
    }
    assert!(took < GENEROUS / 2, "took {took:?}");
}

#[test]
fn a_port_nobody_listens_on_is_refused_at_once() {
    // Bind and drop: the port is free, and nothing listens there.
    let port = TcpListener::bind(loopback())
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (result, took) = request(addr, GENEROUS);
    match result {
        Err(e @ RequestError::Refused { .. }) => {
            assert_eq!(e.exit_code(), 4);
            assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
        }
        other => panic!("expected refused, got {other:?}"),
    }
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn a_name_that_does_not_resolve_is_a_resolution_error() {
    // `.invalid` is reserved (RFC 2606): it never resolves, anywhere.
    let result = timeout::safe_request("no-such-host.invalid", 80, b"GET /\r\n\r\n", GENEROUS);
    match result {
        Err(e @ RequestError::Resolve { .. }) => {
            assert_eq!(e.exit_code(), 3);
            assert!(e.to_string().contains("no-such-host.invalid"), "{e}");
        }
        other => panic!("expected a resolution error, got {other:?}"),
    }
}

#[test]
fn a_full_accept_queue_is_a_connect_timeout_on_time() {
    // A connect that hangs, on loopback: a listener with a backlog of 0
    // that never accepts. Linux queues one finished handshake for it; once
    // the queue is full it drops every new SYN without an answer, and the
    // client's connect waits (resending its SYN after 1 s, 3 s, ...). We
    // fill the queue with connects of our own, until one hangs.
    let listener = tcp::bind_server(loopback(), 0, timeout::POLL).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    let full =
        (0..16).any(
            |_| match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(stream) => {
                    queued.push(stream);
                    false
                }
                Err(_) => true,
            },
        );
    assert!(full, "16 connects to a backlog-0 listener all completed");
    let (result, took) = request(addr, TIMEOUT);
    match result {
        Err(e @ RequestError::ConnectTimedOut { .. }) => assert_eq!(e.exit_code(), 5),
        other => panic!("expected a connect timeout, got {other:?}"),
    }
    assert_on_time(took, TIMEOUT);
}

#[test]
fn a_server_that_takes_nothing_is_a_send_timeout() {
    // Connected but never accepted, so never read: the socket buffers fill
    // and the write waits for room that never comes.
    let listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    let data = vec![b'x'; 64 << 20];
    let started = Instant::now();
    let result = timeout::request_by(
        "127.0.0.1",
        addr.port(),
        &data,
        Deadline::after(TIMEOUT),
        timeout::DEFAULT_MAX_BYTES,
    );
    match result {
        Err(
            e @ RequestError::TimedOut {
                step: Step::Send, ..
            },
        ) => assert_eq!(e.exit_code(), 6),
        other => panic!("expected a send timeout, got {other:?}"),
    }
    assert_on_time(started.elapsed(), TIMEOUT);
}

/// A server for one client: reads the request up to its blank line,
/// answers `reply`, and closes (or, with `hold`, waits for the client to
/// close first). Returns the request it read.
fn one_answer(reply: &'static [u8], hold: bool) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(GENEROUS)).unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the client closed before its request was complete");
            request.extend_from_slice(&buf[..n]);
        }
        stream.write_all(reply).unwrap();
        if hold {
            // Until the client closes: it must not need our close.
            let _ = stream.read(&mut buf);
        }
        request
    });
    (addr, server)
}

#[test]
fn a_normal_server_gives_the_exact_bytes() {
    const REPLY: &[u8] = b"HTTP/1.0 200 OK\r\nServer: test\r\n\r\nno length: until the close";
    let (addr, server) = one_answer(REPLY, false);
    let (result, _) = request(addr, GENEROUS);
    let response = result.unwrap();
    assert_eq!(response.bytes, REPLY);
    assert_eq!(response.end, End::Closed);
    let sent = server.join().unwrap();
    assert_eq!(sent, timeout::article_request("localhost", addr.port()));
}

#[test]
fn a_chunked_response_on_an_open_connection_is_returned_at_once() {
    const REPLY: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nHello,\r\n7\r\n world!\r\n0\r\n\r\n";
    let (addr, server) = one_answer(REPLY, true);
    let (result, took) = request(addr, GENEROUS);
    let response = result.unwrap();
    assert_eq!(response.bytes, REPLY);
    assert_eq!(response.end, End::KeptOpen(Framing::Chunked));
    assert!(took < GENEROUS / 4, "took {took:?}");
    server.join().unwrap();
}

#[test]
fn one_deadline_is_shared_by_the_requests_that_use_it() {
    let (silent, _silent) = slow_server(Mode::Silent);
    let (keepalive, _keepalive) = slow_server(Mode::Keepalive);
    let started = Instant::now();
    let deadline = Deadline::after(TIMEOUT);
    let fetch = |addr: SocketAddr| {
        let data = timeout::article_request("localhost", addr.port());
        timeout::request_by("127.0.0.1", addr.port(), &data, deadline, 1 << 20)
    };
    // The first uses up the whole second; the second has none left.
    assert!(matches!(fetch(silent), Err(RequestError::TimedOut { .. })));
    assert!(matches!(
        fetch(keepalive),
        Err(RequestError::ConnectTimedOut { .. })
    ));
    assert_on_time(started.elapsed(), TIMEOUT);
}

#[test]
fn the_slow_server_serves_the_next_client_after_rude_ones() {
    let (addr, _server) = slow_server(Mode::Keepalive);
    // One leaves at once; one sends 100 KB with no end of request, then
    // leaves without reading the answer.
    drop(TcpStream::connect(addr).unwrap());
    let mut rude = TcpStream::connect(addr).unwrap();
    rude.write_all(&vec![b'?'; 100_000]).unwrap();
    drop(rude);
    let (result, _) = request(addr, GENEROUS);
    assert_eq!(result.unwrap().bytes, timeout::keepalive_response());
}
