//! The chapter's library over real loopback sockets: the article's exchange,
//! IPv6, broadcast, and each bad datagram followed by a client the server
//! must still answer.
//!
//! Servers run on their own thread and are stopped through their stop
//! handle when the test ends, however it ends.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tcp::Stop;
use test_support::Background;
use udp::{Client, MAX_IPV4_PAYLOAD, MAX_IPV6_PAYLOAD, Summary};

/// A hang guard only: loopback answers in microseconds.
const PATIENCE: Duration = Duration::from_secs(5);

/// A server on its own thread; its log lines arrive on `log`. Stopped and
/// joined when dropped.
struct Server {
    addr: SocketAddr,
    log: Receiver<String>,
    running: Background<std::io::Result<Summary>>,
}

impl Server {
    fn stop(self) -> Summary {
        self.running.stop().unwrap()
    }
}

/// Serves `socket` on a background thread.
fn serve_on(socket: UdpSocket) -> Server {
    serve_limited(socket, udp::DEFAULT_MAX_REPLIES_PER_SECOND)
}

/// Serves `socket` on a background thread, answering at most
/// `max_replies_per_second` from each source.
fn serve_limited(socket: UdpSocket, max_replies_per_second: u32) -> Server {
    let addr = socket.local_addr().unwrap();
    let (tx, log) = mpsc::channel();
    let stop = Arc::new(Stop::new());
    let on_stop = Arc::clone(&stop);
    let running = Background::spawn(
        move || on_stop.stop(),
        move || {
            let tx = Mutex::new(tx);
            udp::serve_with_limit(&socket, &stop, max_replies_per_second, |event| {
                let _ = tx.lock().unwrap().send(event.to_string());
            })
        },
    );
    Server { addr, log, running }
}

/// Binds `addr` (port 0) and serves on a background thread.
fn start_server(addr: &str) -> Server {
    serve_on(udp::bind_server(addr.parse().unwrap(), false).unwrap())
}

fn next_line(log: &Receiver<String>) -> String {
    log.recv_timeout(PATIENCE)
        .expect("the server logged nothing")
}

fn ask(server: SocketAddr, message: &[u8]) -> Vec<u8> {
    Client::new(server, PATIENCE)
        .unwrap()
        .request(message)
        .unwrap()
        .to_vec()
}

/// The article's client, once more: proof the server is still serving.
fn assert_still_serving(server: SocketAddr) {
    assert_eq!(
        ask(server, b"Hello, UDP Server!"),
        b"ACK: Hello, UDP Server!"
    );
}

