//! The literal port of the article's server (`examples/article-tcp-server`)
//! really fails the way the chapter says it does, and `tcp-server` does not:
//! the book runs these same experiments, and this keeps it honest.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use test_support::{Server, example_path};

const ROBUST: &str = env!("CARGO_BIN_EXE_tcp-server");
/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(10);

fn article_server() -> Server {
    Server::start(example_path("article-tcp-server"), &["--host", "127.0.0.1"]).unwrap()
}

fn robust_server() -> Server {
    Server::start(ROBUST, &["--host", "127.0.0.1"]).unwrap()
}

/// Sends `pieces` with `pause` between them, half-closes, and returns every
/// byte that came back before end-of-stream or an error (a reset).
fn send_in_pieces(addr: SocketAddr, pieces: &[&[u8]], pause: Duration) -> Vec<u8> {
    let mut stream = TcpStream::connect_timeout(&addr, PATIENCE).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            thread::sleep(pause);
        }
        // A reset from a server that already closed is part of the finding.
        if stream.write_all(piece).is_err() {
            break;
        }
    }
    let _ = stream.shutdown(Shutdown::Write);
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return reply,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn both_answer_the_articles_exchange() {
    for server in [article_server(), robust_server()] {
        let reply = send_in_pieces(server.addr(), &[b"Hello, Server!"], Duration::ZERO);
        assert_eq!(reply, b"Echo: Hello, Server!");
    }
}

#[test]
fn a_split_message_gets_only_its_first_piece_from_the_article_server() {
    let pieces: &[&[u8]] = &[b"Hello, ", b"Server!"];
    let pause = Duration::from_millis(200);
    let article = article_server();
    assert_eq!(
        send_in_pieces(article.addr(), pieces, pause),
        b"Echo: Hello, "
    );
    let robust = robust_server();
    assert_eq!(
        send_in_pieces(robust.addr(), pieces, pause),
        b"Echo: Hello, Server!"
    );
}

#[test]
fn a_long_message_is_cut_at_1024_bytes_by_the_article_server() {
    let long = vec![b'x'; 3000];
    let article = article_server();
    let reply = send_in_pieces(article.addr(), &[&long], Duration::ZERO);
    // What arrives before the reset, if anything: never more than 1024
    // bytes of the message.
    assert!(reply.len() <= 6 + 1024, "{} bytes", reply.len());
    let robust = robust_server();
    let reply = send_in_pieces(robust.addr(), &[&long], Duration::ZERO);
    assert_eq!(reply, tcp::expected_echo(&long));
}

#[test]
fn a_silent_client_locks_everyone_out_of_the_article_server() {
    let article = article_server();
    let _silent = TcpStream::connect(article.addr()).unwrap();
    article.expect_line("Connection from", PATIENCE);
    let mut next = TcpStream::connect(article.addr()).unwrap();
    next.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    next.write_all(b"anyone?").unwrap();
    let err = next.read(&mut [0u8; 64]).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    // The robust server drops the silent client after its idle timeout.
    let robust = robust_server();
    let _silent = TcpStream::connect(robust.addr()).unwrap();
    let reply = send_in_pieces(robust.addr(), &[b"anyone?"], Duration::ZERO);
    assert_eq!(reply, b"Echo: anyone?");
}
