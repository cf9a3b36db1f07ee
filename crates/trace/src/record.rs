//! The capture beside a scene: a thread reading `lo` through
//! [`sniff::capture::LiveCapture`], keeping the packets whose ports the
//! scene registered. Everything else on `lo` (another program, another
//! test) passes by.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use sniff::capture::{LiveCapture, LiveError};
use sniff::{Frame, LinkType};

use crate::packet::Packet;

/// The interface every scene runs on.
pub const INTERFACE: &str = "lo";
/// How long the last packets (a final ACK) get to arrive before the
/// capture stops: loopback delivers in microseconds.
pub const SETTLE: Duration = Duration::from_millis(50);
/// Time for the kernel to turn receive timestamps on.
pub const STAMPING_WARMUP: Duration = Duration::from_millis(100);
/// At most this many packets are kept: a scene sends a few dozen.
pub const MAX_PACKETS: usize = 10_000;

/// The longest the capture keeps reading after the stop.
pub const MAX_DRAIN: Duration = Duration::from_secs(1);

/// A captured frame, owned, for `--write FILE`.
#[derive(Debug, Clone)]
pub struct OwnedFrame {
    /// Its link type.
    pub link: LinkType,
    /// The bytes captured.
    pub data: Vec<u8>,
    /// Its length on the wire.
    pub orig_len: usize,
    /// When, since the Unix epoch.
    pub at: Duration,
}

impl OwnedFrame {
    /// Borrowed, as the pcap writer takes it.
    pub fn frame(&self) -> Frame<'_> {
        Frame {
            link: self.link,
            data: &self.data,
            orig_len: self.orig_len,
            at: self.at,
        }
    }
}

/// What a capture kept.
#[derive(Debug, Default)]
pub struct Recording {
    /// The scene's packets, in capture order.
    pub packets: Vec<Packet>,
    /// Their frames as captured.
    pub frames: Vec<OwnedFrame>,
    /// Frames on `lo` the kernel dropped before we could read them: other
    /// traffic filled the capture's queue, and the ladder may miss packets.
    pub dropped: u32,
}

/// A capture running on its own thread.
pub struct Recorder {
    ports: Arc<Mutex<Vec<u16>>>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<io::Result<Recording>>,
}

impl Recorder {
    /// Opens the capture on [`INTERFACE`] now (so a missing permission is
    /// known before the scene starts) and reads it on a thread.
    pub fn start() -> Result<Recorder, LiveError> {
        let capture = LiveCapture::open(INTERFACE)?;
        // Opening asked the kernel to stamp frames as they arrive; it turns
        // that on in a deferred job, and frames before it carry no stamp.
        thread::sleep(STAMPING_WARMUP);
        let ports = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (ports, stop) = (Arc::clone(&ports), Arc::clone(&stop));
            thread::Builder::new()
                .name("capture".into())
                .spawn(move || keep(capture, &ports, &stop))
                .map_err(LiveError::Io)?
        };
        Ok(Recorder {
            ports,
            stop,
            thread,
        })
    }

    /// Keeps the packets to or from `port` from now on.
    pub fn watch(&self, port: u16) {
        self.ports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(port);
    }

    /// Keeps nothing more from now on.
    pub fn unwatch_all(&self) {
        self.ports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Lets the last packets arrive, stops, and hands over what was kept.
    pub fn finish(self) -> io::Result<Recording> {
        thread::sleep(SETTLE);
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .join()
            .map_err(|_| io::Error::other("the capture thread panicked"))?
    }
}

/// Reads frames until told to stop, then drains what the kernel still
/// holds, so no packet sent before the stop is missed. Other traffic on
/// `lo` may never pause: the drain lasts [`MAX_DRAIN`] at most.
fn keep(
    mut capture: LiveCapture,
    ports: &Mutex<Vec<u16>>,
    stop: &AtomicBool,
) -> io::Result<Recording> {
    let mut recording = Recording::default();
    // Count only what is dropped from here on.
    capture.dropped()?;
    let mut drain_until = None;
    loop {
        if drain_until.is_none() && stop.load(Ordering::SeqCst) {
            drain_until = Some(Instant::now() + MAX_DRAIN);
        }
        let drained = drain_until.is_some_and(|until| Instant::now() > until);
        let frame = if drained { None } else { capture.next_frame()? };
        let Some(frame) = frame else {
            if drain_until.is_some() {
                recording.dropped = capture.dropped()?;
                return Ok(recording);
            }
            continue;
        };
        let Some(packet) = Packet::from_frame(&frame) else {
            continue;
        };
        let wanted = packet.touches(&ports.lock().unwrap_or_else(PoisonError::into_inner));
        if wanted && recording.packets.len() < MAX_PACKETS {
            recording.frames.push(OwnedFrame {
                link: frame.link,
                data: frame.data.to_vec(),
                orig_len: frame.orig_len,
                at: frame.at,
            });
            recording.packets.push(packet);
        }
    }
}

/// Writes `frames` as a pcap file: `tcpdump -r` and Wireshark read it.
pub fn write_pcap(path: &std::path::Path, frames: &[OwnedFrame]) -> io::Result<()> {
    let mut writer = sniff::pcap::CaptureWriter::create(path)?;
    for frame in frames {
        writer.write(&frame.frame())?;
    }
    writer.finish()
}
