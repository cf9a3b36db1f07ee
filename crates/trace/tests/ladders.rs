//! Ladders drawn from packets built to order (no capture needed): the
//! layout, the commentary and the numbers, and the shape read back.

use std::net::SocketAddr;
use std::time::Duration;

use sniff::LinkType;
use sniff::craft;
use sniff::wire::flags::{ACK, FIN, PSH, RST, SYN};
use trace::{Cast, Ladder, Move, Note, Options, Packet, Shape, Step};

const CLIENT: &str = "127.0.0.1:51234";
const SERVER: &str = "127.0.0.1:8080";

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// A segment `ms` milliseconds in, from `from` to `to`.
fn tcp(ms: u64, from: &str, to: &str, f: u8, numbers: (u32, u32), payload: &[u8]) -> Packet {
    let frame = craft::tcp_numbered(addr(from), addr(to), f, numbers, payload);
    Packet::decode(
        LinkType::Ethernet,
        &frame,
        false,
        Duration::from_millis(1000 + ms),
    )
    .unwrap()
}

/// The tcp chapter's exchange as the wire carries it; the client's ISN is
/// 1000 and the server's 5000, so relative numbers start at 0.
fn echo_exchange() -> Vec<Packet> {
    let (c, s) = (CLIENT, SERVER);
    vec![
        tcp(0, c, s, SYN, (1000, 0), b""),
        tcp(1, s, c, SYN | ACK, (5000, 1001), b""),
        tcp(2, c, s, ACK, (1001, 5001), b""),
        tcp(3, c, s, PSH | ACK, (1001, 5001), b"Hello, Server!"),
        tcp(4, c, s, FIN | ACK, (1015, 5001), b""),
        tcp(5, s, c, PSH | ACK, (5001, 1016), b"Echo: Hello, Server!"),
        tcp(6, s, c, FIN | ACK, (5021, 1016), b""),
        tcp(7, c, s, ACK, (1016, 5022), b""),
    ]
}

#[test]
fn the_echo_exchange_is_drawn_with_its_commentary() {
    let notes = [Note {
        at: Duration::from_micros(1_002_500),
        text: "server: Connection from ('127.0.0.1', 51234)".into(),
    }];
    let ladder = Ladder::build(
        &Cast::client_server(8080),
        &echo_exchange(),
        &notes,
        Options::default(),
    );
    let text = ladder.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2 + 9, "{text}");
    assert!(
        lines[0].starts_with("       ms   client 127.0.0.1:51234"),
        "{text}"
    );
    assert!(lines[0].ends_with("server 127.0.0.1:8080"), "{text}");
    let expect = [
        (
            "    0.000   |  SYN -",
            "handshake 1/3: client asks to connect",
        ),
        (
            "    1.000   |  <-",
            "SYN,ACK  |   handshake 2/3: server's kernel agrees, before any accept()",
        ),
        ("    2.000   |  ACK -", "handshake 3/3: connected both ways"),
        (
            "    2.500   |   ",
            "server: Connection from ('127.0.0.1', 51234)",
        ),
        (
            "    3.000   |  PSH,ACK  14 bytes \"Hello, Server!\" -",
            ">  |",
        ),
        (
            "    4.000   |  FIN,ACK -",
            "client half-closes: done sending, still reading",
        ),
        (
            "    5.000   |  <",
            " PSH,ACK  20 bytes \"Echo: Hello, Server!\"  |",
        ),
        (
            "    6.000   |  <-",
            "FIN,ACK  |   server closes too: nothing more either way",
        ),
        ("    7.000   |  ACK -", ">  |"),
    ];
    for (line, (start, end)) in lines[2..].iter().zip(expect) {
        assert!(
            line.starts_with(start) && line.ends_with(end),
            "{line:?}\n{text}"
        );
    }
}

#[test]
fn seq_shows_relative_numbers_as_tcpdump_does() {
    let ladder = Ladder::build(
        &Cast::client_server(8080),
        &echo_exchange(),
        &[],
        Options { seq: true },
    );
    let text = ladder.text();
    for label in [
        "SYN seq=0 -",
        "SYN,ACK seq=0 ack=1  |",
        "PSH,ACK seq=1:15 ack=1  14 bytes",
        "FIN,ACK seq=15 ack=1 -",
        "PSH,ACK seq=1:21 ack=16  20 bytes",
        "FIN,ACK seq=21 ack=16  |",
    ] {
        assert!(text.contains(label), "no {label:?} in\n{text}");
    }
}

