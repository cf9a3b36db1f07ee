//! sniff: how fast the monitor reads a capture file. A 100,000-packet pcap
//! is generated here (a mix of TCP and UDP over IPv4 and IPv6, pings, ARP
//! and a lying frame), then read by the chapter's `pcap::read_file` and
//! `NetworkMonitor::process_packet` with no line per packet, as `sniff
//! --pcap FILE --quiet` does; the reference is `tcpdump -n -r FILE >
//! /dev/null`, when tcpdump is installed. The file is streamed, so memory
//! does not grow with it.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sniff::{NetworkMonitor, craft};

use crate::{Args, Row, median, per_sec};

/// Packets in the generated capture.
const PACKETS: usize = 100_000;
/// The article's scapy monitor on this machine, printing nothing: the
/// figure the chapter's targets are set against (it needs scapy and root,
/// so it is not rerun here).
const SCAPY_PER_SEC: f64 = 5_500.0;

pub fn parsing_rate(args: &Args) -> io::Result<Vec<Row>> {
    let path = std::env::temp_dir().join(format!("netlab-bench-{}.pcap", std::process::id()));
    let frames = mix();
    let all: Vec<Vec<u8>> = frames.iter().cycle().take(PACKETS).cloned().collect();
    sniff::pcap::write_frames(&path, Duration::from_secs(1_767_225_600), &all)?;
    drop(all);
    let ours = || -> io::Result<f64> {
        let started = Instant::now();
        let mut monitor = NetworkMonitor::new();
        let n = sniff::pcap::read_file(&path, |frame| {
            monitor.process_packet(frame, |_| {});
            true
        })
        .map_err(|e| io::Error::other(e.to_string()))?;
        if monitor.protocol_stats.total() != PACKETS as u64 {
            return Err(io::Error::other(format!(
                "counted {n} of {PACKETS} packets"
            )));
        }
        Ok(n as f64 / started.elapsed().as_secs_f64())
    };
    let tcpdump = || -> io::Result<f64> {
        let started = Instant::now();
        let status = Command::new("tcpdump")
            .args(["-n", "-r"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(io::Error::other(format!("tcpdump -r failed: {status}")));
        }
        Ok(PACKETS as f64 / started.elapsed().as_secs_f64())
    };
    let has_tcpdump = Command::new("tcpdump")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let runs = args.runs.min(5);
    let (mut ours_runs, mut reference_runs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        ours_runs.push(ours()?);
        if has_tcpdump {
            reference_runs.push(tcpdump()?);
        }
    }
    let _ = std::fs::remove_file(&path);
    let rate = median(ours_runs);
    let scapy = format!(
        "{:.0}x the article's scapy (~{})",
        rate / SCAPY_PER_SEC,
        per_sec(SCAPY_PER_SEC)
    );
    let (reference, ratio) = if has_tcpdump {
        let tcpdump = median(reference_runs);
        (
            format!("`tcpdump -n -r FILE > /dev/null`: {}", per_sec(tcpdump)),
            format!("{:.2}x tcpdump; {scapy}", rate / tcpdump),
        )
    } else {
        (
            "tcpdump not installed: reference skipped".to_string(),
            scapy,
        )
    };
    Ok(vec![Row {
        chapter: "sniff",
        measured: format!(
            "packets/s reading a {PACKETS}-packet pcap, no line per packet (--quiet)"
        ),
        figure: per_sec(rate),
        reference,
        ratio,
    }])
}

/// One of each kind of frame a capture on `lo` holds, and one that lies.
fn mix() -> Vec<Vec<u8>> {
    let v4 = |port| SocketAddr::from(([127, 0, 0, 1], port));
    let v6 = |port| SocketAddr::new(IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1u16]), port);
    let mut lying = craft::udp(v4(40000), v4(9090), b"cut short");
    lying.truncate(lying.len() - 4);
    vec![
        craft::tcp(
            v4(51234),
            v4(8080),
            sniff::wire::flags::ACK,
            b"Hello, Server!",
        ),
        craft::tcp(
            v4(8080),
            v4(51234),
            sniff::wire::flags::ACK,
            b"Echo: Hello, Server!",
        ),
        craft::udp(v4(40000), v4(9090), b"Hello, UDP Server!"),
        craft::udp(v6(40001), v6(5000), b"over IPv6"),
        craft::tcp(v6(40002), v6(8080), sniff::wire::flags::SYN, b""),
        craft::ping(v4(0).ip(), v4(0).ip()),
        craft::arp(),
        lying,
    ]
}
