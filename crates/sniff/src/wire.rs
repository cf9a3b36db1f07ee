//! Frames decoded without trusting them.
//!
//! scapy's `packet.haslayer(TCP)` hides a lot: which link layer the frame
//! has, where the IP header ends, whether the lengths inside agree with the
//! bytes that arrived. Here each step is written out, over a plain `&[u8]`,
//! with pnet_packet's typed views for reading the fields.
//!
//! pnet_packet's constructors check only that a buffer is as long as the
//! fixed part of a header. They believe every length field: a TCP data
//! offset that points past the end panics when the payload is taken
//! (libpnet issue #221), and the padding of a short Ethernet frame leaks
//! into the IP payload (#346). So before any view is made, [`decode`]
//! checks each length field against the buffer, trims the buffer to the IP
//! total length, and calls a frame that does not add up
//! [`Decoded::Malformed`], with the reason. Nothing here can panic, whatever
//! the bytes: a test feeds it thousands of random and mutated frames.
//!
//! Checksums are not verified. On loopback they look wrong in nearly every
//! captured packet: the kernel offloads checksumming to the "hardware", and
//! on `lo` no hardware ever fills them in, since nothing crosses a wire.
//! Counting those as errors would call every local packet broken.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use pnet_packet::ethernet::EtherTypes;
use pnet_packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;
use pnet_packet::tcp::TcpPacket;
use pnet_packet::udp::UdpPacket;

/// The link layer a frame starts with: the pcap `LINKTYPE_` values, which
/// name what comes before the IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// `LINKTYPE_ETHERNET` (1): a 14-byte Ethernet header. What an
    /// `AF_PACKET` raw socket gives on `lo` and on Ethernet interfaces.
    Ethernet,
    /// `LINKTYPE_LINUX_SLL` (113): the 16-byte "Linux cooked" header of
    /// `tcpdump -i any`.
    LinuxSll,
    /// `LINKTYPE_LINUX_SLL2` (276): its 20-byte successor.
    LinuxSll2,
    /// `LINKTYPE_RAW` (101): the frame is the IP packet.
    RawIp,
}

impl LinkType {
    /// The link type of a pcap `DataLink` number, if we read it.
    pub fn from_pcap(linktype: u32) -> Option<Self> {
        match linktype {
            1 => Some(Self::Ethernet),
            113 => Some(Self::LinuxSll),
            276 => Some(Self::LinuxSll2),
            // 228 and 229 are LINKTYPE_IPV4 and LINKTYPE_IPV6.
            101 | 228 | 229 => Some(Self::RawIp),
            _ => None,
        }
    }
}

/// The TCP flags, as the header's flag byte has them.
pub mod flags {
    /// Finish: the sender has no more data (a close, or a half-close).
    pub const FIN: u8 = 0x01;
    /// Synchronise: the first segment of each side of a handshake.
    pub const SYN: u8 = 0x02;
    /// Reset: the connection is over at once, unread data and all.
    pub const RST: u8 = 0x04;
    /// Push: hand the data to the application now.
    pub const PSH: u8 = 0x08;
    /// Acknowledgement: set on every segment after the first SYN.
    pub const ACK: u8 = 0x10;
    /// Urgent pointer is valid (rare).
    pub const URG: u8 = 0x20;
}

/// A TCP segment or UDP datagram: its addresses, and the bytes it carries
/// (trimmed to what its headers say, padding left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Where it came from.
    pub src: SocketAddr,
    /// Where it goes.
    pub dst: SocketAddr,
    /// TCP flags ([`flags`]); 0 for UDP.
    pub flags: u8,
    /// TCP sequence number of the first payload byte (of the SYN itself on
    /// a SYN); 0 for UDP.
    pub seq: u32,
    /// TCP acknowledgement number: the next byte the sender expects; 0 for
    /// UDP.
    pub ack: u32,
    /// TCP receive window as sent (unscaled); 0 for UDP.
    pub window: u16,
    /// The application's bytes.
    pub payload: &'a [u8],
}

