// Reference solution: proto1_stream (chapter: proto).
//
// Each record travels as a varint holding its length, then the record's
// bytes: what Java's `writeDelimitedTo` / `parseDelimitedFrom` do, and what
// quick-protobuf's `serialize_into_vec` writes. The reader takes the varint
// one byte at a time straight off the stream, so it never reads past the
// record it is decoding.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use quick_protobuf::sizeofs::sizeof_len;
use quick_protobuf::{BytesReader, MessageRead, MessageWrite, Writer, WriterBackend};

// ---------------------------------------------------------------------------
// Given: the article's message, and what pb-rs generates for it from
//
//     message Employee {
//       string name = 1;
//       int32 employee_id = 2;
//       string department = 3;
//       repeated string projects = 4;
//       map<string, string> metadata = 5;
//     }
//
// with owned types (pb-rs borrows from the input instead) and a BTreeMap, so
// the map's entries are written in key order and the bytes are the same on
// every run.
// ---------------------------------------------------------------------------

/// The article's `Employee`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Employee {
    name: String,
    employee_id: i32,
    department: String,
    projects: Vec<String>,
    metadata: BTreeMap<String, String>,
}

impl MessageWrite for Employee {
    fn get_size(&self) -> usize {
        (if self.name.is_empty() {
            0
        } else {
            1 + sizeof_len(self.name.len())
        }) + (if self.employee_id == 0 {
            0
        } else {
            1 + quick_protobuf::sizeofs::sizeof_int32(self.employee_id)
        }) + (if self.department.is_empty() {
            0
        } else {
            1 + sizeof_len(self.department.len())
        }) + self
            .projects
            .iter()
            .map(|p| 1 + sizeof_len(p.len()))
            .sum::<usize>()
            + self
                .metadata
                .iter()
                .map(|(k, v)| 1 + sizeof_len(map_entry_size(k, v)))
                .sum::<usize>()
    }

    fn write_message<W: WriterBackend>(&self, w: &mut Writer<W>) -> quick_protobuf::Result<()> {
        // Tag = (field number << 3) | wire type; 2 = length-delimited, 0 = varint.
        if !self.name.is_empty() {
            w.write_with_tag(10, |w| w.write_string(&self.name))?;
        }
        if self.employee_id != 0 {
            w.write_with_tag(16, |w| w.write_int32(self.employee_id))?;
        }
        if !self.department.is_empty() {
            w.write_with_tag(26, |w| w.write_string(&self.department))?;
        }
        for project in &self.projects {
            w.write_with_tag(34, |w| w.write_string(project))?;
        }
        for (k, v) in &self.metadata {
            w.write_with_tag(42, |w| {
                w.write_map(
                    map_entry_size(k, v),
                    10,
                    |w| w.write_string(k),
                    18,
                    |w| w.write_string(v),
                )
            })?;
        }
        Ok(())
    }
}

impl<'a> MessageRead<'a> for Employee {
    fn from_reader(r: &mut BytesReader, bytes: &'a [u8]) -> quick_protobuf::Result<Self> {
        let mut msg = Self::default();
        while !r.is_eof() {
            match r.next_tag(bytes)? {
                10 => msg.name = r.read_string(bytes)?.to_owned(),
                16 => msg.employee_id = r.read_int32(bytes)?,
                26 => msg.department = r.read_string(bytes)?.to_owned(),
                34 => msg.projects.push(r.read_string(bytes)?.to_owned()),
                42 => {
                    let (k, v) = r.read_map(
                        bytes,
                        |r, bytes| r.read_string(bytes).map(str::to_owned),
                        |r, bytes| r.read_string(bytes).map(str::to_owned),
                    )?;
                    msg.metadata.insert(k, v);
                }
                tag => r.read_unknown(bytes, tag)?,
            }
        }
        Ok(msg)
    }
}

/// A map entry is a small message of its own: key = 1, value = 2.
fn map_entry_size(key: &str, value: &str) -> usize {
    2 + sizeof_len(key.len()) + sizeof_len(value.len())
}

