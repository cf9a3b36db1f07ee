//! The protobuf chapter: the article's `Employee` message for quick-protobuf,
//! what `proto1_stream` and `proto2_evolve` need besides their lesson, and
//! their checks.
//!
//! [`Employee`] is written out by hand the way pb-rs would generate it from
//! the article's schema (`proto/employee.proto` in the repository):
//!
//! ```proto
//! message Employee {
//!   string name = 1;
//!   int32 employee_id = 2;
//!   string department = 3;
//!   repeated string projects = 4;
//!   map<string, string> metadata = 5;
//! }
//! ```
//!
//! with two changes: it owns its strings (pb-rs borrows them from the input
//! bytes), and the map is a `BTreeMap`, so its entries are written in key
//! order and the bytes are the same on every run. It is "version 1", the
//! code written before `email` existed; [`EmployeeV2`] is version 2 as
//! `proto2_evolve` builds it.
//!
//! - For `proto1_stream`: [`write_varint`], [`write_delimited`] (what the
//!   checks send), and the checks [`check_varints`] and
//!   [`check_records_cross_tcp`].
//! - For `proto2_evolve`: [`EmployeeV2`], an old server ([`old_server`]),
//!   and the checks [`check_round_trip`], [`check_versions_read_each_other`]
//!   and [`check_old_server_new_client`].

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener};
use std::sync::mpsc;
use std::thread;

use quick_protobuf::sizeofs::{sizeof_int32, sizeof_len};
use quick_protobuf::{BytesReader, MessageRead, MessageWrite, Writer, WriterBackend};

use crate::net::{self, ChoppyReader, LOOPBACK, TIMEOUT, show, within};

/// The article's `Employee`, version 1 of the schema.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Employee {
    /// Field 1.
    pub name: String,
    /// Field 2.
    pub employee_id: i32,
    /// Field 3.
    pub department: String,
    /// Field 4, repeated.
    pub projects: Vec<String>,
    /// Field 5, a map: on the wire, one small message (key = 1, value = 2)
    /// per entry.
    pub metadata: BTreeMap<String, String>,
}

// Tag = (field number << 3) | wire type. Wire type 0 is a varint, 2 is
// length-delimited (a varint length, then that many bytes).
const NAME: u32 = (1 << 3) | 2;
const EMPLOYEE_ID: u32 = 2 << 3;
const DEPARTMENT: u32 = (3 << 3) | 2;
const PROJECTS: u32 = (4 << 3) | 2;
const METADATA: u32 = (5 << 3) | 2;
const MAP_KEY: u32 = (1 << 3) | 2;
const MAP_VALUE: u32 = (2 << 3) | 2;

/// The size of a map entry's message: key and value, each a tag byte and a
/// length-delimited string.
fn map_entry_size(key: &str, value: &str) -> usize {
    2 + sizeof_len(key.len()) + sizeof_len(value.len())
}

/// The size of a string field with a one-byte tag; 0 when it holds the
/// default, "", since proto3 leaves such a field out.
fn string_field_size(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        1 + sizeof_len(s.len())
    }
}

impl MessageWrite for Employee {
    fn get_size(&self) -> usize {
        let id = if self.employee_id == 0 {
            0
        } else {
            1 + sizeof_int32(self.employee_id)
        };
        let projects: usize = self.projects.iter().map(|p| 1 + sizeof_len(p.len())).sum();
        let metadata: usize = self
            .metadata
            .iter()
            .map(|(k, v)| 1 + sizeof_len(map_entry_size(k, v)))
            .sum();
        string_field_size(&self.name)
            + id
            + string_field_size(&self.department)
            + projects
            + metadata
    }

