//! Every way bytes from a file or a peer can be wrong: each is a clear
//! error that says what and at which byte, never a panic.

use proto::{DecodeError, Employee, wire::WireType};
use quick_protobuf::{BytesReader, MessageRead};

/// pb-rs' generated reader, for comparison with ours.
fn generated_decode(bytes: &[u8]) -> quick_protobuf::Result<Employee<'_>> {
    Employee::from_reader(&mut BytesReader::from_bytes(bytes), bytes)
}

/// Whatever our reader accepts, the generated one must read the same way.
fn assert_agrees_with_generated(bytes: &[u8]) {
    if let Ok(ours) = proto::parse_employee(bytes) {
        let theirs = generated_decode(bytes).expect("generated reader accepts what we accept");
        assert_eq!(ours, theirs, "{bytes:02x?}");
    }
}

/// What `employee decode` prints ([`proto::employee_lines`], which does not
/// collect the record) must be what `parse_employee` and `Display` print,
/// error for error; the same for v2.
fn assert_lines_agree_with_parse(bytes: &[u8]) {
    let lines = proto::employee_lines(bytes).map(|lines| lines.to_string());
    let parsed = proto::parse_employee(bytes).map(|employee| employee.to_string());
    assert_eq!(lines, parsed, "{bytes:02x?}");
    let lines = proto::employee_lines_v2(bytes).map(|lines| lines.to_string());
    let parsed = proto::parse_employee_v2(bytes).map(|employee| employee.to_string());
    assert_eq!(lines, parsed, "v2: {bytes:02x?}");
}

const PYTHON_V1: &[u8] = include_bytes!("data/employee_python.bin");
const PYTHON_V2: &[u8] = include_bytes!("data/employee_v2_python.bin");

fn error_for(bytes: &[u8]) -> DecodeError {
    match proto::parse_employee(bytes) {
        Ok(employee) => panic!("expected an error, parsed {employee:?}"),
        Err(e) => e,
    }
}

#[test]
fn empty_input_is_a_valid_employee_with_every_field_at_its_default() {
    // proto3 writes nothing for default values, so zero bytes is a message.
    assert_eq!(proto::parse_employee(b"").unwrap(), Employee::default());
}

#[test]
fn truncated_in_the_middle_of_a_varint() {
    // employee_id = 300 is `10 ac 02`; the input stops after `ac`.
    let error = error_for(b"\x10\xac");
    assert_eq!(
        error,
        DecodeError::UnexpectedEnd {
            offset: 1,
            reading: "varint"
        }
    );
    assert_eq!(
        error.to_string(),
        "truncated input: the varint starting at byte offset 1 is cut off by the end of the data"
    );
}

#[test]
fn truncated_in_the_middle_of_a_string() {
    // Cut the article's bytes inside "Engineering" (field 3 starts at 14).
    let error = error_for(&PYTHON_V1[..20]);
    assert_eq!(
        error,
        DecodeError::LengthPastEnd {
            field: 3,
            offset: 14,
            declared: 11,
            available: 4
        }
    );
    assert_eq!(
        error.to_string(),
        "field 3 at byte offset 14 declares 11 bytes but only 4 follow"
    );
}

#[test]
fn every_prefix_of_the_article_bytes_parses_or_fails_cleanly() {
    for end in 0..PYTHON_V1.len() {
        match proto::parse_employee(&PYTHON_V1[..end]) {
            // A cut that falls between two fields leaves a shorter message.
            Ok(_) => {}
            Err(DecodeError::UnexpectedEnd { .. } | DecodeError::LengthPastEnd { .. }) => {}
            Err(other) => panic!("prefix of {end} bytes: unexpected error {other}"),
        }
    }
}

#[test]
fn length_running_past_the_end() {
    let error = error_for(b"\x0a\x05ab");
    assert_eq!(
        error,
        DecodeError::LengthPastEnd {
            field: 1,
            offset: 0,
            declared: 5,
            available: 2
        }
    );
}

#[test]
fn nested_length_running_past_its_map_entry() {
    // A 3-byte map entry whose key claims 5 bytes: the bytes exist further
    // on in the input, but they belong to the next field, not to this key.
    let error = error_for(b"\x2a\x03\x0a\x05a\x0a\x03abc");
    assert_eq!(
        error,
        DecodeError::LengthPastEnd {
            field: 1,
            offset: 2,
            declared: 5,
            available: 1
        }
    );
}

#[test]
fn wrong_wire_type_for_a_known_field() {
    // Field 1 (name, a string) sent as a varint: the sender's schema says
    // something else about field 1. Python would keep it as an unknown field
    // and leave name empty; we say so instead of losing it silently.
    let error = error_for(b"\x08\x05");
    assert_eq!(
        error,
        DecodeError::WrongWireType {
            field: 1,
            name: "name".into(),
            offset: 0,
            expected: WireType::Len,
            found: WireType::Varint
        }
    );
    assert_eq!(
        error.to_string(),
        "field 1 (name) at byte offset 0 has wire type 0 (VARINT) but the schema says 2 (LEN): \
         was it written with a different .proto?"
    );
}

#[test]
fn generated_reader_would_lose_a_field_with_the_wrong_wire_type() {
    // The reason parse_employee does not call pb-rs' reader on raw input.
    assert_eq!(generated_decode(b"\x08\x05").unwrap(), Employee::default());
}

