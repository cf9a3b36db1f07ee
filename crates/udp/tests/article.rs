//! The literal port of the article's UDP server (`examples/article-udp-server`)
//! really fails the way the chapter says it does, and `udp-server` does not.

use std::time::Duration;

use test_support::{Server, example_path};

const ROBUST: &str = env!("CARGO_BIN_EXE_udp-server");
/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(10);

fn ask(server: &Server, message: &[u8]) -> Vec<u8> {
    let mut client = udp::Client::new(server.addr(), PATIENCE).unwrap();
    client.request(message).unwrap().to_vec()
}

#[test]
fn both_answer_the_articles_exchange() {
    let article =
        Server::start(example_path("article-udp-server"), &["--host", "127.0.0.1"]).unwrap();
    let robust = Server::start(ROBUST, &["--host", "127.0.0.1"]).unwrap();
    for server in [&article, &robust] {
        assert_eq!(
            ask(server, b"Hello, UDP Server!"),
            b"ACK: Hello, UDP Server!"
        );
    }
}

#[test]
fn a_long_datagram_is_cut_at_1024_bytes_by_the_article_server() {
    let article =
        Server::start(example_path("article-udp-server"), &["--host", "127.0.0.1"]).unwrap();
    let long = vec![b'u'; 3000];
    let reply = ask(&article, &long);
    assert_eq!(reply, udp::expected_ack(&long[..1024]));
    let robust = Server::start(ROBUST, &["--host", "127.0.0.1"]).unwrap();
    assert_eq!(ask(&robust, &long), udp::expected_ack(&long));
}
