//! The proxy chapter: what `proxy1_allow_list` and `proxy2_byte_cap` need
//! besides their lesson, and their checks.
//!
//! - For `proxy1_allow_list`: [`Network`] (an IPv4 network, as in
//!   `127.0.0.0/8`), a one-connection proxy that asks the learner's
//!   `allowed` before it forwards anyone ([`proxy_once`]), and the checks
//!   [`check_addresses`] and [`check_strangers_are_closed`].
//! - For `proxy2_byte_cap`: [`StingyWriter`], which takes a few bytes per
//!   `write` as a busy socket may, and the checks
//!   [`check_forwards_every_byte`], [`check_stops_at_the_cap`] and
//!   [`check_caps_a_real_connection`].

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::net::{self, ChoppyReader, LOOPBACK, TIMEOUT, show, within};

/// An IPv4 network: its address and prefix length, `(10.0.0.0, 8)` for
/// `10.0.0.0/8`.
pub type Network = (Ipv4Addr, u8);

/// `allowed` of proxy1: whether a client at `ip` is on the allow-list.
pub type AllowedFn = fn(IpAddr, &[Network]) -> bool;

/// `forward` of proxy2: copies `from` to `to`, at most `cap` bytes, and
/// says how many it forwarded.
pub type ForwardFn = fn(&mut dyn Read, &mut dyn Write, u64) -> io::Result<u64>;

/// proxy1: the allow-list, address by address.
#[track_caller]
pub fn check_addresses(allowed: AllowedFn) {
    let net = |a, b, c, d, prefix| (Ipv4Addr::new(a, b, c, d), prefix);
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let cases: [(IpAddr, Vec<Network>, bool, &str); 11] = [
        (
            v4(127, 0, 0, 1),
            vec![net(127, 0, 0, 0, 8)],
            true,
            "loopback is in 127.0.0.0/8",
        ),
        (
            v4(127, 0, 0, 1),
            vec![],
            false,
            "an empty list allows nobody",
        ),
        (
            v4(127, 0, 0, 1),
            vec![net(10, 0, 0, 0, 8)],
            false,
            "127.0.0.1 is not in 10.0.0.0/8",
        ),
        (
            v4(10, 1, 2, 3),
            vec![net(192, 168, 0, 0, 16), net(10, 0, 0, 0, 8)],
            true,
            "any network of the list will do",
        ),
        (
            v4(11, 0, 0, 1),
            vec![net(10, 0, 0, 0, 8)],
            false,
            "11.0.0.1 is not in 10.0.0.0/8",
        ),
        (
            v4(192, 168, 1, 77),
            vec![net(192, 168, 1, 64, 26)],
            true,
            "192.168.1.64/26 runs from .64 to .127",
        ),
        (
            v4(192, 168, 1, 128),
            vec![net(192, 168, 1, 64, 26)],
            false,
            "192.168.1.64/26 ends at .127",
        ),
        (
            v4(203, 0, 113, 9),
            vec![net(203, 0, 113, 9, 32)],
            true,
            "a /32 is one address",
        ),
        (
            v4(203, 0, 113, 9),
            vec![net(0, 0, 0, 0, 0)],
            true,
            "0.0.0.0/0 is everyone (a shift by 32 bits overflows a u32)",
        ),
        (
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            vec![net(127, 0, 0, 0, 8)],
            false,
            "::1 is IPv6, on no IPv4 list",
        ),
        (
            IpAddr::V6(Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped()),
            vec![net(127, 0, 0, 0, 8)],
            true,
            "::ffff:127.0.0.1 is 127.0.0.1 seen by an IPv6 socket",
        ),
    ];
    for (ip, allow, expected, why) in cases {
        let list: Vec<String> = allow.iter().map(|(a, p)| format!("{a}/{p}")).collect();
        let got = within(TIMEOUT, "allowed", move || allowed(ip, &allow));
        assert_eq!(
            got,
            expected,
            "allowed({ip}, [{}]) should be {expected}: {why}",
            list.join(", ")
        );
    }
}

