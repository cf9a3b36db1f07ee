//! The `employee` binary, driven as a learner would drive it.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::Duration;

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
        "error: stdin: field 1 (name) at byte offset 0 is not valid UTF-8\n"
    );
}

#[test]
fn truncated_input_fails_in_raw_mode_too() {
    let output = employee(&["decode", "--raw"], &PYTHON_V1[..20]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: stdin: field 3 at byte offset 14 declares 11 bytes but only 4 follow\n"
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

// --- Large inputs: memory near the input's size, output streamed ---

/// 8 MiB of `22 00`: four million empty projects, the cheapest field there
/// is, and the input that made decode need 45 times its size in memory.
/// Each test writes its own file (named after it): tests run in parallel.
fn many_empty_projects(test_name: &str) -> PathBuf {
    const FIELDS: usize = 4 * 1024 * 1024;
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{test_name}.bin"));
    std::fs::write(&path, b"\x22\x00".repeat(FIELDS)).unwrap();
    path
}

/// Runs `employee ARGS` with its address space capped at `limit_mib` MiB
/// (`ulimit -v`, set in a shell that then `exec`s the binary). Returns the
/// exit status, how many bytes it printed, and its stderr. An allocation
/// past the cap fails, and Rust aborts the process.
///
/// The cap is on virtual memory, so it counts everything the process maps
/// (code and libraries, about 10 MiB here), deterministically: unlike a
/// reading of the resident size, it cannot depend on timing or on the other
/// tests.
fn employee_capped(limit_mib: u64, args: &[&str]) -> (ExitStatus, u64, String) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {} && exec \"$0\" \"$@\"",
            limit_mib * 1024
        ))
        .arg(env!("CARGO_BIN_EXE_employee"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Counted, not kept: the --raw text is over 100 MB.
    let printed = std::io::copy(&mut child.stdout.take().unwrap(), &mut std::io::sink()).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), printed, stderr)
}

#[test]
fn decode_of_8_mib_fits_in_64_mib_of_memory() {
    // Before streaming, this input took 372 MB (plain) and 122 MB (--raw).
    // Now: the 8 MiB input, a buffered stdout and the program itself.
    let input = many_empty_projects("decode_of_8_mib_fits_in_64_mib_of_memory");
    let input = input.to_str().unwrap();
    let fields = 4 * 1024 * 1024;
    let plain = "Name: \nDepartment: \nProjects: []\n".len()
        + fields * "''".len()
        + (fields - 1) * ", ".len();
    let raw = fields * "4: \"\"  # wire type 2 (LEN)\n".len();
    for (args, expected_len) in [
        (vec!["decode", input], plain),
        (vec!["decode", "--raw", input], raw),
    ] {
        let (status, printed, stderr) = employee_capped(64, &args);
        assert!(status.success(), "{args:?}: {status}: {stderr}");
        assert_eq!(printed, expected_len as u64, "{args:?}");
    }
}

