//! The trace tool's drawing: `just trace --pcap FILE --port N` turns
//! whatever a capture file holds into a ladder, so every packet the parser
//! lets through must be drawn, and the drawing must read back.

use trace::{Cast, Ladder, Options, Packet, Shape};

use crate::sniff::split_frames;

/// The ladder of the frames in `data` (after two bytes naming the server's
/// port; frames as [`split_frames`] reads them), as text and as SVG, with
/// and without sequence numbers: one row per packet to or from the port,
/// every line free of control characters, and the text read back by
/// [`Shape::parse`] into two lanes.
pub fn ladder(data: &[u8]) {
    let Some((port, frames)) = data.split_first_chunk::<2>() else {
        return;
    };
    let port = u16::from_be_bytes(*port);
    let packets: Vec<Packet> = split_frames(frames)
        .iter()
        .filter_map(Packet::from_frame)
        .collect();
    let ours = packets.iter().filter(|p| p.touches(&[port])).count();
    for options in [Options::default(), Options { seq: true }] {
        let ladder = Ladder::build(&Cast::client_server(port), &packets, &[], options);
        assert_eq!(
            ladder.packets(),
            ours,
            "a packet of the port left out, or one too many"
        );
        let text = ladder.text();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "a control character drawn: {text:?}"
        );
        let shape = Shape::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(shape.lanes, 2);
        let svg = ladder.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}
