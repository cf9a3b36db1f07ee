//! A server that misbehaves on purpose, for `safe-request` to meet:
//! `just slow-server --mode trickle`, then `just safe-request --host
//! localhost --port 8090` in another terminal. Ctrl-C stops it with a
//! one-line summary.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

/// Slow server: plays one misbehaving server for every client, so that
/// each failure of a request can be seen on loopback.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How to misbehave.
    #[arg(long, value_enum, default_value_t = timeout::Mode::Trickle)]
    mode: timeout::Mode,
    /// Host name or address to listen on (--host 0.0.0.0 for every
    /// interface).
    #[arg(long, default_value = tcp::DEFAULT_HOST)]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = timeout::SLOW_SERVER_PORT)]
    port: u16,
    /// Hang up on each client after this many seconds [default: never].
    #[arg(long, value_name = "SECONDS",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    max_connection_time: Option<Duration>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The listener's timeout makes `accept` look at the stop flag
    // regularly; each connection sets its own as it goes.
    let listener = match tcp::listen(&args.host, args.port, tcp::DEFAULT_BACKLOG, timeout::POLL) {
        Ok(listener) => listener,
        Err(e) => return cli::fail(&e.to_string()),
    };
    let port = listener.local_addr().map_or(args.port, |a| a.port());
    cli::say(&format!(
        "Slow server (mode {}) listening on port {port}...",
        args.mode
    ));

    let stop = Arc::new(tcp::Stop::new());
    let on_signal = Arc::clone(&stop);
    cli::run_server(
        move || on_signal.stop(),
        |printer| {
            let log = |event: timeout::Event| printer.line(event.to_string());
            timeout::serve_for_at_most(&listener, &stop, args.mode, args.max_connection_time, log)
                .map(|s| format!("Stopped after {}.", cli::count(s.connections, "connection")))
                .map_err(|e| format!("stopped accepting connections: {e}"))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let args = Args::parse_from(["slow-server"]);
        assert_eq!(args.port, timeout::SLOW_SERVER_PORT);
        assert_eq!(args.mode, timeout::Mode::Trickle);
        assert_eq!(args.max_connection_time, None);
    }
}
