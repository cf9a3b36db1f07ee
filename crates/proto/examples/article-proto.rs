//! The article's `create_employee` and `parse_employee`, ported literally:
//! the generated struct filled field by field, quick-protobuf's own writer
//! and reader, the three prints. Run it with
//! `cargo run -p proto --example article-proto`.
//!
//! The chapter's versions (`src/lib.rs`) produce the same bytes; they differ
//! in what they do with bytes that are *not* a valid Employee.
#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    reason = "a literal port prints like the article"
)]

use std::borrow::Cow;

use proto::Employee;
use quick_protobuf::{BytesReader, MessageRead, MessageWrite, Writer};

// The article assigns one field after another to an empty message; that
// order of statements is what this port keeps.
#[allow(clippy::field_reassign_with_default)]
fn create_employee() -> Vec<u8> {
    let mut employee = Employee::default();
    employee.name = Cow::Borrowed("Sarah Chen");
    employee.employee_id = 42;
    employee.department = Cow::Borrowed("Engineering");
    employee.projects.extend([
        Cow::Borrowed("Project Alpha"),
        Cow::Borrowed("Project Beta"),
    ]);
    employee
        .metadata
        .insert(Cow::Borrowed("start_date"), Cow::Borrowed("2023-01-15"));
    employee
        .metadata
        .insert(Cow::Borrowed("location"), Cow::Borrowed("Remote"));
    // SerializeToString: the bare message, no length prefix.
    let mut serialized_data = Vec::new();
    let mut writer = Writer::new(&mut serialized_data);
    employee
        .write_message(&mut writer)
        .expect("writing to a Vec cannot fail");
    serialized_data
}

fn parse_employee(data: &[u8]) -> quick_protobuf::Result<Employee<'_>> {
    // FLAW (as in pb-rs' generated reader): a known field sent with the
    // wrong wire type is skipped as if unknown, its data silently lost, and
    // map entries' inner lengths are not held to the entry's own length.
    // `proto::parse_employee` turns both into errors.
    let mut reader = BytesReader::from_bytes(data);
    let employee = Employee::from_reader(&mut reader, data)?;
    println!("Name: {}", employee.name);
    println!("Department: {}", employee.department);
    println!("Projects: {}", cli::python_list(&employee.projects));
    Ok(employee)
}

fn main() -> quick_protobuf::Result<()> {
    let data = create_employee();
    println!("{} bytes", data.len());
    parse_employee(&data)?;
    Ok(())
}
