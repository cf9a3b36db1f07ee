//! The HTTP chapter: what `http1_health` and `http2_rate_limit` need
//! besides their lesson, and their checks.
//!
//! [`start`] runs a small HTTP server on 127.0.0.1 (port 0) that hands each
//! request to a function of the exercise and sends back its [`Reply`], one
//! request per connection. [`get`] is the client.
//!
//! - For `http1_health`: the article's `do_GET`, [`do_get`], and the checks
//!   [`check_health`] and [`check_other_paths`].
//! - For `http2_rate_limit`: the token [`Bucket`], a server that gives each
//!   client address one, [`start_limited`], and the checks
//!   [`check_bursts_then_refills`] and [`check_server_answers_429`].

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::net::{LOOPBACK, TIMEOUT, within};

/// The most of a request the server reads: plenty for the checks.
const MAX_REQUEST: u64 = 64 * 1024;

/// A request, as the server hands it to an exercise.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The target as sent: `/items?x=1`.
    pub target: String,
    /// Who sent it.
    pub client: IpAddr,
}

/// What an exercise answers: a status and a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code: 200, 429, ...
    pub status: u16,
    /// The body, JSON text.
    pub body: String,
}

impl Reply {
    /// A reply with `status` and the JSON text `body`.
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_string(),
        }
    }
}

/// A function that answers requests, as the exercises write it.
pub type HandleFn = fn(&Request) -> Reply;

/// The article's `do_GET`, without the timestamp (so the checks can
/// compare answers): `{"method": "GET", "path": "/items", "query_params":
/// {"x": ["1", "2"]}}`. (Percent escapes are left alone here;
/// `crates/http/src/query.rs` decodes them as Python does.)
pub fn do_get(target: &str) -> Reply {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut params: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in query.split('&').filter_map(|field| field.split_once('=')) {
        if value.is_empty() {
            continue;
        }
        match params.iter_mut().find(|(key, _)| key == name) {
            Some((_, values)) => values.push(value.to_string()),
            None => params.push((name.to_string(), vec![value.to_string()])),
        }
    }
    let params: Vec<String> = params
        .iter()
        .map(|(name, values)| {
            let values: Vec<String> = values.iter().map(|v| json_string(v)).collect();
            format!("{}: [{}]", json_string(name), values.join(", "))
        })
        .collect();
    Reply::new(
        200,
        &format!(
            r#"{{"method": "GET", "path": {}, "query_params": {{{}}}}}"#,
            json_string(path),
            params.join(", ")
        ),
    )
}

fn json_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A server running an exercise's function; stopped when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, TIMEOUT);
    }
}

/// Starts a server on 127.0.0.1 (port 0) that answers every request with
/// `handle`, a thread per connection.
pub fn start(handle: HandleFn) -> io::Result<Server> {
    serve(move |request| (handle(&request), Vec::new()))
}

fn serve(
    handle: impl Fn(Request) -> (Reply, Vec<String>) + Send + Sync + 'static,
) -> io::Result<Server> {
    let listener = TcpListener::bind(LOOPBACK)?;
    let server = Server {
        addr: listener.local_addr()?,
        stop: Arc::default(),
    };
    let stop = Arc::clone(&server.stop);
    let handle = Arc::new(handle);
    thread::spawn(move || {
        for stream in listener.incoming() {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let Ok(stream) = stream else { continue };
            let handle = Arc::clone(&handle);
            // An error ends that connection only: the client sees it closed.
            thread::spawn(move || answer(stream, &*handle));
        }
    });
    Ok(server)
}

/// Reads one request, answers it with `handle`, closes.
fn answer(
    mut stream: TcpStream,
    handle: &dyn Fn(Request) -> (Reply, Vec<String>),
) -> io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let client = stream.peer_addr()?.ip();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && (head.len() as u64) < MAX_REQUEST {
        if (&stream).read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut words = head.split(' ');
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return Ok(());
    };
    let request = Request {
        method: method.to_string(),
        target: target.to_string(),
        client,
    };
    let (reply, headers) = handle(request);
    let mut response = format!(
        "HTTP/1.1 {} \r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for header in headers {
        response.push_str(&header);
        response.push_str("\r\n");
    }
    response.push_str("\r\n");
    response.push_str(&reply.body);
    stream.write_all(response.as_bytes())
}

/// `GET target` on a new connection: the status and the body.
pub fn get(addr: SocketAddr, target: &str) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    (&mut stream)
        .take(MAX_REQUEST)
        .read_to_string(&mut answer)?;
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no status line"))?;
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Ok((status, body.to_string()))
}

/// JSON text without its spaces, so `{"status": "ok"}` and
/// `{"status":"ok"}` compare equal.
fn compact(json: &str) -> String {
    json.split_whitespace().collect()
}

/// http1: `/health`, with or without a query string, is 200 and
/// `{"status": "ok"}`.
#[track_caller]
pub fn check_health(route: HandleFn) {
    let server = start(route).unwrap();
    for target in ["/health", "/health?verbose=1", "/health?"] {
        let addr = server.addr();
        let (status, body) = within(TIMEOUT, "route", move || get(addr, target)).unwrap();
        assert_eq!(
            status, 200,
            "GET {target} must be answered 200, got {status} {body}"
        );
        assert_eq!(
            compact(&body),
            r#"{"status":"ok"}"#,
            "GET {target} must be answered {{\"status\": \"ok\"}}, got {body}"
        );
    }
}

