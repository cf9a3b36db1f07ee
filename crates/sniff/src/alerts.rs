//! "I often extend this with logging and alerting for suspicious
//! activities", says the article. Two rules, each small enough to read in a
//! minute, fed every decoded frame with its capture time:
//!
//! - **port scan**: one source sends SYNs to more than `ports` distinct
//!   destination ports within `window`. Only SYNs count: a server's replies
//!   go to many clients' ephemeral ports, and would look like a scan.
//! - **SYN flood**: more than `half_open` SYNs within `window` whose
//!   handshake has not completed (no ACK from the same client to the same
//!   server port yet).
//!
//! Each rule fires once when it is crossed and again only after it has
//! dropped back below: an alert is news, not a line per packet. Times are
//! the frames' own (a capture file replays at its recorded times), so the
//! rules give the same answer on a file as they did live.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::wire::{Segment, flags};

/// Port scan: more than this many distinct ports...
pub const SCAN_PORTS: usize = 20;
/// ...from one source within this long.
pub const SCAN_WINDOW: Duration = Duration::from_secs(5);
/// SYN flood: more than this many SYNs without a completed handshake...
pub const FLOOD_HALF_OPEN: usize = 200;
/// ...within this long. On loopback a handshake takes microseconds, so a
/// second is ample for a real client to complete one.
pub const FLOOD_WINDOW: Duration = Duration::from_secs(1);

/// The thresholds of both rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Port scan: distinct destination ports from one source.
    pub scan_ports: usize,
    /// Port scan: within this long.
    pub scan_window: Duration,
    /// SYN flood: half-open handshakes.
    pub flood_half_open: usize,
    /// SYN flood: within this long.
    pub flood_window: Duration,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            scan_ports: SCAN_PORTS,
            scan_window: SCAN_WINDOW,
            flood_half_open: FLOOD_HALF_OPEN,
            flood_window: FLOOD_WINDOW,
        }
    }
}

/// An alert as it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// `source` touched `ports` distinct ports within `window`.
    PortScan {
        /// The scanner.
        source: IpAddr,
        /// Distinct ports it sent SYNs to.
        ports: usize,
        /// The rule's window.
        window: Duration,
    },
    /// `half_open` SYNs without a completed handshake within `window`.
    SynFlood {
        /// Half-open handshakes in the window.
        half_open: usize,
        /// The rule's window.
        window: Duration,
    },
}

impl Alert {
    /// The rule's name, as the summary counts it.
    pub fn rule(&self) -> &'static str {
        match self {
            Alert::PortScan { .. } => "port scan",
            Alert::SynFlood { .. } => "SYN flood",
        }
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Alert::PortScan {
                source,
                ports,
                window,
            } => write!(
                f,
                "ALERT port scan: {source} sent SYNs to {ports} distinct ports within {}",
                cli::show_seconds(*window)
            ),
            Alert::SynFlood { half_open, window } => write!(
                f,
                "ALERT SYN flood: {half_open} SYNs without a completed handshake within {}",
                cli::show_seconds(*window)
            ),
        }
    }
}

/// One connection attempt: client and server.
type Handshake = (SocketAddr, SocketAddr);

/// The rules' memory: recent SYNs per source, and handshakes not yet
/// completed. Old entries leave by time, from the front of each queue, so
/// the cost per frame stays constant.
#[derive(Debug, Default)]
pub struct Alerts {
    rules: Rules,
    /// Per source: (time, port) of each SYN in the window, and how many of
    /// those each port has.
    scans: HashMap<IpAddr, Scan>,
    /// SYNs in the flood window, oldest first.
    syns: VecDeque<(Duration, Handshake)>,
    /// Those of `syns` still waiting for their ACK.
    half_open: HashSet<Handshake>,
    flooding: bool,
}

#[derive(Debug, Default)]
struct Scan {
    recent: VecDeque<(Duration, u16)>,
    per_port: HashMap<u16, usize>,
    alerted: bool,
}

impl Alerts {
    /// Rules with these thresholds.
    pub fn new(rules: Rules) -> Self {
        Self {
            rules,
            ..Self::default()
        }
    }