#[test]
fn decode_stops_quietly_when_its_reader_leaves() {
    // `employee decode --raw big.bin | head -1`: stdout closes early.
    let input = many_empty_projects("decode_stops_quietly_when_its_reader_leaves");
    let mut child = Command::new(env!("CARGO_BIN_EXE_employee"))
        .args(["decode", "--raw"])
        .arg(&input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = [0u8; 27];
    child
        .stdout
        .take()
        .unwrap()
        .read_exact(&mut first_line)
        .unwrap();
    assert_eq!(&first_line, b"4: \"\"  # wire type 2 (LEN)\n");
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", output.status);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

// --- What reaches the terminal ---

#[test]
fn decode_escapes_control_characters_in_what_it_prints() {
    // A crafted record: its name would clear the screen and forge a line.
    let mut metadata = std::collections::BTreeMap::new();
    metadata.insert(Cow::Borrowed("k\x1b"), Cow::Borrowed("v\x07"));
    let record = proto::employee_v2::Employee {
        name: Cow::Borrowed("Eve\x1b[2J\nName: Mallory"),
        employee_id: 1,
        department: Cow::Borrowed("Ingénierie 陈\r"),
        projects: vec![Cow::Borrowed("p\x1b[31m")],
        metadata,
        email: Cow::Borrowed("eve@example.com\x1b]0;pwned\x07"),
    };
    let bytes = proto::serialize(&record);
    assert_eq!(
        stdout_of(&["decode", "--v2"], &bytes),
        "Name: Eve\\x1b[2J\\nName: Mallory\n\
         Department: Ingénierie 陈\\r\n\
         Projects: ['p\\x1b[31m']\n\
         Email: eve@example.com\\x1b]0;pwned\\x07\n"
    );
    assert_eq!(
        stdout_of(&["decode"], &bytes),
        "Name: Eve\\x1b[2J\\nName: Mallory\n\
         Department: Ingénierie 陈\\r\n\
         Projects: ['p\\x1b[31m']\n"
    );
    // --raw escapes as protoc does: octal, and non-ASCII too.
    let raw = stdout_of(&["decode", "--raw"], &bytes);
    assert!(
        raw.starts_with("1: \"Eve\\033[2J\\nName: Mallory\""),
        "{raw}"
    );
    assert!(raw.contains("1: \"k\\033\""), "{raw}");
    assert!(raw.contains("2: \"v\\007\""), "{raw}");
    for text in [raw, stdout_of(&["decode", "--v2"], &bytes)] {
        assert!(!text.contains(['\x1b', '\x07', '\r']), "{text:?}");
    }
}

#[test]
fn encode_hex_prints_a_hex_dump_instead_of_the_bytes() {
    assert_eq!(
        stdout_of(&["encode", "--hex"], b""),
        proto::hex_dump(PYTHON_V1)
    );
    let mut framed = Vec::new();
    proto::write_frame(&mut framed, PYTHON_V1).unwrap();
    assert_eq!(
        stdout_of(&["encode", "--hex", "--framed"], b""),
        proto::hex_dump(&framed)
    );
}

#[test]
fn bare_decode_of_framed_bytes_suggests_framed() {
    let framed = employee(&["encode", "--framed"], b"").stdout;
    for args in [&["decode"][..], &["decode", "--raw"]] {
        let output = employee(args, &framed);
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            String::from_utf8(output.stderr).unwrap(),
            "error: stdin: field 12 at byte offset 0 has wire type 6, which does not exist; \
             the bytes look length-prefixed: try --framed\n"
        );
    }
}

#[test]
fn decode_of_text_says_it_is_not_protobuf() {
    let output = employee(&["decode"], b"hello world\n");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: stdin: field 13 at byte offset 2 uses wire type 4 (a proto2 group), \
         which proto3 does not have; this looks like text, not protobuf\n"
    );
}

/// Runs `employee ARGS` on a pseudo-terminal (stdin, stdout and stderr all
/// on it) with util-linux `script`; `None`, with the reason printed, when
/// `script` is missing. `script` ends the session when its own stdin (here
/// empty) ends, so a `decode` waiting on the terminal gets end-of-file.
fn employee_on_a_terminal(test_name: &str, args: &str) -> Option<Output> {
    let command = format!("'{}' {args}", env!("CARGO_BIN_EXE_employee"));
    let script_args = ["--quiet", "--return", "--command", &command, "/dev/null"];
    match test_support::run("script", &script_args, None, Duration::from_secs(30)) {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Past the harness's capture, so the skip shows (as test-support's
            // skip_without_python does).
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test_name}: `script` (util-linux) not found, no pseudo-terminal to test on"
            );
            None
        }
        Err(e) => panic!("script {command}: {e}"),
    }
}

#[test]
fn encode_refuses_to_write_bytes_to_a_terminal() {
    let Some(output) =
        employee_on_a_terminal("encode_refuses_to_write_bytes_to_a_terminal", "encode")
    else {
        return;
    };
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "error: refusing to write binary protobuf to a terminal: redirect it (> sarah.bin) \
         or pipe it (| just proto-decode), or use --hex\r\n"
    );
}

#[test]
fn decode_from_a_terminal_says_what_it_is_waiting_for() {
    let Some(output) = employee_on_a_terminal(
        "decode_from_a_terminal_says_what_it_is_waiting_for",
        "decode",
    ) else {
        return;
    };
    assert!(output.status.success());
    let screen = String::from_utf8(output.stdout).unwrap();
    assert!(
        screen.starts_with("reading Employee bytes from stdin (Ctrl-D to end; or give a file)\r\n"),
        "{screen:?}"
    );
}
