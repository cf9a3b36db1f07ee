// proto2_evolve: add a field without breaking anyone          (chapter: proto)
//
// The article says adding fields doesn't break existing code. Version 2 of
// Employee adds `string email = 6;` (proto/employee_v2.proto). That holds
// thanks to two rules: a reader steps over the fields it does not know (a
// tag's wire type says how long its field is), and a field missing from the
// bytes keeps its default, "" for a string. `write_v2` and `read_v2` are given.
//
// Write `read_email`: find field 6 among the fields of `bytes`, in whatever
// order they come, stepping over all the others; "" if it never comes.
//
// The check reads v2 bytes with v1 code and v1 bytes with v2 code, and has
// a new client talk to an old server over a real connection.
//
// Check it:  rustlings run proto2_evolve
// Stuck?     rustlings hint proto2_evolve

use harness::proto::{EMAIL, Employee, EmployeeV2, sarah_chen};
use quick_protobuf::{BytesReader, Writer};

const EMAIL_TAG: u32 = (6 << 3) | 2; // (field << 3) | wire type 2, length-delimited

/// Version 2's bytes: version 1's fields, then field 6 unless it is empty
/// (proto3 never writes a field that holds its default).
fn write_v2(employee: &EmployeeV2) -> Vec<u8> {
    let mut bytes = employee.v1.to_bytes();
    if !employee.email.is_empty() {
        let mut w = Writer::new(&mut bytes);
        let written = w.write_with_tag(EMAIL_TAG, |w| w.write_string(&employee.email));
        written.expect("writing to a Vec cannot fail");
    }
    bytes
}

/// Reads version 2's bytes: fields 1-5 with version 1's reader, then field 6.
fn read_v2(bytes: &[u8]) -> quick_protobuf::Result<EmployeeV2> {
    let (v1, email) = (Employee::from_bytes(bytes)?, read_email(bytes)?);
    Ok(EmployeeV2 { v1, email })
}

/// Field 6, `email`, of a version 2 message; "" when it is not there.
fn read_email(bytes: &[u8]) -> quick_protobuf::Result<String> {
    let mut r = BytesReader::from_bytes(bytes);
    let mut email = String::new();
    while !r.is_eof() {
        match r.next_tag(bytes)? {
            EMAIL_TAG => email = r.read_string(bytes)?.to_owned(),
            // Any other field: its wire type says how far to step over it.
            tag => r.read_unknown(bytes, tag)?,
        }
    }
    Ok(email)
}

fn main() -> quick_protobuf::Result<()> {
    let (v1, email) = (sarah_chen(), EMAIL.to_string());
    let v1_bytes = v1.to_bytes();
    let v2_bytes = write_v2(&EmployeeV2 { v1, email });
    println!("v1 reads v2: {:?}", Employee::from_bytes(&v2_bytes)?.name);
    println!("v2 reads v2: {:?}", read_v2(&v2_bytes)?.email);
    println!("v2 reads v1: {:?}", read_v2(&v1_bytes)?.email);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_field_round_trips() {
        harness::proto::check_round_trip(write_v2, read_v2);
    }

    #[test]
    fn old_and_new_code_read_each_other() {
        harness::proto::check_versions_read_each_other(write_v2, read_v2);
    }

    #[test]
    fn an_old_server_and_a_new_client_understand_each_other() {
        harness::proto::check_old_server_new_client(write_v2, read_v2);
    }
}
