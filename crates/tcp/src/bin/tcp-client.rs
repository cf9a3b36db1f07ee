//! The article's TCP client: sends `Hello, Server!` and prints the echo.
//! With `--count N` it becomes a load generator (a new connection per
//! request, like the article) and prints throughput and latency instead.
#![forbid(unsafe_code)]

use std::fs;
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// A reply longer than this is shown by its length and first bytes: one
/// screen, not thousands of lines of `\x..`.
const SHOW_WHOLE_REPLY_UP_TO: usize = 1024;

/// Echo client: connects, sends a message, prints the server's reply.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Server host name or address.
    #[arg(long, default_value = tcp::DEFAULT_HOST)]
    host: String,
    /// Server port.
    #[arg(long, default_value_t = tcp::DEFAULT_PORT)]
    port: u16,
    /// What to send.
    #[arg(long, default_value = tcp::DEFAULT_MESSAGE)]
    message: String,
    /// Send the bytes of this file instead of --message.
    #[arg(long, value_name = "FILE", conflicts_with = "message")]
    message_file: Option<PathBuf>,
    /// Seconds the whole exchange may take: connect, send and the whole
    /// reply (not the name lookup before them: the system resolver keeps
    /// its own timeouts; give an address to skip it).
    #[arg(long, value_name = "SECONDS", default_value = "5.0",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    timeout: Duration,
    /// Send this many requests (one connection each) and report the speed.
    #[arg(long, value_parser = cli::parse_count, allow_negative_numbers = true)]
    count: Option<u64>,
    /// With --count: how many requests are in flight at once (at most
    /// --count).
    #[arg(long, default_value = "1", requires = "count",
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    concurrency: u64,
    /// With --count: print the report as one JSON line,
    /// `{"n", "ok", "errors", "rps", "mean_us", "p50_us", "p99_us"}`.
    #[arg(long, requires = "count")]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let message = match &args.message_file {
        None => args.message.clone().into_bytes(),
        Some(path) => match read_message(path) {
            Ok(bytes) => bytes,
            Err(e) => return cli::fail(&e),
        },
    };
    match args.count {
        None => exchange_once(&args, &message),
        Some(count) => load(&args, &message, count as usize),
    }
}

/// The file's bytes, if they fit in a reply the client will accept.
fn read_message(path: &PathBuf) -> Result<Vec<u8>, String> {
    let limit = tcp::MAX_REPLY_BYTES - tcp::ECHO_PREFIX.len() as u64;
    let size = fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    if size > limit {
        return Err(format!(
            "{} is {size} bytes; the echo of at most {limit} bytes fits the reply limit",
            path.display()
        ));
    }
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn exchange_once(args: &Args, message: &[u8]) -> ExitCode {
    let reply = tcp::exchange_reply(&args.host, args.port, message, args.timeout);
    if !reply.data.is_empty() || reply.error.is_none() {
        cli::say(&format!("Received: {}", show(&reply.data)));
    }
    match &reply.error {
        None => ExitCode::SUCCESS,
        Some(e) => cli::fail(&explain(args, message, &reply.data, e)),
    }
}

/// The reply as Python prints bytes, or its length and first bytes when it
/// would fill the screen.
fn show(reply: &[u8]) -> String {
    if reply.len() <= SHOW_WHOLE_REPLY_UP_TO {
        cli::python_bytes(reply)
    } else {
        cli::preview(reply)
    }
}

fn load(args: &Args, message: &[u8], count: usize) -> ExitCode {
    let expected = tcp::expected_echo(message);
    let load = measure::Load {
        progress: !args.json && io::stderr().is_terminal(),
        ..measure::Load::new(count, args.concurrency as usize)
    };
    // With --json, stdout holds the one JSON line and nothing else.
    let say = |line: &str| {
        if !args.json {
            cli::say(line);
        }
    };
    say(&format!(
        "Sending {count} requests to {}, {} at a time...",
        target(args),
        load.concurrency
    ));
    // Ctrl-C ends the run early; the report still counts what was done.
    if let Err(e) = cli::on_termination(measure::interrupt) {
        return cli::fail(&e.to_string());
    }
    let report = measure::run(load, || {
        let reply = tcp::exchange(&args.host, args.port, message, args.timeout)?;
        if reply == expected {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected reply {}", cli::preview(&reply)),
            ))
        }
    });
    if args.json {
        cli::say(&report.to_json());
    } else {
        cli::say(&report.to_string());
    }
    if report.errors + report.timed_out == 0 && !report.interrupted {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `host:port` as the user gave them; an IPv6 address in brackets.
fn target(args: &Args) -> String {
    if args.host.contains(':') {
        format!("[{}]:{}", args.host, args.port)
    } else {
        format!("{}:{}", args.host, args.port)
    }
}

/// One line that says what went wrong and what to try.
fn explain(args: &Args, message: &[u8], received: &[u8], e: &io::Error) -> String {
    let target = target(args);
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!(
            "cannot connect to {target}: connection refused — is tcp-server running? (just tcp-server)"
        ),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!(
            "no complete reply from {target} within {} ({} bytes had arrived)",
            cli::show_seconds(args.timeout),
            received.len()
        ),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
            // What a server that reads once (the article's recv(1024)) sends
            // before its close resets the rest: the prefix and the start.
            let read_once = message.len() > tcp::RECV_BUFFER_SIZE
                && received.len() <= tcp::ECHO_PREFIX.len() + tcp::RECV_BUFFER_SIZE
                && tcp::expected_echo(message).starts_with(received);
            let guess = if read_once {
                format!(
                    " — it closed with part of our {} bytes unread (does it read only once, \
                     like the article's recv(1024)?)",
                    message.len()
                )
            } else {
                String::new()
            };
            format!(
                "{target} reset the connection after {} bytes of reply{guess} ({e})",
                received.len()
            )
        }
        _ => format!("{target}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        // clap wants the default as text; this keeps it equal to the constant.
        let args = Args::parse_from(["tcp-client"]);
        assert_eq!(args.timeout, tcp::DEFAULT_CLIENT_TIMEOUT);
        assert_eq!(args.message, tcp::DEFAULT_MESSAGE);
    }
}
