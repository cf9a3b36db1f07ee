//! The article's API server: `just http-server`, then
//! `curl 'localhost:8000/items?x=1&x=2'` in another terminal. One log line
//! per request, as the article prints it; Ctrl-C stops it with a summary.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

/// JSON API server: GET echoes the path and query, POST echoes the JSON body.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Host name or address to listen on (--host 0.0.0.0 for every interface).
    #[arg(long, default_value = http::DEFAULT_HOST)]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = http::DEFAULT_PORT)]
    port: u16,
    /// Require `Authorization: Bearer TOKEN` on every request (else 401).
    #[arg(long)]
    token: Option<String>,
    /// At most N requests per second from each client address (else 429).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit: Option<u32>,
    /// Largest request body accepted, in bytes (else 413).
    #[arg(long, value_name = "BYTES", default_value_t = http::MAX_BODY)]
    max_body: usize,
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, value_name = "N", default_value_t = http::DEFAULT_MAX_CONNECTIONS as u16,
          value_parser = clap::value_parser!(u16).range(1..))]
    max_connections: u16,
    /// Seconds a connection may wait for its next request.
    #[arg(long, value_name = "SECONDS", default_value = "5",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    idle_timeout: Duration,
    /// Seconds a request may take to arrive whole (else 408).
    #[arg(long, value_name = "SECONDS", default_value = "10",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    request_timeout: Duration,
}

impl Args {
    fn config(&self) -> http::Config {
        let mut config = http::Config {
            max_connections: self.max_connections.into(),
            token: self.token.clone(),
            rate_limit: self.rate_limit,
            ..http::Config::default()
        };
        config.limits.max_body = self.max_body;
        config.limits.idle_timeout = self.idle_timeout;
        config.limits.request_timeout = self.request_timeout;
        config
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let listener = match http::listen(&args.host, args.port) {
        Ok(listener) => listener,
        Err(e) => return cli::fail(&e.to_string()),
    };
    let port = listener.local_addr().map_or(args.port, |a| a.port());
    cli::say(&format!("Starting API server on port {port}..."));

    let stop = Arc::new(tcp::Stop::new());
    let on_signal = Arc::clone(&stop);
    let config = args.config();
    cli::run_server(
        move || on_signal.stop(),
        |printer| {
            let log = |event: http::Event| printer.line(event.to_string());
            http::serve_with(&listener, &stop, &config, log)
                .map(|s| {
                    format!(
                        "Stopped after {} on {}.",
                        cli::count(s.requests, "request"),
                        cli::count(s.connections, "connection")
                    )
                })
                .map_err(|e| format!("stopped accepting connections: {e}"))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let args = Args::parse_from(["http-server"]);
        assert_eq!(args.port, http::DEFAULT_PORT);
        assert_eq!(args.config(), http::Config::default());
    }
}
