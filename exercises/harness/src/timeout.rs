//! The timeouts chapter: what `timeout1_deadline` and `timeout2_backoff`
//! need besides their lesson, and their checks.
//!
//! [`HttpServer`] plays one [`Behaviour`] for every connection: it answers,
//! says nothing, trickles a byte every 50 ms, or answers `503 Service
//! Unavailable` to the first connections and a real answer after. It notes
//! when each connection arrived, so a check sees how long a client paused
//! between its tries.
//!
//! - For `timeout1_deadline`: [`ask`] (connect and send the request), and
//!   the checks [`check_whole_answer`], [`check_trickle_ends_at_the_deadline`]
//!   and [`check_silence_ends_at_the_deadline`].
//! - For `timeout2_backoff`: [`request`] (a whole request by a deadline:
//!   `timeout1_deadline`'s lesson at full size), [`status`],
//!   [`random_fraction`], and the checks [`check_retries_until_answered`]
//!   and [`check_gives_up_by_the_deadline`].

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::net::{LOOPBACK, TIMEOUT, is_timeout, show};

/// What the checks' clients send: a whole HTTP/1.0 request.
pub const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";
/// The answer of a server that answers.
pub const ANSWER: &[u8] = b"HTTP/1.0 200 OK\r\n\r\nHello from the harness.\n";
/// The answer of an overloaded server: try again later.
pub const UNAVAILABLE: &[u8] = b"HTTP/1.0 503 Service Unavailable\r\n\r\n";
/// How often [`Behaviour::Trickle`] sends its byte: far more often than
/// any read timeout a check uses.
pub const TRICKLE_EVERY: Duration = Duration::from_millis(50);

/// How a server stops: when dropped, and after this long in any case.
const LIFETIME: Duration = Duration::from_secs(60);
/// How often a quiet connection looks up to see whether to stop.
const POLL: Duration = Duration::from_millis(20);

/// What [`HttpServer`] does with each connection, once it has read the
/// request.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// Sends [`ANSWER`] and closes.
    Answer,
    /// Says nothing, and keeps the connection open.
    Silent,
    /// Sends a byte every [`TRICKLE_EVERY`], for ever.
    Trickle,
    /// Sends [`UNAVAILABLE`] to this many connections, then [`ANSWER`].
    UnavailableFirst(usize),
}

/// A small HTTP server on 127.0.0.1 (port 0), a thread per connection,
/// stopped when dropped.
pub struct HttpServer {
    addr: SocketAddr,
    arrivals: Arc<Mutex<Vec<Instant>>>,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    /// Starts the server; it plays `behaviour` for every connection.
    pub fn start(behaviour: Behaviour) -> io::Result<Self> {
        let listener = TcpListener::bind(LOOPBACK)?;
        let server = HttpServer {
            addr: listener.local_addr()?,
            arrivals: Arc::default(),
            stop: Arc::default(),
        };
        let arrivals = Arc::clone(&server.arrivals);
        let stop = Arc::clone(&server.stop);
        thread::spawn(move || accept(&listener, behaviour, &arrivals, &stop));
        Ok(server)
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// When each connection so far arrived, in order.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.arrivals
            .lock()
            .expect("a server thread panicked")
            .clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, TIMEOUT);
    }
}

fn accept(
    listener: &TcpListener,
    behaviour: Behaviour,
    arrivals: &Mutex<Vec<Instant>>,
    stop: &Arc<AtomicBool>,
) {
    let started = Instant::now();
    for stream in listener.incoming() {
        if stop.load(Ordering::Relaxed) || started.elapsed() > LIFETIME {
            return;
        }
        let Ok(stream) = stream else { continue };
        let number = {
            let mut arrivals = arrivals.lock().expect("a check panicked");
            arrivals.push(Instant::now());
            arrivals.len()
        };
        let stop = Arc::clone(stop);
        // An error ends that connection only: the client sees it closed.
        thread::spawn(move || serve_one(stream, behaviour, number, &stop));
    }
}

