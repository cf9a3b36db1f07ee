//! The server's reply limit: at most so many replies a second to any one
//! source, so that a reply loop or a reflection attack burns out instead of
//! running for ever. [`ReplyLimiter`] is a token bucket per source.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How many datagrams a second `udp-server` answers from one source address
/// and port, by default; it may also answer this many at once, after a pause.
///
/// A client that waits for each ACK before it sends again (every netlab
/// client does) sends from one port about 10,000 to 60,000 datagrams a
/// second on loopback, depending on the machine: `udp-client --count 100000
/// --concurrency 8` spreads them over 8 ports, about 12,500 a second each.
/// A reply loop between two servers on loopback runs about as fast and
/// never stops. The limit sits between them: a load test from several
/// sockets is never slowed, a loop dies within a second or two, and a
/// benchmark from one socket on a fast machine may need a higher
/// `--max-replies-per-second`.
pub const DEFAULT_MAX_REPLIES_PER_SECOND: u32 = 20_000;

/// How many sources the limiter keeps count of at once. Each costs about
/// 80 bytes, so the table stays under half a megabyte however many forged
/// addresses a flood uses.
pub const MAX_TRACKED_SOURCES: usize = 4096;

/// The server says at most this often that it is dropping a source's
/// datagrams: a loop or a flood must not flood the log as well.
pub const NOTICE_INTERVAL: Duration = Duration::from_secs(1);

// ANCHOR: reply_limiter
/// Decides, datagram by datagram, whether the server may answer its source.
///
/// **Why an answering server needs this.** Nothing in a UDP datagram proves
/// who sent it: the source address is whatever the sender wrote there, and
/// the reply goes to that address. So a server that answers everything is a
/// *reflector*. Forge the address of another answering server (an echo
/// server, or a second copy of ours) and the two answer each other for ever,
/// at full speed, from one datagram: a *reply loop*. Forge a victim's address
/// and send from many machines, and the victim drowns in replies it never
/// asked for, which seem to come from us: a *reflection* attack. When each
/// reply is bigger than the request (ours is 5 bytes bigger; a DNS answer
/// can be 50 times bigger) it is an *amplification* attack too. TCP is safe
/// from all three: no data flows before the handshake, and the handshake
/// proves the client can receive at its address.
///
/// [`crate::refuse_reason`] turns away the sources that can only be forged
/// (the server itself, port 0, the answering services' ports). This limits
/// the rest: each source address and port gets a *token bucket* that holds
/// up to `per_second` tokens and refills at `per_second` tokens a second. A
/// reply costs a token; a datagram that finds the bucket empty is dropped
/// unanswered. A loop has one datagram in flight, so the first one dropped
/// ends it. A client is keyed by address *and* port because every socket
/// of a load test has its own port: keyed by address alone, 8 sockets on
/// 127.0.0.1 would share one bucket.
///
/// What this does not stop: a reflection attack that forges a victim's
/// address with a different port in each datagram gets a bucket per port.
/// Stopping that takes a limit per address (or per network), low enough
/// that a load test from one machine would hit it; servers on the Internet
/// do that (DNS servers' *response rate limiting* counts per /24 network,
/// a few answers a second). This is a classroom server on loopback, and
/// its load tests matter more here.
///
/// The table of buckets is bounded ([`MAX_TRACKED_SOURCES`]): a bucket
/// that has refilled is forgotten when room is needed (a new bucket would be
/// the same), and while every bucket is busy, datagrams from new sources are
/// dropped. A flood from forged addresses thus costs memory once, not per
/// address.
pub struct ReplyLimiter {
    per_second: f64,
    max_sources: usize,
    sources: HashMap<SocketAddr, Bucket>,
    /// Datagrams from new sources dropped since the last notice about them.
    unreported_new: u64,
    last_new_notice: Option<Instant>,
}

/// One source's bucket.
struct Bucket {
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
    /// Its datagrams dropped since the last notice about it.
    unreported: u64,
    last_notice: Option<Instant>,
}

/// What [`ReplyLimiter::check`] decided about one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Answer it.
    Answer,
    /// Drop it: its source is over the limit. `notice` is `Some(n)` when the
    /// server should say so now, `n` being the datagrams from this source
    /// dropped since it last said so (this one included).
    OverLimit {
        /// Dropped since the last notice, if one is due.
        notice: Option<u64>,
    },
    /// Drop it: a new source, and every tracked one is busy. `notice` as
    /// for [`Verdict::OverLimit`], counting datagrams from all new sources.
    NoRoom {
        /// Dropped since the last notice, if one is due.
        notice: Option<u64>,
    },
}

impl ReplyLimiter {
    /// A limiter of `per_second` replies a second per source (at least 1),
    /// keeping count of at most `max_sources` sources (at least 1).
    pub fn new(per_second: u32, max_sources: usize) -> Self {
        Self {
            per_second: f64::from(per_second.max(1)),
            max_sources: max_sources.max(1),
            sources: HashMap::new(),
            unreported_new: 0,
            last_new_notice: None,
        }
    }

