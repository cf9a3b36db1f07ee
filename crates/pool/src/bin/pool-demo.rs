//! The article's pool usage: `just pool-demo` (with `just pool-server`
//! running) takes a connection from a pool of 5, sends `Request data` and
//! prints the reply. With `--requests N` it measures the pool against a
//! fresh connection per request (`--mode fresh`).
#![forbid(unsafe_code)]

use std::io::{self, IsTerminal};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use pool::{Exhausted, PoolConfig, SocketPool};

/// A pool of connections to an echo server: the article's usage, or a load
/// test of pooled against fresh connections.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Server host name or address.
    #[arg(long, default_value = pool::DEFAULT_HOST)]
    host: String,
    /// Server port.
    #[arg(long, default_value_t = pool::DEFAULT_PORT)]
    port: u16,
    /// Connections the pool keeps.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pool_size: u16,
    /// What to send.
    #[arg(long, default_value = pool::DEFAULT_MESSAGE)]
    message: String,
    /// Seconds to wait for connect and for each read or write.
    #[arg(long, value_name = "SECONDS", default_value = "5",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    timeout: Duration,
    /// When the pool is empty, wait this long for a connection instead of
    /// opening another (the article opens another).
    #[arg(long, value_name = "SECONDS", value_parser = cli::parse_seconds,
          allow_negative_numbers = true)]
    wait: Option<Duration>,
    /// Send this many requests and report the speed.
    #[arg(long, value_parser = cli::parse_count, allow_negative_numbers = true)]
    requests: Option<u64>,
    /// With --requests: how many threads send at once.
    #[arg(long, default_value_t = 1, requires = "requests",
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: u64,
    /// With --requests: through the pool, or a new connection per request.
    #[arg(long, value_enum, default_value_t = Mode::Pool, requires = "requests")]
    mode: Mode,
    /// With --requests: stop starting requests after this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = cli::parse_seconds,
          requires = "requests")]
    max_seconds: Option<Duration>,
    /// With --requests: print the report as one JSON line.
    #[arg(long, requires = "requests")]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Every request through the pool.
    Pool,
    /// A new connection for every request, closed after it.
    Fresh,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = PoolConfig {
        timeout: args.timeout,
        exhausted: args.wait.map_or(Exhausted::Create, Exhausted::Wait),
        ..PoolConfig::default()
    };
    let pool = match SocketPool::with_config(&args.host, args.port, args.pool_size.into(), config) {
        Ok(pool) => pool,
        Err(e) => return cli::fail(&explain(&args, &e)),
    };
    let result = match args.requests {
        None => article_usage(&pool, &args),
        Some(n) => load(&pool, &args, n as usize),
    };
    pool.close_all();
    result
}

/// The article's usage: get a socket, send, receive, print, return it.
fn article_usage(pool: &SocketPool, args: &Args) -> ExitCode {
    let mut sock = match pool.get() {
        Ok(sock) => sock,
        Err(e) => return cli::fail(&explain(args, &e)),
    };
    match pool::round_trip(&mut sock, args.message.as_bytes()) {
        Ok(response) => {
            cli::say(&format!("Response: {}", cli::python_bytes(&response)));
            ExitCode::SUCCESS
        }
        Err(e) => {
            sock.discard();
            cli::fail(&explain(args, &e))
        }
    }
}

fn load(pool: &SocketPool, args: &Args, requests: usize) -> ExitCode {
    let message = args.message.as_bytes();
    let mut load = measure::Load::new(requests, args.threads as usize);
    load.progress = !args.json && io::stderr().is_terminal();
    if let Some(max) = args.max_seconds {
        load.deadline = max;
    }
    if !args.json {
        let how = match args.mode {
            Mode::Pool => format!("through a pool of {}", args.pool_size),
            Mode::Fresh => "on a new connection each".to_string(),
        };
        cli::say(&format!(
            "Sending {requests} requests to {}:{} {how}, {} at a time...",
            args.host, args.port, load.concurrency
        ));
    }
    if let Err(e) = cli::on_termination(measure::interrupt) {
        return cli::fail(&e.to_string());
    }
    let report = measure::run(load, || {
        let reply = match args.mode {
            Mode::Pool => pool.request(message)?,
            Mode::Fresh => fresh_request(args, message)?,
        };
        if reply == message {
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
        let s = pool.stats();
        cli::say(&format!(
            "pool: {} opened, {} reused, {} found dead, {} expired, {} retried, {} discarded",
            s.created, s.reused, s.found_dead, s.expired, s.retried, s.discarded
        ));
    }
    if report.errors + report.timed_out == 0 && !report.interrupted {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A request on a connection of its own, as without a pool.
fn fresh_request(args: &Args, message: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream: TcpStream = tcp::connect(&args.host, args.port, args.timeout)?;
    stream.set_read_timeout(Some(args.timeout))?;
    stream.set_write_timeout(Some(args.timeout))?;
    stream.set_nodelay(true)?;
    pool::round_trip(&mut stream, message)
}

/// One line that says what went wrong and what to try.
fn explain(args: &Args, e: &io::Error) -> String {
    let target = format!("{}:{}", args.host, args.port);
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!(
            "cannot fill the pool: {target} refused the connection — is pool-server running? \
             (just pool-server)"
        ),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!(
            "no reply from {target} within {} — is the server stuck, or not an echo server?",
            cli::show_seconds(args.timeout)
        ),
        io::ErrorKind::UnexpectedEof => format!(
            "{target} closed the connection before echoing the request — is it a keep-alive \
             echo server? (tcp-server closes after one echo: use just pool-server)"
        ),
        _ => format!("{target}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let args = Args::parse_from(["pool-demo"]);
        assert_eq!(usize::from(args.pool_size), pool::DEFAULT_POOL_SIZE);
        assert_eq!(args.port, pool::DEFAULT_PORT);
        assert_eq!(args.message, pool::DEFAULT_MESSAGE);
    }
}
