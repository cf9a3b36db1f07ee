//! The obvious port on tiny_http 0.12 (`examples/tiny-http-server`)
//! really fails the way the chapter says, and `http-server` does not: the
//! book quotes these experiments, and this keeps it honest.
#![allow(clippy::print_stderr, reason = "a skipped test says why")]

use std::fs;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use http::client::Client;
use test_support::{Server, example_path};

const ROBUST: &str = env!("CARGO_BIN_EXE_http-server");
/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(10);

fn tiny(extra: &[&str]) -> Server {
    let mut args = vec!["--host", "127.0.0.1"];
    args.extend_from_slice(extra);
    Server::start(example_path("tiny-http-server"), &args).unwrap()
}

fn robust() -> Server {
    Server::start(ROBUST, &["--host", "127.0.0.1"]).unwrap()
}

/// Whether a new connection to `addr` is refused, waiting up to `within`
/// for it to become so.
fn refused_within(addr: SocketAddr, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, PATIENCE).is_err() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn the_port_answers_the_articles_requests() {
    let server = tiny(&[]);
    let mut client = Client::connect(server.addr(), PATIENCE).unwrap();
    let get = client.get("/items?x=1&x=2").unwrap();
    assert!(
        get.text().starts_with(
            r#"{"method": "GET", "path": "/items", "query_params": {"x": ["1", "2"]}"#
        )
    );
    let post = client.post("/items", br#"{"name": "Ada"}"#).unwrap();
    assert_eq!(
        post.text(),
        r#"{"status": "success", "received": {"name": "Ada"}}"#
    );
}

#[test]
fn a_100_gb_content_length_aborts_the_whole_process() {
    // Under `vm.overcommit_memory = 1` the kernel grants any allocation,
    // so the abort this test looks for does not happen there.
    if fs::read_to_string("/proc/sys/vm/overcommit_memory").is_ok_and(|mode| mode.trim() == "1") {
        eprintln!(
            "SKIPPED a_100_gb_content_length_aborts_the_whole_process: vm.overcommit_memory is 1"
        );
        return;
    }
    let server = tiny(&[]);
    let mut client = Client::connect(server.addr(), PATIENCE).unwrap();
    let huge = b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000\r\n\r\n";
    // The handler answers 413 like ours; dropping the request then aborts.
    assert_eq!(client.send(huge).unwrap().status, 413);
    assert!(
        refused_within(server.addr(), PATIENCE),
        "the server is still up"
    );
    let stopped = server.stop();
    assert!(!stopped.status.success());
    assert!(
        stopped
            .stderr
            .contains("memory allocation of 100000000000 bytes failed"),
        "{}",
        stopped.stderr
    );

    let ours = robust();
    let mut client = Client::connect(ours.addr(), PATIENCE).unwrap();
    let response = client.send(huge).unwrap();
    assert_eq!(response.status, 413);
    let mut next = Client::connect(ours.addr(), PATIENCE).unwrap();
    assert_eq!(next.get("/").unwrap().status, 200);
}

#[test]
fn a_listener_with_a_read_timeout_ends_tiny_https_accept_thread() {
    let server = tiny(&["--read-timeout", "0.3"]);
    let mut client = Client::connect(server.addr(), PATIENCE).unwrap();
    assert_eq!(client.get("/").unwrap().status, 200);
    drop(client);
    // Nobody connects for longer than the timeout (this pause is the
    // experiment, not a wait for the server): `accept` times out, and
    // tiny_http takes that for the end of its listener.
    thread::sleep(Duration::from_secs(1));
    assert!(
        TcpStream::connect_timeout(&server.addr(), PATIENCE).is_err(),
        "still accepting"
    );
}

/// Whether `stream` is still open after `wait`: a read that times out
/// means open, end-of-stream means the server closed it.
fn still_open_after(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    matches!(stream.read(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

#[test]
fn idle_connections_are_never_closed() {
    // tiny_http: no read timeout anywhere. Each idle connection holds a
    // thread, or waits in the pool's queue for one, for as long as the
    // client likes.
    let server = tiny(&[]);
    let mut idle: Vec<TcpStream> = (0..50)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    assert!(still_open_after(&mut idle[0], Duration::from_secs(2)));
    // http-server closes each one after its idle timeout.
    let ours = Server::start(ROBUST, &["--host", "127.0.0.1", "--idle-timeout", "0.5"]).unwrap();
    let mut idle: Vec<TcpStream> = (0..50)
        .map(|_| TcpStream::connect(ours.addr()).unwrap())
        .collect();
    assert!(!still_open_after(&mut idle[0], Duration::from_secs(2)));
}

/// Median time of `n` GETs with an answer over 1 KiB, on one kept-open
/// connection.
fn median_large_get(addr: SocketAddr, n: usize) -> Duration {
    let mut client = Client::connect(addr, PATIENCE).unwrap();
    let query: Vec<String> = (0..150).map(|i| format!("k{i}=v{i}")).collect();
    let target = format!("/items?{}", query.join("&"));
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let started = Instant::now();
            let response = client.get(&target).unwrap();
            assert!(response.body.len() > 2000);
            started.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

#[test]
fn answers_over_1_kib_stall_40_ms_without_tcp_nodelay() {
    // tiny_http writes the head and the body separately and leaves Nagle's
    // algorithm on: the body waits for the client's delayed ACK.
    let stalled = median_large_get(tiny(&[]).addr(), 10);
    let ours = median_large_get(robust().addr(), 10);
    eprintln!("keep-alive GET of 2.5 KB: tiny_http {stalled:?}, http-server {ours:?}");
    assert!(stalled >= Duration::from_millis(30), "{stalled:?}");
    assert!(ours < Duration::from_millis(20), "{ours:?}");
}
