//! The clients' reply handling (chapters 1, 2 and 5): a loopback server
//! made for each input answers with the input's bytes, as a misbehaving
//! server on the network could.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::thread;

use arbtest::arbitrary::Unstructured;
use timeout::http::{Framing, ResponseEnd};
use timeout::{Deadline, End, RequestError, Response};

use crate::loopback::{self, PATIENCE};

/// `tcp::exchange_reply`, as `tcp-client` calls it, against a server that
/// reads the message and answers the input's bytes, in pieces. One time
/// in four the server reads only once (the article's `recv(1024)`), so a
/// long message is closed with bytes unread and the client gets a reset.
/// The client gets exactly the reply (a prefix when reset), and
/// `tcp-client` prints it as a `b'...'` that reads back to the same bytes.
pub fn tcp_reply(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let reads_once = u.ratio(1, 4).unwrap_or(false);
    let piece = u.int_in_range(1..=2048).unwrap_or(1);
    let split = u.int_in_range(0..=u.len()).unwrap_or(0);
    let rest = u.take_rest();
    let (message, reply) = rest.split_at(split.min(rest.len()));

    let (listener, addr) = loopback::listener();
    let got = thread::scope(|scope| {
        scope.spawn(|| {
            let mut stream = loopback::accept(&listener);
            if reads_once {
                let _ = stream.read(&mut [0u8; tcp::RECV_BUFFER_SIZE]);
            } else {
                let (request, _) = loopback::read_all(&mut stream);
                assert!(request == message, "the server got other bytes");
            }
            for chunk in reply.chunks(piece) {
                if stream.write_all(chunk).is_err() {
                    break;
                }
            }
        });
        tcp::exchange_reply("127.0.0.1", addr.port(), message, PATIENCE)
    });
    if let Some(e) = &got.error {
        assert!(!loopback::timed_out(e), "the client waited in vain: {e}");
        assert!(
            reads_once,
            "an error from a server that read everything: {e}"
        );
    }
    assert!(reply.starts_with(&got.data), "the client got other bytes");
    if got.error.is_none() {
        assert!(got.data == reply, "a clean end before the whole reply");
    }
    check_printed(&got.data);
}

/// `udp::Client::request`, as `udp-client` calls it: the server's reply
/// comes after up to three stray datagrams from another port to the
/// client's, which it must skip; it returns the server's datagram, whole.
pub fn udp_reply(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let strays = u.int_in_range(0..=3).unwrap_or(0);
    let split = u.int_in_range(0..=u.len()).unwrap_or(0);
    let rest = u.take_rest();
    let (message, reply) = rest.split_at(split.min(rest.len()));
    let reply = &reply[..reply.len().min(udp::MAX_IPV4_PAYLOAD)];

    let local = (Ipv4Addr::LOCALHOST, 0);
    let server = UdpSocket::bind(local).expect("bind on 127.0.0.1");
    server
        .set_read_timeout(Some(PATIENCE))
        .expect("set timeout");
    let stray = UdpSocket::bind(local).expect("bind on 127.0.0.1");
    let server_addr = server.local_addr().expect("a bound socket has an address");
    let mut client = udp::Client::new(server_addr, PATIENCE).expect("a client socket");
    thread::scope(|scope| {
        scope.spawn(|| {
            let mut buf = vec![0u8; 65_536];
            let (n, from) = server.recv_from(&mut buf).expect("the request arrives");
            assert!(buf[..n] == *message, "the server got another datagram");
            // The client's socket is bound to 0.0.0.0: answer on loopback.
            let from = SocketAddr::from((Ipv4Addr::LOCALHOST, from.port()));
            for _ in 0..strays {
                stray
                    .send_to(b"not the server", from)
                    .expect("send a stray");
            }
            server.send_to(reply, from).expect("send the reply");
        });
        let got = client.request(message).expect("the reply arrives");
        assert!(got == reply, "the client returned another datagram");
        check_printed(got);
    });
}

