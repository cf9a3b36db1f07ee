//! Several Employees on one TCP connection, told apart by length prefixes:
//! the Rust side of "send structured data across networks".

use std::borrow::Cow;
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

use proto::{FrameError, MAX_FRAME_LEN};

/// Binds port 0 and starts a reader that parses frames until the client
/// closes; it returns the names it read, or the first error.
fn start_reader(
    max_len: usize,
) -> (
    std::net::SocketAddr,
    thread::JoinHandle<Result<Vec<String>, String>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(stream);
        let mut names = Vec::new();
        while let Some(frame) =
            proto::read_frame(&mut reader, max_len).map_err(|e| e.to_string())?
        {
            let employee = proto::parse_employee(&frame).map_err(|e| e.to_string())?;
            names.push(employee.name.into_owned());
        }
        Ok(names)
    });
    (addr, handle)
}

fn employee_named(name: &str) -> Vec<u8> {
    proto::serialize(&proto::Employee {
        name: Cow::Borrowed(name),
        ..proto::article_employee()
    })
}

#[test]
fn three_employees_on_one_connection_arrive_as_three_messages() {
    let (addr, reader) = start_reader(MAX_FRAME_LEN);
    let mut stream = TcpStream::connect(addr).unwrap();
    for name in ["Sarah Chen", "Ada Lovelace", "Grace Hopper"] {
        proto::write_frame(&mut stream, &employee_named(name)).unwrap();
    }
    stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        reader.join().unwrap().unwrap(),
        ["Sarah Chen", "Ada Lovelace", "Grace Hopper"]
    );
}

#[test]
fn frames_split_across_many_tiny_writes_still_reassemble() {
    let (addr, reader) = start_reader(MAX_FRAME_LEN);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut bytes = Vec::new();
    proto::write_frame(&mut bytes, &employee_named("one")).unwrap();
    proto::write_frame(&mut bytes, &employee_named("two")).unwrap();
    for byte in bytes {
        stream.write_all(&[byte]).unwrap();
    }
    stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(reader.join().unwrap().unwrap(), ["one", "two"]);
}

#[test]
fn empty_employee_is_a_zero_length_frame_not_the_end() {
    let (addr, reader) = start_reader(MAX_FRAME_LEN);
    let mut stream = TcpStream::connect(addr).unwrap();
    proto::write_frame(&mut stream, &[]).unwrap();
    proto::write_frame(&mut stream, &employee_named("after")).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(reader.join().unwrap().unwrap(), ["", "after"]);
}

#[test]
fn huge_declared_frame_is_refused_before_its_body_is_read() {
    let (addr, reader) = start_reader(1024);
    let mut stream = TcpStream::connect(addr).unwrap();
    // Claims 4 GiB - 1 and sends nothing after: the reader must answer at
    // once rather than allocate or wait for bytes that will never come.
    stream.write_all(b"\xff\xff\xff\xff\x0f").unwrap();
    let error = reader.join().unwrap().unwrap_err();
    assert_eq!(
        error,
        "frame declares 4294967295 bytes, above the limit of 1024: refused without reading it"
    );
}

#[test]
fn connection_closed_mid_frame_is_a_truncated_body() {
    let (addr, reader) = start_reader(MAX_FRAME_LEN);
    let mut stream = TcpStream::connect(addr).unwrap();
    let frame = employee_named("cut short");
    let mut bytes = Vec::new();
    proto::write_frame(&mut bytes, &frame).unwrap();
    stream.write_all(&bytes[..10]).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        reader.join().unwrap().unwrap_err(),
        format!("stream ended after 9 of the frame's {} bytes", frame.len())
    );
}

#[test]
fn our_frames_are_quick_protobufs_serialize_into_vec() {
    // The stream form is a convention other libraries share: quick-protobuf's
    // own length-prefixed helper writes exactly the same bytes.
    let employee = proto::article_employee();
    let mut ours = Vec::new();
    proto::write_frame(&mut ours, &proto::serialize(&employee)).unwrap();
    assert_eq!(ours, quick_protobuf::serialize_into_vec(&employee).unwrap());
}

#[test]
fn frame_errors_say_what_went_wrong() {
    let mut input: &[u8] = b"\x05ab";
    let error = proto::read_frame(&mut input, MAX_FRAME_LEN).unwrap_err();
    assert!(matches!(
        error,
        FrameError::TruncatedBody {
            declared: 5,
            received: 2
        }
    ));
    assert_eq!(
        error.to_string(),
        "stream ended after 2 of the frame's 5 bytes"
    );
}
