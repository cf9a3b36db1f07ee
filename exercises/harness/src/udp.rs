//! The UDP chapter: what `udp1_retry_backoff` needs besides its lesson, and
//! its checks.
//!
//! [`LossyServer`] is the article's UDP server on a bad line: it loses the
//! first datagrams it receives (or all of them), answers the rest with
//! `ACK: ` + data, and notes when each datagram arrived. From those times a
//! check sees how long the client waited before each resend:
//! [`check_answer_after_losses`] and [`check_gives_up`].

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::net::{LOOPBACK, TIMEOUT, is_timeout, show, within};

/// What the article's UDP server puts in front of the echoed datagram.
pub const ACK_PREFIX: &[u8] = b"ACK: ";

/// What the checks send, as the article's client does.
pub const MESSAGE: &[u8] = b"Hello, UDP Server!";

/// A `request_with_retry` function as `udp1_retry_backoff` writes it: send
/// on a socket connected to the server, return the reply.
pub type RequestFn = fn(&UdpSocket, &[u8]) -> io::Result<Vec<u8>>;

/// A `timeout_for` function: how long attempt `n` (0 = the first send)
/// waits for its reply; `None` once there are no attempts left.
pub type TimeoutForFn = fn(u32) -> Option<Duration>;

/// How often the server thread looks up from `recv` to see whether it should
/// stop.
const POLL: Duration = Duration::from_millis(20);

/// A server is stopped when dropped, and after this long in any case.
const LIFETIME: Duration = Duration::from_secs(60);

/// One datagram, as the server received it.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// When it arrived.
    pub at: Instant,
    /// What it carried.
    pub data: Vec<u8>,
}

/// The article's UDP server on a line that loses datagrams, on a thread of
/// its own. It stops when dropped.
pub struct LossyServer {
    addr: SocketAddr,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    stop: Arc<AtomicBool>,
}

impl LossyServer {
    /// Starts the server on 127.0.0.1 (port 0). It notes and ignores the
    /// first `drop_first` datagrams, as if they were lost on the way, and
    /// answers each later one with `ACK: ` + its data.
    pub fn start(drop_first: usize) -> io::Result<Self> {
        let socket = UdpSocket::bind(LOOPBACK)?;
        socket.set_read_timeout(Some(POLL))?;
        let server = LossyServer {
            addr: socket.local_addr()?,
            arrivals: Arc::default(),
            stop: Arc::default(),
        };
        let arrivals = Arc::clone(&server.arrivals);
        let stop = Arc::clone(&server.stop);
        thread::spawn(move || run(&socket, drop_first, &arrivals, &stop));
        Ok(server)
    }

    /// A server that receives and notes every datagram, and answers none.
    pub fn silent() -> io::Result<Self> {
        Self::start(usize::MAX)
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every datagram received so far, in order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals
            .lock()
            .expect("the server thread panicked")
            .clone()
    }
}

impl Drop for LossyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn run(socket: &UdpSocket, drop_first: usize, arrivals: &Mutex<Vec<Arrival>>, stop: &AtomicBool) {
    let started = Instant::now();
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) && started.elapsed() < LIFETIME {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let at = Instant::now();
                let data = buf[..n].to_vec();
                let seen = {
                    let mut arrivals = arrivals.lock().expect("a check panicked");
                    arrivals.push(Arrival { at, data });
                    arrivals.len()
                };
                if seen > drop_first {
                    // A reply that cannot be sent is one more lost datagram.
                    let _ = socket.send_to(&[ACK_PREFIX, &buf[..n]].concat(), from);
                }
            }
            Err(e) if is_timeout(&e) => {}
            // E.g. Windows reporting an earlier reply as unreachable: the
            // article's server would stop here; ours goes on, a little later.
            Err(_) => thread::sleep(POLL),
        }
    }
}

/// A UDP socket on 127.0.0.1 (port 0), `connect`ed to `server`: `send` and
/// `recv` then need no address, and the kernel drops datagrams from anyone
/// else.
pub fn client_for(server: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(LOOPBACK)?;
    socket.connect(server)?;
    Ok(socket)
}

/// The waits `timeout_for` allows, one per attempt, up to its first `None`
/// (and at most 32).
fn schedule(timeout_for: TimeoutForFn) -> Vec<Duration> {
    (0..32).map_while(timeout_for).collect()
}