    /// Feeds one TCP segment seen at `at`; returns the alert it fires, if
    /// any.
    pub fn tcp(&mut self, segment: &Segment<'_>, at: Duration) -> Option<Alert> {
        let syn = segment.flags & flags::SYN != 0;
        let ack = segment.flags & flags::ACK != 0;
        if ack && !syn {
            // The client's ACK completes the handshake it began.
            self.half_open.remove(&(segment.src, segment.dst));
            return None;
        }
        if !syn || ack {
            return None;
        }
        let scan = self.scan(segment.src.ip(), segment.dst.port(), at);
        let flood = self.flood((segment.src, segment.dst), at);
        scan.or(flood)
    }

    fn scan(&mut self, source: IpAddr, port: u16, at: Duration) -> Option<Alert> {
        let window = self.rules.scan_window;
        let scan = self.scans.entry(source).or_default();
        scan.recent.push_back((at, port));
        *scan.per_port.entry(port).or_default() += 1;
        while let Some(&(then, old)) = scan.recent.front() {
            if at.saturating_sub(then) <= window {
                break;
            }
            scan.recent.pop_front();
            if let Some(n) = scan.per_port.get_mut(&old) {
                *n -= 1;
                if *n == 0 {
                    scan.per_port.remove(&old);
                }
            }
        }
        let ports = scan.per_port.len();
        if ports <= self.rules.scan_ports {
            scan.alerted = false;
            return None;
        }
        if scan.alerted {
            return None;
        }
        scan.alerted = true;
        Some(Alert::PortScan {
            source,
            ports,
            window,
        })
    }

    fn flood(&mut self, handshake: Handshake, at: Duration) -> Option<Alert> {
        let window = self.rules.flood_window;
        self.syns.push_back((at, handshake));
        self.half_open.insert(handshake);
        while let Some(&(then, old)) = self.syns.front() {
            if at.saturating_sub(then) <= window {
                break;
            }
            self.syns.pop_front();
            self.half_open.remove(&old);
        }
        let half_open = self.half_open.len();
        if half_open <= self.rules.flood_half_open {
            // Re-armed only well below the threshold, so a flood hovering
            // at it does not fire on every other SYN.
            if half_open <= self.rules.flood_half_open / 2 {
                self.flooding = false;
            }
            return None;
        }
        if self.flooding {
            return None;
        }
        self.flooding = true;
        Some(Alert::SynFlood { half_open, window })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn(src: &str, dst: &str) -> Segment<'static> {
        Segment {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            flags: flags::SYN,
            seq: 0,
            ack: 0,
            window: 65535,
            payload: b"",
        }
    }

    #[test]
    fn a_scan_fires_once_past_the_threshold() {
        let mut alerts = Alerts::new(Rules::default());
        let mut fired = Vec::new();
        for port in 1..=40u16 {
            let at = Duration::from_millis(u64::from(port));
            let segment = syn("10.0.0.9:40000", &format!("10.0.0.1:{port}"));
            fired.extend(alerts.tcp(&segment, at));
        }
        assert_eq!(
            fired,
            [Alert::PortScan {
                source: "10.0.0.9".parse().unwrap(),
                ports: SCAN_PORTS + 1,
                window: SCAN_WINDOW
            }]
        );
    }

    #[test]
    fn slow_scans_and_completed_handshakes_do_not_fire() {
        let mut alerts = Alerts::new(Rules::default());
        for port in 1..=40u16 {
            // One port every 10 s: never more than one in the window.
            let at = Duration::from_secs(10 * u64::from(port));
            let client = format!("10.0.0.9:{}", 40000 + port);
            let server = format!("10.0.0.1:{port}");
            assert_eq!(alerts.tcp(&syn(&client, &server), at), None);
            let ack = Segment {
                flags: flags::ACK,
                ..syn(&client, &server)
            };
            assert_eq!(alerts.tcp(&ack, at), None);
        }
        assert!(alerts.half_open.is_empty());
    }

    #[test]
    fn half_open_syns_fire_a_flood() {
        let mut alerts = Alerts::new(Rules::default());
        let fired: Vec<_> = (0..1000u16)
            .filter_map(|i| {
                let client = format!("10.0.0.{}:{}", i % 200, 1024 + i);
                alerts.tcp(
                    &syn(&client, "10.0.0.1:80"),
                    Duration::from_micros(100 * u64::from(i)),
                )
            })
            .collect();
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].rule(), "SYN flood");
    }
}
