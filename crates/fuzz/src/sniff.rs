//! Chapter 6's parsers: frames off the wire and capture files from disk.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sniff::pcap::FileError;
use sniff::{Decoded, Event, Frame, LinkType, NetworkMonitor, Rules};

const LINK_TYPES: [LinkType; 4] = [
    LinkType::Ethernet,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::RawIp,
];

/// Low thresholds, so that a few fuzzed SYNs fire both alert rules and
/// their code runs too.
const FUZZ_RULES: Rules = Rules {
    scan_ports: 4,
    scan_window: Duration::from_secs(1),
    flood_half_open: 4,
    flood_window: Duration::from_secs(1),
};

/// `wire::decode` of `data` as every link type, whole and snapped: the
/// payload it finds lies inside the frame, and marking a frame snapped
/// (cut by the capture) can rescue a short frame but never changes the
/// reading of a whole one.
pub fn decode(data: &[u8]) {
    for link in LINK_TYPES {
        let whole = sniff::wire::decode(link, data, false);
        let snapped = sniff::wire::decode(link, data, true);
        for decoded in [&whole, &snapped] {
            if let Decoded::Tcp(segment) | Decoded::Udp(segment) = decoded {
                assert!(inside(segment.payload, data), "payload outside the frame");
            }
            assert!(!decoded.to_string().chars().any(char::is_control));
        }
        if !matches!(whole, Decoded::Malformed(_)) {
            assert_eq!(whole, snapped, "snapped changes a whole frame's reading");
        }
        // The ICMP error reader, on the same bytes: an answer or `None`.
        if let Some(error) = sniff::wire::unreachable(link, data) {
            let _ = error.port_unreachable();
        }
    }
}

/// The monitor over a run of frames, as `sniff` feeds it: the four counts
/// add up to the frames seen, and the events match the counts. `data`
/// holds frames as [`split_frames`] reads them.
pub fn monitor(data: &[u8]) {
    let mut monitor = NetworkMonitor::with_rules(FUZZ_RULES);
    let (mut packets, mut stats, mut alerts, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut on_event = |event: Event<'_>| {
        assert!(!event.to_string().is_empty());
        match event {
            Event::Packet(_) => packets += 1,
            Event::Stats(_) => stats += 1,
            Event::Alert(_) => alerts += 1,
        }
    };
    let mut frames = 0u64;
    for frame in split_frames(data) {
        bytes += frame.orig_len as u64;
        monitor.process_packet(&frame, &mut on_event);
        frames += 1;
    }
    let counts = monitor.protocol_stats;
    assert_eq!(counts.total(), frames, "every frame counted once");
    assert_eq!(monitor.packet_count, frames);
    assert_eq!(monitor.protocol_bytes.total(), bytes);
    assert_eq!(
        packets,
        counts.tcp + counts.udp,
        "a line per TCP or UDP packet"
    );
    assert_eq!(stats, frames / sniff::STATS_EVERY);
    let fired: u64 = monitor.alerts_fired.iter().map(|(_, n)| n).sum();
    assert_eq!(alerts, fired);
    let summary = monitor.summary(Duration::from_secs(1), 5);
    assert!(!summary.lines().is_empty());
    let _ = summary.to_json();
}

/// The frames in `data`, each after a 4-byte header: its length (2 bytes,
/// big-endian), a byte whose low two bits pick the link type and whose
/// third bit marks it snapped, and the milliseconds since the previous one.
pub(crate) fn split_frames(data: &[u8]) -> Vec<Frame<'_>> {
    let mut frames = Vec::new();
    let mut rest = data;
    let mut at = Duration::from_secs(1_700_000_000);
    while let [hi, lo, kind, delta, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (bytes_of_frame, next) = tail.split_at(len);
        at += Duration::from_millis(u64::from(*delta));
        let snapped = kind & 4 != 0;
        frames.push(Frame {
            link: LINK_TYPES[usize::from(kind & 3)],
            data: bytes_of_frame,
            orig_len: len + if snapped { 100 } else { 0 },
            at,
        });
        rest = next;
    }
    frames
}

/// `pcap::read_file`, as `sniff --pcap FILE` reads it, into the monitor:
/// the frames handed over are the frames counted, and a damaged file is a
/// [`FileError`] that counts the whole packets before the damage. A classic
/// pcap file that is valid by the format's own rules ([`pcap_frames`]) is
/// read whole, frame for frame.
pub fn pcap(data: &[u8]) {
    let path = temp_file();
    fs::write(&path, data).expect("cannot write the temporary capture file");
    let mut monitor = NetworkMonitor::with_rules(FUZZ_RULES);
    let mut handed = Vec::new();
    let read = sniff::pcap::read_file(&path, |frame| {
        handed.push((frame.data.to_vec(), frame.orig_len));
        monitor.process_packet(frame, |event| drop(event.to_string()));
        true
    });
    let _ = fs::remove_file(&path);
    let count = handed.len() as u64;
    match &read {
        Ok(n) => assert_eq!(*n, count),
        Err(FileError::Truncated { packets }) => assert_eq!(*packets, count),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    assert_eq!(monitor.protocol_stats.total(), count);
    if let Some(expected) = pcap_frames(data) {
        let read = read.map_err(|e| e.to_string());
        assert_eq!(read, Ok(expected.len() as u64), "a valid capture refused");
        assert!(handed == expected, "frames differ from the file's");
    }
}

/// The frames of `file` if it is a valid classic pcap file of a link type
/// `sniff` decodes: the 24-byte header (magic number, snap length, link
/// type), then per packet a 16-byte header (seconds, fraction, captured
/// length, original length) and the captured bytes. Valid means: every
/// packet whole, its fraction below a second, and no more captured than
/// the snap length or than the packet's original length. The original
/// length may exceed the snap length: that is what a snap length is for.
fn pcap_frames(file: &[u8]) -> Option<Vec<(Vec<u8>, usize)>> {
    let (little_endian, second) = match file.get(..4)? {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, 1_000_000),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, 1_000_000_000),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, 1_000_000),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, 1_000_000_000),
        _ => return None,
    };
    let field = |at: usize| {
        let bytes: [u8; 4] = file.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if little_endian {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    };
    let snaplen = field(16)?;
    LinkType::from_pcap(field(20)?)?;
    let mut frames = Vec::new();
    let mut at = 24;
    while at < file.len() {
        let (fraction, captured, original) = (field(at + 4)?, field(at + 8)?, field(at + 12)?);
        if fraction >= second || captured > snaplen || captured > original {
            return None;
        }
        let end = (at + 16).checked_add(captured as usize)?;
        frames.push((file.get(at + 16..end)?.to_vec(), original as usize));
        at = end;
    }
    Some(frames)
}

/// Whether `part` is a slice of `whole`: compares addresses, not bytes.
fn inside(part: &[u8], whole: &[u8]) -> bool {
    let (part, whole) = (part.as_ptr_range(), whole.as_ptr_range());
    whole.start <= part.start && part.end <= whole.end
}

/// A file name of this process's own in the temporary directory, a new one
/// each call (the corpus test runs targets on several threads).
fn temp_file() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("netlab-fuzz-{}-{n}.pcap", std::process::id()))
}
