//! `employee`: the article's protocol-buffers example from the command line.
//!
//! - `employee` (or `employee demo`): create the record, show its bytes,
//!   parse them back and print what the article's `parse_employee` prints.
//! - `employee encode > sarah.bin`: write the bytes, for Python or a file
//!   (`--hex` to look at them on the terminal instead).
//! - `employee decode sarah.bin` (or from stdin): print the fields.
//! - `employee decode --raw`: print any protobuf bytes, schema-free.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use proto::{Employee, employee_v2};

/// Inputs are read whole into memory; a bound keeps a mistaken `decode
/// /dev/zero` from eating it all. Far above any Employee.
const MAX_INPUT_LEN: u64 = 16 * 1024 * 1024;

/// Said on stderr when `decode` would otherwise wait, silently, for a user
/// to type binary protobuf.
const STDIN_PROMPT: &str = "reading Employee bytes from stdin (Ctrl-D to end; or give a file)";

/// Why `encode` will not write to a terminal: the bytes would show as
/// garbage, and some of them are control characters the terminal obeys.
const TERMINAL_REFUSED: &str = "refusing to write binary protobuf to a terminal: \
    redirect it (> sarah.bin) or pipe it (| just proto-decode), or use --hex";

/// The article's Employee message as protocol buffers, byte-compatible with
/// Python's protobuf.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Create the article's record, show its bytes, parse them back (default).
    Demo,
    /// Write an Employee's bytes to stdout (the article's record by default).
    ///
    /// Not to a terminal: redirect or pipe them, or use --hex to see them.
    Encode(EncodeArgs),
    /// Read Employee bytes from FILE (or stdin) and print the fields.
    Decode(DecodeArgs),
}

#[derive(Args)]
struct EncodeArgs {
    /// Employee name.
    #[arg(long, default_value = "Sarah Chen")]
    name: String,
    /// Employee id.
    #[arg(long, default_value_t = 42, allow_negative_numbers = true)]
    employee_id: i32,
    /// Department.
    #[arg(long, default_value = "Engineering")]
    department: String,
    /// A project; repeat for several (replaces the article's two).
    #[arg(long = "project", value_name = "PROJECT")]
    projects: Vec<String>,
    /// A metadata entry KEY=VALUE; repeat for several (replaces the article's).
    #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    metadata: Vec<(String, String)>,
    /// Write the v2 schema with this email (field 6): bytes for the
    /// compatibility story.
    #[arg(long)]
    email: Option<String>,
    /// Put a varint length prefix in front (the stream form).
    #[arg(long)]
    framed: bool,
    /// Print the bytes as a hex dump instead (offset, hex, text).
    #[arg(long)]
    hex: bool,
}

#[derive(Args)]
struct DecodeArgs {
    /// File to read; stdin when absent or `-`.
    file: Option<PathBuf>,
    /// Print every field as number, wire type and value, like
    /// `protoc --decode_raw` (no schema needed).
    #[arg(long)]
    raw: bool,
    /// Decode with the v2 schema (shows the email field).
    #[arg(long)]
    v2: bool,
    /// Read a stream of length-prefixed messages instead of one bare message.
    #[arg(long)]
    framed: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Demo) {
        Command::Demo => demo(),
        Command::Encode(args) => encode(&args),
        Command::Decode(args) => decode(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => cli::fail(&message),
    }
}

/// The article's exchange: `create_employee()` then `parse_employee(data)`.
fn demo() -> Result<(), String> {
    let data = proto::create_employee();
    cli::say(&format!("create_employee() -> {} bytes:", data.len()));
    cli::say(proto::hex_dump(&data).trim_end());
    cli::say("");
    cli::say("parse_employee(data):");
    let employee = proto::parse_employee(&data).map_err(|e| e.to_string())?;
    cli::say(&employee.to_string());
    Ok(())
}

