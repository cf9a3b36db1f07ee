//! Packets into a ladder: one row per packet, an arrow from the sender's
//! lane to the receiver's, and a line of commentary where TCP does
//! something a chapter explains (the handshake, a half-close, a reset, a
//! retransmission, a full window).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use sniff::wire::flags;

use crate::cast::{Cast, Placement};
use crate::packet::{Kind, Packet};

/// Something a scene says happened, at a moment, between the packets:
/// "client: safe_request gives up after 500 ms".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// When, since the Unix epoch (the clock the capture stamps with).
    pub at: Duration,
    /// What happened, who first.
    pub text: String,
}

/// How much a ladder shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Relative sequence and acknowledgement numbers on every segment.
    pub seq: bool,
}

/// A lane: a role, and the address seen in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// The role: `client`, `server`, `proxy`.
    pub name: String,
    /// The first endpoint placed in the lane.
    pub addr: Option<SocketAddr>,
    /// The ports of the callers placed in it: with more than one, each
    /// arrow names its port.
    pub ports: Vec<u16>,
}

/// An arrow between two lanes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrow {
    /// The sender's lane.
    pub from: usize,
    /// The receiver's lane.
    pub to: usize,
    /// What it carries: flags, numbers, size and a preview.
    pub label: String,
    /// The preview of its bytes, which may be shortened to fit.
    pub preview: String,
}

/// One row of the ladder: an arrow, or a note on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Since the ladder's first row.
    pub at: Duration,
    /// The packet, if the row is one.
    pub arrow: Option<Arrow>,
    /// Commentary, or the note.
    pub comment: String,
}

/// A whole ladder, ready to draw as text ([`Ladder::text`]) or SVG
/// ([`crate::svg`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    /// Left to right.
    pub lanes: Vec<Lane>,
    /// In time order.
    pub rows: Vec<Row>,
}

/// The longest preview of a payload, in characters, before `...`.
const PREVIEW_CHARS: usize = 24;

impl Ladder {
    /// The ladder of `packets` placed by `cast`, with `notes` between them.
    /// Packets that belong to no lane are left out.
    pub fn build(cast: &Cast, packets: &[Packet], notes: &[Note], options: Options) -> Ladder {
        let mut placement = Placement::new(cast);
        let mut placed = Vec::new();
        for packet in packets {
            if let Some((from, to)) = placement.lanes(packet.src, packet.dst) {
                placed.push((packet, from, to));
            }
        }
        let lanes = lanes(cast, &placement, &placed);
        let mut flows = Flows::default();
        let mut rows: Vec<Row> = placed
            .iter()
            .enumerate()
            .map(|(i, &(packet, from, to))| {
                let numbers = flows.numbers(packet);
                let comment = comment(packet, from, to, &lanes, &numbers, &placed[i + 1..]);
                let (label, preview) = label(packet, &numbers, options);
                let label = match port_mark(packet, from, to, &lanes) {
                    Some(mark) => format!("{mark} {label}"),
                    None => label,
                };
                Row {
                    at: packet.at,
                    arrow: Some(Arrow {
                        from,
                        to,
                        label,
                        preview,
                    }),
                    comment,
                }
            })
            .collect();
        rows.extend(notes.iter().map(|note| Row {
            at: note.at,
            arrow: None,
            comment: note.text.clone(),
        }));
        rows.sort_by_key(|row| row.at);
        let start = rows.first().map_or(Duration::ZERO, |row| row.at);
        for row in &mut rows {
            row.at = row.at.saturating_sub(start);
        }
        Ladder { lanes, rows }
    }

    /// How many rows are packets.
    pub fn packets(&self) -> usize {
        self.rows.iter().filter(|row| row.arrow.is_some()).count()
    }
}

/// The lanes as the packets filled them.
fn lanes(cast: &Cast, placement: &Placement<'_>, placed: &[(&Packet, usize, usize)]) -> Vec<Lane> {
    let mut lanes: Vec<Lane> = cast
        .names()
        .iter()
        .map(|name| Lane {
            name: name.clone(),
            addr: None,
            ports: Vec::new(),
        })
        .collect();
    for &(packet, from, to) in placed {
        for (lane, addr) in [(from, packet.src), (to, packet.dst)] {
            if cast.listener(addr.port()) == Some(lane) && lanes[lane].addr.is_none() {
                lanes[lane].addr = Some(addr);
            }
        }
    }
    for &(endpoint, _, lane) in placement.callers() {
        let lane = &mut lanes[lane];
        lane.ports.push(endpoint.port());
        lane.addr.get_or_insert(endpoint);
    }
    lanes
}

