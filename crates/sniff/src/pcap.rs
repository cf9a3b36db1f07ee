//! Capture files: `--pcap FILE` reads pcap and pcapng, `--write FILE` saves
//! a live capture as pcap that `tcpdump -r` and Wireshark open.
//!
//! The file is streamed: the pcap-file crate reads it through a fixed
//! buffer, one packet or block at a time, so a capture of any size costs
//! the same memory. A pcapng file may mix interfaces of different link
//! types; each packet is decoded by its own interface's.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, PcapError};

use crate::{Frame, LinkType};

/// The first four bytes of a pcapng file (its section header block type).
const PCAPNG_MAGIC: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];
/// The most of one frame a written file keeps: tcpdump's default, enough
/// for the 64 KiB frames loopback carries.
pub const SNAPLEN: u32 = 262_144;

/// Why a capture file could not be read to its end.
#[derive(Debug)]
pub enum FileError {
    /// It could not be opened or read.
    Io(io::Error),
    /// It ends in the middle of a packet, after `packets` whole ones.
    Truncated {
        /// Whole packets read before the cut.
        packets: u64,
    },
    /// It is neither pcap nor pcapng, or is damaged.
    Format(String),
    /// Its link type is one we do not decode.
    LinkType(u32),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io(e) => write!(f, "{e}"),
            FileError::Truncated { packets } => write!(
                f,
                "the file ends in the middle of a packet, after {}: it was cut short \
                 (a capture still being written, or a partial copy)",
                cli::count(*packets, "whole packet")
            ),
            FileError::Format(e) => write!(f, "not a pcap or pcapng capture: {e}"),
            FileError::LinkType(n) => write!(
                f,
                "link type {n} is not one we decode (Ethernet, Linux cooked SLL/SLL2, raw IP)"
            ),
        }
    }
}

impl From<PcapError> for FileError {
    fn from(e: PcapError) -> Self {
        match e {
            PcapError::IoError(e) => FileError::Io(e),
            other => FileError::Format(other.to_string()),
        }
    }
}

// ANCHOR: read_file
/// Reads the capture at `path`, pcap or pcapng, and hands each frame to
/// `on_frame` until it returns `false` or the file ends. Returns the number
/// of frames handed over.
pub fn read_file(
    path: &Path,
    mut on_frame: impl FnMut(&Frame<'_>) -> bool,
) -> Result<u64, FileError> {
    let mut file = BufReader::new(File::open(path).map_err(FileError::Io)?);
    let is_pcapng = file
        .fill_buf()
        .map_err(FileError::Io)?
        .starts_with(&PCAPNG_MAGIC);
    let mut packets = 0u64;
    let truncated = |e: PcapError, packets| match e {
        PcapError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            FileError::Truncated { packets }
        }
        PcapError::IncompleteBuffer => FileError::Truncated { packets },
        other => other.into(),
    };
    if !is_pcapng {
        let mut reader = PcapReader::new(file)?;
        let header = reader.header();
        let link = link_type(header.datalink)?;
        while let Some(raw) = reader.next_raw_packet() {
            // pcap-file's `next_packet` refuses a packet longer on the wire
            // than the snap length: every packet the snap length cut
            // (`tcpdump -s 96 -w`). So no snap length is held against it;
            // the checks of its timestamp and lengths stay.
            let packet = raw
                .and_then(|raw| raw.try_into_pcap_packet(header.ts_resolution, u32::MAX))
                .map_err(|e| truncated(e, packets))?;
            packets += 1;
            let frame = Frame {
                link,
                data: &packet.data,
                orig_len: packet.orig_len as usize,
                at: packet.timestamp,
            };
            if !on_frame(&frame) {
                break;
            }
        }
        return Ok(packets);
    }
    let mut reader = PcapNgReader::new(file)?;
    // The link type of each interface, in the order the file declares them.
    let mut interfaces: Vec<DataLink> = Vec::new();
    while let Some(block) = reader.next_block() {
        let block = block.map_err(|e| truncated(e, packets))?;
        let (interface, at, orig_len, data) = match &block {
            // A new section declares its interfaces afresh.
            Block::SectionHeader(_) => {
                interfaces.clear();
                continue;
            }
            Block::InterfaceDescription(i) => {
                interfaces.push(i.linktype);
                continue;
            }
            Block::EnhancedPacket(p) => (p.interface_id, p.timestamp, p.original_len, &p.data),
            Block::SimplePacket(p) => (0, Duration::ZERO, p.original_len, &p.data),
            _ => continue,
        };
        let Some(&datalink) = interfaces.get(interface as usize) else {
            let e = format!("packet on undeclared interface {interface}");
            return Err(FileError::Format(e));
        };
        packets += 1;
        let frame = Frame {
            link: link_type(datalink)?,
            data,
            orig_len: orig_len as usize,
            at,
        };
        if !on_frame(&frame) {
            break;
        }
    }
    Ok(packets)
}
// ANCHOR_END: read_file

fn link_type(datalink: DataLink) -> Result<LinkType, FileError> {
    let number = u32::from(datalink);
    LinkType::from_pcap(number).ok_or(FileError::LinkType(number))
}

/// A pcap file being written: Ethernet frames, microsecond times.
pub struct CaptureWriter {
    writer: PcapWriter<BufWriter<File>>,
}

impl CaptureWriter {
    /// Creates (or truncates) `path` and writes the pcap header.
    pub fn create(path: &Path) -> io::Result<Self> {
        let file = BufWriter::new(File::create(path)?);
        let header = PcapHeader {
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ..PcapHeader::default()
        };
        let writer = PcapWriter::with_header(file, header).map_err(io::Error::other)?;
        Ok(Self { writer })
    }

    /// Appends one frame.
    pub fn write(&mut self, frame: &Frame<'_>) -> io::Result<()> {
        let keep = frame.data.len().min(SNAPLEN as usize);
        let orig_len = u32::try_from(frame.orig_len.max(keep)).unwrap_or(u32::MAX);
        let packet = PcapPacket::new(frame.at, orig_len, &frame.data[..keep]);
        self.writer
            .write_packet(&packet)
            .map(drop)
            .map_err(io::Error::other)
    }

    /// Flushes what is buffered to the file.
    pub fn finish(self) -> io::Result<()> {
        self.writer.into_writer().flush()
    }
}

/// Writes `frames` (Ethernet, one every millisecond from `start`) to a new
/// pcap file at `path`: how the tests, tour and bench make their captures.
pub fn write_frames(path: &Path, start: Duration, frames: &[Vec<u8>]) -> io::Result<()> {
    let mut writer = CaptureWriter::create(path)?;
    for (i, data) in frames.iter().enumerate() {
        writer.write(&Frame {
            link: LinkType::Ethernet,
            data,
            orig_len: data.len(),
            at: start + Duration::from_millis(i as u64),
        })?;
    }
    writer.finish()
}
