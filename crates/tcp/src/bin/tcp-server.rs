//! The article's TCP echo server: `just tcp-server`, then `just tcp-client`
//! in another terminal (or `printf hi | nc -N localhost 8080`). Ctrl-C
//! stops it with a one-line summary.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

/// Echo server: answers every client with `Echo: ` followed by what it sent.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Host name or address to listen on (a name binds its IPv4 address;
    /// use --host ::1 for IPv6, --host 0.0.0.0 for every interface).
    #[arg(long, default_value = tcp::DEFAULT_HOST)]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = tcp::DEFAULT_PORT)]
    port: u16,
    /// Length of the queue of connections waiting for accept (the article
    /// uses 5).
    #[arg(long, default_value_t = tcp::DEFAULT_BACKLOG)]
    backlog: i32,
    /// Seconds of silence after which a client is considered done.
    #[arg(long, value_name = "SECONDS", default_value = "0.5",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    idle_timeout: Duration,
    /// Seconds one client may take in all before it is closed, so that a
    /// slow client cannot lock the others out of the serial loop (or, a
    /// thousand of them, out of every worker).
    #[arg(long, value_name = "SECONDS", default_value = "10",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    max_connection_time: Duration,
    /// Serve up to N clients at once, one worker thread each, instead of
    /// one at a time like the article [default N: 1024].
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1024",
          value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let listener = match tcp::listen(&args.host, args.port, args.backlog, args.idle_timeout) {
        Ok(listener) => listener,
        Err(e) => return cli::fail(&e.to_string()),
    };
    // With --port 0 the kernel chose; say which port it was.
    let port = listener.local_addr().map_or(args.port, |a| a.port());
    cli::say(&format!("Server listening on port {port}..."));

    let stop = Arc::new(tcp::Stop::new());
    let on_signal = Arc::clone(&stop);
    // The log is for the learner, the echo is for the clients: the printer
    // never lets a slow terminal hold up a client.
    cli::run_server(
        move || on_signal.stop(),
        |printer| {
            let log = |event: tcp::Event| printer.line(event.to_string());
            let limit = Some(args.max_connection_time);
            let served = match args.threads {
                None => tcp::serve_for_at_most(&listener, &stop, limit, log),
                Some(workers) => {
                    tcp::serve_prethreaded_for_at_most(&listener, &stop, workers.into(), limit, log)
                }
            };
            served
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
        // clap wants the default as text; this keeps it equal to the constant.
        let args = Args::parse_from(["tcp-server"]);
        assert_eq!(args.idle_timeout, tcp::DEFAULT_IDLE_TIMEOUT);
        assert_eq!(args.port, tcp::DEFAULT_PORT);
        assert_eq!(args.backlog, tcp::DEFAULT_BACKLOG);
        assert_eq!(args.threads, None);
        assert_eq!(args.max_connection_time, tcp::MAX_CONNECTION_TIME);
        let threaded = Args::parse_from(["tcp-server", "--threads"]);
        assert_eq!(
            threaded.threads.map(usize::from),
            Some(tcp::DEFAULT_WORKERS)
        );
    }
}