    /// Takes a token from `from`'s bucket if it has one, at time `now`.
    pub fn check(&mut self, from: SocketAddr, now: Instant) -> Verdict {
        if !self.sources.contains_key(&from) && self.sources.len() >= self.max_sources {
            self.forget_idle(now);
            if self.sources.len() >= self.max_sources {
                self.unreported_new += 1;
                let notice = take_notice(&mut self.unreported_new, &mut self.last_new_notice, now);
                return Verdict::NoRoom { notice };
            }
        }
        let burst = self.per_second;
        let bucket = self.sources.entry(from).or_insert(Bucket {
            tokens: burst,
            updated: now,
            unreported: 0,
            last_notice: None,
        });
        bucket.tokens = bucket.tokens_at(now, self.per_second, burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Verdict::Answer
        } else {
            bucket.unreported += 1;
            let notice = take_notice(&mut bucket.unreported, &mut bucket.last_notice, now);
            Verdict::OverLimit { notice }
        }
    }

    /// How many sources it keeps count of now.
    pub fn tracked(&self) -> usize {
        self.sources.len()
    }

    /// Forgets every source whose bucket has refilled: a fresh bucket would
    /// be the same. Runs only when the table is full, and usually frees most
    /// of it, so its cost is spread over many datagrams.
    fn forget_idle(&mut self, now: Instant) {
        let (rate, burst) = (self.per_second, self.per_second);
        self.sources
            .retain(|_, bucket| bucket.tokens_at(now, rate, burst) < burst);
    }
}

impl Bucket {
    /// The tokens it holds at `now`: what it had, plus what flowed in since,
    /// up to `burst`.
    fn tokens_at(&self, now: Instant, rate: f64, burst: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        (self.tokens + elapsed * rate).min(burst)
    }
}
// ANCHOR_END: reply_limiter

/// `Some(count)`, and the count reset, when no notice was given in the last
/// [`NOTICE_INTERVAL`]; `None` otherwise.
fn take_notice(unreported: &mut u64, last: &mut Option<Instant>, now: Instant) -> Option<u64> {
    let due = last.is_none_or(|at| now.saturating_duration_since(at) >= NOTICE_INTERVAL);
    if !due {
        return None;
    }
    *last = Some(now);
    Some(std::mem::take(unreported))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_burst_is_answered_then_the_rate_applies() {
        let mut limiter = ReplyLimiter::new(10, 100);
        let start = Instant::now();
        for _ in 0..10 {
            assert_eq!(limiter.check(source(1000), start), Verdict::Answer);
        }
        assert_eq!(
            limiter.check(source(1000), start),
            Verdict::OverLimit { notice: Some(1) }
        );
        // Another port is another source, with a bucket of its own.
        assert_eq!(limiter.check(source(1001), start), Verdict::Answer);
        // A tenth of a second later, one token has flowed back in.
        let later = start + Duration::from_millis(100);
        assert_eq!(limiter.check(source(1000), later), Verdict::Answer);
        assert!(matches!(
            limiter.check(source(1000), later),
            Verdict::OverLimit { .. }
        ));
    }

    #[test]
    fn drops_are_reported_at_most_once_a_second_per_source() {
        let mut limiter = ReplyLimiter::new(1, 100);
        let start = Instant::now();
        assert_eq!(limiter.check(source(1000), start), Verdict::Answer);
        assert_eq!(
            limiter.check(source(1000), start),
            Verdict::OverLimit { notice: Some(1) }
        );
        for _ in 0..5 {
            assert_eq!(
                limiter.check(source(1000), start),
                Verdict::OverLimit { notice: None }
            );
        }
        // A second later the bucket has one token again: answered, then
        // the next drop is reported with the five held back.
        let later = start + NOTICE_INTERVAL;
        assert_eq!(limiter.check(source(1000), later), Verdict::Answer);
        assert_eq!(
            limiter.check(source(1000), later),
            Verdict::OverLimit { notice: Some(6) }
        );
    }

    #[test]
    fn the_table_is_bounded_and_forgets_idle_sources() {
        let mut limiter = ReplyLimiter::new(2, 3);
        let start = Instant::now();
        // Three busy sources fill the table.
        for port in 1..=3 {
            assert_eq!(limiter.check(source(port), start), Verdict::Answer);
        }
        assert_eq!(
            limiter.check(source(4), start),
            Verdict::NoRoom { notice: Some(1) }
        );
        assert_eq!(
            limiter.check(source(5), start),
            Verdict::NoRoom { notice: None }
        );
        assert_eq!(limiter.tracked(), 3);
        // Once their buckets have refilled, they make room.
        let later = start + Duration::from_secs(1);
        assert_eq!(limiter.check(source(4), later), Verdict::Answer);
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn a_flood_of_forged_sources_does_not_grow_the_table() {
        let mut limiter = ReplyLimiter::new(DEFAULT_MAX_REPLIES_PER_SECOND, 64);
        let start = Instant::now();
        for port in 1..=10_000 {
            let _ = limiter.check(source(port), start);
        }
        assert!(limiter.tracked() <= 64, "{}", limiter.tracked());
    }
}