/// What a frame turned out to be: one of the four counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// TCP over IPv4 or IPv6.
    Tcp(Segment<'a>),
    /// UDP over IPv4 or IPv6.
    Udp(Segment<'a>),
    /// Anything else that parses: ICMP, ARP, another IP protocol, a
    /// non-first IP fragment; `src` when it was an IP packet.
    Other {
        /// What it was, for a summary.
        what: &'static str,
        /// The IP source, if it had one.
        src: Option<IpAddr>,
    },
    /// A frame whose lengths do not add up, and why.
    Malformed(&'static str),
}

impl Decoded<'_> {
    /// The source IP address, for the top talkers.
    pub fn src_ip(&self) -> Option<IpAddr> {
        match self {
            Decoded::Tcp(s) | Decoded::Udp(s) => Some(s.src.ip()),
            Decoded::Other { src, .. } => *src,
            Decoded::Malformed(_) => None,
        }
    }
}

// ANCHOR: display
/// The article's per-packet line: `TCP 127.0.0.1:51234 -> 127.0.0.1:8080`
/// (`f"TCP {src_ip}:{tcp_layer.sport} -> {dst_ip}:{tcp_layer.dport}"`).
/// An IPv6 address is bracketed, `[::1]:5000`, so the port stays readable.
impl fmt::Display for Decoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decoded::Tcp(s) => write!(f, "TCP {} -> {}", s.src, s.dst),
            Decoded::Udp(s) => write!(f, "UDP {} -> {}", s.src, s.dst),
            Decoded::Other { what, .. } => write!(f, "Other ({what})"),
            Decoded::Malformed(why) => write!(f, "Malformed ({why})"),
        }
    }
}
// ANCHOR_END: display

/// Ethernet header: two MAC addresses and the EtherType.
const ETHERNET_LEN: usize = 14;
/// An 802.1Q VLAN tag, between the MACs and the EtherType.
const VLAN_TAG_LEN: usize = 4;
const ETHERTYPE_VLAN: u16 = 0x8100;
const SLL_LEN: usize = 16;
const SLL2_LEN: usize = 20;
const IPV4_MIN_LEN: usize = 20;
const IPV6_LEN: usize = 40;
const TCP_MIN_LEN: usize = 20;
const UDP_LEN: usize = 8;
/// IPv6 extension headers followed before giving up: a real packet has one
/// or two, a hostile one could chain many.
const MAX_EXTENSION_HEADERS: usize = 8;

// ANCHOR: decode
/// Decodes one frame of `link` type. `snapped` says the capture kept only
/// the start of the frame (its captured length is below its original
/// length): an IP packet may then go on past the buffer, and only its
/// headers must be whole.
pub fn decode(link: LinkType, frame: &[u8], snapped: bool) -> Decoded<'_> {
    let (ethertype, rest) = match network_layer(link, frame) {
        Ok(found) => found,
        Err(why) => return Decoded::Malformed(why),
    };
    match ethertype {
        t if t == EtherTypes::Ipv4.0 => ipv4(rest, snapped),
        t if t == EtherTypes::Ipv6.0 => ipv6(rest, snapped),
        t if t == EtherTypes::Arp.0 => Decoded::Other {
            what: "ARP",
            src: None,
        },
        _ => Decoded::Other {
            what: "not IP",
            src: None,
        },
    }
}
// ANCHOR_END: decode

/// The EtherType of what the link header carries, and the bytes after it.
fn network_layer(link: LinkType, frame: &[u8]) -> Result<(u16, &[u8]), &'static str> {
    Ok(match link {
        LinkType::Ethernet => ethernet(frame)?,
        LinkType::LinuxSll if frame.len() >= SLL_LEN => (be16(frame, 14), &frame[SLL_LEN..]),
        LinkType::LinuxSll2 if frame.len() >= SLL2_LEN => (be16(frame, 0), &frame[SLL2_LEN..]),
        LinkType::LinuxSll | LinkType::LinuxSll2 => {
            return Err("shorter than a Linux cooked header");
        }
        LinkType::RawIp => match frame.first().map(|b| b >> 4) {
            Some(4) => (EtherTypes::Ipv4.0, frame),
            Some(6) => (EtherTypes::Ipv6.0, frame),
            _ => return Err("raw IP frame with no IP version"),
        },
    })
}

/// An ICMP "destination unreachable" error: how a kernel answers a packet
/// it cannot deliver, most often a UDP datagram for a port where nothing
/// listens. It quotes the start of the packet it refuses, so the flow it
/// belongs to can be told from the quoted addresses and ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable {
    /// Who sent the error (the host that refused).
    pub from: IpAddr,
    /// The ICMP code: 3 "port unreachable" over IPv4, 4 over IPv6.
    pub code: u8,
    /// The refused packet's source, as quoted.
    pub original_src: SocketAddr,
    /// The refused packet's destination, as quoted.
    pub original_dst: SocketAddr,
    /// Whether the refused packet was UDP (else TCP).
    pub udp: bool,
}

impl Unreachable {
    /// Whether it says "port unreachable", the answer of a host where no
    /// socket has that port.
    pub fn port_unreachable(&self) -> bool {
        match self.from {
            IpAddr::V4(_) => self.code == 3,
            IpAddr::V6(_) => self.code == 4,
        }
    }
}

/// ICMP type "destination unreachable": 3 in ICMP, 1 in ICMPv6.
const ICMP_UNREACHABLE: u8 = 3;
const ICMPV6_UNREACHABLE: u8 = 1;
/// Type, code, checksum and 4 unused bytes come before the quoted packet.
const ICMP_HEADER_LEN: usize = 8;