/// proxy1: through a proxy that asks `allowed`, a client not on the list
/// is closed at once, before the proxy connects anywhere for it; a client
/// on the list gets its echo.
#[track_caller]
pub fn check_strangers_are_closed(allowed: AllowedFn) {
    let (target, connections) = echo_server().expect("cannot bind 127.0.0.1");
    let strangers_only = [(Ipv4Addr::new(10, 0, 0, 0), 8)];
    let proxy = proxy_once(allowed, &strangers_only, target).expect("cannot bind 127.0.0.1");
    let started = Instant::now();
    let reply = net::connect(proxy).and_then(|mut client| {
        client.write_all(b"let me in")?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).map(|_| reply)
    });
    match reply {
        Ok(reply) => assert!(
            reply.is_empty(),
            "a client at 127.0.0.1 got {} through a proxy that allows only 10.0.0.0/8",
            show(&reply)
        ),
        Err(e) => assert!(
            !net::is_timeout(&e),
            "the refused client was left waiting: close it"
        ),
    }
    assert!(
        started.elapsed() < REFUSAL_TIME,
        "closing the refused client took {:?}: refuse before doing anything else",
        started.elapsed()
    );
    assert_eq!(
        connections.try_iter().count(),
        0,
        "the proxy connected to the target for a client it should have refused"
    );

    let friends = [(Ipv4Addr::new(127, 0, 0, 0), 8)];
    let proxy = proxy_once(allowed, &friends, target).expect("cannot bind 127.0.0.1");
    let reply = crate::tcp::request(proxy, b"Hello, Server!");
    assert_eq!(
        reply.ok().as_deref(),
        Some(&b"Hello, Server!"[..]),
        "a client at 127.0.0.1, on the list as 127.0.0.0/8, got no echo through the proxy"
    );
}

/// A proxy for one client on 127.0.0.1, port 0: it accepts, asks
/// `allowed` about the client's address, and either closes the client at
/// once or forwards it to `target` both ways. Returns where it listens.
pub fn proxy_once(
    allowed: AllowedFn,
    allow: &[Network],
    target: SocketAddr,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(LOOPBACK)?;
    let addr = listener.local_addr()?;
    let allow = allow.to_vec();
    thread::spawn(move || {
        let Ok((client, peer)) = listener.accept() else {
            return;
        };
        if !allowed(peer.ip(), &allow) {
            return; // dropping `client` closes it
        }
        let Ok(server) = net::connect(target) else {
            return;
        };
        let _ = forward_both_ways(client, server, |from, to| io::copy(from, to).map(drop));
    });
    Ok(addr)
}

/// Forwards `client` and `server` both ways with `copy`, passing each end
/// of stream on (a half-close), until both directions are done.
fn forward_both_ways(
    client: TcpStream,
    server: TcpStream,
    copy: impl Fn(&mut TcpStream, &mut TcpStream) -> io::Result<()> + Send + Sync,
) -> io::Result<()> {
    let (mut client_reader, mut server_writer) = (client.try_clone()?, server.try_clone()?);
    let (mut server_reader, mut client_writer) = (server, client);
    thread::scope(|scope| {
        scope.spawn(|| {
            let _ = copy(&mut client_reader, &mut server_writer);
            let _ = server_writer.shutdown(Shutdown::Write);
        });
        let _ = copy(&mut server_reader, &mut client_writer);
        let _ = client_writer.shutdown(Shutdown::Write);
    });
    Ok(())
}

/// An echo server on 127.0.0.1, port 0: every byte back until the client's
/// end of stream, one thread per client. The receiver gets one message per
/// connection accepted.
fn echo_server() -> io::Result<(SocketAddr, mpsc::Receiver<()>)> {
    let listener = TcpListener::bind(LOOPBACK)?;
    let addr = listener.local_addr()?;
    let (accepted, connections) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            if accepted.send(()).is_err() {
                return;
            }
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(TIMEOUT));
                let mut reader = stream.try_clone()?;
                io::copy(&mut reader, &mut stream)?;
                stream.shutdown(Shutdown::Write)
            });
        }
    });
    Ok((addr, connections))
}

/// A writer that takes at most `most` bytes per `write`, as a socket whose
/// send buffer is nearly full does, and keeps what it was given.
pub struct StingyWriter {
    /// Everything written so far.
    pub written: Vec<u8>,
    most: usize,
}

