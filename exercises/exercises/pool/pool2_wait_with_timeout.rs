// pool2_wait_with_timeout: wait for a connection, but not for ever (chapter: pool)
//
// When every pooled connection is in use, the article's pool opens another
// one. A pool that must not exceed its size (a server that allows each
// client only so many connections) waits for one to come back instead,
// and a wait without a limit is a hang waiting to happen.
//
// Make `get_timeout` wait up to `wait` for a connection to be returned to
// the pool's queue, and fail with an `io::ErrorKind::TimedOut` error if
// none comes back in time.
//
// The check returns a connection 100 ms into a 3 s wait, then waits 300 ms
// on a queue nobody returns to.
//
// Check it:  rustlings run pool2_wait_with_timeout
// Stuck?     rustlings hint pool2_wait_with_timeout

use std::io;
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// A connection from the pool's queue, waiting up to `wait` for one.
fn get_timeout(idle: &Receiver<TcpStream>, wait: Duration) -> io::Result<TcpStream> {
    // TODO: This gives up at once when the queue is empty. Wait up to
    // `wait` for a connection, then fail with a `TimedOut` error.
    let _ = wait;
    idle.try_recv()
        .map_err(|_| io::Error::new(io::ErrorKind::WouldBlock, "the pool is empty"))
}

fn main() -> io::Result<()> {
    let (returns, idle) = mpsc::channel::<TcpStream>();
    let (client, _server) = harness::net::connected_pair()?;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let _ = returns.send(client);
    });
    let got = get_timeout(&idle, Duration::from_secs(1))?;
    println!("got a connection from {}", got.local_addr()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_connection_is_handed_over() {
        harness::pool::check_gets_a_returned_connection(get_timeout);
    }

    #[test]
    fn no_connection_in_time_is_a_timeout() {
        harness::pool::check_times_out(get_timeout);
    }
}
