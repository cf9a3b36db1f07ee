//! The bad clients: each one a thing a real network does to a server
//! sooner or later, bounded in time (every socket call has a timeout, and
//! every loop ends with the run) and in number (a few threads of each).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use socket2::SockRef;

use crate::Protocol;

/// How long a bad client waits for a connect, and for a read or a write
/// when it has nothing better to do than give up.
const PATIENCE: Duration = Duration::from_secs(2);
/// The trickling client's pace: one byte every 100 ms, well inside every
/// server's idle timeout, so only a limit on a connection's *total* time
/// (or on how long a request may take to arrive) ends it.
const TRICKLE_EVERY: Duration = Duration::from_millis(100);
/// How much the oversized client sends at most: far more than any server
/// here should hold in memory.
const OVERSIZED: usize = 64 * 1024 * 1024;
/// The fast bad clients (garbage, reset, vanish) pause this long between
/// connections, so they stress the server rather than the kernel's table of
/// closed connections.
const FAST_PAUSE: Duration = Duration::from_millis(50);

/// One kind of bad client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// Connects and sends nothing, until the server closes the connection
    /// or the run ends.
    Idle,
    /// Sends one byte every 100 ms, for as long as the server lets it
    /// (for http-server, a request head that never ends: slowloris).
    Trickle,
    /// Sends random bytes (for http-server, malformed requests), half-closes
    /// and reads what comes back.
    Garbage,
    /// Sends up to 64 MiB without reading a byte of the reply (for
    /// http-server: a 1 MiB header, an absurd `Content-Length`, a 64 MiB
    /// body).
    Oversized,
    /// Sends part or all of a request, then resets the connection (SO_LINGER
    /// 0, then close: an RST, not a FIN) without reading the reply.
    Reset,
    /// Connects and closes at once, or half-closes without a word and goes.
    Vanish,
    /// UDP: bursts of random datagrams, empty ones included, from one
    /// socket that never reads its ACKs.
    Datagrams,
    /// UDP: bursts of the largest datagrams IPv4 can carry (65,507 bytes).
    Jumbo,
    /// UDP: one socket sending as fast as it can for half a second, then
    /// resting half a second.
    Flood,
    /// UDP: a new socket (a new source port, across 127.0.0.1-127.0.0.254)
    /// for every datagram: many sources for the reply limiter to track.
    ManySources,
}

impl Bad {
    /// The bad clients for a server speaking `protocol`, with how many of
    /// each run at once. The serial server gets one of each: it serves one
    /// client at a time, so every bad client is a wait for the good ones.
    pub fn mix(protocol: Protocol, serial: bool) -> Vec<(Bad, usize)> {
        use Bad::*;
        match protocol {
            Protocol::Datagram => vec![(Datagrams, 1), (Jumbo, 1), (Flood, 1), (ManySources, 1)],
            _ if serial => [Idle, Trickle, Garbage, Oversized, Reset, Vanish]
                .map(|bad| (bad, 1))
                .to_vec(),
            _ => vec![
                (Idle, 4),
                (Trickle, 2),
                (Garbage, 1),
                (Oversized, 1),
                (Reset, 1),
                (Vanish, 1),
            ],
        }
    }

    /// Whether this kind's interesting figure is how long the server let
    /// it stay (idle and trickling clients).
    pub fn is_slow(self) -> bool {
        matches!(self, Bad::Idle | Bad::Trickle)
    }
}

/// What one bad client saw.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Clients it stands for (a UDP burst of new sockets is many).
    pub clients: u64,
    /// How long it was connected.
    pub held: Duration,
    /// True if the server ended it (closed or reset the connection); false
    /// if the client gave up first.
    pub cut: bool,
}

impl Outcome {
    fn one(started: Instant, cut: bool) -> Self {
        Outcome {
            clients: 1,
            held: started.elapsed(),
            cut,
        }
    }
}

