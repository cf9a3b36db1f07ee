//! The article's UDP server: `just udp-server`, then `just udp-client` in
//! another terminal (or `nc -u localhost 9090`, type a line, Enter). Ctrl-C
//! stops it with a one-line summary.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

/// UDP server: answers every datagram with `ACK: ` followed by its bytes.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Host name or address to listen on (a name binds its IPv4 address;
    /// use --host ::1 for IPv6, --host 0.0.0.0 to receive broadcasts).
    #[arg(long, default_value = udp::DEFAULT_HOST)]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = udp::DEFAULT_PORT)]
    port: u16,
    /// Set SO_REUSEADDR, so several servers started with it share the port
    /// and all receive a broadcast (udp-client --broadcast).
    #[arg(long)]
    reuse_addr: bool,
    /// Print nothing per datagram (for benchmarks: printing costs a write
    /// per datagram).
    #[arg(long)]
    quiet: bool,
    /// Answer at most N datagrams a second from any one source address and
    /// port (N at once after a pause); drop the rest. A reply loop with
    /// another answering server then dies within a second or two. Raise it
    /// to benchmark a single client socket on a fast machine.
    #[arg(long, value_name = "N", default_value_t = udp::DEFAULT_MAX_REPLIES_PER_SECOND,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_replies_per_second: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let socket = match udp::listen(&args.host, args.port, args.reuse_addr) {
        Ok(socket) => socket,
        Err(e) => return cli::fail(&e.to_string()),
    };
    // With --port 0 the kernel chose; say which port it was.
    let port = socket.local_addr().map_or(args.port, |a| a.port());
    cli::say(&format!("UDP server ready on port {port}..."));

    let stop = Arc::new(tcp::Stop::new());
    let on_signal = Arc::clone(&stop);
    // The printer never lets a slow terminal hold up the ACKs.
    cli::run_server(
        move || on_signal.stop(),
        |printer| {
            let limit = args.max_replies_per_second;
            let served = udp::serve_with_limit(&socket, &stop, limit, |event| {
                let per_datagram = matches!(event, udp::Event::Received { .. });
                if !(args.quiet && per_datagram) {
                    printer.line(event.to_string());
                }
            });
            served
                .map(|summary| format!("Stopped after {summary}."))
                .map_err(|e| format!("stopped receiving datagrams: {e}"))
        },
    )
}
