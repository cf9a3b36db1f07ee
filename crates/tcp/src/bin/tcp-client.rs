//! The article's TCP client: sends `Hello, Server!` and prints the echo.
//! With `--count N` it becomes a load generator (a new connection per
//! request, like the article) and prints throughput and latency instead.
#![forbid(unsafe_code)]

use std::io;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

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
    /// Seconds to wait for connect and for each read or write.
    #[arg(long, value_name = "SECONDS", default_value = "5.0", value_parser = cli::parse_seconds)]
    timeout: Duration,
    /// Send this many requests (one connection each) and report the speed.
    #[arg(long)]
    count: Option<usize>,
    /// With --count: how many requests are in flight at once.
    #[arg(long, default_value = "1", requires = "count")]
    concurrency: NonZeroUsize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.count {
        None => exchange_once(&args),
        Some(count) => load(&args, count),
    }
}

fn exchange_once(args: &Args) -> ExitCode {
    match exchange(args) {
        Ok(reply) => {
            cli::say(&format!("Received: {}", cli::python_bytes(&reply)));
            ExitCode::SUCCESS
        }
        Err(e) => cli::fail(&explain(args, &e)),
    }
}

fn exchange(args: &Args) -> io::Result<Vec<u8>> {
    tcp::exchange(&args.host, args.port, args.message.as_bytes(), args.timeout)
}

fn load(args: &Args, count: usize) -> ExitCode {
    let expected = tcp::expected_echo(args.message.as_bytes());
    cli::say(&format!(
        "Sending {count} requests to {}:{}, {} at a time...",
        args.host, args.port, args.concurrency
    ));
    let report = measure::run(measure::Load::new(count, args.concurrency.get()), || {
        let reply = exchange(args)?;
        if reply == expected {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected reply {}", cli::python_bytes(&reply)),
            ))
        }
    });
    cli::say(&report.to_string());
    if report.errors + report.timed_out == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One line that says what went wrong and what to try.
fn explain(args: &Args, e: &io::Error) -> String {
    // An IPv6 address needs brackets before the port: [::1]:8080.
    let target = if args.host.contains(':') {
        format!("[{}]:{}", args.host, args.port)
    } else {
        format!("{}:{}", args.host, args.port)
    };
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!(
            "cannot connect to {target}: connection refused — is tcp-server running? (just tcp-server)"
        ),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!(
            "no complete reply from {target} within {} s",
            args.timeout.as_secs_f64()
        ),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => format!(
            "{target} reset the connection: the server closed before reading all {} bytes \
             we sent (does it read only once, like the article's recv(1024)?) ({e})",
            args.message.len()
        ),
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
