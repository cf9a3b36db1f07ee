//! # Chapter 6: packet inspection
//!
//! The article hands each captured packet to scapy's `sniff(prn=...)`, and
//! its `NetworkMonitor.process_packet` counts TCP, UDP and Other in
//! `protocol_stats`, prints `TCP 127.0.0.1:51234 -> 127.0.0.1:8080` for each
//! TCP or UDP packet, prints `Stats: ` and the counts as indented JSON every
//! 100 packets, and stops after 500. This crate is that monitor,
//! [`NetworkMonitor::process_packet`], fed from two sources: a live
//! `AF_PACKET` socket ([`capture`]) and pcap/pcapng files ([`pcap`]).
//!
//! The article's monitor miscounts: only a packet with an IPv4 layer reaches
//! its counters, so IPv6, ARP and anything else not IPv4 land in no count at
//! all. Ours counts every frame exactly once, in one of four counts (TCP and
//! UDP over IPv4 and IPv6, Other, and Malformed for a frame that does not
//! add up), so the counts sum to the frames seen; [`Summary`] says how many
//! frames the article would have missed. The parser ([`wire`]) trusts no
//! length field, and the two alert rules the article only mentions
//! ([`alerts`]) fire on a port scan and a SYN flood.
//!
//! | Python (article)                                  | Rust (here)                                   |
//! |---------------------------------------------------|-----------------------------------------------|
//! | `class NetworkMonitor`                            | [`NetworkMonitor`]                            |
//! | `self.protocol_stats = {'TCP': 0, 'UDP': 0, 'Other': 0}` | [`NetworkMonitor::protocol_stats`]: [`ProtocolStats`], plus `Malformed` |
//! | `def process_packet(self, packet)`                | [`NetworkMonitor::process_packet`]: a [`Frame`], events to a closure |
//! | `packet.haslayer(IP)`, `haslayer(TCP)`, `packet[TCP]` | [`wire::decode`]: every length checked, IPv6 too |
//! | `print(f"TCP {src_ip}:{sport} -> {dst_ip}:{dport}")` | [`Event::Packet`]'s `Display`             |
//! | `print(f"Stats: {json.dumps(stats, indent=2)}")`  | [`Event::Stats`]'s `Display`, via `cli::json_dumps_indent` |
//! | `sniff(prn=..., count=500)`                       | [`capture::LiveCapture`] (`--count 500`), or [`pcap::read_file`] |
//! | "logging and alerting for suspicious activities"  | [`alerts::Alerts`]: [`Event::Alert`]          |
//!
//! Run it: `just sniff` (as root: it captures 500 packets on `lo`), or
//! `just sniff --pcap FILE` for a capture file.
#![deny(unsafe_code)]

pub mod alerts;
pub mod capture;
pub mod craft;
pub mod pcap;
pub mod summary;
pub mod wire;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

pub use alerts::{Alert, Alerts, Rules};
pub use summary::{Summary, Talker};
pub use wire::{Decoded, LinkType, Segment};

/// The article's `count=500`.
pub const DEFAULT_COUNT: u64 = 500;
/// The article prints the stats every 100 packets.
pub const STATS_EVERY: u64 = 100;
/// The article's interface: scapy's default; ours is loopback, where the
/// chapter's own traffic is.
pub const DEFAULT_INTERFACE: &str = "lo";

/// The article's `protocol_stats`, in its order, plus the frames it could
/// not have parsed. Serialised in field order: `{"TCP": .., "UDP": ..,
/// "Other": .., "Malformed": ..}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProtocolStats {
    /// TCP segments, over IPv4 or IPv6.
    #[serde(rename = "TCP")]
    pub tcp: u64,
    /// UDP datagrams, over IPv4 or IPv6.
    #[serde(rename = "UDP")]
    pub udp: u64,
    /// Every other frame that parses.
    #[serde(rename = "Other")]
    pub other: u64,
    /// Frames whose lengths do not add up.
    #[serde(rename = "Malformed")]
    pub malformed: u64,
}

impl ProtocolStats {
    /// All four together: every frame seen.
    pub fn total(&self) -> u64 {
        self.tcp + self.udp + self.other + self.malformed
    }

    /// The counts as JSON, keys in the article's order.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn add(&mut self, decoded: &Decoded<'_>, n: u64) {
        match decoded {
            Decoded::Tcp(_) => self.tcp += n,
            Decoded::Udp(_) => self.udp += n,
            Decoded::Other { .. } => self.other += n,
            Decoded::Malformed(_) => self.malformed += n,
        }
    }
}

/// One captured frame, from either source.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// What the frame starts with.
    pub link: LinkType,
    /// The bytes captured.
    pub data: &'a [u8],
    /// Its length on the wire (more than `data` when the capture cut it).
    pub orig_len: usize,
    /// When it was captured, since the Unix epoch.
    pub at: Duration,
}

