//! The article's TCP client, ported literally to `std::net`, flaws and all.
//! Run it with `cargo run -p tcp --example article-tcp-client` (`--host`,
//! `--port`) against either server. The robust client is `tcp-client`.
#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    reason = "a literal port prints like the article"
)]

use std::io::{Read, Write};
use std::net::TcpStream;

fn main() -> std::io::Result<()> {
    let (host, port) = cli::article_host_and_port("article-tcp-client", 8080);
    // FLAW: no timeout: a server that accepts and never answers leaves this
    // client waiting for ever.
    let mut client_socket = TcpStream::connect((host.as_str(), port))?;
    client_socket.write_all(b"Hello, Server!")?;
    let mut response = [0u8; 1024];
    // FLAW: one read returns what has arrived so far, which may be only
    // part of the reply.
    let n = client_socket.read(&mut response)?;
    println!("Received: {}", cli::python_bytes(&response[..n]));
    Ok(())
}
