//! Chapter 6 on the tour: the article's NetworkMonitor. As root it
//! captures on `lo` while the tour sends a few datagrams and one TCP
//! exchange to itself, over IPv4 and IPv6; without the capability it says
//! so. As root it then draws chapter 1's exchange as a ladder, as `just
//! trace tcp` does. Either way it then reads a capture generated on the
//! spot, with a port scan in it, and shows what the article's monitor
//! would miss.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use sniff::capture::{LiveCapture, LiveError};
use sniff::{Decoded, Event, NetworkMonitor, craft};

use crate::Story;

/// How long the live scene reads on after its traffic, to catch the last
/// frames (and any second copy).
const QUIET: Duration = Duration::from_millis(200);

/// Runs the chapter; see the module comment.
pub fn run(story: &Story) -> Result<String, String> {
    let live = match LiveCapture::open("lo") {
        Ok(capture) => {
            let seen = live(story, capture)?;
            format!("{seen}; {}", ladder(story)?)
        }
        Err(LiveError::Permission) => {
            story.command("just sniff");
            story.said("sniff", &LiveError::Permission.to_string());
            story.note("Not root here: the rest reads a capture file, which needs no privilege.");
            "live capture skipped (not root)".to_string()
        }
        Err(e) => return Err(format!("cannot capture on lo: {e}")),
    };
    let file = from_file(story)?;
    Ok(format!("{live}; {file}"))
}

/// Captures our own traffic on `lo`; prints the lines about it.
fn live(story: &Story, mut capture: LiveCapture) -> Result<String, String> {
    let io = |e: std::io::Error| e.to_string();
    let receiver = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io)?;
    let receiver6 = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).ok();
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io)?;
    let mut ours = vec![
        receiver.local_addr().map_err(io)?,
        listener.local_addr().map_err(io)?,
    ];
    if let Some(r) = &receiver6 {
        ours.push(r.local_addr().map_err(io)?);
    }
    story.command("sudo just sniff --count 0   # while the tour talks to itself");
    let traffic = thread::spawn(move || -> std::io::Result<()> {
        let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        for _ in 0..3 {
            sender.send_to(b"Hello, UDP Server!", receiver.local_addr()?)?;
        }
        if let Some(r) = &receiver6 {
            UdpSocket::bind((Ipv6Addr::LOCALHOST, 0))?.send_to(b"over IPv6", r.local_addr()?)?;
        }
        let mut client = TcpStream::connect(listener.local_addr()?)?;
        let (mut server, _) = listener.accept()?;
        client.write_all(b"Hello, Server!")?;
        client.shutdown(std::net::Shutdown::Write)?;
        let mut request = Vec::new();
        server.read_to_end(&mut request)?;
        server.write_all(b"Echo: Hello, Server!")?;
        Ok(())
    });
    let mut monitor = NetworkMonitor::new();
    let mut shown = 0;
    let mut finished: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(5);
    while finished.is_none_or(|t| t.elapsed() < QUIET) && Instant::now() < deadline {
        if finished.is_none() && traffic.is_finished() {
            finished = Some(Instant::now());
        }
        let Some(frame) = capture.next_frame().map_err(io)? else {
            continue;
        };
        // Other programs may be talking on lo too: only our lines are shown.
        let is_ours = |d: &Decoded<'_>| match d {
            Decoded::Tcp(s) | Decoded::Udp(s) => ours.contains(&s.src) || ours.contains(&s.dst),
            _ => false,
        };
        monitor.process_packet(&frame, |event| {
            if let Event::Packet(decoded) = &event
                && is_ours(decoded)
            {
                story.said("sniff", &event.to_string());
                shown += 1;
            }
        });
    }
    traffic
        .join()
        .map_err(|_| "the traffic thread panicked".to_string())?
        .map_err(|e| format!("tour traffic: {e}"))?;
    story.note(&format!(
        "Each packet once: {} outgoing copies on lo were skipped (loopback sees every frame leave and arrive).",
        capture.skipped_outgoing
    ));
    Ok(format!("{shown} of our packets seen live, each once"))
}

/// The tcp chapter's exchange, captured and drawn as `just trace tcp`
/// draws it: the capture put to work.
fn ladder(story: &Story) -> Result<String, String> {
    story.note("The same capture, put to work: chapter 1's exchange drawn packet by packet.");
    story.command("sudo just trace tcp");
    let chapter = trace::scene::find("tcp").ok_or("no tcp trace")?;
    let traced = trace::capture_chapter(chapter, 3).map_err(|e| e.to_string())?;
    traced.outcome.clone()?;
    let ladder = trace::ladder_of(&traced, trace::Options::default()).ok_or("nothing captured")?;
    for line in ladder.text().lines() {
        story.said("trace", line);
    }
    if trace::dropped(&traced) > 0 {
        return Ok("a ladder drawn on a busy lo (frames dropped)".into());
    }
    let shape = trace::Shape::parse(&ladder.text())?;
    trace::check_claims(chapter, &shape)?;
    Ok(format!(
        "{} packets of one echo drawn as a ladder",
        ladder.packets()
    ))
}

/// Generates a capture (IPv4, IPv6, ARP, a lying frame, a port scan) and
/// reads it as `just sniff --pcap FILE --quiet` does.
fn from_file(story: &Story) -> Result<String, String> {
    let path = std::env::temp_dir().join(format!("netlab-tour-{}.pcap", std::process::id()));
    let at = |s: &str| s.parse::<SocketAddr>().map_err(|e| e.to_string());
    let mut frames = vec![
        craft::udp(
            at("127.0.0.1:40000")?,
            at("127.0.0.1:9090")?,
            b"Hello, UDP Server!",
        ),
        craft::udp(at("[::1]:40001")?, at("[::1]:5000")?, b"over IPv6"),
        craft::arp(),
        craft::ping(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
        ),
    ];
    let mut lying = craft::udp(at("127.0.0.1:40000")?, at("127.0.0.1:9090")?, b"short");
    lying.truncate(lying.len() - 3);
    frames.push(lying);
    for port in 1..=25 {
        frames.push(craft::syn(
            at("10.0.0.9:40000")?,
            SocketAddr::new([10, 0, 0, 1].into(), port),
        ));
    }
    sniff::pcap::write_frames(&path, Duration::from_secs(1_767_225_600), &frames)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    story.command(&format!("just sniff --pcap {} --quiet", path.display()));
    let mut monitor = NetworkMonitor::new();
    let started = Instant::now();
    let read = sniff::pcap::read_file(&path, |frame| {
        monitor.process_packet(frame, |event| {
            if !matches!(event, Event::Packet(_)) {
                story.said("sniff", &event.to_string());
            }
        });
        true
    });
    let _ = std::fs::remove_file(&path);
    read.map_err(|e| e.to_string())?;
    let summary = monitor.summary(started.elapsed(), 3);
    for line in summary.lines() {
        story.said("sniff", &line);
    }
    let s = summary.stats;
    if s.total() != frames.len() as u64 || s.malformed != 1 || summary.alerts[0].1 != 1 {
        return Err(format!(
            "unexpected counts from the generated capture: {s:?}"
        ));
    }
    Ok(format!(
        "{} frames from a file, every one counted (the article: {}), 1 port scan",
        s.total(),
        s.total() - summary.missed_by_article
    ))
}
