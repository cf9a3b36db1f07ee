//! The article's API over real loopback connections: the library server on
//! a thread of the test, spoken to with bytes on the wire, as curl and
//! browsers speak to it.
#![allow(
    clippy::print_stderr,
    reason = "a skipped test says why; the Nagle test shows its times"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use http::client::{Client, Response};
use http::{Config, Event, Summary};
use serde_json::Value;
use tcp::Stop;
use test_support::Background;

/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(10);

/// The library server on a free port, with the lines it logged.
struct Running {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    server: Background<Summary>,
}

fn start(config: Config) -> Running {
    let listener = http::listen("127.0.0.1", 0).unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let lines = Arc::clone(&log);
    let stop = Arc::new(Stop::new());
    let on_stop = Arc::clone(&stop);
    let server = Background::spawn(
        move || on_stop.stop(),
        move || {
            let record = |event: Event| lines.lock().unwrap().push(event.to_string());
            http::serve_with(&listener, &stop, &config, record).unwrap()
        },
    );
    Running { addr, log, server }
}

fn client(addr: SocketAddr) -> Client {
    Client::connect(addr, PATIENCE).unwrap()
}

fn json(response: &Response) -> Value {
    serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.text()))
}

/// The body without its timestamp, which is the only thing that changes.
fn without_timestamp(response: &Response) -> String {
    let text = response.text();
    match text.split_once(", \"timestamp\": ") {
        Some((head, _)) => format!("{head}}}"),
        None => text,
    }
}

#[test]
fn get_answers_with_the_query_parsed() {
    let server = start(Config::default());
    let response = client(server.addr)
        .get("/items?x=1&x=2&name=caf%C3%A9&flag")
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-type"), Some("application/json"));
    assert_eq!(
        response.header("Content-Length"),
        Some(response.body.len().to_string().as_str())
    );
    assert_eq!(
        without_timestamp(&response),
        r#"{"method": "GET", "path": "/items", "query_params": {"x": ["1", "2"], "name": ["caf\u00e9"]}}"#
    );
    let timestamp = json(&response)["timestamp"].as_f64().unwrap();
    assert!((timestamp - http::timestamp()).abs() < 60.0, "{timestamp}");
}

