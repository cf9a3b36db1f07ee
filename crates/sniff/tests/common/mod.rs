//! What the sniff tests share: a temporary directory, and a capture with
//! known contents.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use std::{fs, process};

use sniff::craft;
use sniff::wire::flags;

/// A directory of its own under the system's temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("sniff-test-{}-{name}", process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create a temp dir");
        Self(path)
    }

    pub fn join(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub fn addr(text: &str) -> SocketAddr {
    text.parse().expect("a socket address")
}

/// When the crafted captures start: 2026-01-01.
pub const START: Duration = Duration::from_secs(1_767_225_600);

/// Nine frames, one of each kind, and the lines the monitor prints for
/// them: TCP and UDP over IPv4, UDP and TCP over IPv6, a ping, an ARP
/// request, and three frames that lie about their lengths.
pub fn mixed() -> (Vec<Vec<u8>>, Vec<&'static str>) {
    let client = addr("127.0.0.1:51234");
    let server = addr("127.0.0.1:8080");
    let mut lying_offset = craft::tcp(client, server, flags::ACK, b"data");
    // TCP data offset 15 words = 60 bytes, in a 24-byte segment (#221).
    lying_offset[14 + 20 + 12] = 15 << 4;
    let mut cut_short = craft::udp(addr("127.0.0.1:40000"), addr("127.0.0.1:9090"), b"hello");
    cut_short.truncate(14 + 20 + 4);
    let mut long_total = craft::ping("127.0.0.1".parse().unwrap(), "127.0.0.1".parse().unwrap());
    // IPv4 total length 1500 in a 42-byte frame.
    long_total[14 + 2..14 + 4].copy_from_slice(&1500u16.to_be_bytes());
    let frames = vec![
        craft::tcp(client, server, flags::SYN, b""),
        craft::udp(
            addr("127.0.0.1:40000"),
            addr("127.0.0.1:9090"),
            b"Hello, UDP Server!",
        ),
        craft::udp(addr("[::1]:40001"), addr("[::1]:5000"), b"over IPv6"),
        craft::tcp(addr("[::1]:40002"), addr("[::1]:8080"), flags::SYN, b""),
        craft::ping("127.0.0.1".parse().unwrap(), "127.0.0.1".parse().unwrap()),
        craft::arp(),
        lying_offset,
        cut_short,
        long_total,
    ];
    let lines = vec![
        "TCP 127.0.0.1:51234 -> 127.0.0.1:8080",
        "UDP 127.0.0.1:40000 -> 127.0.0.1:9090",
        "UDP [::1]:40001 -> [::1]:5000",
        "TCP [::1]:40002 -> [::1]:8080",
    ];
    (frames, lines)
}

/// Writes `frames` as a pcap file in `dir`.
pub fn capture(dir: &TempDir, name: &str, frames: &[Vec<u8>]) -> PathBuf {
    let path = dir.join(name);
    sniff::pcap::write_frames(&path, START, frames).expect("write the capture");
    path
}