fn encode(args: &EncodeArgs) -> Result<(), String> {
    refuse_terminal(args.hex, io::stdout().is_terminal())?;
    let article = proto::article_employee();
    let projects: Vec<Cow<'_, str>> = if args.projects.is_empty() {
        article.projects
    } else {
        args.projects
            .iter()
            .map(|p| Cow::Borrowed(p.as_str()))
            .collect()
    };
    let metadata: BTreeMap<Cow<'_, str>, Cow<'_, str>> = if args.metadata.is_empty() {
        article.metadata
    } else {
        args.metadata
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
            .collect()
    };
    let employee = Employee {
        name: Cow::Borrowed(&args.name),
        employee_id: args.employee_id,
        department: Cow::Borrowed(&args.department),
        projects,
        metadata,
    };
    let mut bytes = match &args.email {
        None => proto::serialize(&employee),
        Some(email) => proto::serialize(&employee_v2::Employee {
            name: employee.name,
            employee_id: employee.employee_id,
            department: employee.department,
            projects: employee.projects,
            metadata: employee.metadata,
            email: Cow::Borrowed(email),
        }),
    };
    if args.framed {
        let mut frame = Vec::new();
        proto::write_frame(&mut frame, &bytes).map_err(|e| e.to_string())?;
        bytes = frame;
    }
    let mut stdout = io::stdout().lock();
    let written = if args.hex {
        stdout.write_all(proto::hex_dump(&bytes).as_bytes())
    } else {
        stdout.write_all(&bytes)
    };
    written
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}

/// Raw bytes go to a file or a pipe, never to a terminal (`--hex` is text).
fn refuse_terminal(hex: bool, stdout_is_terminal: bool) -> Result<(), String> {
    if stdout_is_terminal && !hex {
        Err(TERMINAL_REFUSED.to_string())
    } else {
        Ok(())
    }
}

fn decode(args: &DecodeArgs) -> Result<(), String> {
    let (name, input) = open_input(args.file.as_deref())?;
    if let Some(prompt) = stdin_prompt(args.file.as_deref(), io::stdin().is_terminal()) {
        cli::status(prompt);
    }
    // Every line goes out through one buffered lock on stdout as soon as it
    // is made: nothing waits in memory for the whole text.
    let mut out = BufWriter::new(io::stdout().lock());
    let decoded = if args.framed {
        decode_stream(args, &name, BufReader::new(input), &mut out)
    } else {
        let data = read_limited(input).map_err(|e| format!("cannot read {name}: {e}"))?;
        print_message(&mut out, args, &data).map_err(|failure| match failure {
            Failure::Input(e) => Failure::Input(format!("{name}: {e}{}", hint(&data))),
            output => output,
        })
    };
    match decoded.and_then(|()| out.flush().map_err(Failure::Output)) {
        Ok(()) => Ok(()),
        // The reader left (`employee decode --raw big.bin | head`): as with
        // `cli::say`, that is not our error.
        Err(Failure::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(Failure::Output(e)) => Err(format!("cannot write to stdout: {e}")),
        Err(Failure::Input(message)) => Err(message),
    }
}

/// Why `decode` stopped early: bad bytes in, or stdout failing.
enum Failure {
    Input(String),
    Output(io::Error),
}

/// A terminal on stdin means a person, who would otherwise see nothing
/// happen; a pipe or a file needs no word.
fn stdin_prompt(file: Option<&Path>, stdin_is_terminal: bool) -> Option<&'static str> {
    let reads_stdin = file.is_none_or(|path| path.as_os_str() == "-");
    (reads_stdin && stdin_is_terminal).then_some(STDIN_PROMPT)
}

/// A guess at what bytes that failed to decode really are, for the error.
fn hint(data: &[u8]) -> &'static str {
    // Text: valid UTF-8 without control characters other than whitespace.
    // A protobuf message nearly always holds some: tags like 0x08 and 0x12,
    // and every length below 32.
    let is_text = std::str::from_utf8(data).is_ok_and(|text| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| !c.is_control() || c.is_ascii_whitespace())
    });
    if is_text {
        "; this looks like text, not protobuf"
    } else if proto::looks_framed(data) {
        "; the bytes look length-prefixed: try --framed"
    } else {
        ""
    }
}