#[test]
fn article_exchange_gets_an_ack() {
    let server = start_server("127.0.0.1:0");
    let port = server.addr.port();
    let (from, reply) = udp::exchange("127.0.0.1", port, b"Hello, UDP Server!", PATIENCE).unwrap();

    assert_eq!(reply, b"ACK: Hello, UDP Server!");
    assert_eq!(from, SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    let line = next_line(&server.log);
    assert!(line.starts_with("Received from ('127.0.0.1', "), "{line}");
    assert!(line.ends_with("): b'Hello, UDP Server!'"), "{line}");
    // The stop's own wake-up datagram is not counted.
    let summary = server.stop();
    assert_eq!((summary.datagrams, summary.answered), (1, 1));
}

#[test]
fn a_datagram_from_the_servers_own_address_is_not_answered() {
    // A source address can be forged. One that names the server itself
    // would have the server answer its own ACKs, for ever. A clone of the
    // server's socket sends from exactly that address.
    let socket = udp::bind_server("127.0.0.1:0".parse().unwrap(), false).unwrap();
    let itself = socket.try_clone().unwrap();
    let server = serve_on(socket);
    itself.send_to(b"loop?", server.addr).unwrap();
    assert!(next_line(&server.log).ends_with(": b'loop?'"));
    let ignored = next_line(&server.log);
    assert!(
        ignored.starts_with("ignored a datagram from ('127.0.0.1', "),
        "{ignored}"
    );
    assert!(ignored.contains("this server itself"), "{ignored}");
    assert_still_serving(server.addr);
    let summary = server.stop();
    assert_eq!((summary.datagrams, summary.answered), (2, 1));
    assert_eq!((summary.refused, summary.dropped), (1, 0));
}

#[test]
fn ipv6_exchange_over_loopback() {
    let server = start_server("[::1]:0");
    let (from, reply) =
        udp::exchange("::1", server.addr.port(), b"Hello, UDP Server!", PATIENCE).unwrap();
    assert_eq!(reply, b"ACK: Hello, UDP Server!");
    assert_eq!(from, server.addr);
    assert!(next_line(&server.log).starts_with("Received from ('::1', "));
}

#[test]
fn empty_datagram_gets_a_bare_ack() {
    let server = start_server("127.0.0.1:0");
    assert_eq!(ask(server.addr, b""), b"ACK: ");
    assert!(next_line(&server.log).ends_with(": b''"));
    assert_still_serving(server.addr);
}

#[test]
fn datagram_longer_than_the_articles_buffer_is_not_cut() {
    let server = start_server("127.0.0.1:0");
    // Python's recvfrom(1024) would keep the first 1024 bytes of this.
    let message = vec![b'x'; 3 * udp::ARTICLE_RECV_BUFFER_SIZE];
    assert_eq!(ask(server.addr, &message), udp::expected_ack(&message));
}

#[test]
fn maximal_datagram_is_received_whole_and_its_ack_capped() {
    let server = start_server("127.0.0.1:0");
    let message: Vec<u8> = (0..MAX_IPV4_PAYLOAD).map(|i| (i % 251) as u8).collect();

    let reply = ask(server.addr, &message);

    // `ACK: ` + 65,507 bytes is 5 bytes too many for one IPv4 datagram:
    // the reply is cut to fit, and the server says so.
    assert_eq!(reply.len(), MAX_IPV4_PAYLOAD);
    assert_eq!(reply, udp::ack_reply(&message, MAX_IPV4_PAYLOAD));
    let received = next_line(&server.log);
    assert!(received.ends_with("... (65507 bytes)"), "{received}");
    let capped = next_line(&server.log);
    assert!(capped.contains("cut to 65507 bytes"), "{capped}");
    assert_still_serving(server.addr);
}

#[test]
fn maximal_ipv6_datagram_is_received_whole_and_its_ack_capped() {
    let server = start_server("[::1]:0");
    let message = vec![b'6'; MAX_IPV6_PAYLOAD];
    let reply = ask(server.addr, &message);
    assert_eq!(reply.len(), MAX_IPV6_PAYLOAD);
    assert!(reply.starts_with(b"ACK: 666"));
    assert!(next_line(&server.log).ends_with("(65527 bytes)"));
    assert_still_serving(server.addr);
}

#[test]
fn stray_datagram_does_not_confuse_the_client() {
    let server = start_server("127.0.0.1:0");
    let mut client = Client::new(server.addr, PATIENCE).unwrap();
    let client_port = client.local_addr().unwrap().port();

    // Without connect(), anyone may send to the client's port. This one
    // arrives first, so it is the first datagram the client reads.
    let stray = UdpSocket::bind("127.0.0.1:0").unwrap();
    stray
        .send_to(
            b"ACK: not from the server",
            (Ipv4Addr::LOCALHOST, client_port),
        )
        .unwrap();

    assert_eq!(
        client.request(b"Hello, UDP Server!").unwrap(),
        b"ACK: Hello, UDP Server!"
    );
    assert!(next_line(&server.log).ends_with(": b'Hello, UDP Server!'"));
    // The same client's next request waits as usual after the stray.
    assert_eq!(client.request(b"again").unwrap(), b"ACK: again");
    assert_still_serving(server.addr);
}

#[test]
fn stray_datagram_alone_is_not_taken_for_a_reply() {
    // A "server" that receives but never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut client = Client::new(silent.local_addr().unwrap(), Duration::from_millis(300)).unwrap();
    let stray = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client_port = client.local_addr().unwrap().port();
    stray
        .send_to(
            b"ACK: Hello, UDP Server!",
            (Ipv4Addr::LOCALHOST, client_port),
        )
        .unwrap();

    let err = client.request(b"Hello, UDP Server!").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(err.to_string().contains("no reply from"), "{err}");
}

#[test]
fn client_that_left_before_its_ack_does_not_stop_the_server() {
    let server = start_server("127.0.0.1:0");
    // Send and close at once: the ACK goes to a port nobody holds, and the
    // kernel answers the server with ICMP "port unreachable".
    for _ in 0..3 {
        let gone = UdpSocket::bind("127.0.0.1:0").unwrap();
        gone.send_to(b"bye", server.addr).unwrap();
    }
    for _ in 0..3 {
        assert!(next_line(&server.log).ends_with(": b'bye'"));
    }
    assert_still_serving(server.addr);
}

#[test]
fn broadcast_reaches_every_server_sharing_the_port() {
    // Broadcasts are delivered to sockets bound to the wildcard address;
    // SO_REUSEADDR lets both bind the same port.
    let first = udp::bind_server("0.0.0.0:0".parse().unwrap(), true).unwrap();
    let port = first.local_addr().unwrap().port();
    let second = udp::bind_server(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), true).unwrap();
    let _servers = [serve_on(first), serve_on(second)];

    let replies = udp::broadcast(
        SocketAddrV4::new(udp::LOOPBACK_BROADCAST, port),
        b"Hello, UDP Server!",
        Duration::from_secs(1),
        udp::BROADCAST_KEEP,
        udp::BROADCAST_READ_AT_MOST,
    )
    .unwrap();

    assert_eq!(replies.kept.len(), 2, "{replies:?}");
    assert_eq!((replies.more, replies.cut_short), (0, false));
    for (from, reply) in replies.kept {
        assert_eq!(from.port(), port);
        assert_eq!(reply, b"ACK: Hello, UDP Server!");
    }
}

