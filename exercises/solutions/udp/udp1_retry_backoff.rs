// udp1_retry_backoff: resend, waiting longer each time          (chapter: udp)
//
// UDP never resends: a lost datagram is simply gone, and the article's
// client waits for its `ACK: ` for ever. The client has to do it: send, wait
// a while for the reply, and if none comes, send again.
//
// Write the retry loop in `request_with_retry`: send, wait
// `timeout_for(attempt)` for the reply, and on a timeout send again, until
// `timeout_for` says no attempts are left; then give up with a `TimedOut`
// error. `timeout_for` is given: each wait is twice the one before (100,
// 200, 400, 800 ms), so clients retrying together do not bury a slow server.
//
// The check runs a server that loses the first 3 datagrams and answers the
// 4th, then one that never answers, and times the gaps between attempts.
//
// Check it:  rustlings run udp1_retry_backoff
// Stuck?     rustlings hint udp1_retry_backoff

use std::io;
use std::net::UdpSocket;
use std::time::Duration;

/// How many datagrams to send, in all, before giving up.
const MAX_ATTEMPTS: u32 = 4;

/// How long attempt `attempt` (0 = the first send) waits for the reply:
/// 100 ms, doubled for each attempt before it; `None` when none are left.
fn timeout_for(attempt: u32) -> Option<Duration> {
    (attempt < MAX_ATTEMPTS).then(|| Duration::from_millis(100) * 2u32.pow(attempt))
}

/// Sends `message` to the server `socket` is connected to, and returns the
/// server's reply.
fn request_with_retry(socket: &UdpSocket, message: &[u8]) -> io::Result<Vec<u8>> {
    let mut buf = [0u8; 1024];
    let mut attempt = 0;
    while let Some(timeout) = timeout_for(attempt) {
        socket.send(message)?;
        socket.set_read_timeout(Some(timeout))?;
        match socket.recv(&mut buf) {
            Ok(n) => return Ok(buf[..n].to_vec()),
            // Lost on the way there or back: try again, more patiently.
            Err(e) if harness::net::is_timeout(&e) => attempt += 1,
            Err(e) => return Err(e),
        }
    }
    let e = format!("no reply after {attempt} attempts");
    Err(io::Error::new(io::ErrorKind::TimedOut, e))
}

fn main() -> io::Result<()> {
    // A server that loses the first 2 datagrams it gets, then answers.
    let server = harness::udp::LossyServer::start(2)?;
    let socket = harness::udp::client_for(server.addr())?;
    let reply = request_with_retry(&socket, b"Hello, UDP Server!")?;
    let sent = server.arrivals().len();
    println!(
        "Server response: b'{}' ({sent} datagrams sent)",
        reply.escape_ascii()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resends_until_the_fourth_datagram_is_answered() {
        harness::udp::check_answer_after_losses(request_with_retry, timeout_for);
    }

    #[test]
    fn gives_up_after_max_attempts() {
        harness::udp::check_gives_up(request_with_retry, timeout_for);
    }
}