/// Runs one bad client of kind `bad` against `addr`; it ends by `end` at
/// the latest (plus one socket timeout). `None` if it could not connect.
pub fn once(
    bad: Bad,
    protocol: Protocol,
    addr: SocketAddr,
    end: Instant,
    rng: &mut Rng,
) -> Option<Outcome> {
    let http = protocol == Protocol::Http;
    match bad {
        Bad::Datagrams => return Some(datagrams(addr, rng)),
        Bad::Jumbo => return Some(jumbo(addr)),
        Bad::Flood => return Some(flood(addr, end)),
        Bad::ManySources => return Some(many_sources(addr, rng)),
        _ => {}
    }
    let mut stream = TcpStream::connect_timeout(&addr, PATIENCE).ok()?;
    let started = Instant::now();
    let _ = stream.set_read_timeout(Some(PATIENCE));
    let _ = stream.set_write_timeout(Some(PATIENCE));
    let outcome = match bad {
        Bad::Idle => idle(&mut stream, started, end),
        Bad::Trickle => trickle(&mut stream, started, end, http),
        Bad::Garbage => {
            let request = if http {
                malformed_request(rng)
            } else {
                rng.bytes(4096)
            };
            let _ = stream.write_all(&request);
            let _ = stream.shutdown(Shutdown::Write);
            let cut = drain(&mut stream, end);
            thread::sleep(FAST_PAUSE);
            Outcome::one(started, cut)
        }
        Bad::Oversized => oversized(&mut stream, started, end, http, rng),
        Bad::Reset => {
            let request: &[u8] = match (http, rng.below(2)) {
                (true, 0) => b"GET /items HTT",
                (true, _) => b"GET /items?x=1 HTTP/1.1\r\nHost: soak\r\n\r\n",
                (false, 0) => b"Hello, Ser",
                (false, _) => tcp::DEFAULT_MESSAGE.as_bytes(),
            };
            let _ = stream.write_all(request);
            // A linger time of zero: the close below sends RST.
            let _ = SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            drop(stream);
            thread::sleep(FAST_PAUSE);
            Outcome::one(started, false)
        }
        Bad::Vanish => {
            if rng.below(2) == 0 {
                let _ = stream.shutdown(Shutdown::Write);
            }
            drop(stream);
            thread::sleep(FAST_PAUSE);
            Outcome::one(started, false)
        }
        _ => unreachable!("UDP kinds returned above"),
    };
    Some(outcome)
}

/// Waits, silent, for the server to close; true if it did before `end`.
fn idle(stream: &mut TcpStream, started: Instant, end: Instant) -> Outcome {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        match stream.read(&mut buf) {
            Ok(0) => return Outcome::one(started, true),
            // Something came (an http-server's 408): keep reading.
            Ok(_) => {}
            Err(e) if tcp::is_timeout(&e) => {}
            Err(_) => return Outcome::one(started, true),
        }
    }
    Outcome::one(started, false)
}

/// A byte every [`TRICKLE_EVERY`], reading whatever comes back, until the
/// server ends it or the run ends.
fn trickle(stream: &mut TcpStream, started: Instant, end: Instant, http: bool) -> Outcome {
    const SLOWLORIS: &[u8] = b"GET /items HTTP/1.1\r\nHost: soak\r\nX-Slowloris: ";
    let _ = stream.set_read_timeout(Some(TRICKLE_EVERY));
    let mut buf = [0u8; 4096];
    let mut sent = 0usize;
    while Instant::now() < end {
        let byte = match SLOWLORIS.get(sent) {
            Some(&b) if http => b,
            _ => b'x',
        };
        if stream.write_all(&[byte]).is_err() {
            return Outcome::one(started, true);
        }
        sent += 1;
        match stream.read(&mut buf) {
            Ok(0) => return Outcome::one(started, true),
            Ok(_) => {}
            Err(e) if tcp::is_timeout(&e) => {}
            Err(_) => return Outcome::one(started, true),
        }
    }
    Outcome::one(started, false)
}

/// Sends far too much without reading; for http-server, one of the three
/// ways a request can be too big.
fn oversized(
    stream: &mut TcpStream,
    started: Instant,
    end: Instant,
    http: bool,
    rng: &mut Rng,
) -> Outcome {
    let head: Vec<u8> = match (http, rng.below(3)) {
        (false, _) => Vec::new(),
        (true, 0) => b"GET /items HTTP/1.1\r\nHost: soak\r\nX-Big: ".to_vec(),
        (true, 1) => {
            b"POST /items HTTP/1.1\r\nHost: soak\r\nContent-Length: 99999999999999999999\r\n\r\n"
                .to_vec()
        }
        (true, _) => format!(
            "POST /items HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: {OVERSIZED}\r\n\r\n"
        )
        .into_bytes(),
    };
    let chunk = vec![b'a'; 1024 * 1024];
    let mut cut = stream.write_all(&head).is_err();
    let mut sent = 0;
    while !cut && sent < OVERSIZED && Instant::now() < end {
        match stream.write_all(&chunk) {
            Ok(()) => sent += chunk.len(),
            // Our write timed out: the server stopped reading. Give up.
            Err(e) if tcp::is_timeout(&e) => break,
            Err(_) => cut = true,
        }
    }
    if http {
        // It answers 413 or 431 and closes; read that much.
        cut |= drain(stream, end);
    }
    Outcome::one(started, cut)
}