impl Employee {
    /// The bare message, like Python's `SerializeToString()`.
    fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.get_size());
        self.write_message(&mut Writer::new(&mut bytes))
            .expect("writing to a Vec cannot fail");
        bytes
    }

    /// Parses a bare message, like Python's `ParseFromString()`.
    fn from_bytes(bytes: &[u8]) -> io::Result<Self> {
        Self::from_reader(&mut BytesReader::from_bytes(bytes), bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

// ---------------------------------------------------------------------------
// The exercise: varints and length-delimited records on a stream.
// ---------------------------------------------------------------------------

/// A u64 takes at most 10 varint bytes (64 bits, 7 per byte).
const MAX_VARINT_BYTES: usize = 10;

/// The largest record a reader accepts; the prefix could announce far more.
const MAX_MESSAGE_LEN: u64 = 1024 * 1024;

/// Appends `value` as a protobuf varint: 7 bits per byte, lowest first, the
/// top bit of each byte set when another byte follows.
fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads one varint from `r`, a byte at a time. `Ok(None)` when the stream
/// ends before its first byte; `UnexpectedEof` inside it; `InvalidData` if it
/// runs past 10 bytes.
fn read_varint(r: &mut impl Read) -> io::Result<Option<u64>> {
    let mut value = 0u64;
    for i in 0..MAX_VARINT_BYTES {
        let mut byte = [0u8; 1];
        // `read` rather than `read_exact` for the first byte: 0 bytes there
        // is the clean end of the stream, not an error.
        if i == 0 {
            loop {
                match r.read(&mut byte) {
                    Ok(0) => return Ok(None),
                    Ok(_) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        } else {
            r.read_exact(&mut byte)?;
        }
        value |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("a varint longer than {MAX_VARINT_BYTES} bytes"),
    ))
}

/// Writes one record: the varint of its length, then its bytes.
fn write_delimited(w: &mut impl Write, employee: &Employee) -> io::Result<()> {
    let bytes = employee.to_bytes();
    let mut frame = Vec::with_capacity(MAX_VARINT_BYTES + bytes.len());
    write_varint(&mut frame, bytes.len() as u64);
    frame.extend_from_slice(&bytes);
    w.write_all(&frame)
}

/// Reads one record written by `write_delimited`; `Ok(None)` when the stream
/// ends cleanly between records. Wrap a `TcpStream` in a `BufReader` first:
/// `read_varint` reads a byte at a time.
fn read_delimited(r: &mut impl Read) -> io::Result<Option<Employee>> {
    let Some(len) = read_varint(r)? else {
        return Ok(None);
    };
    if len > MAX_MESSAGE_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a record announces {len} bytes, over the {MAX_MESSAGE_LEN}-byte limit"),
        ));
    }
    let mut bytes = vec![0; len as usize];
    r.read_exact(&mut bytes)?;
    Employee::from_bytes(&bytes).map(Some)
}