/// The "destination unreachable" error this frame carries, if it is one
/// and quotes a TCP or UDP packet; `None` for anything else, however
/// malformed.
pub fn unreachable(link: LinkType, frame: &[u8]) -> Option<Unreachable> {
    let (ethertype, packet) = network_layer(link, frame).ok()?;
    let (from, icmp) = match ethertype {
        t if t == EtherTypes::Ipv4.0 => {
            let ip = Ipv4Packet::new(packet)?;
            let header_len = usize::from(ip.get_header_length()) * 4;
            if ip.get_next_level_protocol() != IpNextHeaderProtocols::Icmp {
                return None;
            }
            (
                IpAddr::V4(ip.get_source()),
                packet.get(header_len.max(IPV4_MIN_LEN)..)?,
            )
        }
        t if t == EtherTypes::Ipv6.0 => {
            let ip = Ipv6Packet::new(packet)?;
            if ip.get_next_header() != IpNextHeaderProtocols::Icmpv6 {
                return None;
            }
            (IpAddr::V6(ip.get_source()), packet.get(IPV6_LEN..)?)
        }
        _ => return None,
    };
    let (&kind, &code) = (icmp.first()?, icmp.get(1)?);
    let wanted = if from.is_ipv4() {
        ICMP_UNREACHABLE
    } else {
        ICMPV6_UNREACHABLE
    };
    if kind != wanted {
        return None;
    }
    let quoted = icmp.get(ICMP_HEADER_LEN..)?;
    let (src, dst, protocol, ports) = match quoted.first()? >> 4 {
        4 => {
            let ip = Ipv4Packet::new(quoted)?;
            let header_len = usize::from(ip.get_header_length()) * 4;
            let (src, dst) = (
                IpAddr::V4(ip.get_source()),
                IpAddr::V4(ip.get_destination()),
            );
            (
                src,
                dst,
                ip.get_next_level_protocol(),
                quoted.get(header_len.max(IPV4_MIN_LEN)..)?,
            )
        }
        6 => {
            let ip = Ipv6Packet::new(quoted)?;
            let (src, dst) = (
                IpAddr::V6(ip.get_source()),
                IpAddr::V6(ip.get_destination()),
            );
            (src, dst, ip.get_next_header(), quoted.get(IPV6_LEN..)?)
        }
        _ => return None,
    };
    let udp = match protocol {
        IpNextHeaderProtocols::Udp => true,
        IpNextHeaderProtocols::Tcp => false,
        _ => return None,
    };
    // Both TCP and UDP start with the two ports: all a quote must hold.
    if ports.len() < 4 {
        return None;
    }
    Some(Unreachable {
        from,
        code,
        original_src: SocketAddr::new(src, be16(ports, 0)),
        original_dst: SocketAddr::new(dst, be16(ports, 2)),
        udp,
    })
}

/// The EtherType and what follows it, past one VLAN tag if there is one.
fn ethernet(frame: &[u8]) -> Result<(u16, &[u8]), &'static str> {
    if frame.len() < ETHERNET_LEN {
        return Err("shorter than an Ethernet header");
    }
    let ethertype = be16(frame, 12);
    if ethertype != ETHERTYPE_VLAN {
        return Ok((ethertype, &frame[ETHERNET_LEN..]));
    }
    if frame.len() < ETHERNET_LEN + VLAN_TAG_LEN {
        return Err("VLAN tag cut short");
    }
    Ok((be16(frame, 16), &frame[ETHERNET_LEN + VLAN_TAG_LEN..]))
}

// ANCHOR: ipv4
fn ipv4(packet: &[u8], snapped: bool) -> Decoded<'_> {
    let Some(ip) = Ipv4Packet::new(packet) else {
        return Decoded::Malformed("shorter than an IPv4 header");
    };
    if ip.get_version() != 4 {
        return Decoded::Malformed("IPv4 EtherType, another IP version");
    }
    // Both length fields are checked against the bytes we hold: pnet would
    // read through them as given.
    let header_len = usize::from(ip.get_header_length()) * 4;
    let total_len = usize::from(ip.get_total_length());
    if header_len < IPV4_MIN_LEN || total_len < header_len {
        return Decoded::Malformed("IPv4 lengths inconsistent");
    }
    if total_len > packet.len() && !snapped {
        return Decoded::Malformed("IPv4 packet cut short");
    }
    if header_len > packet.len() {
        return Decoded::Malformed("IPv4 header cut short");
    }
    // The total length, not the buffer, says where the packet ends: the rest
    // is Ethernet padding (libpnet #346).
    let payload = &packet[header_len..total_len.min(packet.len())];
    let (src, dst) = (
        IpAddr::V4(ip.get_source()),
        IpAddr::V4(ip.get_destination()),
    );
    if ip.get_fragment_offset() != 0 {
        // Only the first fragment carries the TCP or UDP header.
        return Decoded::Other {
            what: "IPv4 fragment",
            src: Some(src),
        };
    }
    transport(ip.get_next_level_protocol(), src, dst, payload, snapped)
}
// ANCHOR_END: ipv4

