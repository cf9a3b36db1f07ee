//! The article's UDP server, ported literally to `std::net`, flaws and all:
//! the starting point the chapter improves on. Run it with
//! `cargo run -p udp --example article-udp-server` (`--host`, `--port`).
//! The robust server is `udp-server` (`src/server.rs`).
#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    reason = "a literal port prints like the article"
)]

use std::net::UdpSocket;

fn main() -> std::io::Result<()> {
    let (host, port) = cli::article_host_and_port("article-udp-server", 9090);
    let udp_socket = UdpSocket::bind(tcp::server_address(&host, port)?)?;
    let port = udp_socket.local_addr()?.port();
    println!("UDP server ready on port {port}...");
    let mut data = [0u8; 1024];
    loop {
        // FLAW: a datagram longer than 1024 bytes is cut here, silently.
        let (n, addr) = udp_socket.recv_from(&mut data)?;
        println!(
            "Received from {}: {}",
            cli::python_addr(addr),
            cli::python_bytes(&data[..n])
        );
        // FLAW: every source is answered, even this server's own address:
        // one forged datagram starts a reply loop that never ends.
        // FLAW: `?` ends the server when one reply cannot be sent.
        udp_socket.send_to(&[b"ACK: ", &data[..n]].concat(), addr)?;
    }
}
