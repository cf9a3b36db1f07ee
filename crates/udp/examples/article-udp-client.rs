//! The article's UDP client, ported literally to `std::net`, flaws and all.
//! Run it with `cargo run -p udp --example article-udp-client` (`--host`,
//! `--port`). The robust client is `udp-client`.
#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    reason = "a literal port prints like the article"
)]

use std::net::UdpSocket;

fn main() -> std::io::Result<()> {
    let (host, port) = cli::article_host_and_port("article-udp-client", 9090);
    let udp_socket = UdpSocket::bind("0.0.0.0:0")?;
    let server_address = tcp::server_address(&host, port)?;
    udp_socket.send_to(b"Hello, UDP Server!", server_address)?;
    let mut response = [0u8; 1024];
    // FLAW: no timeout: a lost datagram, or no server, and this waits for
    // ever. FLAW: the reply is taken from whoever sends one first.
    let (n, _) = udp_socket.recv_from(&mut response)?;
    println!("Server response: {}", cli::python_bytes(&response[..n]));
    Ok(())
}
