//! The article's `traffic_stats`, made exact, and the per-connection and
//! total figures the article does not keep.
//!
//! The article counts with `self.traffic_stats[direction] += len(data)`,
//! from two threads per connection at once. In Python that `+=` is a read,
//! an add and a write: two threads can read the same old value, and one
//! addition is lost. Here each count is an [`AtomicU64`], and
//! `fetch_add` does the read, the add and the write as one step no other
//! thread can come between. The counts are of bytes *forwarded* (written to
//! the other side), not merely received, so they say what really passed.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which way bytes travel, named as the article names its two threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to target: the article's `'outbound'`.
    Outbound,
    /// Target to client: the article's `'inbound'`.
    Inbound,
}

impl Direction {
    /// The article's key in `traffic_stats`, and the thread's name.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        }
    }
}

// ANCHOR: traffic_stats
/// The article's `traffic_stats`: bytes forwarded each way, exact however
/// many threads add to it at once.
#[derive(Debug, Default)]
pub struct TrafficStats {
    outbound: AtomicU64,
    inbound: AtomicU64,
}

impl TrafficStats {
    /// `traffic_stats[direction] += n`, as one indivisible step.
    pub fn add(&self, direction: Direction, n: u64) {
        let count = match direction {
            Direction::Outbound => &self.outbound,
            Direction::Inbound => &self.inbound,
        };
        // Relaxed is enough: each count is only ever added to, and read
        // on its own; no other memory depends on it.
        count.fetch_add(n, Ordering::Relaxed);
    }

    /// The counts as they are now.
    pub fn snapshot(&self) -> Traffic {
        Traffic {
            outbound: self.outbound.load(Ordering::Relaxed),
            inbound: self.inbound.load(Ordering::Relaxed),
        }
    }
}
// ANCHOR_END: traffic_stats

/// Bytes forwarded each way, at one moment or over one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Client to target.
    pub outbound: u64,
    /// Target to client.
    pub inbound: u64,
}

impl fmt::Display for Traffic {
    /// As Python prints the article's `dict(self.traffic_stats)`:
    /// `{'outbound': 14, 'inbound': 20}`. (The article's `defaultdict`
    /// shows a key only once a byte went that way, and `{}` before; ours
    /// always shows both.)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{'outbound': {}, 'inbound': {}}}",
            self.outbound, self.inbound
        )
    }
}

/// The proxy's totals for a periodic report (`--stats-every`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Clients accepted so far.
    pub connections: u64,
    /// Clients being served now.
    pub open: u64,
    /// Bytes forwarded each way so far.
    pub traffic: Traffic,
}

impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Traffic stats: {} ({}, {} open)",
            self.traffic,
            cli::count(self.connections, "connection"),
            self.open
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn traffic_prints_as_the_articles_dict() {
        let traffic = Traffic {
            outbound: 14,
            inbound: 20,
        };
        assert_eq!(traffic.to_string(), "{'outbound': 14, 'inbound': 20}");
        let totals = Totals {
            connections: 3,
            open: 1,
            traffic,
        };
        assert_eq!(
            totals.to_string(),
            "Traffic stats: {'outbound': 14, 'inbound': 20} (3 connections, 1 open)"
        );
    }

    #[test]
    fn counts_from_many_threads_are_exact() {
        let stats = TrafficStats::default();
        thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        stats.add(Direction::Outbound, 1);
                        stats.add(Direction::Inbound, 2);
                    }
                });
            }
        });
        assert_eq!(
            stats.snapshot(),
            Traffic {
                outbound: 80_000,
                inbound: 160_000
            }
        );
    }
}