/// What [`NetworkMonitor::process_packet`] reports: the lines the article
/// prints, and the alerts.
#[derive(Debug)]
pub enum Event<'a> {
    /// A TCP or UDP packet: `TCP 127.0.0.1:51234 -> 127.0.0.1:8080`.
    Packet(Decoded<'a>),
    /// Every [`STATS_EVERY`] packets: `Stats: {` and the counts.
    Stats(&'a ProtocolStats),
    /// An alert rule fired.
    Alert(Alert),
}

// ANCHOR: event_display
impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Packet(decoded) => decoded.fmt(f),
            // f"Stats: {json.dumps(self.protocol_stats, indent=2)}"
            Event::Stats(stats) => {
                write!(f, "Stats: {}", cli::json_dumps_indent(&stats.to_json(), 2))
            }
            Event::Alert(alert) => alert.fmt(f),
        }
    }
}
// ANCHOR_END: event_display

/// The article's `NetworkMonitor`, counting every frame once.
#[derive(Debug)]
pub struct NetworkMonitor {
    /// Frames processed, as the article's `packet_count`.
    pub packet_count: u64,
    /// Frames per protocol: the article's `protocol_stats`.
    pub protocol_stats: ProtocolStats,
    /// Bytes (on the wire) per protocol.
    pub protocol_bytes: ProtocolStats,
    /// Frames the article's monitor would have counted nowhere: TCP, UDP
    /// and Other that were not IPv4.
    pub missed_by_article: u64,
    /// Alerts fired, per rule, in the order they first fired.
    pub alerts_fired: Vec<(&'static str, u64)>,
    talkers: HashMap<IpAddr, Talker>,
    alerts: Alerts,
}

impl Default for NetworkMonitor {
    fn default() -> Self {
        Self::new()
    }
}

impl NetworkMonitor {
    /// A monitor with the default alert rules.
    pub fn new() -> Self {
        Self::with_rules(Rules::default())
    }

    /// A monitor with these alert thresholds.
    pub fn with_rules(rules: Rules) -> Self {
        Self {
            packet_count: 0,
            protocol_stats: ProtocolStats::default(),
            protocol_bytes: ProtocolStats::default(),
            missed_by_article: 0,
            alerts_fired: vec![("port scan", 0), ("SYN flood", 0)],
            talkers: HashMap::new(),
            alerts: Alerts::new(rules),
        }
    }

    // ANCHOR: process_packet
    /// The article's `process_packet`: decodes `frame`, counts it in
    /// exactly one of the four counts, and hands `on_event` what the
    /// article prints (the line of a TCP or UDP packet, the stats every
    /// [`STATS_EVERY`] frames) and any alert it fires.
    pub fn process_packet(&mut self, frame: &Frame<'_>, mut on_event: impl FnMut(Event<'_>)) {
        self.packet_count += 1;
        let snapped = frame.data.len() < frame.orig_len;
        let decoded = wire::decode(frame.link, frame.data, snapped);
        self.protocol_stats.add(&decoded, 1);
        self.protocol_bytes.add(&decoded, frame.orig_len as u64);
        let src = decoded.src_ip();
        if !matches!(decoded, Decoded::Malformed(_)) && !matches!(src, Some(IpAddr::V4(_))) {
            self.missed_by_article += 1;
        }
        if let Some(ip) = src {
            let talker = self.talkers.entry(ip).or_insert_with(|| Talker::new(ip));
            talker.packets += 1;
            talker.bytes += frame.orig_len as u64;
        }
        let alert = match &decoded {
            Decoded::Tcp(segment) => self.alerts.tcp(segment, frame.at),
            _ => None,
        };
        if matches!(decoded, Decoded::Tcp(_) | Decoded::Udp(_)) {
            on_event(Event::Packet(decoded));
        }
        if let Some(alert) = alert {
            if let Some(fired) = self
                .alerts_fired
                .iter_mut()
                .find(|(r, _)| *r == alert.rule())
            {
                fired.1 += 1;
            }
            on_event(Event::Alert(alert));
        }
        if self.packet_count.is_multiple_of(STATS_EVERY) {
            on_event(Event::Stats(&self.protocol_stats));
        }
    }
    // ANCHOR_END: process_packet

    /// The end-of-capture summary: counts and bytes per protocol, alerts,
    /// the `top` sources by bytes.
    pub fn summary(&self, elapsed: Duration, top: usize) -> Summary {
        let mut talkers: Vec<Talker> = self.talkers.values().cloned().collect();
        talkers.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.ip.cmp(&b.ip)));
        talkers.truncate(top);
        Summary {
            packets: self.packet_count,
            elapsed,
            stats: self.protocol_stats,
            bytes: self.protocol_bytes,
            missed_by_article: self.missed_by_article,
            alerts: self.alerts_fired.clone(),
            top_talkers: talkers,
            skipped_outgoing: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_print_as_the_articles_json() {
        let stats = ProtocolStats {
            tcp: 60,
            udp: 30,
            other: 9,
            malformed: 1,
        };
        assert_eq!(
            Event::Stats(&stats).to_string(),
            "Stats: {\n  \"TCP\": 60,\n  \"UDP\": 30,\n  \"Other\": 9,\n  \"Malformed\": 1\n}"
        );
    }
}