/// Reads the request, then plays `behaviour` to connection `number` (1 =
/// the first).
fn serve_one(
    mut stream: TcpStream,
    behaviour: Behaviour,
    number: usize,
    stop: &AtomicBool,
) -> io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf)? {
            0 => return Ok(()),
            n => request.extend_from_slice(&buf[..n]),
        }
    }
    let started = Instant::now();
    let go_on = || !stop.load(Ordering::Relaxed) && started.elapsed() < LIFETIME;
    match behaviour {
        Behaviour::Answer => stream.write_all(ANSWER),
        Behaviour::UnavailableFirst(n) if number <= n => stream.write_all(UNAVAILABLE),
        Behaviour::UnavailableFirst(_) => stream.write_all(ANSWER),
        Behaviour::Silent => {
            // Until the client closes: a read of 0 bytes, or an error.
            stream.set_read_timeout(Some(POLL))?;
            while go_on() {
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Err(e) if !is_timeout(&e) => break,
                    _ => {}
                }
            }
            Ok(())
        }
        Behaviour::Trickle => {
            // Until a write fails: the client has gone.
            while go_on() && stream.write_all(b".").is_ok() {
                thread::sleep(TRICKLE_EVERY);
            }
            Ok(())
        }
    }
}

/// Connects to `addr` and sends [`REQUEST`]: the start of every request
/// the checks make. Gives up after [`TIMEOUT`].
pub fn ask(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.write_all(REQUEST)?;
    Ok(stream)
}