#[test]
fn second_server_without_reuse_addr_is_refused() {
    let server = start_server("127.0.0.1:0");
    let err = udp::bind_server(server.addr, false).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    assert_still_serving(server.addr);
}

#[test]
fn a_reply_loop_between_two_servers_burns_out() {
    // Two answering servers, and one datagram that claims to come from the
    // first, sent to the second: B answers A, A answers B's ACK, B answers
    // that, and so on, with no one left to stop it. A clone of A's socket
    // sends from exactly A's address, as a forger would.
    const LIMIT: u32 = 200;
    let a_socket = udp::bind_server("127.0.0.1:0".parse().unwrap(), false).unwrap();
    let forger = a_socket.try_clone().unwrap();
    let a = serve_limited(a_socket, LIMIT);
    let b = serve_limited(
        udp::bind_server("127.0.0.1:0".parse().unwrap(), false).unwrap(),
        LIMIT,
    );
    forger.send_to(b"ping-pong", b.addr).unwrap();

    // The loop must end: both servers fall silent for QUIET, well within
    // PATIENCE. Without a limit it would still be running.
    const QUIET: Duration = Duration::from_millis(300);
    let started = Instant::now();
    let mut last_event = Instant::now();
    let mut lines = Vec::new();
    while last_event.elapsed() < QUIET {
        assert!(
            started.elapsed() < PATIENCE,
            "the loop was still running after {PATIENCE:?}, {} log lines",
            lines.len()
        );
        for server in [&a, &b] {
            match server.log.recv_timeout(Duration::from_millis(10)) {
                Ok(line) => {
                    lines.push(line);
                    last_event = Instant::now();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => panic!("a server stopped"),
            }
        }
    }
    // One of them noticed, and said so once.
    let notice = format!(
        "ignored 1 datagram from ('127.0.0.1', {}): more than 200 a second from one source \
         (a reply loop, or a flood?); no replies to it until it slows down",
        a.addr.port()
    );
    let notice_b = notice.replace(&a.addr.port().to_string(), &b.addr.port().to_string());
    let notices = lines
        .iter()
        .filter(|line| **line == notice || **line == notice_b)
        .count();
    assert_eq!(notices, 1, "{:?}", &lines[lines.len().saturating_sub(5)..]);

    // Other clients were never affected: each source has its own bucket.
    assert_still_serving(a.addr);
    assert_still_serving(b.addr);
    let (a, b) = (a.stop(), b.stop());
    // Each answered about one bucketful of the loop, plus the client.
    for summary in [a, b] {
        assert!(summary.answered < 1000, "{summary:?}");
    }
    assert_eq!(a.dropped + b.dropped, 1, "{a:?} {b:?}");
}

/// A socket on 0.0.0.0 that waits for one datagram (a broadcast) and then
/// answers its sender with datagrams as fast as it can, until `done` or
/// until PATIENCE has passed.
fn flood_the_first_sender(socket: &UdpSocket, done: &AtomicBool) {
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = [0u8; 64];
    let Ok((_, client)) = socket.recv_from(&mut buf) else {
        return;
    };
    let started = Instant::now();
    while !done.load(Ordering::Relaxed) && started.elapsed() < PATIENCE {
        let _ = socket.send_to(b"ACK: flood", client);
    }
}

#[test]
fn broadcast_keeps_few_replies_from_a_flood_and_stops_listening() {
    let flooder = UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = flooder.local_addr().unwrap().port();
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let replies = thread::scope(|scope| {
        scope.spawn(|| flood_the_first_sender(&flooder, &done));
        let replies = udp::broadcast(
            SocketAddrV4::new(udp::LOOPBACK_BROADCAST, port),
            b"Hello, UDP Server!",
            // Far longer than the test takes: only the read limit ends it.
            Duration::from_secs(60),
            10,
            100,
        );
        done.store(true, Ordering::Relaxed);
        replies.unwrap()
    });
    assert!(started.elapsed() < PATIENCE, "{:?}", started.elapsed());
    assert_eq!(replies.kept.len(), 10);
    assert_eq!(replies.more, 90);
    assert!(replies.cut_short);
    assert_eq!(replies.kept[0].1, b"ACK: flood");
}

#[test]
fn message_too_long_for_one_datagram_says_what_the_limit_is() {
    let server = start_server("127.0.0.1:0");
    let message = vec![b'x'; MAX_IPV4_PAYLOAD + 1];
    let mut client = Client::new(server.addr, PATIENCE).unwrap();
    let err = client.request(&message).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    assert_eq!(
        err.to_string(),
        "the message is 65508 bytes, more than one UDP datagram can carry: at most 65507 \
         bytes over IPv4, 65527 over IPv6 (65535, the most a 16-bit length can say, less \
         the headers)"
    );
    // Through a name that may also resolve to ::1, where 65,508 bytes fit:
    // the unanswered IPv6 attempt does not hide the reason.
    let err = udp::exchange(
        "localhost",
        server.addr.port(),
        &message,
        Duration::from_millis(300),
    )
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    assert_still_serving(server.addr);
    assert_eq!(server.stop().datagrams, 1);
}
