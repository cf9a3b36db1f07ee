// http2_rate_limit: a token bucket per client                   (chapter: http)
//
// The author "often adds rate limiting". `http-server --rate-limit N` lets
// each client address make N requests a second, in bursts of up to N, with
// a token bucket: the bucket holds at most `capacity` tokens and gains
// `per_second` tokens every second; each request takes one token, and a
// request that finds less than one is refused with 429 Too Many Requests.
//
// Write `try_take`: first bring the bucket up to date, adding what it
// gained since `bucket.at` (never above its capacity), and set `at` to
// `now`; then take a token if there is a whole one.
//
// The check runs bursts and pauses on a clock it moves itself, then a real
// server, 5 requests a second, that must refuse the 6th request at once.
//
// Check it:  rustlings run http2_rate_limit
// Stuck?     rustlings hint http2_rate_limit

use std::time::Instant;

use harness::http::Bucket;

/// Takes a token from `bucket` at `now`; false when there is none.
fn try_take(bucket: &mut Bucket, now: Instant) -> bool {
    // TODO: The bucket never refills: after the first burst every request
    // is refused. Before moving `at` on, add the tokens gained since.
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        true
    } else {
        false
    }
}

fn main() -> std::io::Result<()> {
    let server = harness::http::start_limited(try_take, 2.0)?;
    for _ in 0..3 {
        let (status, _) = harness::http::get(server.addr(), "/items")?;
        println!("GET /items -> {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills() {
        harness::http::check_bursts_then_refills(try_take);
    }

    #[test]
    fn the_server_answers_429() {
        harness::http::check_server_answers_429(try_take);
    }
}