fn ipv6(packet: &[u8], snapped: bool) -> Decoded<'_> {
    let Some(ip) = Ipv6Packet::new(packet) else {
        return Decoded::Malformed("shorter than an IPv6 header");
    };
    if ip.get_version() != 6 {
        return Decoded::Malformed("IPv6 EtherType, another IP version");
    }
    let end = IPV6_LEN + usize::from(ip.get_payload_length());
    if end > packet.len() && !snapped {
        return Decoded::Malformed("IPv6 packet cut short");
    }
    let (src, dst): (Ipv6Addr, Ipv6Addr) = (ip.get_source(), ip.get_destination());
    let (src, dst) = (IpAddr::V6(src), IpAddr::V6(dst));
    let mut next = ip.get_next_header();
    let mut rest = &packet[IPV6_LEN..end.min(packet.len())];
    // Extension headers sit between the IPv6 header and TCP or UDP; each
    // says what follows it and how long it is.
    for _ in 0..MAX_EXTENSION_HEADERS {
        let len = match next {
            IpNextHeaderProtocols::Hopopt
            | IpNextHeaderProtocols::Ipv6Route
            | IpNextHeaderProtocols::Ipv6Opts => match rest.get(1) {
                Some(&units) => (usize::from(units) + 1) * 8,
                None => return Decoded::Malformed("IPv6 extension header cut short"),
            },
            IpNextHeaderProtocols::Ipv6Frag => {
                if rest.len() < 8 {
                    return Decoded::Malformed("IPv6 fragment header cut short");
                }
                if be16(rest, 2) >> 3 != 0 {
                    return Decoded::Other {
                        what: "IPv6 fragment",
                        src: Some(src),
                    };
                }
                8
            }
            _ => return transport(next, src, dst, rest, snapped),
        };
        if len > rest.len() {
            return Decoded::Malformed("IPv6 extension header cut short");
        }
        next = IpNextHeaderProtocol(rest[0]);
        rest = &rest[len..];
    }
    Decoded::Malformed("too many IPv6 extension headers")
}

// ANCHOR: transport
fn transport<'a>(
    protocol: IpNextHeaderProtocol,
    src: IpAddr,
    dst: IpAddr,
    payload: &'a [u8],
    snapped: bool,
) -> Decoded<'a> {
    match protocol {
        IpNextHeaderProtocols::Tcp => {
            let Some(tcp) = TcpPacket::new(payload) else {
                return Decoded::Malformed("shorter than a TCP header");
            };
            // The data offset is the header's length in 32-bit words; a
            // lying one made pnet's `payload()` panic (libpnet #221).
            let header_len = usize::from(tcp.get_data_offset()) * 4;
            if header_len < TCP_MIN_LEN || header_len > payload.len() {
                return Decoded::Malformed("TCP data offset out of bounds");
            }
            Decoded::Tcp(Segment {
                src: SocketAddr::new(src, tcp.get_source()),
                dst: SocketAddr::new(dst, tcp.get_destination()),
                flags: tcp.get_flags(),
                seq: tcp.get_sequence(),
                ack: tcp.get_acknowledgement(),
                window: tcp.get_window(),
                payload: &payload[header_len..],
            })
        }
        IpNextHeaderProtocols::Udp => {
            let Some(udp) = UdpPacket::new(payload) else {
                return Decoded::Malformed("shorter than a UDP header");
            };
            let len = usize::from(udp.get_length());
            if len < UDP_LEN || (len > payload.len() && !snapped) {
                return Decoded::Malformed("UDP length out of bounds");
            }
            Decoded::Udp(Segment {
                src: SocketAddr::new(src, udp.get_source()),
                dst: SocketAddr::new(dst, udp.get_destination()),
                flags: 0,
                seq: 0,
                ack: 0,
                window: 0,
                payload: &payload[UDP_LEN..len.min(payload.len())],
            })
        }
        IpNextHeaderProtocols::Icmp => Decoded::Other {
            what: "ICMP",
            src: Some(src),
        },
        IpNextHeaderProtocols::Icmpv6 => Decoded::Other {
            what: "ICMPv6",
            src: Some(src),
        },
        _ => Decoded::Other {
            what: "other IP protocol",
            src: Some(src),
        },
    }
}
// ANCHOR_END: transport

/// A big-endian `u16` at `at`; the caller has checked the length.
fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}
