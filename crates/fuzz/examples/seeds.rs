//! Writes the seed corpus, `crates/fuzz/corpus/TARGET/NAME`: valid inputs
//! made with the chapters' own builders, so the seeds follow the code.
//! Run it as `cargo run -p fuzz --example seeds`; it leaves `crash-*`
//! files alone.
#![allow(clippy::print_stdout, reason = "says what it wrote")]

use std::borrow::Cow;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
use sniff::craft;

fn main() -> io::Result<()> {
    let (a, b): (SocketAddr, SocketAddr) = (
        "127.0.0.1:51234".parse().unwrap(),
        "127.0.0.1:8080".parse().unwrap(),
    );
    let (a6, b6): (SocketAddr, SocketAddr) =
        ("[::1]:5000".parse().unwrap(), "[::1]:53".parse().unwrap());
    let employee = proto::create_employee();
    let v2 = proto::serialize(&proto::article_employee_v2());
    let mut two_frames = Vec::new();
    proto::write_frame(&mut two_frames, &employee)?;
    proto::write_frame(&mut two_frames, &v2)?;
    proto::write_frame(&mut two_frames, b"")?;
    for target in ["proto_employee", "proto_raw"] {
        write(target, "article.bin", &employee)?;
        write(target, "article_v2.bin", &v2)?;
    }
    write("proto_framed", "three_frames.bin", &two_frames)?;

    let frames = [
        ("tcp_v4", craft::tcp(a, b, sniff::wire::flags::SYN, b"")),
        (
            "tcp_v4_data",
            craft::tcp(a, b, sniff::wire::flags::ACK, b"Hello, Server!"),
        ),
        ("udp_v4", craft::udp(a, b, b"Hello, UDP Server!")),
        ("tcp_v6", craft::tcp(a6, b6, sniff::wire::flags::ACK, b"hi")),
        ("udp_v6", craft::udp(a6, b6, b"query")),
        ("ping", craft::ping(a.ip(), b.ip())),
        ("arp", craft::arp()),
        (
            "port_unreachable",
            craft::port_unreachable(&craft::udp(a, b, b"hi")),
        ),
    ];
    for (name, frame) in &frames {
        write("sniff_decode", &format!("{name}.eth"), frame)?;
    }
    // The same IP packet behind a Linux cooked header (SLL, 16 bytes).
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&[0x08, 0x00]);
    sll.extend_from_slice(&frames[2].1[14..]);
    write("sniff_decode", "udp_v4.sll", &sll)?;

    // The monitor's records: length, link type (0: Ethernet), ms since the last.
    let mut scan = Vec::new();
    for port in 1..=8u16 {
        let frame = craft::syn(a, SocketAddr::new(b.ip(), port));
        scan.extend_from_slice(&(frame.len() as u16).to_be_bytes());
        scan.extend_from_slice(&[0, 1]);
        scan.extend_from_slice(&frame);
    }
    write("sniff_monitor", "port_scan.frames", &scan)?;
    let mut mixed = Vec::new();
    for (_, frame) in &frames {
        mixed.extend_from_slice(&(frame.len() as u16).to_be_bytes());
        mixed.extend_from_slice(&[0, 3]);
        mixed.extend_from_slice(frame);
    }
    write("sniff_monitor", "mixed.frames", &mixed)?;

    // trace_ladder: the server's port, then records as the monitor's.
    use sniff::wire::flags::{ACK, FIN, PSH, SYN};
    let echo = [
        craft::tcp_numbered(a, b, SYN, (1000, 0), b""),
        craft::tcp_numbered(b, a, SYN | ACK, (5000, 1001), b""),
        craft::tcp_numbered(a, b, ACK, (1001, 5001), b""),
        craft::tcp_numbered(a, b, PSH | ACK, (1001, 5001), b"Hello, Server!"),
        craft::tcp_numbered(a, b, FIN | ACK, (1015, 5001), b""),
        craft::tcp_numbered(b, a, PSH | ACK, (5001, 1016), b"Echo: Hello, Server!"),
        craft::tcp_numbered(b, a, FIN | ACK, (5021, 1016), b""),
        craft::tcp_numbered(a, b, ACK, (1016, 5022), b""),
        craft::udp(a, b, b"Hello, UDP Server!"),
        craft::port_unreachable(&craft::udp(a, b, b"Hello, UDP Server!")),
    ];
    let mut ladder = b.port().to_be_bytes().to_vec();
    for frame in &echo {
        ladder.extend_from_slice(&(frame.len() as u16).to_be_bytes());
        ladder.extend_from_slice(&[0, 1]);
        ladder.extend_from_slice(frame);
    }
    write("trace_ladder", "echo.frames", &ladder)?;

    let all: Vec<Vec<u8>> = frames.iter().map(|(_, f)| f.clone()).collect();
    let pcap = std::env::temp_dir().join("netlab-seeds.pcap");
    sniff::pcap::write_frames(&pcap, Duration::from_secs(1_700_000_000), &all)?;
    write("sniff_pcap", "frames.pcap", &fs::read(&pcap)?)?;
    fs::remove_file(&pcap)?;
    write(
        "sniff_pcap",
        "frames.pcapng",
        &pcapng(&all).map_err(io::Error::other)?,
    )?;

    let requests: [(&str, &[u8]); 6] = [
        ("get.http", b"GET /items?x=1&x=2&name=caf%C3%A9 HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        ("post.http", b"POST /items HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"name\": \"Ada\", \"n\": [1.5]}"),
        ("chunked.http", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n"),
        ("pipelined.http", b"HEAD / HTTP/1.1\r\n\r\nGET /b?c HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /c HTTP/1.1\r\nConnection: close\r\n\r\n"),
        ("continue.http", b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}"),
        ("refused.http", b"DELETE / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
    ];
    for (name, request) in requests {
        write("http_request", name, request)?;
        write("proxy_forward", name, request)?;
        write("tcp_reply", name, request)?;
        write("udp_reply", name, request)?;
    }
    write(
        "tcp_reply",
        "article.bin",
        b"\x00\x00\x10Hello, Server!Echo: Hello, Server!",
    )?;
    write(
        "udp_reply",
        "article.bin",
        b"\x00\x12Hello, UDP Server!ACK: Hello, UDP Server!",
    )?;
    write("proxy_forward", "employee.bin", &employee)?;

    // timeout_reply reads six bytes of choices, then the response.
    let responses: [(&str, &[u8]); 5] = [
        ("length.http", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        ("chunked.http", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
        ("no_content.http", b"HTTP/1.1 204 No Content\r\n\r\n"),
        ("until_close.http", b"HTTP/1.0 200 OK\r\n\r\nbody until close"),
        ("continue.http", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ];
    for (name, response) in responses {
        write(
            "timeout_reply",
            name,
            &[&[9, 9, 0, 0, 0, 7][..], response].concat(),
        )?;
    }
    Ok(())
}

/// A pcapng file of Ethernet frames, one interface.
fn pcapng(frames: &[Vec<u8>]) -> pcap_file::PcapResult<Vec<u8>> {
    let mut writer = PcapNgWriter::new(Vec::new())?;
    writer.write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::ETHERNET, 65535))?;
    for (i, frame) in frames.iter().enumerate() {
        writer.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_millis(1_700_000_000_000 + i as u64),
            original_len: frame.len() as u32,
            data: Cow::Borrowed(frame),
            options: Vec::new(),
        })?;
    }
    Ok(writer.into_inner())
}

fn write(target: &str, name: &str, bytes: &[u8]) -> io::Result<()> {
    let dir = fuzz::corpus::dir(target);
    fs::create_dir_all(&dir)?;
    fs::write(dir.join(name), bytes)?;
    println!("{target}/{name}: {} bytes", bytes.len());
    Ok(())
}
