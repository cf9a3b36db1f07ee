//! The article's TCP echo server: `just tcp-server`, then `just tcp-client`
//! in another terminal (or `nc localhost 8080`, type a line, Ctrl-D).

use std::io::{self, Write};
use std::process::ExitCode;
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
    #[arg(long, value_name = "SECONDS", default_value = "0.5", value_parser = tcp::parse_seconds)]
    idle_timeout: Duration,
    /// Serve each client on its own thread instead of one at a time.
    #[arg(long)]
    threads: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let addr = match tcp::resolve(&args.host, args.port) {
        Ok(addrs) => tcp::choose_bind_address(&addrs),
        Err(e) => return fail(&e.to_string()),
    };
    let Some(addr) = addr else {
        return fail(&format!("{} has no address to bind", args.host));
    };
    let listener = match tcp::bind_server(addr, args.backlog) {
        Ok(listener) => listener,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            return fail(&format!(
                "cannot bind {addr}: address in use — is another server running? try --port"
            ));
        }
        Err(e) => return fail(&format!("cannot bind {addr}: {e}")),
    };
    // With --port 0 the kernel chose; say which port it was.
    let port = listener.local_addr().map_or(args.port, |a| a.port());
    say(&format!("Server listening on port {port}..."));

    let config = tcp::ServerConfig {
        idle_timeout: args.idle_timeout,
        threaded: args.threads,
        max_connections: None,
    };
    // The log is for the learner, the echo is for the clients: a closed
    // stdout (`tcp-server | head -1`) must not stop the server, and `say`
    // ignores it.
    match tcp::serve(&listener, &config, &|line| say(line)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("stopped accepting connections: {e}")),
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
    }
}
