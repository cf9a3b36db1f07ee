// Reference solution: proto2_evolve (chapter: proto).
//
// Two rules make a schema change safe in both directions:
// - a decoder skips field numbers it does not know (the tag's wire type says
//   how many bytes to step over), so old code reads new bytes;
// - a field missing from the bytes keeps its default, and proto3 never
//   writes a field that holds its default, so new code reads old bytes and
//   a v2 record with no email is byte for byte a v1 record.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use quick_protobuf::sizeofs::{sizeof_int32, sizeof_len};
use quick_protobuf::{BytesReader, MessageRead, MessageWrite, Writer, WriterBackend};

// ---------------------------------------------------------------------------
// Version 1: the article's schema, as pb-rs would generate it (with owned
// types, and a BTreeMap so the map is written in key order).
//
//     message Employee {
//       string name = 1;
//       int32 employee_id = 2;
//       string department = 3;
//       repeated string projects = 4;
//       map<string, string> metadata = 5;
//     }
// ---------------------------------------------------------------------------

/// The article's `Employee`, as the programs written first know it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct EmployeeV1 {
    name: String,
    employee_id: i32,
    department: String,
    projects: Vec<String>,
    metadata: BTreeMap<String, String>,
}

impl MessageWrite for EmployeeV1 {
    fn get_size(&self) -> usize {
        (if self.name.is_empty() {
            0
        } else {
            1 + sizeof_len(self.name.len())
        }) + (if self.employee_id == 0 {
            0
        } else {
            1 + sizeof_int32(self.employee_id)
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
            w.write_with_tag(42, |w| write_map_entry(w, k, v))?;
        }
        Ok(())
    }
}

impl<'a> MessageRead<'a> for EmployeeV1 {
    fn from_reader(r: &mut BytesReader, bytes: &'a [u8]) -> quick_protobuf::Result<Self> {
        let mut msg = Self::default();
        while !r.is_eof() {
            match r.next_tag(bytes)? {
                10 => msg.name = r.read_string(bytes)?.to_owned(),
                16 => msg.employee_id = r.read_int32(bytes)?,
                26 => msg.department = r.read_string(bytes)?.to_owned(),
                34 => msg.projects.push(r.read_string(bytes)?.to_owned()),
                42 => {
                    let (k, v) = read_map_entry(r, bytes)?;
                    msg.metadata.insert(k, v);
                }
                // A field this version does not know: written by a newer
                // program. Its wire type (the tag's low 3 bits) says how to
                // step over it.
                tag => r.read_unknown(bytes, tag)?,
            }
        }
        Ok(msg)
    }
}

// ---------------------------------------------------------------------------
// Version 2: one field added.
//
//     message Employee {
//       ...fields 1 to 5 unchanged...
//       string email = 6;   // new: a number never used before
//     }
// ---------------------------------------------------------------------------

/// `Employee` as the newer programs know it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct EmployeeV2 {
    name: String,
    employee_id: i32,
    department: String,
    projects: Vec<String>,
    metadata: BTreeMap<String, String>,
    email: String,
}

