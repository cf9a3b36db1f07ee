//! The article's UDP client: sends `Hello, UDP Server!` and prints the ACK.
//! With `--count N` it becomes a load generator (each worker thread its own
//! socket, one datagram in flight per worker) and prints throughput, latency
//! and loss instead. With `--broadcast` it asks every server on the machine.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::io::{self, IsTerminal};
use std::net::{IpAddr, SocketAddrV4};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// UDP client: sends a datagram, prints the server's reply.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Server host name or address [default: localhost]; with --broadcast,
    /// an IPv4 broadcast address [default: 127.255.255.255].
    #[arg(long)]
    host: Option<String>,
    /// Server port (port 0 means "any" when binding, and no datagram can be
    /// sent to it).
    #[arg(long, default_value_t = udp::DEFAULT_PORT,
          value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,
    /// What to send.
    #[arg(long, default_value = udp::DEFAULT_MESSAGE)]
    message: String,
    /// Seconds to wait for a reply (UDP never retransmits: a lost datagram
    /// would otherwise mean waiting for ever).
    #[arg(long, value_name = "SECONDS", default_value = "2.0",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    timeout: Duration,
    /// Send this many requests and report the speed; a request with no
    /// reply within --timeout counts as lost.
    #[arg(long, conflicts_with = "broadcast", value_parser = cli::parse_count, allow_negative_numbers = true)]
    count: Option<u64>,
    /// With --count: how many requests are in flight at once (at most
    /// --count), each from its own socket.
    #[arg(long, default_value = "1", requires = "count",
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    concurrency: u64,
    /// With --count: print the report as one JSON line,
    /// `{"n", "ok", "errors", "rps", "mean_us", "p50_us", "p99_us"}`.
    #[arg(long, requires = "count")]
    json: bool,
    /// Send one datagram to the loopback broadcast address and print the
    /// replies that arrive within --timeout (servers need --host 0.0.0.0):
    /// the first 1000, then a count of the rest, up to 100000.
    #[arg(long)]
    broadcast: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.broadcast {
        return broadcast(&args);
    }
    let host = args.host.as_deref().unwrap_or(udp::DEFAULT_HOST);
    match args.count {
        None => exchange_once(&args, host),
        Some(count) => load(&args, host, count as usize),
    }
}

fn exchange_once(args: &Args, host: &str) -> ExitCode {
    match udp::exchange(host, args.port, args.message.as_bytes(), args.timeout) {
        Ok((_, reply)) => {
            cli::say(&format!("Server response: {}", cli::preview(&reply)));
            ExitCode::SUCCESS
        }
        Err(e) => cli::fail(&explain(args, host, &e)),
    }
}

fn load(args: &Args, host: &str, count: usize) -> ExitCode {
    // One exchange first finds the address that answers, so a missing
    // server is one clear error rather than `count` timeouts.
    let server = match udp::exchange(host, args.port, args.message.as_bytes(), args.timeout) {
        Ok((server, _)) => server,
        Err(e) => return cli::fail(&explain(args, host, &e)),
    };
    let expected = udp::expected_ack(args.message.as_bytes());
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
        target(host, args.port),
        load.concurrency
    ));
    // Ctrl-C ends the run early; the report still counts what was done.
    if let Err(e) = cli::on_termination(measure::interrupt) {
        return cli::fail(&e.to_string());
    }

    // measure::run hands every worker thread the same closure. Each worker
    // keeps its own socket in a thread-local, so no two workers share a
    // socket or read each other's replies. (A timed-out request's late ACK
    // looks exactly like the next one's: same message, same bytes.)
    // ANCHOR: thread_local_client
    thread_local! {
        static CLIENT: RefCell<Option<udp::Client>> = const { RefCell::new(None) };
    }
    // ANCHOR_END: thread_local_client
    let report = measure::run(load, || {
        CLIENT.with_borrow_mut(|client| {
            let client = match client {
                Some(client) => client,
                None => client.insert(udp::Client::new(server, args.timeout)?),
            };
            let reply = client.request(args.message.as_bytes())?;
            if reply == expected {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unexpected reply {}", cli::preview(reply)),
                ))
            }
        })
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

fn broadcast(args: &Args) -> ExitCode {
    let ip = match args.host.as_deref() {
        None => udp::LOOPBACK_BROADCAST,
        Some(host) => match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => ip,
            Ok(IpAddr::V6(_)) => {
                return cli::fail(&format!(
                    "--broadcast is IPv4 only (IPv6 has no broadcast, it uses multicast); \
                     drop --host {host} to use {}",
                    udp::LOOPBACK_BROADCAST
                ));
            }
            Err(_) => {
                return cli::fail(&format!(
                    "--broadcast needs an IPv4 broadcast address, not '{host}'; \
                     drop --host to use {}",
                    udp::LOOPBACK_BROADCAST
                ));
            }
        },
    };
    let destination = SocketAddrV4::new(ip, args.port);
    cli::say(&format!("Broadcasting to {destination}..."));
    let message = args.message.as_bytes();
    let (keep, read_at_most) = (udp::BROADCAST_KEEP, udp::BROADCAST_READ_AT_MOST);
    let replies = match udp::broadcast(destination, message, args.timeout, keep, read_at_most) {
        Ok(replies) => replies,
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => return cli::fail(&e.to_string()),
        Err(e) => return cli::fail(&format!("broadcast to {destination}: {e}")),
    };
    if replies.kept.is_empty() {
        return cli::fail(&format!(
            "no reply to the broadcast on {destination} within {} — is a udp-server \
             listening on 0.0.0.0? (just udp-server --host 0.0.0.0 --reuse-addr)",
            cli::show_seconds(args.timeout)
        ));
    }
    for (from, reply) in &replies.kept {
        cli::say(&format!(
            "Server response from {from}: {}",
            cli::preview(reply)
        ));
    }
    if replies.more > 0 {
        cli::say(&format!("and {} more replies not shown", replies.more));
    }
    cli::say(&format!("{} replies", replies.total()));
    if replies.cut_short {
        cli::warn(&format!(
            "stopped listening after {} replies, before the {} timeout: \
             is something flooding port {}?",
            replies.total(),
            cli::show_seconds(args.timeout),
            args.port
        ));
    }
    ExitCode::SUCCESS
}

/// One line that says what went wrong and what to try.
fn explain(args: &Args, host: &str, e: &io::Error) -> String {
    let target = target(host, args.port);
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => format!(
            "no reply from {target} within {} — is udp-server running? (just udp-server)",
            cli::show_seconds(args.timeout)
        ),
        io::ErrorKind::ConnectionRefused => format!(
            "{target} refused the datagram (port unreachable) — is udp-server running? \
             (just udp-server)"
        ),
        // The message itself (too long for a datagram): nothing to do with
        // the server.
        io::ErrorKind::InvalidInput => e.to_string(),
        _ => format!("{target}: {e}"),
    }
}

/// `host:port` as the user gave them; an IPv6 address in brackets.
fn target(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        // clap wants the default as text; this keeps it equal to the constant.
        let args = Args::parse_from(["udp-client"]);
        assert_eq!(args.timeout, udp::DEFAULT_TIMEOUT);
        assert_eq!(args.message, udp::DEFAULT_MESSAGE);
    }

    #[test]
    fn broadcast_help_states_the_library_limits() {
        let help = <Args as clap::CommandFactory>::command()
            .render_help()
            .to_string();
        let limits = format!(
            "the first {}, then a count of the rest, up to {}",
            udp::BROADCAST_KEEP,
            udp::BROADCAST_READ_AT_MOST
        );
        assert!(help.contains(&limits), "{help}");
    }
}
