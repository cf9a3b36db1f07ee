//! The capture beside a scene: a thread reading `lo` through
//! [`sniff::capture::LiveCapture`], keeping the packets whose ports the
//! scene registered. Everything else on `lo` (another program, another
//! test) passes by, twice over: the kernel queues only the scene's ports
//! (a [`PortFilter`], as `tcpdump 'port N'` asks), and the thread keeps a
//! frame only if it touches one of them and was stamped by the kernel
//! before the scene's curtain came down.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sniff::capture::{LiveCapture, LiveError, PortFilter};
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

/// The longest the capture keeps reading after the stop, catching up.
pub const MAX_DRAIN: Duration = Duration::from_secs(5);

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
///
/// The thread may read a frame long after it crossed `lo` (a busy `lo`
/// queues thousands ahead of it), so what it keeps is decided by the
/// frame's own kernel timestamp, never by when it is read: a frame is the
/// scene's if it touches a watched port and was stamped before the
/// curtain.
pub struct Recorder {
    shared: Arc<Shared>,
    filter: PortFilter,
    thread: JoinHandle<io::Result<Recording>>,
}

/// What the scene tells the capture thread.
#[derive(Default)]
struct Shared {
    ports: Mutex<Vec<u16>>,
    /// When the exchange ended, since the Unix epoch.
    curtain: Mutex<Option<Duration>>,
    stop: AtomicBool,
}

impl Recorder {
    /// Opens the capture on [`INTERFACE`] now (so a missing permission is
    /// known before the scene starts) and reads it on a thread.
    pub fn start() -> Result<Recorder, LiveError> {
        let capture = LiveCapture::open(INTERFACE)?;
        // The kernel queues only the scene's packets, so a busy `lo` (a
        // benchmark next door) cannot crowd them out of the queue.
        let filter = capture.port_filter().map_err(LiveError::Io)?;
        filter.keep_only(&[]).map_err(LiveError::Io)?;
        // Opening asked the kernel to stamp frames as they arrive; it turns
        // that on in a deferred job, and frames before it carry no stamp.
        thread::sleep(STAMPING_WARMUP);
        let shared = Arc::new(Shared::default());
        let thread = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("capture".into())
                .spawn(move || keep(capture, &shared))
                .map_err(LiveError::Io)?
        };
        Ok(Recorder {
            shared,
            filter,
            thread,
        })
    }

    /// Keeps the packets to or from `port`.
    pub fn watch(&self, port: u16) -> io::Result<()> {
        let mut ports = lock(&self.shared.ports);
        ports.push(port);
        self.filter.keep_only(&ports)
    }

    /// The exchange is over: nothing stamped from now on is kept (the
    /// servers stopping, say). Lets the last packets arrive first.
    pub fn curtain(&self) {
        thread::sleep(SETTLE);
        lock(&self.shared.curtain).get_or_insert_with(now);
    }

    /// Brings the curtain down if the scene did not, waits for the thread
    /// to read every frame stamped before it, and hands over what it kept.
    pub fn finish(self) -> io::Result<Recording> {
        self.curtain();
        self.shared.stop.store(true, Ordering::SeqCst);
        self.thread
            .join()
            .map_err(|_| io::Error::other("the capture thread panicked"))?
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Reads frames until, once told to stop, it meets one stamped after the
/// curtain (every frame before it has then been read) or `lo` falls quiet.
/// A reader that cannot catch up gives up after [`MAX_DRAIN`].
fn keep(mut capture: LiveCapture, shared: &Shared) -> io::Result<Recording> {
    let mut recording = Recording::default();
    // Count only what is dropped from here on.
    capture.dropped()?;
    let mut draining_since = None;
    loop {
        if draining_since.is_none() && shared.stop.load(Ordering::SeqCst) {
            draining_since = Some(Instant::now());
        }
        if draining_since.is_some_and(|since| since.elapsed() > MAX_DRAIN) {
            break;
        }
        let Some(frame) = capture.next_frame()? else {
            if draining_since.is_some() {
                break;
            }
            continue;
        };
        let curtain = *lock(&shared.curtain);
        if curtain.is_some_and(|at| frame.at > at) {
            if draining_since.is_some() {
                break;
            }
            continue;
        }
        let Some(packet) = Packet::from_frame(&frame) else {
            continue;
        };
        if packet.touches(&lock(&shared.ports)) && recording.packets.len() < MAX_PACKETS {
            recording.frames.push(OwnedFrame {
                link: frame.link,
                data: frame.data.to_vec(),
                orig_len: frame.orig_len,
                at: frame.at,
            });
            recording.packets.push(packet);
        }
    }
    recording.dropped = capture.dropped()?;
    Ok(recording)
}

/// Writes `frames` as a pcap file: `tcpdump -r` and Wireshark read it.
pub fn write_pcap(path: &std::path::Path, frames: &[OwnedFrame]) -> io::Result<()> {
    let mut writer = sniff::pcap::CaptureWriter::create(path)?;
    for frame in frames {
        writer.write(&frame.frame())?;
    }
    writer.finish()
}