#[test]
fn the_shape_is_read_back_from_the_text() {
    let ladder = Ladder::build(
        &Cast::client_server(8080),
        &echo_exchange(),
        &[],
        Options::default(),
    );
    let shape = Shape::parse(&ladder.text()).unwrap();
    use Step::*;
    assert_eq!(shape.lanes, 2);
    assert_eq!(shape.between(0, 1), [Syn, Data, Fin]);
    assert_eq!(shape.between(1, 0), [SynAck, Data, Fin]);
    let m = |from, to, step| Move { from, to, step };
    assert!(shape.has_in_order(&[m(0, 1, Fin), m(1, 0, Data), m(1, 0, Fin)]));
    assert!(!shape.has_in_order(&[m(1, 0, Fin), m(0, 1, Fin)]));
    // Two data segments in a row are one step; a change of side is not.
    let mut split = echo_exchange();
    split.insert(4, tcp(3, CLIENT, SERVER, PSH | ACK, (1008, 5001), b"more"));
    let shape = Shape::parse(
        &Ladder::build(&Cast::client_server(8080), &split, &[], Options::default()).text(),
    )
    .unwrap();
    assert_eq!(shape.between(0, 1), [Syn, Data, Fin]);
    assert_eq!(
        shape.differences(&Shape::parse(&ladder.text()).unwrap()),
        None
    );
}

#[test]
fn resets_retransmissions_and_refusals_are_named() {
    let (c, s) = (CLIENT, SERVER);
    let packets = vec![
        tcp(0, c, "127.0.0.1:9", SYN, (77, 0), b""),
        tcp(1, "127.0.0.1:9", c, RST | ACK, (0, 78), b""),
        tcp(2, c, s, SYN, (1000, 0), b""),
        tcp(3, s, c, SYN | ACK, (5000, 1001), b""),
        tcp(4, c, s, PSH | ACK, (1001, 5001), b"once"),
        tcp(250, c, s, PSH | ACK, (1001, 5001), b"once"),
        tcp(251, s, c, RST, (5001, 0), b""),
    ];
    let mut cast = Cast::client_server(8080);
    let nobody = cast.lane("nobody");
    cast.listens(9, nobody);
    cast.calls(9, &[0]);
    let text = Ladder::build(&cast, &packets, &[], Options::default()).text();
    for comment in [
        "refused: nothing listens on port 9",
        "retransmission: client sends it again, no ACK came in time",
        "server resets: the connection ends at once, unread data is lost",
    ] {
        assert!(text.contains(comment), "no {comment:?} in\n{text}");
    }
    let shape = Shape::parse(&text).unwrap();
    assert_eq!(shape.lanes, 3);
    assert_eq!(shape.between(2, 0), [Step::Rst]);
    assert_eq!(shape.between(1, 0), [Step::SynAck, Step::Rst]);
}

#[test]
fn an_icmp_error_is_drawn_back_to_the_datagram_sender() {
    let datagram = craft::udp(addr(CLIENT), addr("127.0.0.1:9999"), b"anyone?");
    let at = Duration::from_secs(1);
    let packets: Vec<Packet> = [datagram.clone(), craft::port_unreachable(&datagram)]
        .iter()
        .map(|frame| Packet::decode(LinkType::Ethernet, frame, false, at).unwrap())
        .collect();
    let text = Ladder::build(
        &Cast::client_server(9999),
        &packets,
        &[],
        Options::default(),
    )
    .text();
    assert!(text.contains("UDP  7 bytes \"anyone?\" -"), "{text}");
    assert!(
        text.contains("ICMP port unreachable  |   nothing listens on port 9999"),
        "{text}"
    );
    let shape = Shape::parse(&text).unwrap();
    assert_eq!(shape.between(0, 1), [Step::Data]);
    assert_eq!(shape.between(1, 0), [Step::Unreachable]);
}

#[test]
fn previews_escape_and_cut() {
    assert_eq!(
        trace::ladder::preview(b"a\"b\\\r\n\x00", 40),
        r#""a\"b\\\r\n\x00""#
    );
    assert_eq!(trace::ladder::preview(&[b'x'; 100], 5), "\"xxxxx\"...");
}

#[test]
fn a_long_capture_widens_the_time_column_and_still_reads_back() {
    // 500 s in: 500000.000 ms is wider than the usual column.
    let packets = vec![
        tcp(0, CLIENT, SERVER, SYN, (1000, 0), b""),
        tcp(500_000, SERVER, CLIENT, SYN | ACK, (5000, 1001), b""),
    ];
    let text = Ladder::build(
        &Cast::client_server(8080),
        &packets,
        &[],
        Options::default(),
    )
    .text();
    let lane = |line: &str| line.find('|');
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1..].iter().all(|line| lane(line) == lane(lines[1])),
        "{text}"
    );
    assert!(lines[3].starts_with("500000.000"), "{text}");
    let shape = Shape::parse(&text).unwrap();
    assert_eq!(shape.between(1, 0), [Step::SynAck]);
}