/// A whole request by `deadline`: connects to `addr`, sends [`REQUEST`],
/// and reads the answer until the server closes. Each step waits only for
/// the time left; once none is left, a `TimedOut` error. (The solution of
/// `timeout1_deadline`, at full size: `safe_request` in crates/timeout.)
pub fn request(addr: SocketAddr, deadline: Instant) -> io::Result<Vec<u8>> {
    let left = || {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the deadline passed",
            ))
        } else {
            Ok(left)
        }
    };
    let mut stream = TcpStream::connect_timeout(&addr, left()?)?;
    stream.set_write_timeout(Some(left()?))?;
    stream.write_all(REQUEST)?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        stream.set_read_timeout(Some(left()?))?;
        match stream.read(&mut buf) {
            Ok(0) => return Ok(answer),
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

/// The status code of an HTTP answer: `Some(503)` for [`UNAVAILABLE`].
pub fn status(answer: &[u8]) -> Option<u16> {
    let line = answer.split(|&b| b == b'\r').next()?;
    let code = std::str::from_utf8(line).ok()?.split(' ').nth(1)?;
    code.parse().ok()
}

/// A random number in `[0, 1)`, different on every call: the jitter.
pub fn random_fraction() -> f64 {
    // std has no random numbers, but every RandomState is seeded at
    // random, which is plenty for spreading pauses out.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(Instant::now().elapsed().subsec_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// A `read_until_close` function as `timeout1_deadline` writes it.
pub type ReadFn = fn(&mut TcpStream, Instant) -> io::Result<Vec<u8>>;

/// A `fetch_with_retries` function as `timeout2_backoff` writes it.
pub type FetchFn = fn(SocketAddr, Instant) -> io::Result<Vec<u8>>;

/// A `backoff` function: the pause before retry `n` (0 = the first),
/// before jitter.
pub type BackoffFn = fn(u32) -> Duration;

/// Runs `f` on a thread; its result and how long it took, or `None` if it
/// had not returned after `limit` (the thread is then left behind).
fn timed<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<(T, Duration)> {
    let (done, result) = mpsc::channel();
    let started = Instant::now();
    thread::spawn(move || {
        let _ = done.send(f());
    });
    let value = result.recv_timeout(limit).ok()?;
    Some((value, started.elapsed()))
}

/// Sends the request to a server playing `behaviour` and calls
/// `read_until_close` with a deadline `wait` from now.
#[track_caller]
fn read_from(
    read_until_close: ReadFn,
    behaviour: Behaviour,
    wait: Duration,
) -> Option<(io::Result<Vec<u8>>, Duration)> {
    let server = HttpServer::start(behaviour).expect("cannot bind 127.0.0.1");
    let mut stream = ask(server.addr()).expect("cannot reach the check's server");
    timed(wait + TIMEOUT / 2, move || {
        let _server = server;
        read_until_close(&mut stream, Instant::now() + wait)
    })
}

/// Checks `timeout1_deadline`'s `read_until_close` against a server that
/// answers and closes: every byte of [`ANSWER`], long before the deadline.
#[track_caller]
pub fn check_whole_answer(read_until_close: ReadFn) {
    let Some((result, _)) = read_from(read_until_close, Behaviour::Answer, TIMEOUT) else {
        panic!("read_until_close did not return, though the server answered and closed");
    };
    match result {
        Ok(answer) => assert!(
            answer == ANSWER,
            "read_until_close returned {}; the server sent {}",
            show(&answer),
            show(ANSWER)
        ),
        Err(e) => panic!("the server answered and closed, yet read_until_close failed: {e}"),
    }
}

/// The result a deadline must give: a `TimedOut` error, no sooner than
/// the deadline and no more than 0.4 s after it.
#[track_caller]
fn check_timed_out(outcome: Option<(io::Result<Vec<u8>>, Duration)>, wait: Duration, what: &str) {
    let Some((result, took)) = outcome else {
        panic!(
            "read_until_close was still reading from {what}, {:?} after a deadline {wait:?} \
             away. A timeout set once is a timeout for each read: give every read only \
             the time left until the deadline.",
            TIMEOUT / 2
        );
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
        Err(e) if is_timeout(&e) => panic!(
            "read_until_close failed with {:?} ({e}): that is a read timing out, not yet an \
             answer. Look at the clock: when the deadline has passed, fail with \
             io::ErrorKind::TimedOut",
            e.kind()
        ),
        Err(e) => panic!(
            "expected a TimedOut error from {what}, got {:?}: {e}",
            e.kind()
        ),
        Ok(bytes) => panic!(
            "{what} never closes, yet read_until_close returned Ok({})",
            show(&bytes)
        ),
    }
    assert!(
        took >= wait && took <= wait + Duration::from_millis(400),
        "read_until_close returned after {took:?}, with the deadline {wait:?} away: \
         end at the deadline, not before it and not long after"
    );
}

/// Checks `read_until_close` against a server that sends a byte every
/// 50 ms and never closes: a `TimedOut` error at the deadline, 0.5 s away.
/// The article's loop never returns here: no single read ever times out.
#[track_caller]
pub fn check_trickle_ends_at_the_deadline(read_until_close: ReadFn) {
    let wait = Duration::from_millis(500);
    let outcome = read_from(read_until_close, Behaviour::Trickle, wait);
    check_timed_out(outcome, wait, "a server that sends a byte every 50 ms");
}

/// Checks `read_until_close` against a server that says nothing: a
/// `TimedOut` error at the deadline, 0.5 s away.
#[track_caller]
pub fn check_silence_ends_at_the_deadline(read_until_close: ReadFn) {
    let wait = Duration::from_millis(500);
    let outcome = read_from(read_until_close, Behaviour::Silent, wait);
    check_timed_out(outcome, wait, "a server that says nothing");
}

/// Checks `timeout2_backoff`'s `fetch_with_retries` against a server that
/// answers 503 four times, then 200: the 200 answer, after exactly 5 tries,
/// with pauses that grow, are random, and never exceed `backoff`.
#[track_caller]
pub fn check_retries_until_answered(fetch_with_retries: FetchFn, backoff: BackoffFn) {
    let server = HttpServer::start(Behaviour::UnavailableFirst(4)).expect("cannot bind 127.0.0.1");
    let addr = server.addr();
    let deadline = Duration::from_secs(5);
    let outcome = timed(deadline + TIMEOUT, move || {
        fetch_with_retries(addr, Instant::now() + deadline)
    });
    let Some((result, _)) = outcome else {
        panic!("fetch_with_retries had not returned 5 s after its deadline");
    };
    let tries = server.arrivals();
    match result {
        Ok(answer) if answer == ANSWER => {}
        Ok(answer) if status(&answer) == Some(503) => panic!(
            "fetch_with_retries returned the 503 answer after {}: 503 means \
             \"try again later\", so pause and try again",
            plural_tries(tries.len())
        ),
        Ok(answer) => panic!("expected {}, got {}", show(ANSWER), show(&answer)),
        Err(e) => panic!(
            "the server answers 503 four times, then 200; after {} \
             fetch_with_retries failed instead: {e}",
            plural_tries(tries.len())
        ),
    }
    assert_eq!(
        tries.len(),
        5,
        "expected 5 tries: four 503s, then the answer"
    );
    let mut lines = Vec::new();
    let (mut too_long, mut all_whole, mut longest) = (false, true, Duration::ZERO);
    for (retry, pair) in tries.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let limit = backoff(retry as u32);
        too_long |= gap > limit + Duration::from_millis(250);
        all_whole &= gap >= limit.mul_f64(0.9);
        longest = longest.max(gap);
        lines.push(format!(
            "  retry {retry}: paused {gap:.0?}; backoff({retry}) is {limit:?}"
        ));
    }
    let lines = lines.join("\n");
    assert!(
        !too_long,
        "a pause was longer than its backoff:\n{lines}\nPause a random part of \
         backoff(retry): never more than it."
    );
    assert!(
        longest >= Duration::from_millis(5),
        "no pause between tries:\n{lines}\nAfter a 503, sleep before the next try."
    );
    assert!(
        !all_whole,
        "every pause was the whole backoff:\n{lines}\nAdd jitter: multiply the backoff \
         by random_fraction(), so that clients rejected together do not come back \
         together."
    );
}

/// Checks `fetch_with_retries` against a server that answers 503 for ever:
/// a `TimedOut` error by the deadline, 1 s away, after at least 2 tries.
/// Never a pause past the deadline.
#[track_caller]
pub fn check_gives_up_by_the_deadline(fetch_with_retries: FetchFn, backoff: BackoffFn) {
    let server =
        HttpServer::start(Behaviour::UnavailableFirst(usize::MAX)).expect("cannot bind 127.0.0.1");
    let addr = server.addr();
    let deadline = Duration::from_secs(1);
    let outcome = timed(deadline + TIMEOUT, move || {
        fetch_with_retries(addr, Instant::now() + deadline)
    });
    let Some((result, took)) = outcome else {
        panic!("fetch_with_retries had not returned 10 s after its deadline, 1 s away");
    };
    let tries = server.arrivals().len();
    match result {
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
        Err(e) => panic!(
            "when the deadline comes, give up with io::ErrorKind::TimedOut; got {:?}: {e}",
            e.kind()
        ),
        Ok(answer) => panic!(
            "the server only ever answers 503, yet fetch_with_retries returned Ok({}) \
             after {}",
            show(&answer),
            plural_tries(tries)
        ),
    }
    assert!(
        took <= deadline + Duration::from_millis(200),
        "fetch_with_retries gave up after {took:?}, with the deadline 1 s away: never \
         pause past the deadline"
    );
    assert!(
        tries >= 2,
        "only {} in 1 s: with backoff(0) = {:?}, there is time for more",
        plural_tries(tries),
        backoff(0)
    );
}

/// `1 try`, `5 tries`.
fn plural_tries(n: usize) -> String {
    if n == 1 {
        "1 try".to_string()
    } else {
        format!("{n} tries")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_size_request_answers_and_times_out() {
        let server = HttpServer::start(Behaviour::Answer).unwrap();
        let deadline = Instant::now() + TIMEOUT;
        assert_eq!(request(server.addr(), deadline).unwrap(), ANSWER);
        let trickle = HttpServer::start(Behaviour::Trickle).unwrap();
        let started = Instant::now();
        let err = request(trickle.addr(), started + Duration::from_millis(200)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn statuses_and_fractions() {
        assert_eq!(status(UNAVAILABLE), Some(503));
        assert_eq!(status(ANSWER), Some(200));
        assert_eq!(status(b"garbage"), None);
        let fractions: Vec<f64> = (0..100).map(|_| random_fraction()).collect();
        assert!(fractions.iter().all(|f| (0.0..1.0).contains(f)));
        assert!(fractions.iter().any(|f| *f < 0.5) && fractions.iter().any(|f| *f >= 0.5));
    }
}