/// http1: every other path still gets the article's answer, paths that
/// only start like `/health` included.
#[track_caller]
pub fn check_other_paths(route: HandleFn) {
    let server = start(route).unwrap();
    for target in [
        "/items?x=1&x=2",
        "/",
        "/healthz",
        "/health/x",
        "/status?check=/health",
    ] {
        let addr = server.addr();
        let (status, body) = within(TIMEOUT, "route", move || get(addr, target)).unwrap();
        let expected = do_get(target);
        assert_eq!(
            (status, body.as_str()),
            (expected.status, expected.body.as_str()),
            "GET {target} is not the health check: it must get the article's answer"
        );
    }
}

/// A token bucket: at most `capacity` tokens, `per_second` more each
/// second, `tokens` of them left when it was last looked at, `at`.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    /// The most tokens it holds: the longest burst allowed.
    pub capacity: f64,
    /// Tokens gained per second: the rate allowed.
    pub per_second: f64,
    /// Tokens left at `at`.
    pub tokens: f64,
    /// When `tokens` was last brought up to date.
    pub at: Instant,
}

impl Bucket {
    /// A full bucket for `per_second` requests a second, in bursts of as
    /// many.
    pub fn full(per_second: f64, now: Instant) -> Self {
        Self {
            capacity: per_second,
            per_second,
            tokens: per_second,
            at: now,
        }
    }
}

/// A `try_take` function as `http2_rate_limit` writes it.
pub type TakeFn = fn(&mut Bucket, Instant) -> bool;

/// How many of `n` takes at `now` succeed.
fn takes(try_take: TakeFn, bucket: &mut Bucket, now: Instant, n: usize) -> usize {
    (0..n).filter(|_| try_take(bucket, now)).count()
}

/// http2: a burst up to the capacity, then one token per `1/per_second`,
/// never more than the capacity however long the pause; checked with a
/// clock the check moves itself.
#[track_caller]
pub fn check_bursts_then_refills(try_take: TakeFn) {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let mut bucket = Bucket::full(5.0, start);
    let burst = takes(try_take, &mut bucket, at(0), 10);
    assert_eq!(
        burst, 5,
        "a full bucket of 5 must allow a burst of 5 requests, not {burst}"
    );
    let later = takes(try_take, &mut bucket, at(200), 10);
    assert_eq!(
        later, 1,
        "0.2 s at 5 a second brings back one token; {later} requests were allowed"
    );
    let half = takes(try_take, &mut bucket, at(300), 10);
    assert_eq!(
        half, 0,
        "0.1 s later there is only half a token; {half} requests were allowed"
    );
    let whole = takes(try_take, &mut bucket, at(400), 10);
    assert_eq!(
        whole, 1,
        "the half tokens add up to one after 0.2 s; {whole} requests were allowed"
    );
    let rested = takes(try_take, &mut bucket, at(60_000), 100);
    assert_eq!(
        rested, 5,
        "a minute's rest fills the bucket to its capacity of 5, no more; {rested} allowed"
    );
}

/// Starts a server that gives each client address a [`Bucket`] of
/// `per_second` and answers `429 Too Many Requests` (with `Retry-After`)
/// when `try_take` says no, the article's answer otherwise.
pub fn start_limited(try_take: TakeFn, per_second: f64) -> io::Result<Server> {
    let buckets: Mutex<HashMap<IpAddr, Bucket>> = Mutex::new(HashMap::new());
    serve(move |request| {
        let now = Instant::now();
        let allowed = {
            let mut buckets = buckets.lock().unwrap_or_else(|p| p.into_inner());
            let bucket = buckets
                .entry(request.client)
                .or_insert_with(|| Bucket::full(per_second, now));
            try_take(bucket, now)
        };
        if allowed {
            (do_get(&request.target), Vec::new())
        } else {
            let reply = Reply::new(
                429,
                r#"{"status": "error", "message": "Too many requests"}"#,
            );
            (reply, vec!["Retry-After: 1".to_string()])
        }
    })
}

/// http2: through a real server, 5 a second: a burst of 10 requests gets
/// its first 5 answered and a 429 after them, and a little later one more
/// request is answered.
#[track_caller]
pub fn check_server_answers_429(try_take: TakeFn) {
    let server = start_limited(try_take, 5.0).unwrap();
    let addr = server.addr();
    let statuses = within(TIMEOUT, "try_take", move || {
        (0..10)
            .map(|_| get(addr, "/").map(|(status, _)| status))
            .collect::<io::Result<Vec<u16>>>()
    })
    .unwrap();
    assert_eq!(
        statuses[..5],
        [200; 5],
        "a full bucket of 5: the first 5 requests must be answered: {statuses:?}"
    );
    assert!(
        statuses[5..].contains(&429),
        "5 a second, and 10 requests at once: some of the last 5 must be refused with 429: {statuses:?}"
    );
    thread::sleep(Duration::from_millis(250));
    let (status, _) = get(addr, "/").unwrap();
    assert_eq!(
        status, 200,
        "0.25 s later a token is back: the next request must be answered"
    );
}