impl MessageWrite for EmployeeV2 {
    fn get_size(&self) -> usize {
        (if self.name.is_empty() {
            0
        } else {
            1 + sizeof_len(self.name.len())
        }) + (if self.employee_id == 0 {
            0
        } else {
            1 + sizeof_int32(self.employee_id)
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
            + (if self.email.is_empty() {
                0
            } else {
                1 + sizeof_len(self.email.len())
            })
    }

    fn write_message<W: WriterBackend>(&self, w: &mut Writer<W>) -> quick_protobuf::Result<()> {
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
            w.write_with_tag(42, |w| write_map_entry(w, k, v))?;
        }
        // Field 6, wire type 2: (6 << 3) | 2 = 50. Like every proto3 field,
        // left out when it holds its default.
        if !self.email.is_empty() {
            w.write_with_tag(50, |w| w.write_string(&self.email))?;
        }
        Ok(())
    }
}

impl<'a> MessageRead<'a> for EmployeeV2 {
    fn from_reader(r: &mut BytesReader, bytes: &'a [u8]) -> quick_protobuf::Result<Self> {
        let mut msg = Self::default();
        while !r.is_eof() {
            match r.next_tag(bytes)? {
                10 => msg.name = r.read_string(bytes)?.to_owned(),
                16 => msg.employee_id = r.read_int32(bytes)?,
                26 => msg.department = r.read_string(bytes)?.to_owned(),
                34 => msg.projects.push(r.read_string(bytes)?.to_owned()),
                42 => {
                    let (k, v) = read_map_entry(r, bytes)?;
                    msg.metadata.insert(k, v);
                }
                50 => msg.email = r.read_string(bytes)?.to_owned(),
                tag => r.read_unknown(bytes, tag)?,
            }
        }
        Ok(msg)
    }
}

// ---------------------------------------------------------------------------
// Given: helpers both versions share.
// ---------------------------------------------------------------------------

/// A map entry is a small message of its own: key = 1, value = 2.
fn map_entry_size(key: &str, value: &str) -> usize {
    2 + sizeof_len(key.len()) + sizeof_len(value.len())
}

fn write_map_entry<W: WriterBackend>(
    w: &mut Writer<W>,
    key: &str,
    value: &str,
) -> quick_protobuf::Result<()> {
    w.write_map(
        map_entry_size(key, value),
        10,
        |w| w.write_string(key),
        18,
        |w| w.write_string(value),
    )
}

fn read_map_entry(r: &mut BytesReader, bytes: &[u8]) -> quick_protobuf::Result<(String, String)> {
    r.read_map(
        bytes,
        |r, bytes| r.read_string(bytes).map(str::to_owned),
        |r, bytes| r.read_string(bytes).map(str::to_owned),
    )
}

/// The bare message, like Python's `SerializeToString()`.
fn to_bytes(message: &impl MessageWrite) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(message.get_size());
    message
        .write_message(&mut Writer::new(&mut bytes))
        .expect("writing to a Vec cannot fail");
    bytes
}