/// The article's record.
fn sarah_chen() -> Employee {
    Employee {
        name: "Sarah Chen".into(),
        employee_id: 42,
        department: "Engineering".into(),
        projects: vec!["Project Alpha".into(), "Project Beta".into()],
        metadata: BTreeMap::from([
            ("start_date".into(), "2023-01-15".into()),
            ("location".into(), "Remote".into()),
        ]),
    }
}

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut sender = TcpStream::connect(listener.local_addr()?)?;
    let (receiver, _) = listener.accept()?;

    let writer = thread::spawn(move || -> io::Result<()> {
        write_delimited(&mut sender, &sarah_chen())?;
        write_delimited(&mut sender, &Employee::default())
    });
    let mut input = io::BufReader::new(receiver);
    while let Some(employee) = read_delimited(&mut input)? {
        println!("Name: {}", employee.name);
        println!("Department: {}", employee.department);
        println!("Projects: {:?}", employee.projects);
    }
    writer
        .join()
        .map_err(|_| io::Error::other("the writer thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A record over 127 bytes, so its length takes two varint bytes.
    fn big_record() -> Employee {
        Employee {
            name: "Ana Lima".into(),
            employee_id: 7,
            department: "Platform".into(),
            projects: (1..=20).map(|i| format!("Migration {i}")).collect(),
            metadata: BTreeMap::from([("location".into(), "Lisbon".into())]),
        }
    }

    /// Returns at most the next size in `sizes` from each `read`, so records
    /// arrive in pieces, as they can on a real network.
    struct ChoppyReader {
        inner: TcpStream,
        sizes: std::iter::Cycle<std::slice::Iter<'static, usize>>,
    }

    impl Read for ChoppyReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(*self.sizes.next().unwrap());
            self.inner.read(&mut buf[..n])
        }
    }

    fn names(records: &[Employee]) -> Vec<&str> {
        records.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn varints_take_seven_bits_per_byte() {
        let cases: [(u64, &[u8]); 6] = [
            (0, &[0x00]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ];
        for (value, wire) in cases {
            let mut out = Vec::new();
            write_varint(&mut out, value);
            assert_eq!(out, wire, "write_varint({value})");
            assert_eq!(
                read_varint(&mut &wire[..]).unwrap(),
                Some(value),
                "read_varint({wire:x?})"
            );
        }
    }

    #[test]
    fn bad_varints_are_errors() {
        assert_eq!(
            read_varint(&mut &b""[..]).unwrap(),
            None,
            "empty stream: a clean end"
        );
        let cut = read_varint(&mut &[0x80u8][..]);
        assert_eq!(
            cut.map_err(|e| e.kind()),
            Err(io::ErrorKind::UnexpectedEof),
            "[0x80] says another byte follows, and none does"
        );
        let endless = read_varint(&mut &[0xffu8; 11][..]);
        assert_eq!(
            endless.map_err(|e| e.kind()),
            Err(io::ErrorKind::InvalidData),
            "11 bytes with the top bit set: longer than any u64"
        );
    }

    #[test]
    fn a_record_is_its_varint_length_then_its_bytes() {
        for employee in [sarah_chen(), big_record(), Employee::default()] {
            let bytes = employee.to_bytes();
            let mut expected = Vec::new();
            write_varint(&mut expected, bytes.len() as u64);
            expected.extend_from_slice(&bytes);

            let mut wire = Vec::new();
            write_delimited(&mut wire, &employee).unwrap();
            assert_eq!(
                wire, expected,
                "{:?}: varint length, then the message",
                employee.name
            );
            // quick-protobuf's own length-prefixed form is the same thing.
            assert_eq!(wire, quick_protobuf::serialize_into_vec(&employee).unwrap());
        }
        let mut wire = Vec::new();
        write_delimited(&mut wire, &big_record()).unwrap();
        assert!(
            wire[0] & 0x80 != 0,
            "a record over 127 bytes needs 2 length bytes"
        );
    }

    #[test]
    fn three_records_cross_tcp_in_order() {
        let sent = vec![sarah_chen(), big_record(), Employee::default()];
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();

        let to_send = sent.clone();
        let writer = thread::spawn(move || {
            for employee in &to_send {
                write_delimited(&mut client, employee).unwrap();
            }
            // Dropping the socket closes it: the reader sees a clean end.
        });

        let mut input = ChoppyReader {
            inner: server,
            sizes: [1, 3, 2, 64, 7].iter().cycle(),
        };
        let mut received = Vec::new();
        // Bounded: a broken reader cannot loop for ever.
        while received.len() < 100 {
            match read_delimited(&mut input) {
                Ok(Some(employee)) => received.push(employee),
                Ok(None) => break,
                Err(e) => panic!("read_delimited failed after {:?}: {e}", names(&received)),
            }
        }
        writer.join().unwrap();

        assert!(
            received == sent,
            "sent 3 records {:?}, received {}: {:?}.\n\
             Protobuf messages written back to back parse as ONE message (later \
             fields override or append to earlier ones): each record needs its \
             length in front.",
            names(&sent),
            received.len(),
            names(&received)
        );
    }

    #[test]
    fn a_cut_or_oversized_record_is_an_error() {
        let mut wire = Vec::new();
        write_delimited(&mut wire, &sarah_chen()).unwrap();
        wire.truncate(wire.len() - 3);
        let cut = read_delimited(&mut &wire[..]);
        assert_eq!(
            cut.map_err(|e| e.kind()),
            Err(io::ErrorKind::UnexpectedEof),
            "a record whose last 3 bytes never came: expected an UnexpectedEof error"
        );

        // Announces 2^40 bytes and sends none: refused before allocating.
        let mut huge = Vec::new();
        write_varint(&mut huge, 1 << 40);
        let refused = read_delimited(&mut &huge[..]);
        assert_eq!(
            refused.map_err(|e| e.kind()),
            Err(io::ErrorKind::InvalidData),
            "a length over MAX_MESSAGE_LEN: expected an InvalidData error"
        );
    }
}
