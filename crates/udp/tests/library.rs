//! The chapter's library over real loopback sockets: the article's exchange,
//! IPv6, broadcast, and each bad datagram followed by a client the server
//! must still answer.
//!
//! Servers run on their own thread and are never joined unless the test
//! bounds them with `max_datagrams`: a failing test then fails on a client
//! timeout instead of hanging on a server waiting for datagrams.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use udp::{Client, MAX_IPV4_PAYLOAD, MAX_IPV6_PAYLOAD};

/// A hang guard only: loopback answers in microseconds.
const PATIENCE: Duration = Duration::from_secs(5);

/// Binds `addr` (port 0) and serves on a background thread; the server's
/// log lines arrive on the returned channel.
fn start_server(addr: &str) -> (SocketAddr, Receiver<String>) {
    let socket = udp::bind_server(addr.parse().unwrap(), false).unwrap();
    let local = socket.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let log = move |line: &str| {
            let _ = tx.send(line.to_string());
        };
        udp::serve(&socket, None, &log)
    });
    (local, rx)
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
    let socket = udp::bind_server("127.0.0.1:0".parse().unwrap(), false).unwrap();
    let port = socket.local_addr().unwrap().port();
    let (tx, log) = mpsc::channel();
    let server = thread::spawn(move || {
        let log = move |line: &str| tx.send(line.to_string()).unwrap();
        udp::serve(&socket, Some(1), &log)
    });

    let (from, reply) = udp::exchange("127.0.0.1", port, b"Hello, UDP Server!", PATIENCE).unwrap();

    assert_eq!(reply, b"ACK: Hello, UDP Server!");
    assert_eq!(from, SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    // max_datagrams = 1: the server returns after one datagram.
    server.join().unwrap().unwrap();
    let line = next_line(&log);
    assert!(line.starts_with("Received from 127.0.0.1:"), "{line}");
    assert!(line.ends_with(": b'Hello, UDP Server!'"), "{line}");
}

#[test]
fn ipv6_exchange_over_loopback() {
    let (server, log) = start_server("[::1]:0");
    let (from, reply) =
        udp::exchange("::1", server.port(), b"Hello, UDP Server!", PATIENCE).unwrap();
    assert_eq!(reply, b"ACK: Hello, UDP Server!");
    assert_eq!(from, server);
    assert!(next_line(&log).starts_with("Received from [::1]:"));
}

#[test]
fn empty_datagram_gets_a_bare_ack() {
    let (server, log) = start_server("127.0.0.1:0");
    assert_eq!(ask(server, b""), b"ACK: ");
    assert!(next_line(&log).ends_with(": b''"));
    assert_still_serving(server);
}

#[test]
fn datagram_longer_than_the_articles_buffer_is_not_cut() {
    let (server, _log) = start_server("127.0.0.1:0");
    // Python's recvfrom(1024) would keep the first 1024 bytes of this.
    let message = vec![b'x'; 3 * udp::ARTICLE_RECV_BUFFER_SIZE];
    assert_eq!(ask(server, &message), udp::expected_ack(&message));
}

#[test]
fn maximal_datagram_is_received_whole_and_its_ack_capped() {
    let (server, log) = start_server("127.0.0.1:0");
    let message: Vec<u8> = (0..MAX_IPV4_PAYLOAD).map(|i| (i % 251) as u8).collect();

    let reply = ask(server, &message);

    // `ACK: ` + 65,507 bytes is 5 bytes too many for one IPv4 datagram:
    // the reply is cut to fit, and the server says so.
    assert_eq!(reply.len(), MAX_IPV4_PAYLOAD);
    assert_eq!(reply, udp::ack_reply(&message, MAX_IPV4_PAYLOAD));
    let received = next_line(&log);
    assert!(received.ends_with("... (65507 bytes)"), "{received}");
    let capped = next_line(&log);
    assert!(capped.contains("cut to 65507 bytes"), "{capped}");
    assert_still_serving(server);
}

#[test]
fn maximal_ipv6_datagram_is_received_whole_and_its_ack_capped() {
    let (server, log) = start_server("[::1]:0");
    let message = vec![b'6'; MAX_IPV6_PAYLOAD];
    let reply = ask(server, &message);
    assert_eq!(reply.len(), MAX_IPV6_PAYLOAD);
    assert!(reply.starts_with(b"ACK: 666"));
    assert!(next_line(&log).ends_with("(65527 bytes)"));
    assert_still_serving(server);
}

#[test]
fn stray_datagram_does_not_confuse_the_client() {
    let (server, log) = start_server("127.0.0.1:0");
    let mut client = Client::new(server, PATIENCE).unwrap();
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
    assert!(next_line(&log).ends_with(": b'Hello, UDP Server!'"));
    // The same client's next request waits as usual after the stray.
    assert_eq!(client.request(b"again").unwrap(), b"ACK: again");
    assert_still_serving(server);
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
    let (server, log) = start_server("127.0.0.1:0");
    // Send and close at once: the ACK goes to a port nobody holds, and the
    // kernel answers the server with ICMP "port unreachable".
    for _ in 0..3 {
        let gone = UdpSocket::bind("127.0.0.1:0").unwrap();
        gone.send_to(b"bye", server).unwrap();
    }
    for _ in 0..3 {
        assert!(next_line(&log).ends_with(": b'bye'"));
    }
    assert_still_serving(server);
}

#[test]
fn broadcast_reaches_every_server_sharing_the_port() {
    // Broadcasts are delivered to sockets bound to the wildcard address;
    // SO_REUSEADDR lets both bind the same port.
    let first = udp::bind_server("0.0.0.0:0".parse().unwrap(), true).unwrap();
    let port = first.local_addr().unwrap().port();
    let second = udp::bind_server(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), true).unwrap();
    for socket in [first, second] {
        thread::spawn(move || udp::serve(&socket, Some(1), &|_| {}));
    }

    let replies = udp::broadcast(
        SocketAddrV4::new(udp::LOOPBACK_BROADCAST, port),
        b"Hello, UDP Server!",
        Duration::from_secs(1),
    )
    .unwrap();

    assert_eq!(replies.len(), 2, "{replies:?}");
    for (from, reply) in replies {
        assert_eq!(from.port(), port);
        assert_eq!(reply, b"ACK: Hello, UDP Server!");
    }
}

#[test]
fn second_server_without_reuse_addr_is_refused() {
    let (server, _log) = start_server("127.0.0.1:0");
    let err = udp::bind_server(server, false).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    assert_still_serving(server);
}
