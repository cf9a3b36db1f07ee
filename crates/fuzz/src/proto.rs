//! Chapter 3's decoders: bytes a peer or a file claims are an `Employee`.

use proto::DecodeError;
use proto::wire::{RawValue, raw_fields};

/// `parse_employee` and `parse_employee_v2`, and the streaming printer
/// `employee decode` uses: a record that decodes re-encodes to bytes that
/// decode to the same record, and the printer accepts exactly what the
/// parser accepts and prints the same lines.
pub fn employee(data: &[u8]) {
    match proto::parse_employee(data) {
        Ok(employee) => {
            let again = proto::serialize(&employee);
            let decoded = proto::parse_employee(&again).expect("our own encoding must decode");
            assert_eq!(decoded, employee, "re-encoded record differs");
            let lines = proto::employee_lines(data).expect("printer refuses what parse accepts");
            assert_eq!(lines.to_string(), employee.to_string());
        }
        Err(e) => {
            assert_within(&e, data);
            assert!(proto::employee_lines(data).is_err(), "printer accepts {e}");
        }
    }
    match proto::parse_employee_v2(data) {
        Ok(employee) => {
            let again = proto::serialize(&employee);
            let decoded = proto::parse_employee_v2(&again).expect("our own encoding must decode");
            assert_eq!(decoded, employee, "re-encoded v2 record differs");
            let lines = proto::employee_lines_v2(data).expect("v2 printer refuses");
            assert_eq!(lines.to_string(), employee.to_string());
        }
        Err(e) => {
            assert_within(&e, data);
            assert!(
                proto::employee_lines_v2(data).is_err(),
                "v2 printer accepts {e}"
            );
        }
    }
    // v2 reads everything v1 reads: what v1 refuses, v2 refuses too.
    if proto::parse_employee(data).is_err() {
        assert!(proto::parse_employee_v2(data).is_err());
    }
}

/// `decode_raw`, as `employee decode --raw` prints it: it succeeds exactly
/// when every record parses, prints one unindented line per top-level
/// record, and never a control character but the newline.
pub fn raw(data: &[u8]) {
    let records = raw_fields(data, 0).collect::<Result<Vec<_>, _>>();
    match (proto::decode_raw(data), records) {
        (Ok(text), Ok(records)) => {
            let top_level = text
                .lines()
                .filter(|line| !line.starts_with(' ') && *line != "}")
                .count();
            assert_eq!(top_level, records.len(), "lines for records:\n{text}");
            assert!(
                text.chars().all(|c| c == '\n' || !c.is_control()),
                "a control character reaches the terminal: {text:?}"
            );
            let typed = proto::decode_raw_with_wire_types(data).expect("same bytes, same check");
            assert_eq!(typed.lines().count(), text.lines().count());
            for record in &records {
                if let RawValue::Len { bytes, .. } = record.value {
                    assert!(bytes.len() <= data.len());
                }
            }
        }
        (Err(e), Err(first)) => {
            assert_eq!(
                e, first,
                "decode_raw reports another error than the records"
            );
            assert_within(&e, data);
        }
        (text, records) => panic!("decode_raw {text:?} but records {records:?}"),
    }
}

/// `read_frame` over a stream of frames, as `employee decode --framed`
/// reads stdin, each frame printed as the binary prints it: the frames,
/// framed again, are exactly the bytes read, and an error says why.
pub fn framed(data: &[u8]) {
    for limit in [proto::MAX_FRAME_LEN, 16] {
        let mut stream = data;
        let (frames, result) = read_frames(&mut stream, limit);
        for frame in &frames {
            assert!(frame.len() <= limit, "a frame above the limit");
            // What `employee decode --framed` does with each frame.
            if let Ok(lines) = proto::employee_lines(frame) {
                let _ = lines.to_string();
            }
            if let Ok(text) = proto::wire::raw_text(frame, true) {
                let _ = text.to_string();
            }
        }
        match result {
            // A clean end: every byte was a frame. Framed again (lengths
            // written the shortest way) they read back the same.
            Ok(()) => {
                assert!(stream.is_empty(), "a clean end with bytes left");
                assert_eq!(proto::looks_framed(data), !data.is_empty());
                let mut reframed = Vec::new();
                for frame in &frames {
                    proto::write_frame(&mut reframed, frame).expect("writing to a Vec");
                }
                assert!(reframed.len() <= data.len());
                let (again, end) = read_frames(&mut reframed.as_slice(), limit);
                assert!(end.is_ok() && again == frames, "re-framed frames differ");
            }
            Err(proto::FrameError::TooLarge { declared, limit: l }) => {
                assert!(declared > l as u64);
            }
            Err(proto::FrameError::TruncatedBody { declared, received }) => {
                assert!(received < declared);
                assert!(stream.is_empty(), "a truncated body with bytes left");
            }
            Err(proto::FrameError::TruncatedLength) => assert!(stream.is_empty()),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

/// Every frame of `stream` until its end or the first error.
fn read_frames(stream: &mut &[u8], limit: usize) -> (Vec<Vec<u8>>, Result<(), proto::FrameError>) {
    let mut frames = Vec::new();
    loop {
        match proto::read_frame(stream, limit) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => return (frames, Ok(())),
            Err(e) => return (frames, Err(e)),
        }
    }
}

/// A decode error points into the input, or at its very end for a value
/// the data stops before (`22` alone: "the varint starting at byte offset
/// 1"): it never names a byte past the end.
fn assert_within(e: &DecodeError, data: &[u8]) {
    let offset = match e {
        DecodeError::UnexpectedEnd { offset, .. }
        | DecodeError::VarintTooLong { offset }
        | DecodeError::LengthPastEnd { offset, .. }
        | DecodeError::InvalidFieldNumber { offset, .. }
        | DecodeError::UnsupportedWireType { offset, .. }
        | DecodeError::WrongWireType { offset, .. }
        | DecodeError::InvalidUtf8 { offset, .. }
        | DecodeError::UnexpectedMapEntryField { offset, .. } => *offset,
    };
    assert!(offset <= data.len(), "{e}, in {} bytes", data.len());
    assert!(!e.to_string().is_empty());
}