/// Parses a bare message, like Python's `ParseFromString()`.
fn from_bytes<'a, M: MessageRead<'a>>(bytes: &'a [u8]) -> io::Result<M> {
    M::from_reader(&mut BytesReader::from_bytes(bytes), bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The article's record, as each version writes it.
fn sarah_chen_v1() -> EmployeeV1 {
    EmployeeV1 {
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

fn sarah_chen_v2(email: &str) -> EmployeeV2 {
    let v1 = sarah_chen_v1();
    EmployeeV2 {
        name: v1.name,
        employee_id: v1.employee_id,
        department: v1.department,
        projects: v1.projects,
        metadata: v1.metadata,
        email: email.into(),
    }
}

/// An old server: reads one v1 record (until the client half-closes), and
/// answers with the record as it understood it.
fn old_server(listener: TcpListener) -> io::Result<EmployeeV1> {
    let (mut stream, _) = listener.accept()?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = Vec::new();
    (&mut stream).take(1024 * 1024).read_to_end(&mut request)?;
    let employee: EmployeeV1 = from_bytes(&request)?;
    stream.write_all(&to_bytes(&employee))?;
    Ok(employee)
}

/// A new client: sends a v2 record, reads the reply as v2.
fn new_client(server: std::net::SocketAddr, employee: &EmployeeV2) -> io::Result<EmployeeV2> {
    let mut stream = TcpStream::connect(server)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(&to_bytes(employee))?;
    stream.shutdown(Shutdown::Write)?;
    let mut reply = Vec::new();
    stream.take(1024 * 1024).read_to_end(&mut reply)?;
    from_bytes(&reply)
}

fn main() -> io::Result<()> {
    let v2 = sarah_chen_v2("sarah.chen@example.com");
    let v1_bytes = to_bytes(&sarah_chen_v1());
    let v2_bytes = to_bytes(&v2);
    println!("v1 bytes: {}, v2 bytes: {}", v1_bytes.len(), v2_bytes.len());
    println!(
        "v2 read by v1 code: {:?}",
        from_bytes::<EmployeeV1>(&v2_bytes)?.name
    );
    println!(
        "v1 read by v2 code: email = {:?}",
        from_bytes::<EmployeeV2>(&v1_bytes)?.email
    );

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || old_server(listener));
    let reply = new_client(addr, &v2)?;
    let understood = server
        .join()
        .map_err(|_| io::Error::other("the server thread panicked"))??;
    println!("The old server understood: {understood:?}");
    println!("Its reply, read as v2: email = {:?}", reply.email);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: &str = "sarah.chen@example.com";

    /// Field 6 as it appears on the wire: tag 50, length, UTF-8 bytes.
    fn email_field(email: &str) -> Vec<u8> {
        [&[50, email.len() as u8][..], email.as_bytes()].concat()
    }

    #[test]
    fn the_new_field_round_trips() {
        let v2 = sarah_chen_v2(EMAIL);
        let decoded: EmployeeV2 = from_bytes(&to_bytes(&v2)).unwrap();
        assert_eq!(
            decoded.email, EMAIL,
            "an email written by EmployeeV2 should read back from its bytes"
        );
        assert_eq!(decoded, v2);
    }

    #[test]
    fn v2_bytes_are_v1_bytes_plus_field_6() {
        let v2 = sarah_chen_v2(EMAIL);
        let v2_bytes = to_bytes(&v2);
        let v1_bytes = to_bytes(&sarah_chen_v1());
        let expected = [v1_bytes.clone(), email_field(EMAIL)].concat();
        assert!(
            v2_bytes == expected,
            "v2 should write fields 1-5 exactly as v1 does ({} bytes), then field 6: \
             tag 50 ((6 << 3) | wire type 2), the length, the UTF-8 bytes.\n\
             expected {} bytes ending in {:?}\n     got {} bytes ending in {:?}",
            v1_bytes.len(),
            expected.len(),
            &expected[expected.len().saturating_sub(26)..],
            v2_bytes.len(),
            &v2_bytes[v2_bytes.len().saturating_sub(26)..],
        );
        assert_eq!(
            v2.get_size(),
            v2_bytes.len(),
            "get_size must count the email field too"
        );
    }

    #[test]
    fn an_empty_email_is_not_on_the_wire() {
        let v2 = sarah_chen_v2("");
        assert_eq!(
            to_bytes(&v2),
            to_bytes(&sarah_chen_v1()),
            "proto3 leaves out a field that holds its default"
        );
        assert_eq!(v2.get_size(), to_bytes(&v2).len());
    }

    #[test]
    fn old_code_skips_fields_it_does_not_know() {
        let v1_bytes = to_bytes(&sarah_chen_v1());
        let email_last = [v1_bytes.clone(), email_field(EMAIL)].concat();
        // Fields may come in any order on the wire.
        let email_first = [email_field(EMAIL), v1_bytes.clone()].concat();
        // Field 8 as a varint (tag (8 << 3) | 0 = 64), value 300.
        let unknown_varint = [v1_bytes, vec![64, 0xac, 0x02]].concat();
        for (what, bytes) in [
            ("v2 bytes with the email last", email_last),
            ("v2 bytes with the email first", email_first),
            ("bytes with an unknown varint field 8", unknown_varint),
        ] {
            match from_bytes::<EmployeeV1>(&bytes) {
                Ok(v1) => assert_eq!(v1, sarah_chen_v1(), "{what}"),
                Err(e) => panic!(
                    "EmployeeV1 could not read {what}: {e}.\n\
                     A decoder that rejects unknown fields breaks the day a newer \
                     program adds one: skip them with `r.read_unknown(bytes, tag)`."
                ),
            }
        }
    }

    #[test]
    fn new_code_reads_old_bytes_with_the_default() {
        let v2: EmployeeV2 = from_bytes(&to_bytes(&sarah_chen_v1())).unwrap();
        assert_eq!(v2, sarah_chen_v2(""), "fields 1-5 as written, email = \"\"");
    }

    #[test]
    fn an_old_server_and_a_new_client_understand_each_other() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || old_server(listener));

        let client_result = new_client(addr, &sarah_chen_v2(EMAIL));
        let understood = server.join().unwrap();
        match understood {
            Ok(v1) => assert_eq!(v1, sarah_chen_v1(), "what the old server understood"),
            Err(e) => panic!(
                "the old server could not read the new client's record: {e}.\n\
                 Old code must skip the fields it does not know."
            ),
        }
        // The old server re-encoded only what it knew: the email is gone
        // (Python's protobuf would have kept and re-sent it), and the new
        // client sees the default.
        assert_eq!(client_result.unwrap(), sarah_chen_v2(""));
    }
}
