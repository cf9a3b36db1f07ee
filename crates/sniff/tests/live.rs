//! Live capture on `lo`, as root (or with CAP_NET_RAW): the test sends
//! UDP datagrams and one TCP exchange to itself on 127.0.0.1, and each must
//! be counted exactly once (the outgoing copies skipped). Without the
//! capability it says it is skipped, and why.
#![allow(clippy::print_stdout)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use sniff::capture::{LiveCapture, LiveError};
use sniff::wire::flags;
use sniff::{Decoded, NetworkMonitor, Segment};

const DATAGRAMS: usize = 20;
const REQUEST: &[u8] = b"Hello, Server!";
const REPLY: &[u8] = b"Echo: Hello, Server!";
/// The capture reads on after the traffic ends this long, so a second copy
/// of anything would be seen.
const QUIET: Duration = Duration::from_millis(300);

#[test]
fn loopback_traffic_is_counted_once() {
    let mut capture = match LiveCapture::open("lo") {
        Ok(capture) => capture,
        Err(LiveError::Permission) => {
            println!("SKIPPED loopback_traffic_is_counted_once: needs root or CAP_NET_RAW");
            return;
        }
        Err(e) => panic!("cannot capture on lo: {e}"),
    };
    let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let receiver = UdpSocket::bind(local).unwrap();
    let sender = UdpSocket::bind(local).unwrap();
    let (udp_from, udp_to) = (sender.local_addr().unwrap(), receiver.local_addr().unwrap());
    let listener = TcpListener::bind(local).unwrap();
    let server = listener.local_addr().unwrap();
    let mut traffic = Some(thread::spawn(move || {
        for i in 0..DATAGRAMS {
            sender
                .send_to(format!("datagram {i}").as_bytes(), udp_to)
                .unwrap();
            // Paced, not a burst: the capture shares lo with whatever else
            // the machine is doing, and must keep up.
            thread::sleep(Duration::from_millis(2));
        }
        let mut client = TcpStream::connect(server).unwrap();
        let (mut accepted, _) = listener.accept().unwrap();
        client.write_all(REQUEST).unwrap();
        let mut buf = vec![0; REQUEST.len()];
        accepted.read_exact(&mut buf).unwrap();
        accepted.write_all(REPLY).unwrap();
        let mut buf = vec![0; REPLY.len()];
        client.read_exact(&mut buf).unwrap();
        client.local_addr().unwrap()
    }));

    let mut monitor = NetworkMonitor::new();
    let (mut udp, mut syns, mut to_server, mut to_client) = (0, 0, 0, 0);
    let mut tcp_segments: Vec<(SocketAddr, SocketAddr, u8, usize)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut quiet_since: Option<Instant> = None;
    let mut client = None;
    while Instant::now() < deadline {
        if let Some(done) = traffic.take_if(|t| t.is_finished()) {
            client = Some(done.join().expect("the traffic thread"));
            quiet_since = Some(Instant::now());
        }
        if quiet_since.is_some_and(|t| t.elapsed() > QUIET) {
            break;
        }
        let Some(frame) = capture.next_frame().unwrap() else {
            continue;
        };
        monitor.process_packet(&frame, |_| {});
        match sniff::wire::decode(frame.link, frame.data, false) {
            Decoded::Udp(Segment { src, dst, .. }) if (src, dst) == (udp_from, udp_to) => udp += 1,
            Decoded::Tcp(s) if s.dst == server || s.src == server => {
                tcp_segments.push((s.src, s.dst, s.flags, s.payload.len()));
            }
            _ => {}
        }
    }
    let client = client.expect("the traffic finished in time");
    for (src, dst, tcp_flags, len) in tcp_segments {
        if src != client && dst != client {
            continue;
        }
        if tcp_flags & flags::SYN != 0 && tcp_flags & flags::ACK == 0 {
            syns += 1;
        }
        if dst == server {
            to_server += len;
        } else {
            to_client += len;
        }
    }
    assert_eq!(udp, DATAGRAMS, "each datagram counted once");
    assert_eq!(syns, 1, "one SYN");
    assert_eq!(
        (to_server, to_client),
        (REQUEST.len(), REPLY.len()),
        "each byte once"
    );
    assert!(
        capture.skipped_outgoing > 0,
        "outgoing copies are skipped on lo"
    );
    assert_eq!(monitor.protocol_stats.total(), monitor.packet_count);
}

#[test]
fn a_port_filter_queues_only_those_ports() {
    let mut capture = match LiveCapture::open("lo") {
        Ok(capture) => capture,
        Err(LiveError::Permission) => {
            println!("SKIPPED a_port_filter_queues_only_those_ports: needs root or CAP_NET_RAW");
            return;
        }
        Err(e) => panic!("cannot capture on lo: {e}"),
    };
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let v6: SocketAddr = "[::1]:0".parse().unwrap();
    let (kept, other, sender) = (
        UdpSocket::bind(v4).unwrap(),
        UdpSocket::bind(v4).unwrap(),
        UdpSocket::bind(v4).unwrap(),
    );
    let (kept6, sender6) = (UdpSocket::bind(v6).unwrap(), UdpSocket::bind(v6).unwrap());
    let wanted = [
        kept.local_addr().unwrap().port(),
        kept6.local_addr().unwrap().port(),
    ];
    capture.port_filter().unwrap().keep_only(&wanted).unwrap();
    // Whatever was queued before the filter.
    while capture.next_frame().unwrap().is_some() {}
    for i in 0..DATAGRAMS {
        let text = format!("datagram {i}");
        sender
            .send_to(text.as_bytes(), kept.local_addr().unwrap())
            .unwrap();
        sender
            .send_to(text.as_bytes(), other.local_addr().unwrap())
            .unwrap();
        sender6
            .send_to(text.as_bytes(), kept6.local_addr().unwrap())
            .unwrap();
    }
    let (mut to_kept, mut to_other) = (0, 0);
    let until = Instant::now() + QUIET;
    while Instant::now() < until {
        let Some(frame) = capture.next_frame().unwrap() else {
            break;
        };
        if let Decoded::Udp(Segment { dst, .. }) =
            sniff::wire::decode(frame.link, frame.data, false)
        {
            if wanted.contains(&dst.port()) {
                to_kept += 1;
            } else {
                to_other += 1;
            }
        }
    }
    assert_eq!((to_kept, to_other), (2 * DATAGRAMS, 0));
}
