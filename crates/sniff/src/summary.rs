//! What the monitor prints at the end: the article stops after 500 packets
//! and says nothing more; ours sums up frames and bytes per protocol, the
//! alerts, and the top talkers, as lines or as one JSON line (`--json`).

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::ProtocolStats;

/// One source address and what it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Talker {
    /// The IP source address.
    pub ip: IpAddr,
    /// Frames from it.
    pub packets: u64,
    /// Bytes from it, on the wire.
    pub bytes: u64,
}

impl Talker {
    /// A talker not yet heard.
    pub fn new(ip: IpAddr) -> Self {
        Self {
            ip,
            packets: 0,
            bytes: 0,
        }
    }
}

/// The end of a capture.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Frames processed.
    pub packets: u64,
    /// How long the capture took.
    pub elapsed: Duration,
    /// Frames per protocol.
    pub stats: ProtocolStats,
    /// Bytes per protocol.
    pub bytes: ProtocolStats,
    /// Frames the article's monitor would have counted nowhere.
    pub missed_by_article: u64,
    /// Alerts fired, per rule.
    pub alerts: Vec<(&'static str, u64)>,
    /// The sources that sent the most bytes, most first.
    pub top_talkers: Vec<Talker>,
    /// Live on `lo`: outgoing copies skipped (each frame is seen twice).
    pub skipped_outgoing: u64,
}

impl Summary {
    /// `--json`: `{"packets": N, "elapsed_s": T, "stats": {...}, ...}`.
    pub fn to_json(&self) -> Value {
        let alerts: serde_json::Map<String, Value> = self
            .alerts
            .iter()
            .map(|(rule, n)| ((*rule).to_string(), json!(n)))
            .collect();
        let talkers: Vec<Value> = self
            .top_talkers
            .iter()
            .map(|t| json!({"ip": t.ip.to_string(), "packets": t.packets, "bytes": t.bytes}))
            .collect();
        json!({
            "packets": self.packets,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "stats": self.stats.to_json(),
            "bytes": self.bytes.to_json(),
            "missed_by_article": self.missed_by_article,
            "alerts": alerts,
            "top_talkers": talkers,
            "skipped_outgoing": self.skipped_outgoing,
        })
    }

    /// The summary as lines for a terminal.
    pub fn lines(&self) -> Vec<String> {
        let s = &self.stats;
        let b = &self.bytes;
        let mut lines = vec![
            format!(
                "{} in {:.2} s: TCP {}, UDP {}, Other {}, Malformed {}",
                cli::count(self.packets, "packet"),
                self.elapsed.as_secs_f64(),
                s.tcp,
                s.udp,
                s.other,
                s.malformed
            ),
            format!(
                "Bytes: TCP {}, UDP {}, Other {}, Malformed {}",
                b.tcp, b.udp, b.other, b.malformed
            ),
            format!(
                "The article's monitor would have counted {} of them ({} not IPv4)",
                self.packets - self.missed_by_article,
                self.missed_by_article
            ),
        ];
        let alerts: Vec<String> = self
            .alerts
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        lines.push(format!("Alerts: {}", alerts.join(", ")));
        let talkers: Vec<String> = self
            .top_talkers
            .iter()
            .map(|t| {
                format!(
                    "{} ({}, {} bytes)",
                    t.ip,
                    cli::count(t.packets, "packet"),
                    t.bytes
                )
            })
            .collect();
        if !talkers.is_empty() {
            lines.push(format!("Top talkers: {}", talkers.join(", ")));
        }
        if self.skipped_outgoing > 0 {
            lines.push(format!(
                "Skipped {} outgoing copies (on lo every frame is seen leaving and arriving)",
                self.skipped_outgoing
            ));
        }
        lines
    }
}
