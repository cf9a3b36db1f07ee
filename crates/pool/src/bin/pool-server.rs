//! The server a pool needs: `just pool-server`, then `just pool-demo` in
//! another terminal. Keeps each connection open and echoes every byte
//! back until the client closes it. Ctrl-C stops it with a summary.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

/// Keep-alive echo server: every byte back, unchanged, on the same
/// connection, for as long as the client keeps it open.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Host name or address to listen on.
    #[arg(long, default_value = pool::DEFAULT_HOST)]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = pool::DEFAULT_PORT)]
    port: u16,
    /// Seconds a connection may sit idle before the server closes it.
    #[arg(long, value_name = "SECONDS", default_value = "30",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    idle_timeout: Duration,
    /// Clients served at once (one thread each); more wait in the backlog.
    #[arg(long, default_value_t = 1024,
          value_parser = clap::value_parser!(u16).range(1..))]
    max_connections: u16,
    /// Print nothing per connection.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let listener = match tcp::listen(
        &args.host,
        args.port,
        tcp::DEFAULT_BACKLOG,
        args.idle_timeout,
    ) {
        Ok(listener) => listener,
        Err(e) => return cli::fail(&e.to_string()),
    };
    let port = listener.local_addr().map_or(args.port, |a| a.port());
    cli::say(&format!("Pool server listening on port {port}..."));

    let stop = Arc::new(tcp::Stop::new());
    let on_signal = Arc::clone(&stop);
    cli::run_server(
        move || on_signal.stop(),
        |printer| {
            let log = |event: pool::Event| {
                if !args.quiet {
                    printer.line(event.to_string());
                }
            };
            pool::serve(&listener, &stop, args.max_connections.into(), log)
                .map(|s| {
                    format!(
                        "Stopped after {}, {} bytes echoed.",
                        cli::count(s.connections, "connection"),
                        s.bytes
                    )
                })
                .map_err(|e| format!("stopped accepting connections: {e}"))
        },
    )
}
