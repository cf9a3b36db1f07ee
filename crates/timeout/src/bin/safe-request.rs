//! The article's `safe_request` as a command: `just safe-request` fetches
//! `http://example.com/` as the article does; point it at `just slow-server`
//! (`--host localhost --port 8090`) to meet each misbehaving server.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// Send a request and read the response, all within one deadline: name
/// lookup, connect, send and every read together. Prints what the article
/// prints; the exit status says which failure it was.
#[derive(Parser)]
#[command(version, after_help = exit_status_help())]
struct Args {
    /// Server host name or address.
    #[arg(long, default_value = timeout::DEFAULT_HOST)]
    host: String,
    /// Server port.
    #[arg(long, default_value_t = timeout::DEFAULT_PORT)]
    port: u16,
    /// Seconds the whole request may take.
    #[arg(long, value_name = "SECONDS", default_value = "5.0",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    timeout: Duration,
    /// What to send; `\r`, `\n`, `\t` and `\\` stand for those bytes
    /// [default: the article's `GET / HTTP/1.1` for --host, with
    /// `Connection: close`].
    #[arg(long, value_name = "TEXT")]
    data: Option<String>,
    /// Give up on a response longer than this many bytes.
    #[arg(long, value_name = "N", default_value_t = timeout::DEFAULT_MAX_BYTES as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_bytes: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let data = match &args.data {
        Some(text) => unescape(text),
        None => timeout::article_request(&args.host, args.port),
    };
    let deadline = timeout::Deadline::after(args.timeout);
    let max_bytes = usize::try_from(args.max_bytes).unwrap_or(usize::MAX);
    let result = timeout::request_by(&args.host, args.port, &data, deadline, max_bytes);
    cli::say(&timeout::report_line(&result, args.timeout));
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => ExitCode::from(e.exit_code()),
    }
}

/// The exit statuses, for `--help`.
fn exit_status_help() -> String {
    let mut help = String::from("Exit status:\n  0  the response arrived\n  2  bad command line");
    for (code, meaning) in timeout::EXIT_CODES {
        help.push_str(&format!("\n  {code}  {meaning}"));
    }
    help
}

/// `--data` as bytes, with the escapes a shell makes awkward to type.
fn unescape(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let escaped = match (c, chars.clone().next()) {
            ('\\', Some('r')) => Some(b'\r'),
            ('\\', Some('n')) => Some(b'\n'),
            ('\\', Some('t')) => Some(b'\t'),
            ('\\', Some('\\')) => Some(b'\\'),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                bytes.push(byte);
                chars.next();
            }
            None => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let args = Args::parse_from(["safe-request"]);
        assert_eq!(args.timeout, timeout::DEFAULT_TIMEOUT);
        assert_eq!(args.max_bytes, timeout::DEFAULT_MAX_BYTES as u64);
        assert_eq!((args.host.as_str(), args.port), ("example.com", 80));
    }

    #[test]
    fn data_escapes_become_bytes() {
        assert_eq!(unescape(r"GET /\r\n\r\n"), b"GET /\r\n\r\n");
        assert_eq!(unescape(r"a\\n \x é"), "a\\n \\x é".as_bytes());
    }
}