/// Reads until the server closes, for [`PATIENCE`] at most and no later
/// than `end`; true if the server closed (or reset).
fn drain(stream: &mut TcpStream, end: Instant) -> bool {
    let give_up = (Instant::now() + PATIENCE).min(end);
    let mut buf = [0u8; 16 * 1024];
    while Instant::now() < give_up {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if tcp::is_timeout(&e) => return false,
            Err(_) => return true,
        }
    }
    false
}

/// A request line or head that no server should accept.
fn malformed_request(rng: &mut Rng) -> Vec<u8> {
    const BAD: [&[u8]; 8] = [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET /items HTTP/1.1\r\nHost: soak\r\nNo colon here\r\n\r\n",
        b"POST /items HTTP/1.1\r\nHost: soak\r\nContent-Length: -5\r\n\r\n",
        b"POST /items HTTP/1.1\r\nHost: soak\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"POST /items HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nzz\r\n",
        b"POST /items HTTP/1.1\r\nHost: soak\r\nContent-Length: 10\r\n\r\n{not json}",
    ];
    match rng.below(BAD.len() as u64 + 1) as usize {
        // And random bytes, with the end of a head so they are read whole.
        n if n == BAD.len() => {
            let mut bytes = rng.bytes(512);
            bytes.extend_from_slice(b"\r\n\r\n");
            bytes
        }
        n => BAD[n].to_vec(),
    }
}

/// A socket for the UDP bad clients, on `source` and a port the OS picks.
fn udp_socket(source: Ipv4Addr) -> Option<UdpSocket> {
    UdpSocket::bind((source, 0)).ok()
}

fn datagrams(addr: SocketAddr, rng: &mut Rng) -> Outcome {
    let started = Instant::now();
    if let Some(socket) = udp_socket(Ipv4Addr::LOCALHOST) {
        for _ in 0..100 {
            let len = rng.below(1473) as usize;
            let _ = socket.send_to(&rng.bytes(len), addr);
        }
    }
    thread::sleep(Duration::from_millis(100));
    Outcome::one(started, false)
}

fn jumbo(addr: SocketAddr) -> Outcome {
    let started = Instant::now();
    if let Some(socket) = udp_socket(Ipv4Addr::LOCALHOST) {
        let datagram = vec![b'j'; udp::MAX_IPV4_PAYLOAD];
        for _ in 0..20 {
            let _ = socket.send_to(&datagram, addr);
        }
    }
    thread::sleep(Duration::from_millis(100));
    Outcome::one(started, false)
}

fn flood(addr: SocketAddr, end: Instant) -> Outcome {
    let started = Instant::now();
    if let Some(socket) = udp_socket(Ipv4Addr::LOCALHOST) {
        let stop = (started + Duration::from_millis(500)).min(end);
        while Instant::now() < stop {
            for _ in 0..100 {
                let _ = socket.send_to(b"flood", addr);
            }
        }
    }
    thread::sleep(Duration::from_millis(500));
    Outcome::one(started, false)
}

fn many_sources(addr: SocketAddr, rng: &mut Rng) -> Outcome {
    let started = Instant::now();
    let mut clients = 0;
    for _ in 0..200 {
        let source = Ipv4Addr::new(127, 0, 0, 1 + rng.below(254) as u8);
        if let Some(socket) = udp_socket(source) {
            let _ = socket.send_to(b"many sources", addr);
            clients += 1;
        }
    }
    thread::sleep(Duration::from_millis(100));
    Outcome {
        clients,
        held: started.elapsed(),
        cut: false,
    }
}

/// A thousand at once: `count` connections opened together from eight
/// threads, held until all are open (or a few seconds have passed), then
/// closed together. Returns how many connected.
pub fn storm(addr: SocketAddr, count: usize) -> u64 {
    const THREADS: usize = 8;
    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|i| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let share = count / THREADS + usize::from(i < count % THREADS);
                    let deadline = Instant::now() + Duration::from_secs(5);
                    let mut open = Vec::with_capacity(share);
                    for _ in 0..share {
                        if Instant::now() >= deadline {
                            break;
                        }
                        if let Ok(stream) = TcpStream::connect_timeout(&addr, PATIENCE) {
                            open.push(stream);
                        }
                    }
                    let connected = open.len() as u64;
                    // Everyone open at once, then everyone gone at once.
                    barrier.wait();
                    drop(open);
                    connected
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    })
}

/// Random bytes for garbage: xorshift64, seeded from the clock. Nothing
/// here needs more than bytes a server cannot predict.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from the clock and `salt` (each thread its own).
    pub fn new(salt: u64) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng((nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
