//! What every netlab binary needs and no chapter teaches.
//!
//! The chapters are about sockets. Around the socket calls, each program
//! also has to print bytes and addresses the way the article's Python does
//! (so the two terminals can be compared line by line), read `--timeout 2.5`
//! from its command line, print an error as one line and exit non-zero, and
//! stop cleanly on Ctrl-C. That lives here, once, so that a chapter crate
//! holds only its lesson.
//!
//! | what                           | here                                        |
//! |--------------------------------|---------------------------------------------|
//! | `print(data)` of `bytes`       | [`python_bytes`], [`preview`] for log lines  |
//! | `print(s)` inside a list, `repr(s)` | [`python_repr`], [`python_list`]       |
//! | `print(address)`               | [`python_addr`]: `('127.0.0.1', 54321)`     |
//! | `json.dumps(obj)`, `indent=2`  | [`json_dumps`], [`json_dumps_indent`]       |
//! | `settimeout(5.0)` from a flag  | [`parse_seconds`], [`show_seconds`]         |
//! | `print(...)`                   | [`say`]: survives a closed stdout           |
//! | a server's `print` per client  | [`Printer`]: never blocks the server        |
//! | an error and `sys.exit(1)`     | [`fail`], [`EXIT_FAILURE`]                  |
//! | `except KeyboardInterrupt`     | [`on_termination`]: Ctrl-C and SIGTERM      |
//! | a server's whole life          | [`run_server`]                              |
//!
//! Exit codes follow one convention across the binaries: `0` when the
//! program did what was asked (a server stopped by Ctrl-C included), [`1`]
//! when it could not (the error says why), `2` for a command line it could
//! not parse (clap's own code). A binary that tells failures apart gives each
//! class its own code above 2 and lists them in its `--help`.
//!
//! [`1`]: EXIT_FAILURE
#![forbid(unsafe_code)]

mod printer;
mod python;

pub use printer::{FLUSH_EVERY, Printer, QUEUE_LINES};
pub use python::{
    json_dumps, json_dumps_indent, preview, python_addr, python_bytes, python_list, python_repr,
};

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

/// The exit status of a program that could not do what was asked.
pub const EXIT_FAILURE: u8 = 1;

/// Prints one line on stdout.
///
/// `println!` panics when stdout is closed (`tcp-server | head -1` once
/// `head` has its line); a server must not die because its reader left, so
/// a failed write is ignored here.
pub fn say(line: &str) {
    let _ = writeln!(io::stdout().lock(), "{line}");
}

/// Prints `error: MESSAGE` on stderr and returns the failure exit code, so
/// a binary's `main` can end with `return fail(...)`.
pub fn fail(message: &str) -> ExitCode {
    let _ = writeln!(io::stderr().lock(), "error: {message}");
    ExitCode::from(EXIT_FAILURE)
}

/// Prints a progress or status line on stderr, so that stdout holds only
/// the program's result and can be piped.
pub fn status(message: &str) {
    let _ = writeln!(io::stderr().lock(), "{message}");
}

/// Prints `warning: MESSAGE` on stderr: something the user should know that
/// did not stop the program.
pub fn warn(message: &str) {
    let _ = writeln!(io::stderr().lock(), "warning: {message}");
}

/// Runs `stop` once when the process is asked to end: Ctrl-C (SIGINT),
/// SIGTERM (what `kill` and service managers send) or SIGHUP (the terminal
/// closed).
///
/// The handler runs on a thread of its own, not inside the signal, so `stop`
/// may do anything ordinary code does: a server's stop handle sets its flag
/// and connects to the listener to wake the blocked `accept`. Only one
/// handler can be set per process; a second call is an error.
pub fn on_termination(stop: impl Fn() + Send + 'static) -> io::Result<()> {
    ctrlc::set_handler(stop).map_err(|e| io::Error::other(format!("cannot catch Ctrl-C: {e}")))
}