/// `[:51234]`: which of a lane's several endpoints the arrow is about.
fn port_mark(packet: &Packet, from: usize, to: usize, lanes: &[Lane]) -> Option<String> {
    let (lane, endpoint) = if lanes[from].ports.len() > 1 {
        (from, packet.src)
    } else {
        (to, packet.dst)
    };
    (lanes[lane].ports.len() > 1).then(|| format!("[:{}]", endpoint.port()))
}

/// A segment's numbers relative to its direction's first, as tcpdump and
/// Wireshark show them, and what they say about the segment.
#[derive(Debug, Default)]
struct Numbers {
    seq: u32,
    ack: u32,
    /// It carries bytes this direction already sent.
    retransmitted: bool,
    /// It is the first FIN of its connection.
    first_fin: bool,
    /// It is the second FIN: both sides are done.
    second_fin: bool,
    /// A pure ACK answering a SYN,ACK: the handshake's third step.
    third_step: bool,
    /// The first packet seen in its direction.
    first: bool,
}

/// What has been seen of each direction of each TCP connection.
#[derive(Debug, Default)]
struct Flows {
    directions: Vec<Direction>,
}

#[derive(Debug)]
struct Direction {
    from: SocketAddr,
    to: SocketAddr,
    base: u32,
    /// The next sequence number after everything sent so far, relative.
    sent_to: u32,
    fin: bool,
    /// A SYN,ACK went this way, not yet answered by a pure ACK.
    awaiting_third: bool,
}

impl Flows {
    fn numbers(&mut self, packet: &Packet) -> Numbers {
        let Kind::Tcp {
            flags: f, seq, ack, ..
        } = packet.kind
        else {
            return Numbers::default();
        };
        let len = packet.payload().len() as u32;
        let syn_or_fin = u32::from(f & (flags::SYN | flags::FIN) != 0);
        let (index, first) = self.direction(packet.src, packet.dst, seq, f);
        let back = self
            .directions
            .iter()
            .position(|d| d.from == packet.dst && d.to == packet.src);
        let ack_base = back.map_or(ack, |i| self.directions[i].base);
        let other_fin = back.is_some_and(|i| self.directions[i].fin);
        let third_step = f == flags::ACK
            && len == 0
            && back.is_some_and(|i| std::mem::take(&mut self.directions[i].awaiting_third));
        let d = &mut self.directions[index];
        let rel = seq.wrapping_sub(d.base);
        let end = rel.wrapping_add(len + syn_or_fin);
        let retransmitted = (len > 0 || f & flags::SYN != 0) && end <= d.sent_to && rel < d.sent_to;
        d.sent_to = d.sent_to.max(end);
        let fin_now = f & flags::FIN != 0 && !d.fin && !retransmitted;
        d.fin |= f & flags::FIN != 0;
        if f & flags::SYN != 0 && f & flags::ACK != 0 {
            d.awaiting_third = true;
        }
        Numbers {
            seq: rel,
            ack: ack.wrapping_sub(ack_base),
            retransmitted,
            first_fin: fin_now && !other_fin,
            second_fin: fin_now && other_fin,
            third_step,
            first,
        }
    }

    /// The direction `from` → `to`, started at `seq` (its SYN's, or the
    /// first seen) unless a SYN starts it over; and whether it is new.
    fn direction(&mut self, from: SocketAddr, to: SocketAddr, seq: u32, f: u8) -> (usize, bool) {
        let found = self
            .directions
            .iter()
            .position(|d| d.from == from && d.to == to);
        match found {
            // A SYN on a port pair seen before, after both FINs: a new
            // connection reusing the pair.
            Some(i) if f & flags::SYN != 0 && self.directions[i].fin => {
                self.directions[i] = Direction::new(from, to, seq);
                (i, true)
            }
            Some(i) => (i, false),
            None => {
                self.directions.push(Direction::new(from, to, seq));
                (self.directions.len() - 1, true)
            }
        }
    }
}

impl Direction {
    fn new(from: SocketAddr, to: SocketAddr, base: u32) -> Self {
        Self {
            from,
            to,
            base,
            sent_to: 0,
            fin: false,
            awaiting_third: false,
        }
    }
}

