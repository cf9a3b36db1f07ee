//! The article's `NetworkMonitor` as a command: `just sniff` captures 500
//! packets on `lo` (as root, or with CAP_NET_RAW), `just sniff --pcap FILE`
//! reads a capture file. Prints what the article prints, then a summary.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::Parser;
use sniff::capture::LiveCapture;
use sniff::pcap::{self, CaptureWriter};
use sniff::{Event, NetworkMonitor};

/// Count packets by protocol as the article's NetworkMonitor does: a line
/// per TCP or UDP packet, the counts every 100, a summary at the end.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Interface to capture on, live (needs root or CAP_NET_RAW).
    #[arg(long, default_value = sniff::DEFAULT_INTERFACE)]
    interface: String,
    /// Stop after this many packets; 0 = no limit.
    #[arg(long, default_value_t = sniff::DEFAULT_COUNT)]
    count: u64,
    /// Read this pcap or pcapng file instead of capturing live.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Save the live capture to this pcap file (`tcpdump -r FILE` reads it).
    #[arg(long, value_name = "FILE", conflicts_with = "pcap")]
    write: Option<PathBuf>,
    /// No line per packet (the stats, alerts and summary stay).
    #[arg(long)]
    quiet: bool,
    /// Print the summary as one JSON line.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut monitor = NetworkMonitor::new();
    let started = Instant::now();
    let limit = if args.count == 0 {
        u64::MAX
    } else {
        args.count
    };
    let quiet = args.quiet;
    // Live, a stdout that falls behind must not hold up the capture (the
    // kernel would drop frames): lines go through the printer thread,
    // which drops lines instead, and the counts stay exact. A file waits
    // for stdout, and every line is printed.
    let printer = args.pcap.is_none().then(cli::Printer::start);
    let mut on_event = |event: Event<'_>| {
        if !(quiet && matches!(event, Event::Packet(_))) {
            match &printer {
                Some(printer) => printer.line(event.to_string()),
                None => cli::say(&event.to_string()),
            }
        }
    };
    let mut skipped_outgoing = 0;
    let error = match &args.pcap {
        Some(path) => pcap::read_file(path, |frame| {
            monitor.process_packet(frame, &mut on_event);
            monitor.packet_count < limit
        })
        .err()
        .map(|e| format!("{}: {e}", path.display())),
        None => {
            let result = live(&args, limit, &mut monitor, &mut on_event);
            skipped_outgoing = result.as_ref().map_or(0, |n| *n);
            result.err()
        }
    };
    let dropped = printer.map_or(0, cli::Printer::finish);
    if dropped > 0 {
        cli::warn(&format!(
            "{dropped} packet lines not printed: stdout was not keeping up (the counts are exact)"
        ));
    }
    let mut summary = monitor.summary(started.elapsed(), 5);
    summary.skipped_outgoing = skipped_outgoing;
    if args.json {
        cli::say(&cli::json_dumps(&summary.to_json()));
    } else if monitor.packet_count > 0 || error.is_none() {
        summary.lines().iter().for_each(|line| cli::say(line));
    }
    match error {
        Some(e) => cli::fail(&e),
        None => ExitCode::SUCCESS,
    }
}

/// Captures on `--interface` until `limit` packets or Ctrl-C; returns the
/// outgoing copies skipped.
fn live(
    args: &Args,
    limit: u64,
    monitor: &mut NetworkMonitor,
    on_event: &mut impl FnMut(Event<'_>),
) -> Result<u64, String> {
    let mut capture = LiveCapture::open(&args.interface).map_err(|e| e.to_string())?;
    let mut writer = match &args.write {
        Some(path) => {
            Some(CaptureWriter::create(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    cli::on_termination(move || flag.store(true, Ordering::Relaxed)).map_err(|e| e.to_string())?;
    cli::status(&format!(
        "capturing on {} (Ctrl-C to stop)...",
        args.interface
    ));
    while monitor.packet_count < limit && !stop.load(Ordering::Relaxed) {
        let Some(frame) = capture.next_frame().map_err(|e| e.to_string())? else {
            continue;
        };
        if let Some(writer) = &mut writer {
            writer
                .write(&frame)
                .map_err(|e| format!("writing the capture: {e}"))?;
        }
        monitor.process_packet(&frame, &mut *on_event);
    }
    if let Some(writer) = writer {
        writer
            .finish()
            .map_err(|e| format!("writing the capture: {e}"))?;
    }
    if let Ok(dropped @ 1..) = capture.dropped() {
        cli::warn(&format!(
            "the kernel dropped {dropped} frames: they came faster than this capture read them"
        ));
    }
    Ok(capture.skipped_outgoing)
}
