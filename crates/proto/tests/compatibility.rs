//! The article's claim, "adding new fields doesn't break existing code",
//! shown both ways with proto/employee.proto (v1) and employee_v2.proto.

use std::borrow::Cow;

use proto::{Employee, employee_v2};

const PYTHON_V1: &[u8] = include_bytes!("data/employee_python.bin");
const PYTHON_V2: &[u8] = include_bytes!("data/employee_v2_python.bin");

#[test]
fn v2_bytes_parse_with_v1_code() {
    // Old code meets field 6, has no idea what it is, and steps over it.
    let employee = proto::parse_employee(PYTHON_V2).unwrap();
    assert_eq!(employee, proto::article_employee());
}

#[test]
fn v1_bytes_parse_with_v2_code_and_email_takes_its_default() {
    let employee = proto::parse_employee_v2(PYTHON_V1).unwrap();
    assert_eq!(employee.email, "");
    assert_eq!(employee.name, "Sarah Chen");
    assert_eq!(
        employee.metadata.get("location").map(|v| &**v),
        Some("Remote")
    );
}

#[test]
fn v2_bytes_parse_with_v2_code_including_email() {
    let employee = proto::parse_employee_v2(PYTHON_V2).unwrap();
    assert_eq!(employee, proto::article_employee_v2());
    assert!(
        employee
            .to_string()
            .ends_with("\nEmail: sarah.chen@example.com")
    );
}

#[test]
fn v1_code_drops_the_unknown_field_when_it_reencodes() {
    // Python would keep field 6 and write it back out; quick-protobuf's
    // generated structs have nowhere to keep it. A relay that decodes and
    // re-encodes with old code loses new fields: let bytes pass through
    // untouched instead.
    let employee = proto::parse_employee(PYTHON_V2).unwrap();
    assert_eq!(proto::serialize(&employee), PYTHON_V1);
}

#[test]
fn v1_and_v2_encode_the_shared_fields_identically() {
    let mut v2 = proto::article_employee_v2();
    v2.email = Cow::Borrowed("");
    assert_eq!(proto::serialize(&v2), proto::create_employee());
}

#[test]
fn unusual_records_round_trip() {
    let records = [
        Employee::default(),
        Employee {
            name: Cow::Borrowed("Zoë 陈 🚀"),
            employee_id: -1,
            department: Cow::Borrowed("R&D \"lab\"\n"),
            projects: vec![Cow::Borrowed(""), Cow::Owned("x".repeat(300))],
            metadata: [(Cow::Borrowed(""), Cow::Borrowed(""))].into(),
        },
        Employee {
            employee_id: i32::MAX,
            ..proto::article_employee()
        },
        Employee {
            employee_id: i32::MIN,
            ..Default::default()
        },
    ];
    for record in records {
        let bytes = proto::serialize(&record);
        assert_eq!(proto::parse_employee(&bytes).unwrap(), record);
        let v2 = proto::parse_employee_v2(&bytes).unwrap();
        assert_eq!(v2.name, record.name);
        assert_eq!(v2.projects, record.projects);
    }
}

#[test]
fn negative_id_takes_ten_bytes_like_every_negative_int32() {
    let record = Employee {
        employee_id: -1,
        ..Default::default()
    };
    // tag 0x10, then -1 sign-extended to 64 bits: nine 0xff and a 0x01.
    let mut expected = vec![0x10];
    expected.extend([0xff; 9]);
    expected.push(0x01);
    assert_eq!(proto::serialize(&record), expected);
}

#[test]
fn field_order_on_the_wire_does_not_matter() {
    // Parsers must accept fields in any order: department before name here.
    let bytes = b"\x1a\x0bEngineering\x0a\x0aSarah Chen\x10\x2a";
    let employee = proto::parse_employee(bytes).unwrap();
    assert_eq!(employee.name, "Sarah Chen");
    assert_eq!(employee.department, "Engineering");
    assert_eq!(employee.employee_id, 42);
}

#[test]
fn last_value_wins_for_a_repeated_scalar_field() {
    let employee = proto::parse_employee(b"\x10\x01\x10\x02").unwrap();
    assert_eq!(employee.employee_id, 2);
}

#[test]
fn v2_message_type_is_distinct_but_wire_compatible() {
    let v2 = employee_v2::Employee {
        email: Cow::Borrowed("a@b"),
        ..Default::default()
    };
    assert_eq!(proto::serialize(&v2), b"\x32\x03a@b");
}
