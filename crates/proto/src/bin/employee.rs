//! `employee`: the article's protocol-buffers example from the command line.
//!
//! - `employee` (or `employee demo`): create the record, show its bytes,
//!   parse them back and print what the article's `parse_employee` prints.
//! - `employee encode > sarah.bin`: write the bytes, for Python or a file.
//! - `employee decode sarah.bin` (or from stdin): print the fields.
//! - `employee decode --raw`: print any protobuf bytes, schema-free.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use proto::{Employee, employee_v2};

/// Inputs are read whole into memory; a bound keeps a mistaken `decode
/// /dev/zero` from eating it all. Far above any Employee.
const MAX_INPUT_LEN: u64 = 16 * 1024 * 1024;

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
    let bytes = match &args.email {
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
    let mut stdout = io::stdout().lock();
    let written = if args.framed {
        proto::write_frame(&mut stdout, &bytes)
    } else {
        stdout.write_all(&bytes)
    };
    written
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}

fn decode(args: &DecodeArgs) -> Result<(), String> {
    let (name, input) = open_input(args.file.as_ref())?;
    if args.framed {
        return decode_stream(args, &name, BufReader::new(input));
    }
    let data = read_limited(input).map_err(|e| format!("cannot read {name}: {e}"))?;
    print_message(args, &data).map_err(|e| format!("{name}: {e}"))
}

/// One message per frame, each printed as `decode` would print it alone.
fn decode_stream(args: &DecodeArgs, name: &str, mut input: impl Read) -> Result<(), String> {
    let mut index = 0;
    while let Some(frame) =
        proto::read_frame(&mut input, proto::MAX_FRAME_LEN).map_err(|e| format!("{name}: {e}"))?
    {
        if index > 0 {
            cli::say("");
        }
        cli::say(&format!("# message {index}, {} bytes", frame.len()));
        print_message(args, &frame).map_err(|e| format!("{name}: message {index}: {e}"))?;
        index += 1;
    }
    Ok(())
}

fn print_message(args: &DecodeArgs, data: &[u8]) -> Result<(), proto::DecodeError> {
    if args.raw {
        cli::say(proto::decode_raw_with_wire_types(data)?.trim_end());
    } else if args.v2 {
        cli::say(&proto::parse_employee_v2(data)?.to_string());
    } else {
        cli::say(&proto::parse_employee(data)?.to_string());
    }
    Ok(())
}

fn open_input(file: Option<&PathBuf>) -> Result<(String, Box<dyn Read>), String> {
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
