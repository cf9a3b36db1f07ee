//! What a ladder is drawn from: each captured frame reduced to who sent
//! what to whom, owned, so the capture buffer can be reused at once.

use std::net::SocketAddr;
use std::time::Duration;

use sniff::wire::{self, Decoded};
use sniff::{Frame, LinkType};

/// One packet of an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// When it was captured, since the Unix epoch.
    pub at: Duration,
    /// The endpoint it came from. For an ICMP error, the endpoint the
    /// refused packet was addressed to: the error speaks for that port.
    pub src: SocketAddr,
    /// The endpoint it went to (for an ICMP error, the refused sender).
    pub dst: SocketAddr,
    /// What it was.
    pub kind: Kind,
}

/// The three kinds of packet a ladder draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A TCP segment.
    Tcp {
        /// The flag byte ([`sniff::wire::flags`]).
        flags: u8,
        /// Sequence number, absolute.
        seq: u32,
        /// Acknowledgement number, absolute.
        ack: u32,
        /// Receive window, as sent.
        window: u16,
        /// The bytes it carries.
        payload: Vec<u8>,
    },
    /// A UDP datagram and its bytes.
    Udp(Vec<u8>),
    /// An ICMP "destination unreachable" about a packet to `src` from `dst`.
    Unreachable {
        /// Whether the kernel said "port unreachable" (nothing listens).
        port: bool,
        /// Whether the refused packet was UDP.
        udp: bool,
    },
}

impl Packet {
    /// The packet in `frame`, if it is TCP, UDP or an ICMP unreachable.
    pub fn from_frame(frame: &Frame<'_>) -> Option<Packet> {
        Self::decode(
            frame.link,
            frame.data,
            frame.data.len() < frame.orig_len,
            frame.at,
        )
    }

    /// The packet in the bytes of a frame of `link` type captured at `at`.
    pub fn decode(link: LinkType, data: &[u8], snapped: bool, at: Duration) -> Option<Packet> {
        let packet = |src, dst, kind| Some(Packet { at, src, dst, kind });
        match wire::decode(link, data, snapped) {
            Decoded::Tcp(s) => packet(
                s.src,
                s.dst,
                Kind::Tcp {
                    flags: s.flags,
                    seq: s.seq,
                    ack: s.ack,
                    window: s.window,
                    payload: s.payload.to_vec(),
                },
            ),
            Decoded::Udp(s) => packet(s.src, s.dst, Kind::Udp(s.payload.to_vec())),
            Decoded::Other { .. } => {
                let error = wire::unreachable(link, data)?;
                packet(
                    error.original_dst,
                    error.original_src,
                    Kind::Unreachable {
                        port: error.port_unreachable(),
                        udp: error.udp,
                    },
                )
            }
            Decoded::Malformed(_) => None,
        }
    }

    /// Whether either end uses one of `ports`.
    pub fn touches(&self, ports: &[u16]) -> bool {
        ports.contains(&self.src.port()) || ports.contains(&self.dst.port())
    }

    /// The bytes it carries (none for an ICMP error).
    pub fn payload(&self) -> &[u8] {
        match &self.kind {
            Kind::Tcp { payload, .. } | Kind::Udp(payload) => payload,
            Kind::Unreachable { .. } => &[],
        }
    }

    /// The TCP flag byte; 0 for anything else.
    pub fn flags(&self) -> u8 {
        match self.kind {
            Kind::Tcp { flags, .. } => flags,
            _ => 0,
        }
    }
}