/// `timeout`'s reply handling. First, [`ResponseEnd`] alone: where a
/// response ends, and how, does not depend on how its bytes were split into
/// reads. Then `timeout::request_by`, as `safe-request` calls it, against
/// a server that answers the input's bytes and closes, or keeps the
/// connection open when they are a complete response: what comes back is
/// the server's bytes, within the cap, complete by their framing when the
/// connection stayed open. It never waits for the deadline.
pub fn timeout_reply(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let head = u.ratio(1, 4).unwrap_or(false);
    let capped = u.ratio(1, 4).unwrap_or(false);
    let cap = u.int_in_range(0..=4096).unwrap_or(0);
    let piece = u.int_in_range(1..=512).unwrap_or(1);
    let reply = u.take_rest();
    let max_bytes = if capped {
        cap
    } else {
        timeout::DEFAULT_MAX_BYTES
    };

    let (listener, addr) = loopback::listener();
    let mut request = timeout::article_request("127.0.0.1", addr.port());
    if head {
        request.splice(0..3, *b"HEAD");
    }
    let whole = end_of(&request, reply, 1);
    assert_eq!(
        end_of(&request, reply, piece),
        whole.map(|(f, at)| (f, round_up(at, piece, reply.len())))
    );

    let result = thread::scope(|scope| {
        scope.spawn(|| {
            let mut stream = loopback::accept(&listener);
            let mut got = vec![0u8; request.len()];
            stream.read_exact(&mut got).expect("the request arrives");
            for chunk in reply.chunks(piece) {
                if stream.write_all(chunk).is_err() {
                    return;
                }
            }
            if whole.is_some() {
                // Complete by its framing: keep the connection open until
                // the client closes it, as a keep-alive server does.
                let _ = loopback::read_all(&mut stream);
            }
        });
        timeout::request_by(
            "127.0.0.1",
            addr.port(),
            &request,
            Deadline::after(PATIENCE),
            max_bytes,
        )
    });
    let line = timeout::report_line(&result, PATIENCE);
    assert!(!line.chars().any(char::is_control), "{line:?}");
    match result {
        Ok(Response { bytes, end }) => {
            assert!(reply.starts_with(&bytes), "other bytes than the server's");
            assert!(bytes.len() <= max_bytes);
            let framing = ResponseEnd::for_request(&request).complete(&bytes);
            match end {
                End::Closed => assert!(bytes == reply || framing.is_some()),
                End::KeptOpen(f) => assert_eq!(framing, Some(f)),
            }
        }
        Err(RequestError::TooLarge { .. }) => assert!(reply.len() > max_bytes),
        Err(e) => panic!("{e}"),
    }
}

/// How and after how many bytes `ResponseEnd` finds the end of `response`,
/// fed `piece` bytes at a time as reads would hand them over.
fn end_of(request: &[u8], response: &[u8], piece: usize) -> Option<(Framing, usize)> {
    let mut end = ResponseEnd::for_request(request);
    let mut so_far = 0;
    for chunk in response.chunks(piece) {
        so_far += chunk.len();
        if let Some(framing) = end.complete(&response[..so_far]) {
            return Some((framing, so_far));
        }
    }
    None
}

/// The first multiple of `piece` at or after `at`, or `len` if none is
/// before it: where reads of `piece` bytes first hold `at` bytes.
fn round_up(at: usize, piece: usize, len: usize) -> usize {
    at.div_ceil(piece).saturating_mul(piece).min(len)
}

/// What the clients print of a reply: `python_bytes` shows only printable
/// ASCII, and reads back, as Python would read it, to the same bytes;
/// `preview` is it, or its first 100 bytes and the length.
fn check_printed(reply: &[u8]) {
    let shown = cli::python_bytes(reply);
    assert!(shown.bytes().all(|b| (b' '..=b'~').contains(&b)), "{shown}");
    assert_eq!(python_bytes_value(&shown), reply, "{shown}");
    let preview = cli::preview(reply);
    if reply.len() <= 100 {
        assert_eq!(preview, shown);
    } else {
        assert!(preview.starts_with(&cli::python_bytes(&reply[..100])));
        assert!(preview.ends_with(&format!("... ({} bytes)", reply.len())));
    }
}

/// The bytes a Python `bytes` literal such as `b'a\x00\n'` stands for, for
/// the escapes `python_bytes` writes.
fn python_bytes_value(shown: &str) -> Vec<u8> {
    let inner = ["'", "\""]
        .iter()
        .find_map(|q| shown.strip_prefix('b')?.strip_prefix(q)?.strip_suffix(q))
        .unwrap_or_else(|| panic!("not a bytes literal: {shown}"));
    let mut out = Vec::new();
    let mut bytes = inner.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        out.push(match bytes.next() {
            Some(b'n') => b'\n',
            Some(b't') => b'\t',
            Some(b'r') => b'\r',
            Some(b'x') => {
                let hex = [bytes.next(), bytes.next()].map(Option::unwrap_or_default);
                let hex = std::str::from_utf8(&hex).unwrap_or_default();
                u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad \\x in {shown}"))
            }
            Some(other @ (b'\\' | b'\'' | b'"')) => other,
            other => panic!("unknown escape {other:?} in {shown}"),
        });
    }
    out
}
