//! Frames built to order, with pnet_packet's mutable packets: the tests,
//! the tour and the bench write captures with known contents from these.
//! Each builds a whole Ethernet frame with correct lengths; a test that
//! wants a lying frame edits the bytes after.

use std::net::{IpAddr, SocketAddr};

use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherType, EtherTypes, MutableEthernetPacket};
use pnet_packet::icmp::{IcmpTypes, MutableIcmpPacket};
use pnet_packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet_packet::ipv4::MutableIpv4Packet;
use pnet_packet::ipv6::MutableIpv6Packet;
use pnet_packet::tcp::MutableTcpPacket;
use pnet_packet::udp::MutableUdpPacket;

use crate::wire::flags;

const ETHERNET: usize = 14;
const IPV4: usize = 20;
const IPV6: usize = 40;
const TCP: usize = 20;
const UDP: usize = 8;

/// A TCP segment from `src` to `dst` with `tcp_flags` ([`flags`]) and
/// `payload`, over IPv4 or IPv6 as the addresses are.
pub fn tcp(src: SocketAddr, dst: SocketAddr, tcp_flags: u8, payload: &[u8]) -> Vec<u8> {
    tcp_numbered(src, dst, tcp_flags, (0, 0), payload)
}

/// A TCP segment as [`tcp`] builds it, with its sequence and
/// acknowledgement numbers, `(seq, ack)`.
pub fn tcp_numbered(
    src: SocketAddr,
    dst: SocketAddr,
    tcp_flags: u8,
    (seq, ack): (u32, u32),
    payload: &[u8],
) -> Vec<u8> {
    let mut segment = vec![0u8; TCP + payload.len()];
    if let Some(mut tcp) = MutableTcpPacket::new(&mut segment) {
        tcp.set_source(src.port());
        tcp.set_destination(dst.port());
        tcp.set_sequence(seq);
        tcp.set_acknowledgement(ack);
        tcp.set_data_offset((TCP / 4) as u8);
        tcp.set_flags(tcp_flags);
        tcp.set_window(65535);
        tcp.set_payload(payload);
    }
    ip(src.ip(), dst.ip(), IpNextHeaderProtocols::Tcp, &segment)
}

/// A SYN, the first segment of a handshake.
pub fn syn(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    tcp(src, dst, flags::SYN, b"")
}

/// A UDP datagram from `src` to `dst`.
pub fn udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut datagram = vec![0u8; UDP + payload.len()];
    if let Some(mut udp) = MutableUdpPacket::new(&mut datagram) {
        udp.set_source(src.port());
        udp.set_destination(dst.port());
        udp.set_length((UDP + payload.len()) as u16);
        udp.set_payload(payload);
    }
    ip(src.ip(), dst.ip(), IpNextHeaderProtocols::Udp, &datagram)
}

/// An ICMP echo request (a ping) between two IPv4 addresses.
pub fn ping(src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let mut message = vec![0u8; 8];
    if let Some(mut icmp) = MutableIcmpPacket::new(&mut message) {
        icmp.set_icmp_type(IcmpTypes::EchoRequest);
    }
    ip(src, dst, IpNextHeaderProtocols::Icmp, &message)
}

/// The ICMP "port unreachable" a host sends back for `refused`, a frame
/// built by [`udp`] to a port where nothing listens: it quotes the IP
/// header and the first 8 bytes of the datagram. IPv4 only.
pub fn port_unreachable(refused: &[u8]) -> Vec<u8> {
    let ip_packet = refused.get(ETHERNET..).unwrap_or_default();
    let quoted = &ip_packet[..ip_packet.len().min(IPV4 + UDP)];
    let (src, dst) = match (ip_packet.get(12..16), ip_packet.get(16..20)) {
        (Some(s), Some(d)) => (
            IpAddr::from([s[0], s[1], s[2], s[3]]),
            IpAddr::from([d[0], d[1], d[2], d[3]]),
        ),
        _ => return Vec::new(),
    };
    let mut message = vec![0u8; 8 + quoted.len()];
    if let Some(mut icmp) = MutableIcmpPacket::new(&mut message) {
        icmp.set_icmp_type(IcmpTypes::DestinationUnreachable);
        icmp.set_icmp_code(pnet_packet::icmp::IcmpCode(3));
    }
    message[8..].copy_from_slice(quoted);
    // The error goes back to whoever sent the datagram.
    ip(dst, src, IpNextHeaderProtocols::Icmp, &message)
}

/// An ARP request: not IP at all, so the article counts it nowhere.
pub fn arp() -> Vec<u8> {
    let mut request = vec![0u8; 28];
    if let Some(mut arp) = MutableArpPacket::new(&mut request) {
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(ArpOperations::Request);
    }
    ethernet(EtherTypes::Arp, &request)
}

/// An IP packet carrying `payload`, in an Ethernet frame.
fn ip(src: IpAddr, dst: IpAddr, protocol: IpNextHeaderProtocol, payload: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let mut packet = vec![0u8; IPV4 + payload.len()];
            if let Some(mut ip) = MutableIpv4Packet::new(&mut packet) {
                ip.set_version(4);
                ip.set_header_length((IPV4 / 4) as u8);
                ip.set_total_length((IPV4 + payload.len()) as u16);
                ip.set_ttl(64);
                ip.set_next_level_protocol(protocol);
                ip.set_source(src);
                ip.set_destination(dst);
                ip.set_payload(payload);
            }
            ethernet(EtherTypes::Ipv4, &packet)
        }
        (src, dst) => {
            let map = |a: IpAddr| match a {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            let mut packet = vec![0u8; IPV6 + payload.len()];
            if let Some(mut ip) = MutableIpv6Packet::new(&mut packet) {
                ip.set_version(6);
                ip.set_payload_length(payload.len() as u16);
                ip.set_next_header(protocol);
                ip.set_hop_limit(64);
                ip.set_source(map(src));
                ip.set_destination(map(dst));
                ip.set_payload(payload);
            }
            ethernet(EtherTypes::Ipv6, &packet)
        }
    }
}

/// An Ethernet frame with zero MAC addresses, as `lo` gives them.
fn ethernet(ethertype: EtherType, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; ETHERNET + payload.len()];
    if let Some(mut ethernet) = MutableEthernetPacket::new(&mut frame) {
        ethernet.set_ethertype(ethertype);
        ethernet.set_payload(payload);
    }
    frame
}
