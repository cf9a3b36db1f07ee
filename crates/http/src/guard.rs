//! What the author says he "often adds": authentication and rate limiting.
//! Both are off unless asked for (`--token`, `--rate-limit`).
//!
//! - [`token_matches`]: `Authorization: Bearer TOKEN`, compared in constant
//!   time, so how long a wrong guess takes says nothing about how much of it
//!   was right.
//! - [`RateLimiter`]: a token bucket per client address. Each holds at most
//!   `N` tokens and gains `N` a second; a request takes one, and with none
//!   left the answer is `429 Too Many Requests` with `Retry-After`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

// ANCHOR: token
/// Whether an `Authorization` header carries `Bearer` and the expected
/// token. The scheme's name is case-insensitive (RFC 9110); the token is not.
pub fn token_matches(expected: &str, authorization: Option<&str>) -> bool {
    let Some((scheme, given)) = authorization.and_then(|value| value.split_once(' ')) else {
        return false;
    };
    scheme.eq_ignore_ascii_case("Bearer")
        && constant_time_eq(expected.as_bytes(), given.trim_start().as_bytes())
}

/// Compares every byte whatever the first difference, so the time taken
/// depends on the lengths only. (`==` stops at the first byte that differs:
/// timing it, guess by guess, recovers a token a byte at a time.)
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the optimiser from turning the fold back into an early exit.
    std::hint::black_box(difference) == 0
}
// ANCHOR_END: token

/// Clients tracked before idle ones are forgotten: a bucket that has
/// refilled completely is the same as no bucket, so dropping it changes
/// nothing but the memory used.
const MAX_TRACKED: usize = 10_000;

// ANCHOR: rate_limiter
/// A token bucket per client address; see the module comment.
pub struct RateLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// At most `per_second` requests a second per client, in bursts of up
    /// to `per_second`.
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: f64::from(per_second.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client` at `now`, or says how long until the next
    /// one: the `Retry-After` to send.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets();
        if buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, bucket| self.refilled(*bucket, now) < self.per_second);
        }
        let full = Bucket {
            tokens: self.per_second,
            at: now,
        };
        let bucket = buckets.entry(client).or_insert(full);
        bucket.tokens = self.refilled(*bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    /// The bucket's tokens at `now`: what it had, plus what it gained since,
    /// up to the bucket's size.
    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let gained = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        (bucket.tokens + gained).min(self.per_second)
    }

    fn buckets(&self) -> MutexGuard<'_, HashMap<IpAddr, Bucket>> {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }
}
// ANCHOR_END: rate_limiter

/// `Retry-After` in whole seconds, rounded up: `0` would invite an
/// immediate retry that is sure to fail.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn bearer_tokens_match_exactly() {
        assert!(token_matches("s3cret", Some("Bearer s3cret")));
        assert!(token_matches("s3cret", Some("bearer s3cret")));
        assert!(!token_matches("s3cret", Some("Bearer s3cre")));
        assert!(!token_matches("s3cret", Some("Bearer S3CRET")));
        assert!(!token_matches("s3cret", Some("Basic s3cret")));
        assert!(!token_matches("s3cret", Some("s3cret")));
        assert!(!token_matches("s3cret", None));
    }

    #[test]
    fn a_bucket_allows_a_burst_then_one_per_interval() {
        let limiter = RateLimiter::new(5);
        let client = IpAddr::from(Ipv4Addr::LOCALHOST);
        let start = Instant::now();
        for _ in 0..5 {
            assert_eq!(limiter.check(client, start), Ok(()));
        }
        let wait = limiter.check(client, start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.2).abs() < 1e-9, "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        // 0.2 s later, one token has come back, and only one.
        let later = start + Duration::from_millis(200);
        assert_eq!(limiter.check(client, later), Ok(()));
        assert!(limiter.check(client, later).is_err());
        // Other clients have buckets of their own.
        let other = IpAddr::from(Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(limiter.check(other, later), Ok(()));
    }

    #[test]
    fn a_long_pause_refills_the_bucket_only_to_its_size() {
        let limiter = RateLimiter::new(2);
        let client = IpAddr::from(Ipv4Addr::LOCALHOST);
        let start = Instant::now();
        assert_eq!(limiter.check(client, start), Ok(()));
        let much_later = start + Duration::from_secs(3600);
        assert_eq!(limiter.check(client, much_later), Ok(()));
        assert_eq!(limiter.check(client, much_later), Ok(()));
        assert!(limiter.check(client, much_later).is_err());
    }
}
