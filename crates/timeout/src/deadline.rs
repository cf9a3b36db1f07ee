//! One deadline for a whole request, instead of one timeout per call.
//!
//! Python's `sock.settimeout(5.0)` gives *each* blocking call five seconds:
//! `connect` may take five, `send` five more, and every `recv` five again.
//! A request made of many calls has no bound at all. A [`Deadline`] is a
//! moment, fixed once when the request starts; before each blocking call the
//! code asks how much time is [left](Deadline::left) and waits that long at
//! most. However many calls there are, together they end by the deadline.

use std::time::{Duration, Instant};

// ANCHOR: deadline
/// The moment a request must be over by, and the timeout it was made from
/// (for messages: "timed out after 5.0 seconds").
///
/// `Copy`, so one deadline can be handed to several requests in turn: each
/// gets only what the ones before it left over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    started: Instant,
    at: Instant,
    timeout: Duration,
}

impl Deadline {
    /// The deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        let started = Instant::now();
        // Past the end of `Instant` (centuries away): as good as no deadline.
        let at = started
            .checked_add(timeout)
            .unwrap_or_else(|| started + Duration::from_secs(100 * 365 * 24 * 3600));
        Self {
            started,
            at,
            timeout,
        }
    }

    /// The time left, or `None` once the deadline has passed: the wait to
    /// give the next blocking call.
    pub fn left(&self) -> Option<Duration> {
        let left = self.at.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }

    /// Whether the deadline has passed.
    pub fn has_passed(&self) -> bool {
        self.left().is_none()
    }

    /// The timeout this deadline was made from.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The time since the deadline was set.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}
// ANCHOR_END: deadline

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_shrinks_to_none() {
        let deadline = Deadline::after(Duration::from_millis(30));
        let left = deadline.left().unwrap();
        assert!(left <= Duration::from_millis(30), "{left:?}");
        assert!(!deadline.has_passed());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(deadline.left(), None);
        assert!(deadline.has_passed());
        assert!(deadline.elapsed() >= Duration::from_millis(40));
        assert_eq!(deadline.timeout(), Duration::from_millis(30));
    }

    #[test]
    fn an_enormous_timeout_does_not_overflow() {
        let deadline = Deadline::after(Duration::MAX);
        assert!(deadline.left().is_some());
    }
}
