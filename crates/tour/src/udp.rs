//! Chapter 2 on the tour: `udp-server` and `udp-client`, plus a datagram the
//! article's `recvfrom(1024)` would cut.

use std::net::{Ipv4Addr, SocketAddr};
use std::thread;
use std::time::Duration;

use crate::Story;

/// Generous: loopback answers in microseconds, a loaded machine in less
/// than this.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the chapter; see the module comment.
pub fn run(story: &Story) -> Result<String, String> {
    let socket = udp::bind_server(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), false)
        .map_err(|e| format!("cannot bind a free loopback port: {e}"))?;
    let addr = socket.local_addr().map_err(|e| e.to_string())?;
    let port = addr.port();

    story.command(&format!("just udp-server --port {port}"));
    story.said("server", &format!("UDP server ready on port {port}..."));
    let stop = tcp::Stop::new();
    thread::scope(|scope| {
        let server = scope.spawn(|| {
            udp::serve(&socket, &stop, |event| {
                story.said("server", &event.to_string())
            })
        });
        let clients = clients(story, addr);
        stop.stop();
        let summary = server
            .join()
            .map_err(|_| "the server thread panicked".to_string())?
            .map_err(|e| format!("server: {e}"))?;
        story.said(
            "server",
            &format!(
                "Stopped after {}, {} answered.",
                cli::count(summary.datagrams, "datagram"),
                summary.answered
            ),
        );
        clients
    })
}

fn clients(story: &Story, addr: SocketAddr) -> Result<String, String> {
    story.command(&format!("just udp-client --port {}", addr.port()));
    let mut client = udp::Client::new(addr, TIMEOUT).map_err(|e| format!("client socket: {e}"))?;
    let message = udp::DEFAULT_MESSAGE.as_bytes();
    let reply = client.request(message).map_err(|e| e.to_string())?.to_vec();
    story.said(
        "client",
        &format!("Server response: {}", cli::python_bytes(&reply)),
    );
    check(&reply, message)?;

    story.note("A 3000-byte datagram, which recvfrom(1024) would cut to 1024, arrives whole:");
    let long = vec![b'u'; 3000];
    let reply = client.request(&long).map_err(|e| e.to_string())?.to_vec();
    story.said(
        "client",
        &format!("Server response: {} bytes, `ACK: ` + all 3000", reply.len()),
    );
    check(&reply, &long)?;
    Ok(format!("2 ACKs over {addr}, a 3000-byte datagram whole"))
}

fn check(reply: &[u8], message: &[u8]) -> Result<(), String> {
    if reply == udp::expected_ack(message) {
        Ok(())
    } else {
        Err(format!(
            "expected the ACK of {}, got {}",
            cli::preview(message),
            cli::preview(reply)
        ))
    }
}
