//! # See your own packets: each chapter's exchange as a ladder diagram
//!
//! The chapters say "the client half-closes, the server finishes its echo
//! and closes"; this crate shows it. `just trace tcp` runs the tcp
//! chapter's exchange on loopback, on free ports, while an `AF_PACKET`
//! socket ([`sniff::capture`]) records every frame on `lo`, and draws what
//! crossed the wire as a ladder: time down the left, one lane per party,
//! an arrow per packet with its TCP flags, size and a preview of its bytes,
//! and a line of commentary where TCP does something a chapter explains.
//!
//! - [`scene`]: each chapter's exchange, run with the chapter's own library
//!   calls, saying which port is whose ([`cast`]) and what happened when.
//! - [`record`]: the capture running beside it, keeping only the scene's
//!   packets ([`packet`]: a frame reduced to who sent what to whom).
//! - [`ladder`]: packets and notes into rows; [`text`] and [`svg`] draw them.
//! - [`shape`]: a ladder read back into the order of its handshake, data and
//!   FINs, so the book's committed ladders ([`book`]) are checked against
//!   fresh runs.
//!
//! Capturing needs root or `CAP_NET_RAW`, as `sniff` does; without them the
//! exchange still runs and the book's ladder of it is shown instead.
#![forbid(unsafe_code)]

pub mod book;
pub mod cast;
pub mod ladder;
pub mod packet;
pub mod record;
pub mod scene;
pub mod shape;
pub mod svg;
pub mod text;

pub use cast::Cast;
pub use ladder::{Ladder, Note, Options};
pub use packet::{Kind, Packet};
pub use shape::{Move, Shape, Step};

use std::path::Path;

/// What a user without the permission to capture is told, once.
pub const NO_CAPTURE: &str = "capturing on lo needs root or CAP_NET_RAW, so this run shows no \
    packets: run it as root, or grant the capability once with \
    `sudo setcap cap_net_raw+ep target/debug/trace` (again after each rebuild)";

/// The ladder of the traffic to and from `port` in a pcap or pcapng file:
/// the Wireshark flow graph, in a terminal.
pub fn from_pcap(path: &Path, port: u16, options: Options) -> Result<Ladder, String> {
    let mut packets = Vec::new();
    sniff::pcap::read_file(path, |frame| {
        if let Some(packet) = Packet::from_frame(frame).filter(|p| p.touches(&[port])) {
            packets.push(packet);
        }
        packets.len() < record::MAX_PACKETS
    })
    .map_err(|e| format!("{}: {e}", path.display()))?;
    // A ladder is for reading: a long capture is drawn up to a point, and
    // says so at the bottom.
    let notes: Vec<Note> = packets
        .last()
        .filter(|_| packets.len() >= record::MAX_PACKETS)
        .map(|last| Note {
            at: last.at,
            text: format!(
                "trace: the first {} packets of port {port} drawn; the rest of the file is not",
                record::MAX_PACKETS
            ),
        })
        .into_iter()
        .collect();
    Ok(Ladder::build(
        &Cast::client_server(port),
        &packets,
        &notes,
        options,
    ))
}

/// The ladder of a scene that ran with a capture.
pub fn ladder_of(traced: &scene::Traced, options: Options) -> Option<Ladder> {
    let recording = traced.recording.as_ref()?;
    Some(Ladder::build(
        &traced.cast,
        &recording.packets,
        &traced.notes,
        options,
    ))
}

/// Whether `shape` shows each ordering `chapter` claims; the first chain
/// it breaks, if any.
pub fn check_claims(chapter: &scene::Chapter, shape: &Shape) -> Result<(), String> {
    match chapter
        .claims
        .iter()
        .find(|chain| !shape.has_in_order(chain))
    {
        None => Ok(()),
        Some(chain) => Err(format!(
            "the ladder does not show, in this order: {chain:?}; it shows {:?}",
            shape.moves
        )),
    }
}

/// Runs `chapter` with a capture, up to `attempts` times while the kernel
/// reports frames dropped (other traffic on `lo` filling the capture's
/// queue); the last run comes back, its `dropped` count telling.
pub fn capture_chapter(
    chapter: &scene::Chapter,
    attempts: usize,
) -> Result<scene::Traced, sniff::capture::LiveError> {
    let mut traced = scene::run(chapter, true)?;
    for _ in 1..attempts {
        if dropped(&traced) == 0 {
            break;
        }
        traced = scene::run(chapter, true)?;
    }
    Ok(traced)
}

/// Frames the kernel dropped during the capture of `traced`.
pub fn dropped(traced: &scene::Traced) -> u32 {
    traced.recording.as_ref().map_or(0, |r| r.dropped)
}
