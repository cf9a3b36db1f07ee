//! The monitor on crafted captures with known contents: exact counts,
//! exact lines, IPv6 counted, lying frames Malformed, truncated files and
//! alerts.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::fs;
use std::process::{Command, Output};
use std::time::Duration;

use common::{START, TempDir, addr, capture, mixed};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
use sniff::wire::flags;
use sniff::{Event, NetworkMonitor, ProtocolStats, craft};

fn sniff(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sniff"))
        .args(args)
        .output()
        .expect("run sniff")
}

fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs the monitor over a file; returns it and every event as a line.
fn monitor(path: &std::path::Path) -> (NetworkMonitor, Vec<String>) {
    let mut monitor = NetworkMonitor::new();
    let mut lines = Vec::new();
    sniff::pcap::read_file(path, |frame| {
        monitor.process_packet(frame, |event| lines.push(event.to_string()));
        true
    })
    .expect("read the capture");
    (monitor, lines)
}

#[test]
fn every_frame_is_counted_once() {
    let dir = TempDir::new("counted-once");
    let (frames, lines) = mixed();
    let (monitor, printed) = monitor(&capture(&dir, "mixed.pcap", &frames));
    assert_eq!(printed, lines);
    assert_eq!(
        monitor.protocol_stats,
        ProtocolStats {
            tcp: 2,
            udp: 2,
            other: 2,
            malformed: 3
        }
    );
    assert_eq!(monitor.protocol_stats.total(), frames.len() as u64);
    // The article's monitor sees neither IPv6 packet, nor the ARP request.
    assert_eq!(monitor.missed_by_article, 3);
}

