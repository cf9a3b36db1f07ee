//! The `employee` binary, driven as a learner would drive it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const PYTHON_V1: &[u8] = include_bytes!("data/employee_python.bin");
const PYTHON_V2: &[u8] = include_bytes!("data/employee_v2_python.bin");
const PYTHON_V1_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/employee_python.bin"
);

const ARTICLE_LINES: &str = "Name: Sarah Chen\n\
                             Department: Engineering\n\
                             Projects: ['Project Alpha', 'Project Beta']\n";

fn employee(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_employee"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that does not read stdin may exit before we finish writing.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn stdout_of(args: &[&str], stdin: &[u8]) -> String {
    let output = employee(args, stdin);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn no_arguments_runs_the_article_demo() {
    let expected = format!(
        "create_employee() -> 102 bytes:\n\
         0000  0a 0a 53 61 72 61 68 20 43 68 65 6e 10 2a 1a 0b  ..Sarah Chen.*..\n\
         0010  45 6e 67 69 6e 65 65 72 69 6e 67 22 0d 50 72 6f  Engineering\".Pro\n\
         0020  6a 65 63 74 20 41 6c 70 68 61 22 0c 50 72 6f 6a  ject Alpha\".Proj\n\
         0030  65 63 74 20 42 65 74 61 2a 12 0a 08 6c 6f 63 61  ect Beta*...loca\n\
         0040  74 69 6f 6e 12 06 52 65 6d 6f 74 65 2a 18 0a 0a  tion..Remote*...\n\
         0050  73 74 61 72 74 5f 64 61 74 65 12 0a 32 30 32 33  start_date..2023\n\
         0060  2d 30 31 2d 31 35                                -01-15\n\
         \n\
         parse_employee(data):\n\
         {ARTICLE_LINES}"
    );
    assert_eq!(stdout_of(&[], b""), expected);
    assert_eq!(stdout_of(&["demo"], b""), expected);
}

#[test]
fn encode_writes_the_bytes_python_writes() {
    let output = employee(&["encode"], b"");
    assert!(output.status.success());
    assert_eq!(output.stdout, PYTHON_V1);
}

#[test]
fn encode_with_email_writes_python_v2_bytes() {
    let output = employee(&["encode", "--email", "sarah.chen@example.com"], b"");
    assert_eq!(output.stdout, PYTHON_V2);
}

#[test]
fn encode_takes_fields_from_flags() {
    let output = employee(
        &[
            "encode",
            "--name",
            "Ada",
            "--employee-id",
            "-7",
            "--department",
            "Math",
            "--project",
            "Engine",
            "--meta",
            "born=1815",
        ],
        b"",
    );
    assert!(output.status.success());
    let employee = proto::parse_employee(&output.stdout).unwrap();
    assert_eq!(employee.name, "Ada");
    assert_eq!(employee.employee_id, -7);
    assert_eq!(employee.department, "Math");
    assert_eq!(employee.projects, ["Engine"]);
    assert_eq!(employee.metadata.get("born").map(|v| &**v), Some("1815"));
    assert_eq!(employee.metadata.len(), 1);
}

#[test]
fn decode_reads_a_file() {
    assert_eq!(stdout_of(&["decode", PYTHON_V1_PATH], b""), ARTICLE_LINES);
}

#[test]
fn decode_reads_stdin() {
    assert_eq!(stdout_of(&["decode"], PYTHON_V1), ARTICLE_LINES);
    assert_eq!(stdout_of(&["decode", "-"], PYTHON_V1), ARTICLE_LINES);
}

#[test]
fn decode_v2_shows_the_email_and_v1_skips_it() {
    assert_eq!(
        stdout_of(&["decode", "--v2"], PYTHON_V2),
        format!("{ARTICLE_LINES}Email: sarah.chen@example.com\n")
    );
    assert_eq!(stdout_of(&["decode"], PYTHON_V2), ARTICLE_LINES);
}

#[test]
fn decode_raw_shows_field_numbers_wire_types_and_values() {
    let text = stdout_of(&["decode", "--raw"], PYTHON_V1);
    assert_eq!(
        text,
        "1: \"Sarah Chen\"  # wire type 2 (LEN)\n\
         2: 42  # wire type 0 (VARINT)\n\
         3: \"Engineering\"  # wire type 2 (LEN)\n\
         4: \"Project Alpha\"  # wire type 2 (LEN)\n\
         4: \"Project Beta\"  # wire type 2 (LEN)\n\
         5 {  # wire type 2 (LEN)\n\
         \x20 1: \"location\"  # wire type 2 (LEN)\n\
         \x20 2: \"Remote\"  # wire type 2 (LEN)\n\
         }\n\
         5 {  # wire type 2 (LEN)\n\
         \x20 1: \"start_date\"  # wire type 2 (LEN)\n\
         \x20 2: \"2023-01-15\"  # wire type 2 (LEN)\n\
         }\n"
    );
}

#[test]
fn framed_encode_output_decodes_as_a_stream() {
    let mut stream = employee(&["encode", "--framed"], b"").stdout;
    stream.extend(employee(&["encode", "--framed", "--name", "Ada"], b"").stdout);
    let text = stdout_of(&["decode", "--framed"], &stream);
    assert_eq!(
        text,
        format!(
            "# message 0, 102 bytes\n{ARTICLE_LINES}\n# message 1, 95 bytes\n\
             Name: Ada\nDepartment: Engineering\nProjects: ['Project Alpha', 'Project Beta']\n"
        )
    );
}

#[test]
fn bad_input_is_one_error_line_and_a_failing_exit_code() {
    let output = employee(&["decode"], b"\x0a\x01\xff");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: stdin: field 1 (name) at byte 0 is not valid UTF-8\n"
    );
}

#[test]
fn truncated_input_fails_in_raw_mode_too() {
    let output = employee(&["decode", "--raw"], &PYTHON_V1[..20]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: stdin: field 3 at byte 14 declares 11 bytes but only 4 follow\n"
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let output = employee(&["decode", "/nonexistent/employee.bin"], b"");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: cannot open /nonexistent/employee.bin: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
}

#[test]
fn bad_meta_flag_is_a_usage_error() {
    let output = employee(&["encode", "--meta", "no-equals-sign"], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("expected KEY=VALUE")
    );
}