#[test]
fn post_echoes_the_json_it_was_sent() {
    let server = start(Config::default());
    let response = client(server.addr)
        .post("/items", br#"{"name": "Ada", "qty": [1, 2.5, null]}"#)
        .unwrap();
    assert_eq!(response.status, 201);
    assert_eq!(
        response.text(),
        r#"{"status": "success", "received": {"name": "Ada", "qty": [1, 2.5, null]}}"#
    );
}

#[test]
fn invalid_json_is_a_400_and_the_connection_goes_on() {
    let server = start(Config::default());
    let mut client = client(server.addr);
    let response = client.post("/items", b"{\"name\": ").unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(
        response.text(),
        r#"{"status": "error", "message": "Invalid JSON"}"#
    );
    assert_eq!(client.get("/after").unwrap().status, 200);
}

#[test]
fn one_connection_carries_many_requests() {
    let server = start(Config::default());
    let mut client = client(server.addr);
    for i in 0..100 {
        let response = client.get(&format!("/n?i={i}")).unwrap();
        assert!(
            response.text().contains(&format!("[\"{i}\"]")),
            "{}",
            response.text()
        );
    }
    drop(client);
    let summary = server.server.stop();
    assert_eq!(summary.connections, 1);
    assert_eq!(summary.requests, 100);
}

#[test]
fn http10_closes_unless_asked_to_keep_alive() {
    let server = start(Config::default());
    let mut plain = client(server.addr);
    let response = plain.send(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(response.header("Connection"), Some("close"));
    let mut kept = client(server.addr);
    let asked = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    assert_eq!(
        kept.send(asked).unwrap().header("Connection"),
        Some("keep-alive")
    );
    assert_eq!(
        kept.send(asked).unwrap().status,
        200,
        "the connection stayed open"
    );
}

#[test]
fn connection_close_is_honoured() {
    let server = start(Config::default());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = String::new();
    stream.read_to_string(&mut all).unwrap();
    assert!(all.contains("Connection: close\r\n"), "{all}");
}

#[test]
fn head_sends_the_headers_of_get_and_no_body() {
    let server = start(Config::default());
    let mut client = client(server.addr);
    let response = client
        .send(b"HEAD /items?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
    let length: usize = response.header("Content-Length").unwrap().parse().unwrap();
    assert!(length > 50, "the GET's length, {length}");
    // No stray body bytes: the next answer on the connection is read whole.
    assert_eq!(client.get("/next").unwrap().status, 200);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = start(Config::default());
    let mut client = client(server.addr);
    let both = b"GET /first HTTP/1.1\r\nHost: x\r\n\r\nPOST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]";
    let first = client.send(both).unwrap();
    let second = client.read_response(false).unwrap();
    assert!(first.text().contains("\"/first\""), "{}", first.text());
    assert_eq!(second.text(), r#"{"status": "success", "received": []}"#);
}

#[test]
fn a_chunked_body_is_put_together() {
    let server = start(Config::default());
    let mut client = client(server.addr);
    let request = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                    4\r\n{\"a\"\r\n5;ext=1\r\n: [1]\r\n1\r\n}\r\n0\r\nTrailer: x\r\n\r\n";
    let response = client.send(request).unwrap();
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(
        response.text(),
        r#"{"status": "success", "received": {"a": [1]}}"#
    );
    assert_eq!(client.get("/after").unwrap().status, 200);
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let server = start(Config::default());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        )
        .unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"{}").unwrap();
    let mut rest = [0u8; 12];
    stream.read_exact(&mut rest).unwrap();
    assert_eq!(&rest, b"HTTP/1.1 201");
}

#[test]
fn every_answer_is_logged_like_the_article() {
    let server = start(Config::default());
    let mut client = client(server.addr);
    client.get("/items?x=1").unwrap();
    client.send(b"GET /\x1b[31mred HTTP/1.1\r\n\r\n").unwrap();
    let summary = server.server.stop();
    assert_eq!(summary.requests, 2);
    let log = server.log.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:?}");
    // 26/Nov/2026 10:12:01 "GET /items?x=1 HTTP/1.1" 200 -
    let (date, rest) = log[0].split_at(20);
    assert_eq!(rest, " \"GET /items?x=1 HTTP/1.1\" 200 -");
    assert_eq!(date.as_bytes()[2], b'/', "{date}");
    assert_eq!(&date[6..7], "/", "{date}");
    assert!(
        log[1].ends_with(" \"GET /\\x1b[31mred HTTP/1.1\" 200 -"),
        "{}",
        log[1]
    );
}

#[test]
fn a_stop_ends_idle_keep_alive_connections_at_once() {
    let server = start(Config::default());
    let mut client = client(server.addr);
    client.get("/").unwrap();
    // The connection now waits, idle, for its next request.
    let started = Instant::now();
    let summary = server.server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(summary.requests, 1);
}

#[test]
fn a_token_is_required_when_one_is_set() {
    let server = start(Config {
        token: Some("s3cret".into()),
        ..Config::default()
    });
    let mut client = client(server.addr);
    let refused = client.get("/").unwrap();
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("WWW-Authenticate"),
        Some("Bearer realm=\"api\"")
    );
    assert_eq!(
        refused.text(),
        r#"{"status": "error", "message": "Missing or invalid token"}"#
    );
    let wrong = client
        .send(b"GET / HTTP/1.1\r\nAuthorization: Bearer s3cre7\r\n\r\n")
        .unwrap();
    assert_eq!(wrong.status, 401);
    let right = client
        .send(b"GET / HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n\r\n")
        .unwrap();
    assert_eq!(right.status, 200);
}

#[test]
fn a_rate_limit_answers_429_with_retry_after() {
    let server = start(Config {
        rate_limit: Some(5),
        ..Config::default()
    });
    let mut client = client(server.addr);
    let statuses: Vec<u16> = (0..6).map(|_| client.get("/").unwrap().status).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    let limited = client.get("/").unwrap();
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("Retry-After"), Some("1"));
    // A token comes back every 0.2 s.
    thread::sleep(Duration::from_millis(300));
    assert_eq!(client.get("/").unwrap().status, 200);
}

/// Median time, over `n` tries, for the second of two pipelined requests
/// to be answered: two small answers written one after the other.
fn median_pipelined_time(nodelay: bool, n: usize) -> Duration {
    let server = start(Config {
        nodelay,
        ..Config::default()
    });
    let mut client = client(server.addr);
    let two = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let started = Instant::now();
            client.send(two).unwrap();
            client.read_response(false).unwrap();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

#[test]
fn nodelay_avoids_the_delayed_ack_stall() {
    let with = median_pipelined_time(true, 20);
    let without = median_pipelined_time(false, 20);
    eprintln!("two pipelined GETs: {with:?} with TCP_NODELAY, {without:?} without");
    assert!(with < Duration::from_millis(20), "{with:?}");
    // Linux delays an ACK by 40 ms at least.
    assert!(
        without >= Duration::from_millis(30),
        "{without:?} vs {with:?}"
    );
}

#[test]
fn ipv6_works_too() {
    let Ok(listener) = http::listen("::1", 0) else {
        eprintln!("SKIPPED ipv6_works_too: no ::1 on this machine");
        return;
    };
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(Stop::new());
    let on_stop = Arc::clone(&stop);
    let server = Background::spawn(
        move || on_stop.stop(),
        move || http::serve(&listener, &stop, |_| {}).unwrap(),
    );
    assert_eq!(client(addr).get("/").unwrap().status, 200);
    assert_eq!(server.stop().requests, 1);
}