#[test]
fn wrong_wire_type_inside_a_map_entry() {
    let error = error_for(b"\x2a\x02\x08\x01");
    assert_eq!(
        error.to_string(),
        "field 1 (metadata key) at byte offset 2 has wire type 0 (VARINT) but the schema says 2 (LEN): \
         was it written with a different .proto?"
    );
}

#[test]
fn stray_field_inside_a_map_entry() {
    let error = error_for(b"\x2a\x04\x1a\x00\x0a\x00");
    assert_eq!(
        error.to_string(),
        "metadata map entry has field 3 at byte offset 2; an entry holds only key (1) and value (2)"
    );
}

#[test]
fn invalid_utf8_in_a_string_field() {
    let error = error_for(b"\x0a\x01\xff");
    assert_eq!(
        error.to_string(),
        "field 1 (name) at byte offset 0 is not valid UTF-8"
    );
}

#[test]
fn invalid_utf8_in_a_map_value() {
    let error = error_for(b"\x2a\x05\x0a\x00\x12\x01\xc3");
    assert_eq!(
        error.to_string(),
        "field 2 (metadata value) at byte offset 4 is not valid UTF-8"
    );
}

#[test]
fn varint_longer_than_ten_bytes() {
    let mut bytes = vec![0x10];
    bytes.extend([0xff; 10]);
    bytes.push(0x01);
    let error = error_for(&bytes);
    assert_eq!(error, DecodeError::VarintTooLong { offset: 1 });
    assert_eq!(
        error.to_string(),
        "malformed varint at byte offset 1: longer than 10 bytes"
    );
}

#[test]
fn unknown_field_number_is_skipped() {
    // Field 15 (varint) and field 99 (string) in front of the article bytes:
    // numbers our schema does not have, stepped over as compatibility needs.
    let mut bytes = b"\x78\x07\x9a\x06\x03abc".to_vec();
    bytes.extend_from_slice(PYTHON_V1);
    assert_eq!(
        proto::parse_employee(&bytes).unwrap(),
        proto::article_employee()
    );
}

#[test]
fn huge_declared_length_is_refused_without_allocating_it() {
    // Field 1 declares 2^32 - 1 bytes, then the input ends. The check
    // compares the claim with the bytes held; nothing is allocated for it
    // (strings borrow from the input, so nothing ever is).
    let error = error_for(b"\x0a\xff\xff\xff\xff\x0f");
    assert_eq!(
        error,
        DecodeError::LengthPastEnd {
            field: 1,
            offset: 0,
            declared: u64::from(u32::MAX),
            available: 0
        }
    );
    // Even the largest length a varint can carry.
    let mut bytes = vec![0x0a];
    bytes.extend([0xff; 9]);
    bytes.push(0x01);
    assert!(matches!(
        error_for(&bytes),
        DecodeError::LengthPastEnd {
            declared: u64::MAX,
            ..
        }
    ));
}

#[test]
fn field_number_zero_is_invalid() {
    let error = error_for(b"\x00\x01");
    assert_eq!(
        error.to_string(),
        "invalid field number 0 at byte offset 0: field numbers run from 1 to 536870911"
    );
}

#[test]
fn groups_and_undefined_wire_types_are_refused() {
    assert_eq!(
        error_for(b"\x0b\x0c").to_string(),
        "field 1 at byte offset 0 uses wire type 3 (a proto2 group), which proto3 does not have"
    );
    assert_eq!(
        error_for(b"\x0f").to_string(),
        "field 1 at byte offset 0 has wire type 7, which does not exist"
    );
}

#[test]
fn decode_raw_reports_the_same_errors() {
    assert_eq!(
        proto::decode_raw(b"\x0a\x05ab").unwrap_err().to_string(),
        "field 1 at byte offset 0 declares 5 bytes but only 2 follow"
    );
}

#[test]
fn random_bytes_never_panic() {
    // A small xorshift generator: deterministic, no extra dependency.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for len in 0..20_000 {
        let bytes: Vec<u8> = (0..len % 64)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        assert_agrees_with_generated(&bytes);
        assert_lines_agree_with_parse(&bytes);
        let _ = proto::decode_raw(&bytes);
    }
}

#[test]
fn every_single_byte_change_to_the_article_bytes_is_handled() {
    // 102 positions x 256 values: lengths, tags and text all get corrupted.
    let mut bytes = PYTHON_V1.to_vec();
    for position in 0..bytes.len() {
        let original = bytes[position];
        for value in 0..=255u8 {
            bytes[position] = value;
            assert_agrees_with_generated(&bytes);
            assert_lines_agree_with_parse(&bytes);
        }
        bytes[position] = original;
    }
}

#[test]
fn every_single_byte_change_to_the_v2_bytes_prints_as_parse_employee_v2_would() {
    let mut bytes = PYTHON_V2.to_vec();
    for position in 0..bytes.len() {
        let original = bytes[position];
        for value in 0..=255u8 {
            bytes[position] = value;
            assert_lines_agree_with_parse(&bytes);
        }
        bytes[position] = original;
    }
}

#[test]
fn lines_agree_with_parse_on_repeated_and_unusual_fields() {
    for bytes in [
        &b""[..],
        b"\x0a\x01a\x0a\x01b\x22\x00\x22\x02it\x32\x01x\x32\x01y",
        b"\x22\x03it'\x22\x01\x1b\x1a\x01\x0a\x2a\x00\x48\x01",
        b"\x22\x02\xc3\x28",
    ] {
        assert_lines_agree_with_parse(bytes);
    }
}