    fn write_message<W: WriterBackend>(&self, w: &mut Writer<W>) -> quick_protobuf::Result<()> {
        // proto3 never writes a field that holds its default value.
        if !self.name.is_empty() {
            w.write_with_tag(NAME, |w| w.write_string(&self.name))?;
        }
        if self.employee_id != 0 {
            w.write_with_tag(EMPLOYEE_ID, |w| w.write_int32(self.employee_id))?;
        }
        if !self.department.is_empty() {
            w.write_with_tag(DEPARTMENT, |w| w.write_string(&self.department))?;
        }
        for project in &self.projects {
            w.write_with_tag(PROJECTS, |w| w.write_string(project))?;
        }
        for (k, v) in &self.metadata {
            w.write_with_tag(METADATA, |w| {
                let size = map_entry_size(k, v);
                w.write_map(
                    size,
                    MAP_KEY,
                    |w| w.write_string(k),
                    MAP_VALUE,
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
                NAME => msg.name = r.read_string(bytes)?.to_owned(),
                EMPLOYEE_ID => msg.employee_id = r.read_int32(bytes)?,
                DEPARTMENT => msg.department = r.read_string(bytes)?.to_owned(),
                PROJECTS => msg.projects.push(r.read_string(bytes)?.to_owned()),
                METADATA => {
                    let (k, v) = r.read_map(
                        bytes,
                        |r, bytes| r.read_string(bytes).map(str::to_owned),
                        |r, bytes| r.read_string(bytes).map(str::to_owned),
                    )?;
                    msg.metadata.insert(k, v);
                }
                // A field number this version does not know, written by a
                // newer program: its wire type (the tag's low 3 bits) says
                // how many bytes to step over. This arm is what lets old
                // code read new bytes.
                tag => r.read_unknown(bytes, tag)?,
            }
        }
        Ok(msg)
    }
}

impl Employee {
    /// The message's bytes, like Python's `SerializeToString()`: no length
    /// in front, nothing to say where it ends.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.get_size());
        self.write_message(&mut Writer::new(&mut bytes))
            .expect("writing to a Vec cannot fail");
        bytes
    }

    /// Parses a whole message, like Python's `ParseFromString()`.
    pub fn from_bytes(bytes: &[u8]) -> quick_protobuf::Result<Self> {
        Self::from_reader(&mut BytesReader::from_bytes(bytes), bytes)
    }
}

/// The article's record.
pub fn sarah_chen() -> Employee {
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

/// A record of about 300 bytes: over 127, so its length takes 2 varint bytes.
pub fn big_record() -> Employee {
    Employee {
        name: "Ana Lima".into(),
        employee_id: 7,
        department: "Platform".into(),
        projects: (1..=20).map(|i| format!("Migration {i:02}")).collect(),
        metadata: BTreeMap::from([("location".into(), "Lisbon".into())]),
    }
}

/// Appends `value` as a protobuf varint: 7 bits per byte, lowest first, the
/// top bit (0x80) of each byte set when another byte follows.
pub fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Writes one record to a stream: the varint of its length, then its bytes;
/// what quick-protobuf's `serialize_into_vec` and Java's `writeDelimitedTo`
/// write.
pub fn write_delimited(w: &mut impl Write, employee: &Employee) -> io::Result<()> {
    let bytes = employee.to_bytes();
    let mut record = Vec::with_capacity(10 + bytes.len());
    write_varint(&mut record, bytes.len() as u64);
    record.extend_from_slice(&bytes);
    w.write_all(&record)
}

/// A `read_varint` function as `proto1_stream` writes it. The checks hand it
/// a [`ChoppyReader`].
pub type ReadVarintFn = fn(&mut ChoppyReader) -> io::Result<Option<u64>>;

/// A `read_delimited` function, as `proto1_stream` gives it.
pub type ReadDelimitedFn = fn(&mut ChoppyReader) -> io::Result<Option<Employee>>;

/// Checks `proto1_stream`'s `read_varint`: values from 0 to `u64::MAX` must
/// read back, without taking a byte past the varint (the next record's
/// first byte); an empty stream is `Ok(None)`; a stream that ends inside a
/// varint is an `UnexpectedEof` error; 11 bytes with the top bit set, longer
/// than any u64, an `InvalidData` error.
#[track_caller]
pub fn check_varints(read_varint: ReadVarintFn) {
    // What the stream holds after the varint: the start of the next record.
    const NEXT_BYTE: u8 = 0x2a;
    let values = [
        0,
        1,
        127,
        128,
        300,
        16_383,
        16_384,
        u32::MAX.into(),
        u64::MAX,
    ];
    for value in values {
        let mut wire = Vec::new();
        write_varint(&mut wire, value);
        let input = [wire.as_slice(), &[NEXT_BYTE]].concat();
        let (result, rest) = within(TIMEOUT, "read_varint", move || {
            let mut input = ChoppyReader::from_bytes(&input, &[1, 2, 3]);
            (read_varint(&mut input), input.rest().unwrap_or_default())
        });
        let how_far = match rest.len() {
            1 => "",
            0 => " It read past the varint: read one byte at a time.",
            _ => " It stopped too soon.",
        };
        match result {
            Ok(Some(read)) if read == value && how_far.is_empty() => {}
            other => panic!(
                "read_varint({}) should give Ok(Some({value})) and leave the byte after it, \
                 {NEXT_BYTE:#04x}, unread; it gave {other:?} and left {}.{how_far}\n\
                 Each byte carries 7 bits, lowest first; its top bit (0x80) says another \
                 byte follows.",
                hex(&wire),
                hex(&rest)
            ),
        }
    }

    let cases: [(&[u8], Option<io::ErrorKind>, &str); 3] = [
        (&[], None, "an empty stream is the clean end, Ok(None)"),
        (
            &[0x80],
            Some(io::ErrorKind::UnexpectedEof),
            "0x80 says another byte follows, and none does: an UnexpectedEof error",
        ),
        (
            &[0xff; 11],
            Some(io::ErrorKind::InvalidData),
            "11 bytes that all say \"more\", longer than any u64: an InvalidData error",
        ),
    ];
    for (wire, expected, why) in cases {
        let result = within(TIMEOUT, "read_varint", move || {
            read_varint(&mut ChoppyReader::from_bytes(wire, &[1, 2, 3]))
        });
        let got = match &result {
            Ok(None) => None,
            Err(e) => Some(e.kind()),
            Ok(Some(_)) => Some(io::ErrorKind::Other),
        };
        assert!(
            got == expected,
            "read_varint({}): {why}; it gave {result:?}",
            hex(wire)
        );
    }
}

/// `[0x80, 0x01]`: bytes as a check's message shows them.
fn hex(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().map(|b| format!("{b:#04x}")).collect();
    format!("[{}]", shown.join(", "))
}

fn names(records: &[Employee]) -> Vec<&str> {
    records.iter().map(|e| e.name.as_str()).collect()
}

/// Checks `proto1_stream`'s `read_delimited` on a real connection: three
/// records, [`sarah_chen`], [`big_record`] and an empty one, written with
/// [`write_delimited`] in odd-sized pieces, must come back in order, then
/// `Ok(None)` when the sender closes.
#[track_caller]
pub fn check_records_cross_tcp(read_delimited: ReadDelimitedFn) {
    let sent = vec![sarah_chen(), big_record(), Employee::default()];
    let mut wire = Vec::new();
    for employee in &sent {
        write_delimited(&mut wire, employee).expect("writing to a Vec cannot fail");
    }
    let (mut client, server) = net::connected_pair().expect("cannot connect on 127.0.0.1");
    thread::spawn(move || {
        net::send_in_pieces(
            &mut client,
            &wire,
            &[1, 5, 64, 2],
            std::time::Duration::from_millis(1),
        )
        // Dropping `client` closes the connection: the reader's clean end.
    });

    let (received, error) = within(TIMEOUT, "read_delimited", move || {
        let mut input = ChoppyReader::new(server, &[1, 3, 2, 64, 7]);
        let mut received = Vec::new();
        // Bounded: a reader that never says "the end" cannot loop for ever.
        while received.len() < 100 {
            match read_delimited(&mut input) {
                Ok(Some(employee)) => received.push(employee),
                Ok(None) => return (received, None),
                Err(e) => return (received, Some(e)),
            }
        }
        (received, Some(io::Error::other("100 records and no end")))
    });
    if let Some(e) = error {
        panic!(
            "read_delimited failed after the records {:?}: {e}.\n\
             The second record is {} bytes long: its length takes 2 varint bytes.",
            names(&received),
            big_record().to_bytes().len()
        );
    }
    assert!(
        received == sent,
        "sent 3 records {:?}, received {}: {:?}",
        names(&sent),
        received.len(),
        names(&received)
    );
}

/// Version 2 of `Employee`, as `proto2_evolve` builds it: every field of
/// version 1, unchanged, plus `string email = 6;` (the repository's
/// `proto/employee_v2.proto`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EmployeeV2 {
    /// Fields 1 to 5, as version 1 has them.
    pub v1: Employee,
    /// Field 6, new in version 2.
    pub email: String,
}

/// The address the checks give Sarah Chen (the article has no email).
pub const EMAIL: &str = "sarah.chen@example.com";

/// A `write_v2` function, as `proto2_evolve` gives it.
pub type WriteV2Fn = fn(&EmployeeV2) -> Vec<u8>;

/// A `read_v2` function, as `proto2_evolve` gives it; it calls the
/// exercise's `read_email`.
pub type ReadV2Fn = fn(&[u8]) -> quick_protobuf::Result<EmployeeV2>;

/// Field 6 as it appears on the wire: tag 50 ((6 << 3) | 2), the length,
/// the UTF-8 bytes.
fn email_field(email: &str) -> Vec<u8> {
    let mut field = vec![(6 << 3) | 2];
    write_varint(&mut field, email.len() as u64);
    field.extend_from_slice(email.as_bytes());
    field
}

/// Calls `read_v2` on `bytes`, with a time limit.
#[track_caller]
fn read_v2_within(read_v2: ReadV2Fn, bytes: &[u8]) -> quick_protobuf::Result<EmployeeV2> {
    let bytes = bytes.to_vec();
    within(TIMEOUT, "read_v2 (and your read_email)", move || {
        read_v2(&bytes)
    })
}

/// Checks `proto2_evolve` both ways through its own code: what `write_v2`
/// writes, `read_v2` reads back, email included, for Sarah Chen with an
/// email, a record with nothing but an email, and one with an empty email.
#[track_caller]
pub fn check_round_trip(write_v2: WriteV2Fn, read_v2: ReadV2Fn) {
    let records = [
        EmployeeV2 {
            v1: sarah_chen(),
            email: EMAIL.into(),
        },
        EmployeeV2 {
            v1: Employee::default(),
            email: "only@example.com".into(),
        },
        EmployeeV2 {
            v1: big_record(),
            email: String::new(),
        },
    ];
    for written in records {
        let bytes = write_v2(&written);
        match read_v2_within(read_v2, &bytes) {
            Ok(read) => assert!(
                read == written,
                "wrote {:?} with email {:?}; read back {:?} with email {:?}.\n\
                 The email is field 6, wherever it comes among the fields.",
                written.v1.name,
                written.email,
                read.v1.name,
                read.email
            ),
            Err(e) => panic!(
                "read_v2 failed on what write_v2 wrote ({}): {e}",
                show(&bytes)
            ),
        }
    }
}

/// Checks that `proto2_evolve`'s two versions read each other's bytes:
/// version 1 code ([`Employee::from_bytes`]) reads what `write_v2` writes
/// and skips the email; `write_v2` with an empty email writes exactly
/// version 1's bytes; `read_v2` reads version 1 bytes with email "", and
/// finds the email however the fields are ordered, among fields it does not
/// know (numbers 8 to 11, one of each wire type).
#[track_caller]
pub fn check_versions_read_each_other(write_v2: WriteV2Fn, read_v2: ReadV2Fn) {
    let v1 = sarah_chen();
    let v1_bytes = v1.to_bytes();
    let v2 = EmployeeV2 {
        v1: v1.clone(),
        email: EMAIL.into(),
    };
    let v2_bytes = write_v2(&v2);
    match Employee::from_bytes(&v2_bytes) {
        Ok(read) => assert_eq!(read, v1, "version 1 code reading version 2 bytes"),
        Err(e) => panic!("version 1 code cannot read what write_v2 wrote: {e}"),
    }
    let no_email = EmployeeV2 {
        v1: v1.clone(),
        email: String::new(),
    };
    assert!(
        write_v2(&no_email) == v1_bytes,
        "with an empty email, write_v2 should write exactly version 1's bytes: proto3 \
         leaves out a field that holds its default"
    );

    let no_email_bytes = v1_bytes.clone();
    let email_first = [email_field(EMAIL), v1_bytes.clone()].concat();
    // Fields 8 to 11, unknown to both versions: a varint (tag 64, 300), 8
    // fixed bytes (tag 73), 4 fixed bytes (tag 85), a string (tag 90, "abc").
    let unknown: &[u8] = &[
        64, 0xac, 0x02, 73, 1, 2, 3, 4, 5, 6, 7, 8, 85, 1, 2, 3, 4, 90, 3, b'a', b'b', b'c',
    ];
    let among_unknown = [
        unknown,
        &v1_bytes[..],
        unknown,
        &email_field(EMAIL)[..],
        unknown,
    ]
    .concat();
    for (what, bytes, expected) in [
        ("version 1 bytes, no field 6", no_email_bytes, no_email),
        (
            "version 2 bytes with the email first",
            email_first,
            v2.clone(),
        ),
        (
            "version 2 bytes among unknown fields 8-11",
            among_unknown,
            v2,
        ),
    ] {
        match read_v2_within(read_v2, &bytes) {
            Ok(read) => assert!(
                read == expected,
                "{what}: read_v2 gave email {:?} (and name {:?}); expected {:?}.\n\
                 Look at every field, keep field 6, step over the others; a field that \
                 never comes keeps its default, \"\".",
                read.email,
                read.v1.name,
                expected.email
            ),
            Err(e) => panic!(
                "{what}: read_v2 failed: {e}.\nA reader must step over the fields it does \
                 not know; the tag's wire type says how many bytes they take."
            ),
        }
    }
}

/// An old server, written before `email` existed: accepts one client, reads
/// its request (until the client half-closes) as a version 1 `Employee`, and
/// answers with that `Employee` as version 1 code writes it. Returns what it
/// understood. Every read and write gives up after [`TIMEOUT`].
pub fn old_server(listener: &TcpListener) -> io::Result<Employee> {
    let (mut stream, _) = listener.accept()?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let mut request = Vec::new();
    (&mut stream).take(1024 * 1024).read_to_end(&mut request)?;
    let employee = Employee::from_bytes(&request).map_err(io::Error::other)?;
    stream.write_all(&employee.to_bytes())?;
    Ok(employee)
}

/// Checks `proto2_evolve` over a real connection: a new client sends Sarah
/// Chen with an email ([`write_v2`](WriteV2Fn)) to an [`old_server`]; the
/// server must understand the version 1 fields, and the client must read
/// its reply ([`read_v2`](ReadV2Fn)) as Sarah Chen with no email, since the
/// old server re-encodes only what it knows. (Python's protobuf keeps
/// unknown fields and would send the email back.)
#[track_caller]
pub fn check_old_server_new_client(write_v2: WriteV2Fn, read_v2: ReadV2Fn) {
    let listener = TcpListener::bind(LOOPBACK).expect("cannot bind 127.0.0.1");
    let addr = listener.local_addr().expect("no local address");
    let (understood_tx, understood) = mpsc::channel();
    thread::spawn(move || understood_tx.send(old_server(&listener)));

    let request = write_v2(&EmployeeV2 {
        v1: sarah_chen(),
        email: EMAIL.into(),
    });
    let mut stream = net::connect(addr).expect("cannot connect");
    stream.write_all(&request).expect("the client cannot send");
    stream.shutdown(Shutdown::Write).expect("cannot half-close");
    let mut reply = Vec::new();
    let received = stream.take(1024 * 1024).read_to_end(&mut reply);

    match understood.recv_timeout(TIMEOUT) {
        Ok(Ok(employee)) => assert_eq!(employee, sarah_chen(), "what the old server understood"),
        Ok(Err(e)) => panic!("the old server could not read the new client's request: {e}"),
        Err(_) => panic!("the old server did not answer within {TIMEOUT:?}"),
    }
    received.expect("the client got no reply");
    match read_v2_within(read_v2, &reply) {
        Ok(read) => assert_eq!(
            read,
            EmployeeV2 {
                v1: sarah_chen(),
                email: String::new()
            },
            "the new client reading the old server's reply"
        ),
        Err(e) => panic!(
            "read_v2 failed on the old server's reply ({}): {e}",
            show(&reply)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_what_quick_protobuf_writes() {
        for employee in [sarah_chen(), big_record(), Employee::default()] {
            let mut ours = Vec::new();
            write_delimited(&mut ours, &employee).unwrap();
            assert_eq!(ours, quick_protobuf::serialize_into_vec(&employee).unwrap());
            assert_eq!(employee.get_size(), employee.to_bytes().len());
            assert_eq!(
                Employee::from_bytes(&employee.to_bytes()).unwrap(),
                employee
            );
        }
        assert_eq!(sarah_chen().to_bytes().len(), 102);
        assert!(big_record().to_bytes().len() > 127);
    }

    #[test]
    fn varints_take_seven_bits_per_byte() {
        let mut out = Vec::new();
        write_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }
}