#[test]
fn the_binary_prints_the_articles_lines_and_a_summary() {
    let dir = TempDir::new("binary-lines");
    let (frames, lines) = mixed();
    let path = capture(&dir, "mixed.pcap", &frames);
    let output = sniff(&["--pcap", path.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    let printed = stdout_lines(&output);
    assert_eq!(printed[..4], lines[..]);
    assert!(
        printed[4].starts_with("9 packets in ")
            && printed[4].ends_with(": TCP 2, UDP 2, Other 2, Malformed 3"),
        "{printed:?}"
    );
    assert_eq!(
        printed[6],
        "The article's monitor would have counted 6 of them (3 not IPv4)"
    );
    assert_eq!(printed[7], "Alerts: port scan 0, SYN flood 0");
}

#[test]
fn stats_print_every_100_packets_and_count_stops() {
    let dir = TempDir::new("stats");
    let frame = craft::udp(addr("127.0.0.1:40000"), addr("127.0.0.1:9090"), b"x");
    let path = capture(&dir, "udp.pcap", &vec![frame; 250]);
    let output = sniff(&[
        "--pcap",
        path.to_str().unwrap(),
        "--quiet",
        "--count",
        "200",
    ]);
    let printed = stdout_lines(&output);
    let stats = "Stats: {\n  \"TCP\": 0,\n  \"UDP\": 100,\n  \"Other\": 0,\n  \"Malformed\": 0\n}";
    assert_eq!(printed[..6].join("\n"), stats, "{printed:?}");
    assert_eq!(printed[6], "Stats: {");
    assert_eq!(printed[8], "  \"UDP\": 200,");
    assert!(printed[12].starts_with("200 packets in "), "{printed:?}");
    let (all, _) = monitor(&path);
    assert_eq!(all.packet_count, 250);
}

#[test]
fn json_summary_is_one_line_with_the_stats() {
    let dir = TempDir::new("json");
    let (frames, _) = mixed();
    let path = capture(&dir, "mixed.pcap", &frames);
    let output = sniff(&["--pcap", path.to_str().unwrap(), "--quiet", "--json"]);
    let printed = stdout_lines(&output);
    assert_eq!(printed.len(), 1, "{printed:?}");
    let line = &printed[0];
    assert!(
        line.starts_with("{\"packets\": 9, \"elapsed_s\": "),
        "{line}"
    );
    assert!(
        line.contains(
            "\"stats\": {\"TCP\": 2, \"UDP\": 2, \"Other\": 2, \"Malformed\": 3}, \"bytes\": {"
        ),
        "{line}"
    );
}

#[test]
fn ethernet_padding_stays_out_of_the_payload() {
    // A 60-byte minimum Ethernet frame: the UDP datagram is shorter, and
    // the rest is padding (libpnet #346).
    let mut frame = craft::udp(addr("10.0.0.1:1000"), addr("10.0.0.2:53"), b"abc");
    frame.resize(60, 0);
    let decoded = sniff::wire::decode(sniff::LinkType::Ethernet, &frame, false);
    match decoded {
        sniff::Decoded::Udp(segment) => assert_eq!(segment.payload, b"abc"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_truncated_file_ends_with_a_clear_message() {
    let dir = TempDir::new("truncated");
    let (frames, _) = mixed();
    let path = capture(&dir, "cut.pcap", &frames[..4]);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let output = sniff(&["--pcap", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the file ends in the middle of a packet, after 3 whole packets"),
        "{stderr}"
    );
    // What was whole was counted and summed up.
    assert!(
        stdout_lines(&output)
            .iter()
            .any(|l| l.starts_with("3 packets in "))
    );
    let output = sniff(&["--pcap", "/nonexistent/capture.pcap"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn a_crafted_scan_fires_one_alert() {
    let dir = TempDir::new("scan");
    let scanner = "10.0.0.9:40000";
    let frames: Vec<Vec<u8>> = (1..=30)
        .map(|port| craft::syn(addr(scanner), addr(&format!("10.0.0.1:{port}"))))
        .collect();
    let path = capture(&dir, "scan.pcap", &frames);
    let output = sniff(&["--pcap", path.to_str().unwrap(), "--quiet"]);
    let printed = stdout_lines(&output);
    assert_eq!(
        printed[0],
        "ALERT port scan: 10.0.0.9 sent SYNs to 21 distinct ports within 5 s"
    );
    assert!(
        printed.contains(&"Alerts: port scan 1, SYN flood 0".to_string()),
        "{printed:?}"
    );
}

#[test]
fn linux_cooked_and_pcapng_captures_are_read() {
    let dir = TempDir::new("formats");
    let frame = craft::tcp(
        addr("127.0.0.1:1234"),
        addr("127.0.0.1:80"),
        flags::SYN,
        b"",
    );
    // Linux cooked (SLL): a 16-byte header, protocol in its last two bytes.
    let mut cooked = vec![0u8; 16];
    cooked[14..16].copy_from_slice(&0x0800u16.to_be_bytes());
    cooked.extend_from_slice(&frame[14..]);
    let sll = dir.join("sll.pcap");
    let header = PcapHeader {
        datalink: DataLink::LINUX_SLL,
        ..PcapHeader::default()
    };
    let mut writer = PcapWriter::with_header(fs::File::create(&sll).unwrap(), header).unwrap();
    let packet = PcapPacket::new(START, cooked.len() as u32, &cooked);
    writer.write_packet(&packet).unwrap();
    drop(writer);
    let (monitor_sll, lines) = monitor(&sll);
    assert_eq!(lines, ["TCP 127.0.0.1:1234 -> 127.0.0.1:80"]);
    assert_eq!(monitor_sll.protocol_stats.tcp, 1);

    let ng = dir.join("capture.pcapng");
    let mut writer = PcapNgWriter::new(fs::File::create(&ng).unwrap()).unwrap();
    writer
        .write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::ETHERNET, 65535))
        .unwrap();
    for _ in 0..3 {
        let block = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: START + Duration::from_millis(1),
            original_len: frame.len() as u32,
            data: frame.clone().into(),
            options: vec![],
        };
        writer.write_pcapng_block(block).unwrap();
    }
    drop(writer);
    let (monitor_ng, lines) = monitor(&ng);
    assert_eq!(lines.len(), 3);
    assert_eq!(monitor_ng.protocol_stats.tcp, 3);
}

#[test]
fn events_are_what_the_article_prints() {
    let frame = craft::udp(addr("[::1]:40001"), addr("[::1]:5000"), b"");
    let mut monitor = NetworkMonitor::new();
    let mut seen = Vec::new();
    let f = sniff::Frame {
        link: sniff::LinkType::Ethernet,
        data: &frame,
        orig_len: frame.len(),
        at: START,
    };
    monitor.process_packet(&f, |event| {
        assert!(matches!(event, Event::Packet(_)));
        seen.push(event.to_string());
    });
    assert_eq!(seen, ["UDP [::1]:40001 -> [::1]:5000"]);
}

#[test]
fn without_the_capability_live_capture_says_what_to_do() {
    // Drop to `nobody` for one run: possible only as root, with setpriv.
    let setpriv = std::path::Path::new("/usr/bin/setpriv");
    let is_root = fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    });
    if !is_root || !setpriv.exists() {
        println!(
            "SKIPPED without_the_capability_live_capture_says_what_to_do: needs root and setpriv to drop privileges"
        );
        return;
    }
    let output = Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_sniff"))
        .output()
        .expect("run setpriv");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        "error: live capture needs root or CAP_NET_RAW: run it with sudo, grant it once with \
         `sudo setcap cap_net_raw+ep target/debug/sniff`, or read a capture with --pcap FILE"
    );
}
