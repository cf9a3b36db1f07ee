//! The article's monitored TCP proxy: `just tcp-server` in one terminal,
//! `just proxy --target-host localhost --target-port 8080` in a second,
//! `just tcp-client --port 8888` in a third. Ctrl-C (or SIGTERM) prints
//! the traffic stats, as the article's Ctrl-C does.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use proxy::{Config, Event, Faults, TcpProxy};

/// TCP proxy: forwards every client to one target, both ways, and counts
/// the bytes.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on. The article listens on every interface
    /// (0.0.0.0), which lets anyone who can reach this machine use the
    /// proxy; give --host 0.0.0.0 only if that is what you want.
    #[arg(long, default_value = proxy::DEFAULT_HOST)]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = proxy::DEFAULT_PORT)]
    port: u16,
    /// Where to forward every client.
    #[arg(long, default_value = proxy::DEFAULT_TARGET_HOST)]
    target_host: String,
    /// The target's port.
    #[arg(long, default_value_t = proxy::DEFAULT_TARGET_PORT)]
    target_port: u16,
    /// Fault: hold what the target sends MS milliseconds before it goes on
    /// to the client, so each round trip takes that much longer.
    /// At most 10,000: the delay is a sleep the proxy cannot cut short, so
    /// it also bounds how long Ctrl-C may wait.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=10_000))]
    latency: Option<u64>,
    /// Fault: carry at most KBPS kilobytes (1000 bytes) a second, each way.
    #[arg(long, value_name = "KBPS", value_parser = clap::value_parser!(u64).range(1..))]
    bandwidth: Option<u64>,
    /// Fault: reset the client's connection once BYTES bytes have passed
    /// (both ways together).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    reset_after: Option<u64>,
    /// Print the traffic stats every SECONDS.
    #[arg(long, value_name = "SECONDS", value_parser = cli::parse_seconds,
          allow_negative_numbers = true)]
    stats_every: Option<Duration>,
    /// Seconds reaching the target may take before the client is closed.
    #[arg(long, value_name = "SECONDS", default_value = "5",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    connect_timeout: Duration,
    /// Clients forwarded at once (two threads each); more wait.
    #[arg(long, default_value_t = 1024,
          value_parser = clap::value_parser!(u16).range(1..))]
    max_connections: u16,
    /// Print nothing per connection.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut proxy = TcpProxy::new(args.port, &args.target_host, args.target_port);
    proxy.config = Config {
        connect_timeout: args.connect_timeout,
        max_connections: args.max_connections.into(),
        stats_every: args.stats_every,
        faults: Faults {
            latency: args.latency.map(Duration::from_millis),
            bandwidth: args.bandwidth.map(|kbps| kbps.saturating_mul(1000)),
            reset_after: args.reset_after,
        },
    };
    if let Ok(addr) = tcp::server_address(&args.host, args.port)
        && addr.ip().is_unspecified()
    {
        cli::warn(&format!(
            "listening on every interface: anyone who can reach this machine can \
             use the proxy to reach {}:{}",
            args.target_host, args.target_port
        ));
    }

    let stop = Arc::new(tcp::Stop::new());
    let on_signal = Arc::clone(&stop);
    cli::run_server(
        move || on_signal.stop(),
        |printer| {
            let log = |event: Event| {
                let per_connection = matches!(event, Event::Connection(_) | Event::Closed(..));
                if !(args.quiet && per_connection) {
                    printer.line(event.to_string());
                }
            };
            let summary = proxy
                .start(&args.host, &stop, log)
                .map_err(|e| e.to_string())?;
            let mut stopped = format!(
                "Stopped after {}",
                cli::count(summary.connections, "connection")
            );
            if summary.unreachable > 0 {
                stopped.push_str(&format!(
                    ", {} could not reach {}:{}",
                    summary.unreachable, args.target_host, args.target_port
                ));
            }
            // The article's last line, last.
            Ok(format!("{stopped}.\nTraffic stats: {}", summary.traffic))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        // clap wants the default as text; this keeps it equal to the constant.
        let args = Args::parse_from(["proxy"]);
        assert_eq!(args.port, proxy::DEFAULT_PORT);
        assert_eq!(args.host, proxy::DEFAULT_HOST);
        assert_eq!(args.target_host, proxy::DEFAULT_TARGET_HOST);
        assert_eq!(args.target_port, proxy::DEFAULT_TARGET_PORT);
        assert_eq!(args.connect_timeout, proxy::DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(
            usize::from(args.max_connections),
            proxy::DEFAULT_MAX_CONNECTIONS
        );
    }
}
