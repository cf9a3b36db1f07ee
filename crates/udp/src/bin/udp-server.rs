//! The article's UDP server: `just udp-server`, then `just udp-client` in
//! another terminal (or `nc -u localhost 9090`, type a line, Enter).

use std::io::{self, Write};
use std::process::ExitCode;

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
}

fn main() -> ExitCode {
    let args = Args::parse();
    let addr = match udp::resolve(&args.host, args.port) {
        Ok(addrs) => udp::choose_bind_address(&addrs),
        Err(e) => return fail(&e.to_string()),
    };
    let Some(addr) = addr else {
        return fail(&format!("{} has no address to bind", args.host));
    };
    let socket = match udp::bind_server(addr, args.reuse_addr) {
        Ok(socket) => socket,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            return fail(&format!(
                "cannot bind {addr}: address in use — is another server running? try --port \
                 (or start every server with --reuse-addr to share port {})",
                addr.port()
            ));
        }
        Err(e) => return fail(&format!("cannot bind {addr}: {e}")),
    };
    // With --port 0 the kernel chose; say which port it was.
    let port = socket.local_addr().map_or(args.port, |a| a.port());
    say(&format!("UDP server ready on port {port}..."));

    // A closed stdout (the reader went away) must not stop the server: `say`
    // ignores it.
    let print = |line: &str| say(line);
    let quiet = |_: &str| {};
    let log: udp::Log<'_> = if args.quiet { &quiet } else { &print };
    match udp::serve(&socket, None, log) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("stopped receiving datagrams: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// Prints one line of output. A closed stdout (`... | head -1`) ends the
/// output, not the program: `println!` would panic there.
fn say(line: &str) {
    let _ = writeln!(io::stdout(), "{line}");
}
