// pool1_evict_idle: never hand out a stale connection           (chapter: pool)
//
// A pooled connection waits in the queue between requests, and a server
// does not wait for ever: pool-server closes a connection idle for 30 s.
// Hand that connection out and the next request on it fails.
//
// Make `take_idle` skip every connection that has been idle longer than
// `max_idle`, closing it, and hand out the first one that is still fresh,
// or `None` when no fresh one is left (the pool then opens a new one).
//
// The check queues two stale connections and a fresh one, and then only a
// stale one.
//
// Check it:  rustlings run pool1_evict_idle
// Stuck?     rustlings hint pool1_evict_idle

use std::collections::VecDeque;
use std::net::TcpStream;
use std::time::Duration;

use harness::pool::Idle;

/// Hands out an idle connection that is still fresh, closing stale ones.
fn take_idle(idle: &mut VecDeque<Idle>, max_idle: Duration) -> Option<TcpStream> {
    while let Some(conn) = idle.pop_front() {
        if conn.since.elapsed() <= max_idle {
            return Some(conn.stream);
        }
        // Dropping the stale connection closes it.
    }
    None
}

fn main() -> std::io::Result<()> {
    let (stale, _server1) = harness::pool::idle_for(Duration::from_secs(60))?;
    let (fresh, _server2) = harness::pool::idle_for(Duration::ZERO)?;
    let fresh_port = fresh.stream.local_addr()?.port();
    let mut queue = VecDeque::from([stale, fresh]);
    let got = take_idle(&mut queue, Duration::from_secs(10));
    let port = got.map(|s| s.local_addr().map(|a| a.port()));
    println!(
        "handed out the fresh one: {}",
        matches!(port, Some(Ok(p)) if p == fresh_port)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_and_closes_stale_connections() {
        harness::pool::check_skips_and_closes_stale(take_idle);
    }

    #[test]
    fn a_queue_of_stale_connections_gives_none() {
        harness::pool::check_all_stale_gives_none(take_idle);
    }
}