impl StingyWriter {
    /// A writer that takes at most `most` (at least 1) bytes per call.
    pub fn new(most: usize) -> Self {
        Self {
            written: Vec::new(),
            most: most.max(1),
        }
    }
}

impl Write for StingyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(self.most);
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `size` bytes that differ from one position to the next, so a byte lost
/// or repeated shows.
pub fn data(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 % 251) as u8).collect()
}

/// proxy2: under the cap, every byte arrives, in order, however the reads
/// are cut and however little each write takes.
#[track_caller]
pub fn check_forwards_every_byte(forward: ForwardFn) {
    let sent = data(10_000);
    let mut from = ChoppyReader::from_bytes(&sent, &[1, 7, 300, 4093]);
    let (result, to) = within(TIMEOUT, "forward", move || {
        let mut to = StingyWriter::new(5);
        let result = forward(&mut from, &mut to, 1_000_000);
        (result, to)
    });
    assert!(
        to.written == sent,
        "the destination got {} of {}: a `write` may take only part of a chunk (here 5 bytes \
         at most), and the article's `send` loses the rest",
        show(&to.written),
        show(&sent)
    );
    assert_eq!(
        result.ok(),
        Some(10_000),
        "forward should return Ok(10000): every byte forwarded, under a cap of 1000000"
    );
}

/// proxy2: over the cap, exactly `cap` bytes arrive, the first ones.
#[track_caller]
pub fn check_stops_at_the_cap(forward: ForwardFn) {
    let sent = data(10_000);
    let mut from = ChoppyReader::from_bytes(&sent, &[1000, 3000]);
    let (result, to) = within(TIMEOUT, "forward", move || {
        let mut to = StingyWriter::new(4096);
        let result = forward(&mut from, &mut to, 1234);
        (result, to)
    });
    assert_eq!(
        result.ok(),
        Some(1234),
        "with a cap of 1234, forward should return Ok(1234)"
    );
    assert!(
        to.written == sent[..1234],
        "with a cap of 1234 the destination got {}: exactly the first 1234 bytes should \
         pass, even when the cap falls inside a chunk",
        show(&to.written)
    );
}

/// proxy2: a proxy whose two directions each run `forward` with a cap of
/// 2000 bytes: a client sending 5000 gets exactly 2000 to the server.
#[track_caller]
pub fn check_caps_a_real_connection(forward: ForwardFn) {
    let collector = TcpListener::bind(LOOPBACK).expect("cannot bind 127.0.0.1");
    let target = collector
        .local_addr()
        .expect("a bound listener has an address");
    let (got_tx, got) = mpsc::channel();
    thread::spawn(move || {
        let Ok((mut stream, _)) = collector.accept() else {
            return;
        };
        let _ = stream.set_read_timeout(Some(TIMEOUT));
        let mut received = Vec::new();
        let _ = stream.read_to_end(&mut received);
        let _ = got_tx.send(received);
    });
    let listener = TcpListener::bind(LOOPBACK).expect("cannot bind 127.0.0.1");
    let proxy = listener
        .local_addr()
        .expect("a bound listener has an address");
    thread::spawn(move || {
        let Ok((client, _)) = listener.accept() else {
            return;
        };
        let Ok(server) = net::connect(target) else {
            return;
        };
        let _ = forward_both_ways(client, server, move |from, to| {
            forward(from, to, 2000).map(drop)
        });
    });
    let sent = data(5000);
    let mut client = net::connect(proxy).expect("cannot connect to the proxy");
    let _ = client.write_all(&sent);
    let _ = client.shutdown(Shutdown::Write);
    let received = got
        .recv_timeout(TIMEOUT)
        .expect("the server behind the proxy never saw the end of the stream: does forward return once the cap is reached?");
    assert!(
        received == sent[..2000],
        "the server behind a proxy capped at 2000 bytes got {}",
        show(&received)
    );
}

/// How long [`check_strangers_are_closed`] allows for the refusal: the
/// right code closes at once.
pub const REFUSAL_TIME: Duration = Duration::from_secs(2);
