// timeout2_backoff: retry later each time, never past the deadline (chapter: timeout)
//
// An overloaded server answers `503 Service Unavailable`: try again later.
// Trying again at once adds to the overload, and clients that all pause
// the same time come back all at once. So each retry pauses twice as long
// as the one before (exponential backoff), for a random part of that
// (jitter), and the whole call, tries and pauses together, ends by one
// deadline.
//
// Write the retry loop in `fetch_with_retries`: after a 503, pause
// `backoff(retry)` times `harness::timeout::random_fraction()`, then try
// again. Never pause past `deadline`: if the pause would end after it,
// give up at once with an `io::ErrorKind::TimedOut` error.
// `harness::timeout::request` makes one try, by the deadline.
//
// The check runs a server that answers 503 four times and then 200, and
// one that answers 503 for ever, and times the pauses between your tries.
//
// Check it:  rustlings run timeout2_backoff
// Stuck?     rustlings hint timeout2_backoff

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use harness::timeout::request;

/// The pause before retry `retry` (0 = the first), before jitter: 100 ms,
/// doubled for each retry before it, at most 1 s.
fn backoff(retry: u32) -> Duration {
    let doubled = Duration::from_millis(100) * 2u32.pow(retry.min(4));
    doubled.min(Duration::from_secs(1))
}

/// Asks `addr` until it answers with anything but a 503, by `deadline`.
fn fetch_with_retries(addr: SocketAddr, deadline: Instant) -> io::Result<Vec<u8>> {
    // TODO: One try: a 503 is returned as if it were the answer. After each
    // 503, pause a random part of `backoff(retry)` and try again; give up
    // with `TimedOut` rather than pause past `deadline`.
    request(addr, deadline)
}

fn main() -> io::Result<()> {
    use harness::timeout::{Behaviour, HttpServer};
    // A server that answers 503 to the first 3 requests, then 200.
    let server = HttpServer::start(Behaviour::UnavailableFirst(3))?;
    println!(
        "Pauses at most: {:?}",
        (0..5).map(backoff).collect::<Vec<_>>()
    );
    let answer = fetch_with_retries(server.addr(), Instant::now() + Duration::from_secs(5))?;
    let status = answer.split(|&b| b == b'\r').next().unwrap_or_default();
    let tries = server.arrivals().len();
    println!("{} after {tries} tries", status.escape_ascii());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_until_answered() {
        harness::timeout::check_retries_until_answered(fetch_with_retries, backoff);
    }

    #[test]
    fn gives_up_by_the_deadline() {
        harness::timeout::check_gives_up_by_the_deadline(fetch_with_retries, backoff);
    }
}