/// `SYN,ACK`, in the order Wireshark lists them.
fn flag_names(f: u8) -> String {
    let names = [
        (flags::SYN, "SYN"),
        (flags::FIN, "FIN"),
        (flags::RST, "RST"),
        (flags::PSH, "PSH"),
        (flags::ACK, "ACK"),
        (flags::URG, "URG"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|&&(bit, _)| f & bit != 0)
        .map(|&(_, name)| name)
        .collect();
    if set.is_empty() {
        "(no flags)".into()
    } else {
        set.join(",")
    }
}

/// The arrow's label without its preview, and the preview.
fn label(packet: &Packet, numbers: &Numbers, options: Options) -> (String, String) {
    let payload = packet.payload();
    let mut label = match &packet.kind {
        Kind::Tcp {
            flags: f, window, ..
        } => {
            let mut label = flag_names(*f);
            if options.seq {
                if payload.is_empty() {
                    let _ = write!(label, " seq={}", numbers.seq);
                } else {
                    let end = numbers.seq.wrapping_add(payload.len() as u32);
                    let _ = write!(label, " seq={}:{end}", numbers.seq);
                }
                if f & flags::ACK != 0 {
                    let _ = write!(label, " ack={}", numbers.ack);
                }
            }
            if *window == 0 && f & flags::RST == 0 {
                label.push_str(" win=0");
            }
            label
        }
        Kind::Udp(_) => "UDP".into(),
        Kind::Unreachable { port: true, .. } => "ICMP port unreachable".into(),
        Kind::Unreachable { port: false, .. } => "ICMP unreachable".into(),
    };
    if payload.is_empty() {
        return (label, String::new());
    }
    let _ = write!(label, "  {}", cli::count(payload.len() as u64, "byte"));
    (label, preview(payload, PREVIEW_CHARS))
}

/// `"Hello, Server!"`, escaped so it stays on one line, cut at `max`
/// characters with `...`.
pub fn preview(payload: &[u8], max: usize) -> String {
    let mut text = String::new();
    for &b in payload {
        let piece = match b {
            b'"' => "\\\"".to_string(),
            b'\\' => "\\\\".to_string(),
            b'\r' => "\\r".to_string(),
            b'\n' => "\\n".to_string(),
            b'\t' => "\\t".to_string(),
            0x20..=0x7e => char::from(b).to_string(),
            _ => format!("\\x{b:02x}"),
        };
        if text.len() + piece.len() > max {
            return format!("\"{text}\"...");
        }
        text.push_str(&piece);
    }
    format!("\"{text}\"")
}

/// The line of commentary on a packet, if TCP did something a chapter
/// explains. `later` holds the packets after it, for a half-close (the
/// other side still sends) or an unanswered SYN.
fn comment(
    packet: &Packet,
    from: usize,
    to: usize,
    lanes: &[Lane],
    numbers: &Numbers,
    later: &[(&Packet, usize, usize)],
) -> String {
    let (sender, receiver) = (&lanes[from].name, &lanes[to].name);
    match &packet.kind {
        Kind::Unreachable { port: true, .. } => {
            return format!(
                "nothing listens on port {}: {sender}'s kernel says so",
                packet.src.port()
            );
        }
        Kind::Unreachable { .. } => return format!("{receiver} is told: unreachable"),
        Kind::Udp(_) => return String::new(),
        Kind::Tcp { .. } => {}
    }
    let f = packet.flags();
    let replies_later =
        |p: &&(&Packet, usize, usize)| p.0.src == packet.dst && p.0.dst == packet.src;
    if numbers.retransmitted {
        return format!("retransmission: {sender} sends it again, no ACK came in time");
    }
    if f & flags::RST != 0 {
        // A kernel refusing a SYN answers with RST,ACK, the first and only
        // packet it sends on that port pair.
        return if numbers.first && f & flags::ACK != 0 {
            format!("refused: nothing listens on port {}", packet.src.port())
        } else {
            format!("{sender} resets: the connection ends at once, unread data is lost")
        };
    }
    if f & flags::SYN != 0 && f & flags::ACK == 0 {
        return format!("handshake 1/3: {sender} asks to connect");
    }
    if f & flags::SYN != 0 {
        return format!("handshake 2/3: {sender}'s kernel agrees, before any accept()");
    }
    if numbers.third_step {
        return "handshake 3/3: connected both ways".into();
    }
    if numbers.first_fin {
        let other_sends = later
            .iter()
            .filter(replies_later)
            .any(|p| !p.0.payload().is_empty());
        return if other_sends {
            format!("{sender} half-closes: done sending, still reading")
        } else {
            format!("{sender} closes its side (FIN)")
        };
    }
    if numbers.second_fin {
        return format!("{sender} closes too: nothing more either way");
    }
    if let Kind::Tcp { window: 0, .. } = packet.kind {
        return format!("{sender}'s receive buffer is full: {receiver} must wait");
    }
    String::new()
}

impl Lane {
    /// `client 127.0.0.1:51234`; `demo 127.0.0.1 (:41208 :41210)` for a
    /// lane of several sockets.
    pub fn title(&self) -> String {
        match self.addr {
            None => self.name.clone(),
            Some(addr) if self.ports.len() > 1 => {
                let ports: Vec<String> = self.ports.iter().map(|p| format!(":{p}")).collect();
                format!("{} {} ({})", self.name, addr.ip(), ports.join(" "))
            }
            Some(addr) => format!("{} {addr}", self.name),
        }
    }
}
