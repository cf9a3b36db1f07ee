//! Faults to inject on purpose, in the spirit of toxiproxy: a proxy sits
//! between a client and its server, so it can make the network between
//! them slow or broken on demand, and a class can watch the timeout and
//! pool chapters' clients cope.
//!
//! - `--latency MS`: what the target sends is held `MS` milliseconds
//!   before it goes on to the client, so every request/reply round trip
//!   takes at least that much longer.
//! - `--bandwidth KBPS`: each direction carries at most `KBPS` kilobytes
//!   (1000 bytes) a second.
//! - `--reset-after BYTES`: once `BYTES` bytes have passed (both directions
//!   together), the client's connection is reset, as a crashed server or a
//!   middlebox would.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The faults a proxy injects; the default injects none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Hold each chunk from the target this long before forwarding it.
    pub latency: Option<Duration>,
    /// At most this many bytes a second, each direction.
    pub bandwidth: Option<u64>,
    /// Reset the client's connection once this many bytes have passed.
    pub reset_after: Option<u64>,
}

/// How often a bandwidth-limited direction sends: every 50 ms it sends 50
/// ms worth of bytes. Finer would cost more wake-ups; coarser would make
/// the flow visibly bursty.
const PACE: Duration = Duration::from_millis(50);

// ANCHOR: pacer
/// Holds one direction to a bandwidth: each chunk leaves no sooner than
/// the previous one plus the time the previous one takes at that rate.
#[derive(Debug)]
pub struct Pacer {
    bytes_per_sec: u64,
    /// When the next byte may leave.
    next: Instant,
}

impl Pacer {
    /// A pacer for `bytes_per_sec` (at least 1).
    pub fn new(bytes_per_sec: u64) -> Self {
        Self {
            bytes_per_sec: bytes_per_sec.max(1),
            next: Instant::now(),
        }
    }

    /// How much to read at once: 50 ms worth, at least one byte.
    pub fn chunk(&self, buffer: usize) -> usize {
        let per_pace = self.bytes_per_sec as u128 * PACE.as_millis() / 1000;
        buffer.min(per_pace.max(1) as usize)
    }

    /// Waits until `n` bytes may leave. A quiet spell earns no credit: a
    /// connection idle for a minute does not then get a minute's burst.
    pub fn wait_for(&mut self, n: usize) {
        let start = self.next.max(Instant::now());
        let takes = Duration::from_secs_f64(n as f64 / self.bytes_per_sec as f64);
        self.next = start + takes;
        sleep_until(self.next);
    }
}
// ANCHOR_END: pacer

/// What `--reset-after` allows of one connection, shared by its two
/// directions.
#[derive(Debug)]
pub struct Budget {
    limit: Option<u64>,
    passed: AtomicU64,
}

impl Budget {
    /// A budget of `limit` bytes, or none.
    pub fn new(limit: Option<u64>) -> Self {
        Self {
            limit,
            passed: AtomicU64::new(0),
        }
    }

    /// Takes up to `n` bytes from the budget: how many may be forwarded,
    /// and whether the budget is now spent (time to reset).
    pub fn take(&self, n: usize) -> (usize, bool) {
        let Some(limit) = self.limit else {
            return (n, false);
        };
        let before = self.passed.fetch_add(n as u64, Ordering::SeqCst);
        let allowed = limit.saturating_sub(before).min(n as u64);
        (allowed as usize, before + n as u64 >= limit)
    }
}

/// Sleeps until `when`; returns at once if it has passed.
pub fn sleep_until(when: Instant) {
    let left = when.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        thread::sleep(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_allows_exactly_its_limit() {
        let budget = Budget::new(Some(10));
        assert_eq!(budget.take(4), (4, false));
        assert_eq!(budget.take(4), (4, false));
        assert_eq!(budget.take(4), (2, true));
        assert_eq!(budget.take(4), (0, true));
        assert_eq!(Budget::new(None).take(1 << 20), (1 << 20, false));
    }

    #[test]
    fn the_pacer_reads_a_paces_worth() {
        assert_eq!(Pacer::new(100_000).chunk(128 * 1024), 5_000);
        assert_eq!(Pacer::new(1).chunk(128 * 1024), 1);
        assert_eq!(Pacer::new(1 << 40).chunk(64), 64);
    }

    #[test]
    fn the_pacer_holds_the_rate() {
        let mut pacer = Pacer::new(100_000);
        let started = Instant::now();
        for _ in 0..4 {
            pacer.wait_for(5_000);
        }
        // 20,000 bytes at 100,000 a second: 0.2 s.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(195), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
}
