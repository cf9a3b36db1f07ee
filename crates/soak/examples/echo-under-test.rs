//! A stand-in server for the soak's own tests: the tcp chapter's echo
//! server on worker threads, as `tcp-server --threads` runs it, or, with
//! `--leak`, one that forgets to close one descriptor per connection, or,
//! with `--exit-after N`, one that dies after N connections. The soak must
//! pass the first and fail the other two: an assertion that cannot fail
//! proves nothing.
//!
//! Run it as the soak does: `cargo run -p soak --example echo-under-test --
//! --port 0 --leak`, then `printf hi | nc -N 127.0.0.1 PORT` a few times
//! and `ls /proc/PID/fd | wc -l`.
#![forbid(unsafe_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The value after `flag` on the command line, if any.
fn flag(args: &[String], flag: &str) -> Option<String> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).cloned()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let leak = args.iter().any(|a| a == "--leak");
    let exit_after: Option<u64> = flag(&args, "--exit-after").and_then(|n| n.parse().ok());
    let port: u16 = flag(&args, "--port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let idle_timeout = Duration::from_millis(500);
    let listener = match tcp::bind_server(addr, tcp::DEFAULT_BACKLOG, idle_timeout) {
        Ok(listener) => listener,
        Err(e) => return cli::fail(&e.to_string()),
    };
    let port = listener.local_addr().map_or(port, |a| a.port());
    cli::say(&format!("Server listening on port {port}..."));

    let stop = tcp::Stop::new();
    let served = AtomicU64::new(0);
    // The leak: a copy of every connection's socket, never closed.
    let leaked: Mutex<Vec<TcpStream>> = Mutex::new(Vec::new());
    let report_accept_failures = |event: tcp::Event| cli::say(&event.to_string());
    let served_all = tcp::serve_workers(
        &listener,
        &stop,
        64,
        &report_accept_failures,
        |stream, _addr| {
            if leak && let Ok(copy) = stream.try_clone() {
                leaked.lock().unwrap_or_else(|p| p.into_inner()).push(copy);
            }
            let _ = tcp::handle_client(stream, Some(tcp::MAX_CONNECTION_TIME));
            let count = served.fetch_add(1, Ordering::Relaxed) + 1;
            if exit_after.is_some_and(|n| count >= n) {
                std::process::exit(3);
            }
        },
    );
    match served_all {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(&e.to_string()),
    }
}
