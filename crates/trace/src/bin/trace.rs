//! `just trace CHAPTER`: the chapter's exchange run on loopback while `lo`
//! is captured, drawn as a ladder diagram. `--pcap FILE --port N` draws any
//! capture. Capturing needs root or CAP_NET_RAW.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sniff::capture::LiveError;
use trace::scene;
use trace::{Ladder, Options, book};

/// Run a chapter's exchange while capturing lo, and draw every packet as a
/// ladder: time, direction, TCP flags, size, a preview, and commentary.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// tcp, tcp-serial, udp, proto, pool, timeout, http or proxy (--list).
    chapter: Option<String>,
    /// Show relative sequence and acknowledgement numbers.
    #[arg(long)]
    seq: bool,
    /// Keep the captured packets in this pcap file.
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
    /// Also draw the ladder as an SVG picture into this file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Draw the ladder of a pcap or pcapng file instead (needs --port).
    #[arg(
        long,
        value_name = "FILE",
        requires = "port",
        conflicts_with = "chapter"
    )]
    pcap: Option<PathBuf>,
    /// With --pcap: the server's port, whose conversations are drawn.
    #[arg(long, requires = "pcap")]
    port: Option<u16>,
    /// Regenerate every chapter's ladder, text and SVG, into DIR.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["chapter", "pcap"])]
    book: Option<PathBuf>,
    /// List the chapters that have a trace.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = Options { seq: args.seq };
    if let Some(dir) = &args.book {
        return match book::write_book(dir) {
            Ok(lines) => {
                lines.iter().for_each(|line| cli::say(line));
                ExitCode::SUCCESS
            }
            Err(e) => cli::fail(&e),
        };
    }
    if let (Some(path), Some(port)) = (&args.pcap, args.port) {
        return match trace::from_pcap(path, port, options) {
            Ok(ladder) => show(&ladder, &args),
            Err(e) => cli::fail(&e),
        };
    }
    let chapter = args.chapter.as_deref().and_then(scene::find);
    let Some(chapter) = chapter.filter(|_| !args.list) else {
        if let Some(name) = args.chapter.as_deref().filter(|_| !args.list) {
            cli::warn(&format!("no trace named {name:?}"));
        }
        cli::say("Traced chapters (just trace NAME):");
        scene::listing().iter().for_each(|line| cli::say(line));
        return ExitCode::from(if args.list { 0 } else { 2 });
    };
    cli::say(&format!("Tracing {}: {}", chapter.name, chapter.about));
    let traced = match trace::capture_chapter(chapter, 3) {
        Err(LiveError::Permission) => {
            cli::warn(trace::NO_CAPTURE);
            let (lines, outcome) = book::without_capture(chapter);
            lines.iter().for_each(|line| cli::say(line));
            return outcome.map_or_else(|e| cli::fail(&e), |()| ExitCode::SUCCESS);
        }
        Err(e) => return cli::fail(&format!("cannot capture on lo: {e}")),
        Ok(traced) => traced,
    };
    let Some(ladder) = trace::ladder_of(&traced, options) else {
        return cli::fail("nothing was captured");
    };
    if trace::dropped(&traced) > 0 {
        cli::warn(&format!(
            "the kernel dropped {} frames on lo (other traffic filled the capture's queue): \
             this ladder may miss packets",
            trace::dropped(&traced)
        ));
    }
    if let (Some(path), Some(recording)) = (&args.write, &traced.recording)
        && let Err(e) = trace::record::write_pcap(path, &recording.frames)
    {
        return cli::fail(&format!("{}: {e}", path.display()));
    }
    match (show(&ladder, &args), traced.outcome) {
        (_, Err(e)) => cli::fail(&format!("the exchange went wrong: {e}")),
        (shown, Ok(())) => shown,
    }
}

/// Prints the ladder, and writes its SVG if asked.
fn show(ladder: &Ladder, args: &Args) -> ExitCode {
    cli::say(ladder.text().trim_end());
    match &args.svg {
        Some(path) => match std::fs::write(path, ladder.svg()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => cli::fail(&format!("{}: {e}", path.display())),
        },
        None => ExitCode::SUCCESS,
    }
}
