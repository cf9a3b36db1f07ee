//! The article's TCP server, ported literally to `std::net`, flaws and all:
//! the starting point the chapter improves on. Run it with
//! `cargo run -p tcp --example article-tcp-server` (`--host`, `--port`).
//!
//! Each flaw is marked `FLAW:` where it happens; the book runs them, and
//! `tests/article.rs` checks that they really happen, so the book cannot
//! drift. The robust server is `tcp-server` (`src/server.rs`).
#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    reason = "a literal port prints like the article"
)]

use std::io::{Read, Write};
use std::net::TcpListener;

fn main() -> std::io::Result<()> {
    let (host, port) = cli::article_host_and_port("article-tcp-server", 8080);
    // AF_INET, like the article: the host's IPv4 address.
    let addr = tcp::server_address(&host, port)?;
    // std's bind sets SO_REUSEADDR on Unix, as the article does by hand,
    // and listens with a backlog of 128 where the article asks for 5.
    let server_socket = TcpListener::bind(addr)?;
    let port = server_socket.local_addr()?.port();
    println!("Server listening on port {port}...");
    loop {
        // FLAW: one client at a time, and no timeout. A client that
        // connects and says nothing holds this loop, and everyone queued
        // behind it, for ever.
        let (mut client_socket, address) = server_socket.accept()?;
        println!("Connection from {}", cli::python_addr(address));
        let mut data = [0u8; 1024];
        // FLAW: one read. A message that arrives in two pieces is answered
        // with its first piece; a longer one is cut at 1024 bytes.
        // FLAW: `?` here ends the whole server on one client's reset.
        let n = client_socket.read(&mut data)?;
        if n > 0 {
            client_socket.write_all(&[b"Echo: ", &data[..n]].concat())?;
        }
        // FLAW: the socket closes here with any unread bytes still queued,
        // so the kernel answers with a reset that can destroy the reply.
    }
}
