//! Our bytes against bytes Python's protobuf wrote (see data/README.md).

use std::borrow::Cow;

const PYTHON_V1: &[u8] = include_bytes!("data/employee_python.bin");
const PYTHON_V2: &[u8] = include_bytes!("data/employee_v2_python.bin");
const PROTOC_DECODE_RAW_V2: &str = include_str!("data/employee_v2_python.decode_raw.txt");

#[test]
fn create_employee_matches_python_byte_for_byte() {
    assert_eq!(proto::create_employee(), PYTHON_V1);
}

#[test]
fn v2_record_matches_python_byte_for_byte() {
    assert_eq!(proto::serialize(&proto::article_employee_v2()), PYTHON_V2);
}

#[test]
fn python_bytes_parse_into_the_article_record() {
    assert_eq!(
        proto::parse_employee(PYTHON_V1).unwrap(),
        proto::article_employee()
    );
}

#[test]
fn map_insertion_order_does_not_change_the_bytes() {
    let mut employee = proto::article_employee();
    employee.metadata.clear();
    // The article inserts start_date first; insert the other way round.
    employee
        .metadata
        .insert(Cow::Borrowed("location"), Cow::Borrowed("Remote"));
    employee
        .metadata
        .insert(Cow::Borrowed("start_date"), Cow::Borrowed("2023-01-15"));
    assert_eq!(proto::serialize(&employee), PYTHON_V1);
}

#[test]
fn decode_raw_prints_what_protoc_prints() {
    assert_eq!(proto::decode_raw(PYTHON_V2).unwrap(), PROTOC_DECODE_RAW_V2);
}

#[test]
fn wire_type_comments_are_the_only_addition_to_protoc_output() {
    let annotated = proto::decode_raw_with_wire_types(PYTHON_V2).unwrap();
    let stripped: String = annotated
        .lines()
        .map(|line| line.split("  # wire type").next().unwrap_or(line))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(stripped, PROTOC_DECODE_RAW_V2);
    assert!(
        annotated
            .starts_with("1: \"Sarah Chen\"  # wire type 2 (LEN)\n2: 42  # wire type 0 (VARINT)\n")
    );
}
