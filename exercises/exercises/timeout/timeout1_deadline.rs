// timeout1_deadline: one deadline, however the server trickles  (chapter: timeout)
//
// The article's `sock.settimeout(5.0)` is a timeout for each call, not for
// the request: every `recv` may wait five seconds again. A server that sends
// a byte every 50 ms never lets one read time out, so "read until the server
// closes" can go on for ever.
//
// Write `read_until_close`: read until the server closes, and end by
// `deadline` whatever the server does. Before each read, wait only for the
// time left; once none is left, fail with an `io::ErrorKind::TimedOut`
// error. (A read that times out fails with `WouldBlock` on Linux: your cue
// to look at the clock, not yet the answer.)
//
// The check reads a whole answer, then a trickling server and a silent one
// with the deadline 0.5 s away, and times you.
//
// Check it:  rustlings run timeout1_deadline
// Stuck?     rustlings hint timeout1_deadline

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Reads from `stream` until the server closes it and returns every byte,
/// or fails with `TimedOut` once `deadline` has passed.
fn read_until_close(stream: &mut TcpStream, deadline: Instant) -> io::Result<Vec<u8>> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // TODO: This is the article's loop: one timeout, given to every read
    // again, so a server that trickles never trips it. Give each read only
    // the time left, and fail with `TimedOut` once there is none.
    stream.set_read_timeout(Some(deadline.saturating_duration_since(Instant::now())))?;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(answer);
        }
        answer.extend_from_slice(&buf[..n]);
    }
}

fn main() -> io::Result<()> {
    use harness::timeout::{Behaviour, HttpServer, ask};
    // A server that sends a byte every 50 ms, for ever.
    let server = HttpServer::start(Behaviour::Trickle)?;
    let mut stream = ask(server.addr())?;
    let started = Instant::now();
    let result = read_until_close(&mut stream, started + Duration::from_secs(1));
    let took = started.elapsed().as_secs_f64();
    match result {
        Ok(answer) => println!("{} bytes after {took:.2} s", answer.len()),
        Err(e) => println!("{:?} after {took:.2} s, as it should: {e}", e.kind()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_whole_answer() {
        harness::timeout::check_whole_answer(read_until_close);
    }

    #[test]
    fn a_trickle_ends_at_the_deadline() {
        harness::timeout::check_trickle_ends_at_the_deadline(read_until_close);
    }

    #[test]
    fn silence_ends_at_the_deadline() {
        harness::timeout::check_silence_ends_at_the_deadline(read_until_close);
    }
}