/// The life of a server binary after it has bound its socket: Ctrl-C and
/// SIGTERM call `on_signal` (the server's stop), `serve` runs with a
/// [`Printer`] for its log and returns its one-line summary, which is
/// printed last; lines the printer had to drop are counted on stderr.
///
/// Returns the exit code: 0 for a server that was stopped, 1 (with the
/// error) for one that failed.
pub fn run_server(
    on_signal: impl Fn() + Send + 'static,
    serve: impl FnOnce(&Printer) -> Result<String, String>,
) -> ExitCode {
    if let Err(e) = on_termination(on_signal) {
        return fail(&e.to_string());
    }
    let printer = Printer::start();
    let served = serve(&printer);
    let dropped = printer.finish();
    if dropped > 0 {
        warn(&format!(
            "{dropped} log lines dropped: stdout was not keeping up"
        ));
    }
    // Printed directly, after the queue: the summary must not be one of
    // the lines a stuck stdout drops.
    match served {
        Ok(summary) => {
            say(&summary);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// The command line of the literal ports of the article's programs (the
/// `article-*` examples): `--host H --port P` and nothing else, defaulting
/// to `localhost` and `default_port`. Anything else prints a usage line and
/// exits with 2, like a clap error.
pub fn article_host_and_port(program: &str, default_port: u16) -> (String, u16) {
    let mut host = "localhost".to_string();
    let mut port = default_port;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        match (flag.as_str(), value.as_deref().map(str::parse::<u16>)) {
            ("--host", Some(_)) => host = value.unwrap_or_default(),
            ("--port", Some(Ok(p))) => port = p,
            _ => {
                let _ = writeln!(
                    io::stderr().lock(),
                    "usage: {program} [--host HOST] [--port PORT]"
                );
                std::process::exit(2);
            }
        }
    }
    (host, port)
}

/// Parses a count given on the command line (`--count 1000`): a whole
/// number of at least 1, with an error that says so.
pub fn parse_count(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("0 is not a count: give a whole number of at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "'{text}' is not a count: give a whole number of at least 1"
        )),
    }
}

/// Parses a number of seconds as the article writes them (`5.0`, `0.5`,
/// `2`), for the binaries' `--timeout`-style flags.
///
/// The error says what would work, since it is shown to the user as is.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds (try 0.5 or 5)"))?;
    if secs.is_nan() || secs <= 0.0 {
        // Zero would mean "no timeout at all" to some APIs and is an error
        // to others (set_read_timeout); neither is what a user typing 0 or
        // -1 wants.
        return Err(format!(
            "{text} s is not a usable time: give more than 0 seconds"
        ));
    }
    if secs > MAX_SECONDS {
        // Far beyond any network wait, and past it `Instant + Duration`
        // overflows and panics.
        return Err(format!(
            "{text} s is too long: give at most {MAX_SECONDS} seconds (a year)"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{text} s: {e}"))
}

/// The longest time [`parse_seconds`] accepts: one year.
pub const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// `1 connection`, `2 connections`: a count with its noun, for summaries.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Shows a duration the way it would be typed: `2 s`, `0.3 s`.
pub fn show_seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_like_python_floats() {
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_seconds("5.0"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_seconds("1e-3"), Ok(Duration::from_millis(1)));
    }

    #[test]
    fn unusable_seconds_say_why() {
        for (text, why) in [
            ("-1", "more than 0"),
            ("0", "more than 0"),
            ("nan", "more than 0"),
            ("soon", "not a number"),
            ("1e20", "too long"),
            ("inf", "too long"),
        ] {
            let err = parse_seconds(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn counts_parse_as_whole_numbers_from_one() {
        assert_eq!(parse_count("1000"), Ok(1000));
        assert!(parse_count("0").unwrap_err().contains("at least 1"));
        assert!(parse_count("-5").unwrap_err().contains("not a count"));
        assert!(parse_count("lots").unwrap_err().contains("not a count"));
    }

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(count(0, "datagram"), "0 datagrams");
        assert_eq!(count(1, "connection"), "1 connection");
        assert_eq!(count(2, "connection"), "2 connections");
    }

    #[test]
    fn seconds_show_as_typed() {
        assert_eq!(show_seconds(Duration::from_secs(2)), "2 s");
        assert_eq!(show_seconds(Duration::from_millis(300)), "0.3 s");
    }
}
