//! Thousands of random and mutated frames: the monitor counts each once,
//! as something, and never panics, whatever the bytes claim.

mod common;

use common::{START, addr, mixed};
use sniff::wire::flags;
use sniff::{Frame, LinkType, NetworkMonitor, craft};

/// xorshift64: a repeatable stream of pseudo-random numbers, so a failure
/// can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const LINKS: [LinkType; 4] = [
    LinkType::Ethernet,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::RawIp,
];

#[test]
fn random_and_mutated_frames_never_panic_and_are_each_counted() {
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let (mut seeds, _) = mixed();
    seeds.push(craft::port_unreachable(&craft::udp(
        addr("127.0.0.1:40000"),
        addr("127.0.0.1:9"),
        b"hello",
    )));
    seeds.push(craft::tcp(
        addr("[::1]:1"),
        addr("[::1]:2"),
        flags::ACK,
        &[7; 100],
    ));
    let mut monitor = NetworkMonitor::new();
    let mut frames = 0u64;
    for round in 0..20_000 {
        let mut frame = if round % 4 == 0 {
            // Pure noise, of any length up to a large frame.
            (0..rng.below(200)).map(|_| rng.next() as u8).collect()
        } else {
            // A real frame with a few bytes changed and maybe cut short:
            // the lengths inside now lie.
            let mut frame = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(4) {
                let at = rng.below(frame.len());
                frame[at] = rng.next() as u8;
            }
            if rng.below(3) == 0 {
                frame.truncate(rng.below(frame.len() + 1));
            }
            frame
        };
        if round % 7 == 0 {
            frame.extend(std::iter::repeat_n(0, rng.below(40)));
        }
        let link = LINKS[rng.below(LINKS.len())];
        // Sometimes claim the capture cut the frame short (a snap length).
        let orig_len = frame.len() + if rng.below(5) == 0 { 1000 } else { 0 };
        let f = Frame {
            link,
            data: &frame,
            orig_len,
            at: START,
        };
        monitor.process_packet(&f, |event| {
            let _ = event.to_string();
        });
        // The ICMP reader follows the quoted packet's lengths too.
        let _ = sniff::wire::unreachable(link, &frame);
        frames += 1;
    }
    assert_eq!(monitor.protocol_stats.total(), frames);
    // The mix exercised every outcome.
    let stats = monitor.protocol_stats;
    assert!(
        stats.tcp > 0 && stats.udp > 0 && stats.other > 0 && stats.malformed > 0,
        "{stats:?}"
    );
}

#[test]
fn a_port_unreachable_names_the_datagram_it_refuses() {
    let datagram = craft::udp(addr("127.0.0.1:40000"), addr("127.0.0.1:9"), b"hello");
    let error = craft::port_unreachable(&datagram);
    let found = sniff::wire::unreachable(LinkType::Ethernet, &error).expect("an ICMP error");
    assert!(found.port_unreachable() && found.udp, "{found:?}");
    assert_eq!(found.original_src, addr("127.0.0.1:40000"));
    assert_eq!(found.original_dst, addr("127.0.0.1:9"));
    // Not an ICMP error: nothing to report.
    assert_eq!(
        sniff::wire::unreachable(LinkType::Ethernet, &datagram),
        None
    );
    // The two ports are all it needs of the quoted datagram, so only a frame
    // cut before them has nothing to report.
    for cut in 0..error.len() - 4 {
        assert_eq!(
            sniff::wire::unreachable(LinkType::Ethernet, &error[..cut]),
            None
        );
    }
}