/// Calls `request_with_retry` on a client of `server`, and returns its
/// result and what the server received, once that has settled.
#[track_caller]
fn run_client(
    request_with_retry: RequestFn,
    server: &LossyServer,
    waits: &[Duration],
) -> (io::Result<Vec<u8>>, Duration, Vec<Arrival>) {
    let socket = client_for(server.addr()).expect("cannot bind 127.0.0.1");
    let limit = waits.iter().sum::<Duration>() + TIMEOUT;
    let started = Instant::now();
    let result = within(limit, "request_with_retry", move || {
        request_with_retry(&socket, MESSAGE)
    });
    let elapsed = started.elapsed();
    // Every datagram sent is already in the server's receive buffer; give
    // its thread a moment to note them all.
    thread::sleep(POLL * 5);
    (result, elapsed, server.arrivals())
}

/// Checks how many datagrams arrived, that each is [`MESSAGE`], and that the
/// gap before each resend was about the wait `timeout_for` gives it: at
/// least three quarters of it (the server may note a datagram a little
/// late), at most twice it plus 150 ms (a busy machine).
#[track_caller]
fn check_arrivals(arrivals: &[Arrival], waits: &[Duration]) {
    assert_eq!(
        arrivals.len(),
        waits.len(),
        "the server received {} datagram(s); expected {}, one per attempt: send again \
         each time a wait for the reply times out, until timeout_for says no more",
        arrivals.len(),
        waits.len()
    );
    if let Some(other) = arrivals.iter().find(|a| a.data != MESSAGE) {
        panic!(
            "every attempt should send the same message, {}; one sent {}",
            show(MESSAGE),
            show(&other.data)
        );
    }
    let mut lines = Vec::new();
    let mut all_right = true;
    for (i, pair) in arrivals.windows(2).enumerate() {
        let gap = pair[1].at - pair[0].at;
        let wait = waits[i];
        let right = gap >= wait * 3 / 4 && gap <= wait * 2 + Duration::from_millis(150);
        all_right &= right;
        lines.push(format!(
            "  {} attempt {} came {gap:.0?} after attempt {}; timeout_for({i}) is {wait:?}",
            if right { "  " } else { "->" },
            i + 2,
            i + 1
        ));
    }
    assert!(
        all_right,
        "the waits between attempts are off (-> marks each one):\n{}\n\
         Before each resend, wait timeout_for(attempt) for the reply: it is the \
         socket's read timeout for that attempt.",
        lines.join("\n")
    );
}

/// Checks `udp1_retry_backoff`'s `request_with_retry` against a server that
/// loses the first 3 datagrams and answers the 4th: the reply must be
/// `ACK: Hello, UDP Server!`, after exactly 4 datagrams spaced by the first
/// 3 waits of `timeout_for`.
///
/// The article's client, which sends once, fails this: its one datagram is
/// lost, and it waits in vain.
#[track_caller]
pub fn check_answer_after_losses(request_with_retry: RequestFn, timeout_for: TimeoutForFn) {
    let waits = schedule(timeout_for);
    assert!(
        waits.len() >= 4,
        "this check loses 3 datagrams, so timeout_for must allow at least 4 attempts; \
         it allows {}",
        waits.len()
    );
    let server = LossyServer::start(3).expect("cannot bind 127.0.0.1");
    let (result, _, arrivals) = run_client(request_with_retry, &server, &waits);
    match result {
        Ok(reply) => assert_eq!(
            reply,
            [ACK_PREFIX, MESSAGE].concat(),
            "the reply should be the server's ACK"
        ),
        Err(e) => panic!(
            "the server loses the first 3 datagrams and answers the 4th; after sending \
             {} datagram(s), request_with_retry returned an error instead: {e} ({:?}).\n\
             UDP never resends by itself: when the wait times out, send again.",
            arrivals.len(),
            e.kind()
        ),
    }
    check_arrivals(&arrivals, &waits[..4]);
}

/// Checks that `udp1_retry_backoff`'s `request_with_retry` gives up on a
/// server that never answers: one datagram per wait `timeout_for` allows,
/// spaced by those waits, then a `TimedOut` error, no sooner than the waits
/// add up to.
#[track_caller]
pub fn check_gives_up(request_with_retry: RequestFn, timeout_for: TimeoutForFn) {
    let waits = schedule(timeout_for);
    let server = LossyServer::silent().expect("cannot bind 127.0.0.1");
    let (result, elapsed, arrivals) = run_client(request_with_retry, &server, &waits);
    check_arrivals(&arrivals, &waits);
    match result {
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
        Err(e) => panic!(
            "after the last attempt, give up with an io::ErrorKind::TimedOut error; \
             got {:?}: {e}",
            e.kind()
        ),
        Ok(reply) => panic!(
            "the server never answers, yet request_with_retry returned Ok({})",
            show(&reply)
        ),
    }
    let total: Duration = waits.iter().sum();
    assert!(
        elapsed >= total * 3 / 4,
        "giving up took {elapsed:.0?}; the {} waits add up to {total:?}: wait for the \
         last reply too before giving up",
        waits.len()
    );
}
