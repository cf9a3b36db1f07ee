//! Chapter 1 on the tour: `tcp-server` and `tcp-client`, plus the two
//! messages the article's one `recv(1024)` gets wrong.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use tcp::Stop;

use crate::Story;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the chapter; see the module comment.
pub fn run(story: &Story) -> Result<String, String> {
    // Generous idle timeout: on a loaded machine the 100 ms pause inside the
    // split message must not look like the client going quiet.
    let idle = Duration::from_secs(5);
    let listener = tcp::bind_server(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        tcp::DEFAULT_BACKLOG,
        idle,
    )
    .map_err(|e| format!("cannot bind a free loopback port: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let port = addr.port();

    story.command(&format!("just tcp-server --port {port}"));
    story.said("server", &format!("Server listening on port {port}..."));
    let stop = Stop::new();
    thread::scope(|scope| {
        let server = scope.spawn(|| {
            tcp::serve(&listener, &stop, |event| {
                story.said("server", &event.to_string())
            })
        });
        let clients = clients(story, addr);
        // Ctrl-C in the server's terminal, in effect: stop it, whatever
        // the clients came to.
        stop.stop();
        let summary = server
            .join()
            .map_err(|_| "the server thread panicked".to_string())?
            .map_err(|e| format!("server: {e}"))?;
        story.said(
            "server",
            &format!(
                "Stopped after {}.",
                cli::count(summary.connections, "connection")
            ),
        );
        clients
    })
}

/// The three exchanges of the chapter, each checked against the echo.
fn clients(story: &Story, addr: SocketAddr) -> Result<String, String> {
    let port = addr.port();
    story.command(&format!("just tcp-client --port {port}"));
    let reply = exchange(addr, tcp::DEFAULT_MESSAGE.as_bytes())?;
    story.said(
        "client",
        &format!("Received: {}", cli::python_bytes(&reply)),
    );
    check(&reply, tcp::DEFAULT_MESSAGE.as_bytes())?;

    story.note("A message that arrives in two pieces is still answered whole:");
    let reply = split_exchange(addr)?;
    story.said(
        "client",
        &format!("Received: {}", cli::python_bytes(&reply)),
    );
    check(&reply, b"Hello, Server!")?;

    story.note("And 3000 bytes, three times the article's recv(1024), come back whole:");
    let long = vec![b'x'; 3000];
    let reply = exchange(addr, &long)?;
    story.said(
        "client",
        &format!("Received {} bytes, all of them the echo", reply.len()),
    );
    check(&reply, &long)?;
    Ok(format!(
        "3 echoes over {addr}, split and 3000-byte messages whole"
    ))
}

fn exchange(addr: SocketAddr, message: &[u8]) -> Result<Vec<u8>, String> {
    tcp::exchange(&addr.ip().to_string(), addr.port(), message, TIMEOUT)
        .map_err(|e| format!("exchange with {addr}: {e}"))
}

/// Sends `Hello, ` and `Server!` 100 ms apart: two segments, two reads.
fn split_exchange(addr: SocketAddr) -> Result<Vec<u8>, String> {
    let mut stream = tcp::connect(&addr.ip().to_string(), addr.port(), TIMEOUT)
        .map_err(|e| format!("connect: {e}"))?;
    let send = |stream: &mut TcpStream, part: &[u8]| {
        stream.write_all(part).map_err(|e| format!("send: {e}"))
    };
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    send(&mut stream, b"Hello, ")?;
    thread::sleep(Duration::from_millis(100));
    send(&mut stream, b"Server!")?;
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .map_err(|e| format!("read: {e}"))?;
    Ok(reply)
}

fn check(reply: &[u8], message: &[u8]) -> Result<(), String> {
    if reply == tcp::expected_echo(message) {
        Ok(())
    } else {
        Err(format!(
            "expected the echo of {}, got {}",
            cli::python_bytes(message),
            cli::python_bytes(reply)
        ))
    }
}
