//! The book's ladders against fresh captures: every chapter's exchange is
//! run again as root and must have the shape of its committed ladder, and
//! both must show what the chapter claims. Without root or CAP_NET_RAW it
//! says it is skipped, and why; the committed ladders are still checked.
#![allow(clippy::print_stdout)]

use std::process::Command;

use sniff::capture::LiveError;
use trace::scene::CHAPTERS;
use trace::{Options, Shape, book};

#[test]
fn committed_ladders_show_what_their_chapters_claim() {
    for chapter in CHAPTERS {
        let text = book::committed(chapter.name).unwrap();
        let shape = Shape::parse(text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", chapter.name));
        trace::check_claims(chapter, &shape)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", chapter.name));
    }
}

#[test]
fn fresh_captures_have_the_committed_shapes() {
    let mut skipped = Vec::new();
    for chapter in CHAPTERS {
        let traced = match trace::capture_chapter(chapter, 5) {
            Ok(traced) => traced,
            Err(LiveError::Permission) => {
                println!(
                    "SKIPPED fresh_captures_have_the_committed_shapes: needs root or CAP_NET_RAW"
                );
                return;
            }
            Err(e) => panic!("cannot capture on lo: {e}"),
        };
        traced
            .outcome
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", chapter.name));
        if trace::dropped(&traced) > 0 {
            // Five runs in a row lost frames to other traffic on lo.
            skipped.push(chapter.name);
            continue;
        }
        let fresh = trace::ladder_of(&traced, Options::default())
            .unwrap()
            .text();
        let committed = book::committed(chapter.name).unwrap();
        let (now, then) = (
            Shape::parse(&fresh).unwrap(),
            Shape::parse(committed).unwrap(),
        );
        trace::check_claims(chapter, &now)
            .unwrap_or_else(|e| panic!("{}: {e}\n{fresh}", chapter.name));
        if let Some(diff) = then.differences(&now) {
            panic!(
                "{}: the committed ladder and a fresh run differ ({diff}); if the code changed on \
                 purpose, run `just trace-book`\ncommitted:\n{committed}\nfresh:\n{fresh}",
                chapter.name
            );
        }
    }
    if !skipped.is_empty() {
        println!(
            "SKIPPED fresh captures of {skipped:?}: lo was too busy to capture whole, five times"
        );
    }
}

fn trace_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trace"))
}

#[test]
fn without_the_capability_the_exchange_runs_and_the_book_ladder_is_shown() {
    // With the capability (root), drop it for the child with setpriv;
    // without it, there is nothing to drop.
    let can_capture = sniff::capture::LiveCapture::open("lo").is_ok();
    let mut command = if can_capture {
        if Command::new("setpriv").arg("--version").output().is_err() {
            println!("SKIPPED without_the_capability...: setpriv (util-linux) not found");
            return;
        }
        let mut setpriv = Command::new("setpriv");
        setpriv
            .args(["--bounding-set=-net_raw", "--inh-caps=-net_raw"])
            .arg(env!("CARGO_BIN_EXE_trace"));
        setpriv
    } else {
        trace_bin()
    };
    let out = command.arg("tcp").output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line of warning: {stderr}");
    assert!(
        stderr.contains("needs root or CAP_NET_RAW") && stderr.contains("setcap cap_net_raw+ep"),
        "{stderr}"
    );
    assert!(
        stdout.contains("client: Received: b'Echo: Hello, Server!'"),
        "{stdout}"
    );
    assert!(
        stdout.contains(book::committed("tcp").unwrap().trim_end()),
        "{stdout}"
    );
}

#[test]
fn a_capture_file_is_drawn_for_one_port() {
    let dir = std::env::temp_dir().join(format!("trace-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.pcap");
    let (c, s, other) = (
        "127.0.0.1:40000".parse().unwrap(),
        "127.0.0.1:8080".parse().unwrap(),
        "127.0.0.1:5353".parse().unwrap(),
    );
    use sniff::craft;
    use sniff::wire::flags::{ACK, PSH, SYN};
    let frames = vec![
        craft::tcp_numbered(c, s, SYN, (10, 0), b""),
        craft::udp(c, other, b"not this one"),
        craft::tcp_numbered(s, c, SYN | ACK, (90, 11), b""),
        craft::tcp_numbered(c, s, PSH | ACK, (11, 91), b"hi"),
    ];
    sniff::pcap::write_frames(
        &path,
        std::time::Duration::from_secs(1_700_000_000),
        &frames,
    )
    .unwrap();
    let svg = dir.join("echo.svg");
    let out = trace_bin()
        .arg("--pcap")
        .arg(&path)
        .args(["--port", "8080", "--svg"])
        .arg(&svg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("client 127.0.0.1:40000") && stdout.contains("server 127.0.0.1:8080"),
        "{stdout}"
    );
    assert!(stdout.contains("PSH,ACK  2 bytes \"hi\""), "{stdout}");
    assert!(!stdout.contains("not this one"), "{stdout}");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    assert!(
        svg.contains(">client<") && svg.contains("PSH,ACK  2 bytes &quot;hi&quot;"),
        "{svg}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wrong_arguments_are_refused_with_the_list() {
    let out = trace_bin().arg("tcpp").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stderr.contains("no trace named \"tcpp\""), "{stderr}");
    for chapter in CHAPTERS {
        assert!(stdout.contains(chapter.name), "{stdout}");
    }
    let out = trace_bin().args(["--port", "80"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--port needs --pcap");
    assert!(trace_bin().arg("--list").output().unwrap().status.success());
}

#[test]
fn a_written_capture_draws_the_same_ladder_again() {
    let dir = std::env::temp_dir().join(format!("trace-write-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tcp.pcap");
    // Other traffic on lo can make the kernel drop frames: the binary then
    // warns, and the run is tried again.
    let run = || {
        trace_bin()
            .arg("tcp")
            .arg("--write")
            .arg(&path)
            .output()
            .unwrap()
    };
    let mut live = run();
    for _ in 0..4 {
        if !String::from_utf8_lossy(&live.stderr).contains("dropped") {
            break;
        }
        live = run();
    }
    let (live_text, stderr) = (
        String::from_utf8_lossy(&live.stdout),
        String::from_utf8_lossy(&live.stderr),
    );
    if stderr.contains("needs root or CAP_NET_RAW") {
        println!(
            "SKIPPED a_written_capture_draws_the_same_ladder_again: needs root or CAP_NET_RAW"
        );
        return;
    }
    if stderr.contains("dropped") {
        println!("SKIPPED a_written_capture_draws_the_same_ladder_again: lo too busy, five times");
        return;
    }
    assert!(live.status.success(), "{live_text}");
    // The server's port, from the title line: `server 127.0.0.1:PORT`.
    let port = live_text
        .lines()
        .nth(1)
        .and_then(|titles| titles.rsplit(':').next())
        .and_then(|port| port.trim().parse::<u16>().ok())
        .unwrap_or_else(|| panic!("no server port in\n{live_text}"));
    let again = trace_bin()
        .arg("--pcap")
        .arg(&path)
        .args(["--port", &port.to_string()])
        .output()
        .unwrap();
    let again_text = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{again_text}");
    // The live ladder has the programs' lines too; the packets are the same.
    let live_ladder: String = live_text.lines().skip(1).collect::<Vec<_>>().join("\n");
    let (a, b) = (
        Shape::parse(&live_ladder).unwrap(),
        Shape::parse(&again_text).unwrap(),
    );
    assert_eq!(
        a.differences(&b),
        None,
        "live:\n{live_text}\nfrom the file:\n{again_text}"
    );
    assert!(!a.moves.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