/// One message per frame, each printed as `decode` would print it alone.
fn decode_stream(
    args: &DecodeArgs,
    name: &str,
    mut input: impl Read,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let mut index = 0;
    while let Some(frame) = proto::read_frame(&mut input, proto::MAX_FRAME_LEN)
        .map_err(|e| Failure::Input(format!("{name}: {e}")))?
    {
        if index > 0 {
            writeln!(out).map_err(Failure::Output)?;
        }
        writeln!(out, "# message {index}, {} bytes", frame.len()).map_err(Failure::Output)?;
        print_message(out, args, &frame).map_err(|failure| match failure {
            Failure::Input(e) => Failure::Input(format!("{name}: message {index}: {e}")),
            output => output,
        })?;
        index += 1;
    }
    Ok(())
}

/// Checks the whole message first (so bad bytes print nothing), then
/// streams its text to `out`.
fn print_message(out: &mut impl Write, args: &DecodeArgs, data: &[u8]) -> Result<(), Failure> {
    let bad = |e: proto::DecodeError| Failure::Input(e.to_string());
    let text: Box<dyn Display + '_> = if args.raw {
        Box::new(proto::wire::raw_text(data, true).map_err(bad)?)
    } else if args.v2 {
        Box::new(proto::employee_lines_v2(data).map_err(bad)?)
    } else {
        Box::new(proto::employee_lines(data).map_err(bad)?)
    };
    // The raw text ends each line itself; the article's lines do not.
    let end = if args.raw { "" } else { "\n" };
    write!(out, "{text}{end}").map_err(Failure::Output)
}

fn open_input(file: Option<&Path>) -> Result<(String, Box<dyn Read>), String> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let name = path.display().to_string();
            let file = File::open(path).map_err(|e| format!("cannot open {name}: {e}"))?;
            Ok((name, Box::new(file)))
        }
        _ => Ok(("stdin".to_string(), Box::new(io::stdin().lock()))),
    }
}

fn read_limited(input: impl Read) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    input.take(MAX_INPUT_LEN + 1).read_to_end(&mut data)?;
    if data.len() as u64 > MAX_INPUT_LEN {
        return Err(io::Error::other(format!(
            "input is larger than {MAX_INPUT_LEN} bytes"
        )));
    }
    Ok(data)
}

/// `key=value` from `--meta`.
fn parse_key_value(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((key, value)) => Ok((key.to_string(), value.to_string())),
        None => Err(format!("expected KEY=VALUE, got {arg:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_refuses_a_terminal_unless_asked_for_hex() {
        assert_eq!(
            refuse_terminal(false, true),
            Err(TERMINAL_REFUSED.to_string())
        );
        assert_eq!(refuse_terminal(true, true), Ok(()));
        assert_eq!(refuse_terminal(false, false), Ok(()));
    }

    #[test]
    fn decode_prompts_only_a_person_at_a_terminal() {
        let file = Path::new("sarah.bin");
        assert_eq!(stdin_prompt(None, true), Some(STDIN_PROMPT));
        assert_eq!(stdin_prompt(Some(Path::new("-")), true), Some(STDIN_PROMPT));
        assert_eq!(stdin_prompt(None, false), None);
        assert_eq!(stdin_prompt(Some(file), true), None);
    }

    #[test]
    fn failed_bytes_get_a_guess_at_what_they_are() {
        let mut framed = Vec::new();
        proto::write_frame(&mut framed, &proto::create_employee()).unwrap();
        assert_eq!(
            hint(&framed),
            "; the bytes look length-prefixed: try --framed"
        );
        assert_eq!(
            hint(b"hello, world\n"),
            "; this looks like text, not protobuf"
        );
        assert_eq!(
            hint("Grüße\r\n".as_bytes()),
            "; this looks like text, not protobuf"
        );
        assert_eq!(hint(b"\x0a\x01\xff"), "");
        assert_eq!(hint(&proto::create_employee()), "");
    }
}
