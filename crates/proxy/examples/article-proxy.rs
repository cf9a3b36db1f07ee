//! The article's `TCPProxy`, ported literally to `std::net`, flaws and
//! all: the starting point the chapter improves on. Run it with
//! `cargo run -p proxy --example article-proxy -- --target-host localhost
//! --target-port 8080` (also `--host`, `--port`).
//!
//! Each flaw is marked `FLAW:` where it happens; the book runs them, and
//! `tests/article.rs` checks that they really happen. The robust proxy is
//! `proxy` (`src/lib.rs`, `src/forward.rs`).
#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a literal port prints like the article"
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

/// The article's `defaultdict(int)`, with its two keys.
#[derive(Default)]
struct TrafficStats {
    outbound: AtomicU64,
    inbound: AtomicU64,
}

impl TrafficStats {
    fn add(&self, direction: &str, n: u64) {
        let count = if direction == "outbound" {
            &self.outbound
        } else {
            &self.inbound
        };
        // FLAW: `self.traffic_stats[direction] += len(data)` is a read, an
        // add and a write; two threads can both read the old value and one
        // addition is lost. Rust will not let two threads share a plain
        // integer at all, so the race is written out: load, then store.
        let old = count.load(Ordering::Relaxed);
        count.store(old + n, Ordering::Relaxed);
    }

    /// `dict(self.traffic_stats)`: only the keys some byte went through.
    fn show(&self) -> String {
        let keys: Vec<String> = [("outbound", &self.outbound), ("inbound", &self.inbound)]
            .into_iter()
            .map(|(key, count)| (key, count.load(Ordering::Relaxed)))
            .filter(|&(_, n)| n > 0)
            .map(|(key, n)| format!("'{key}': {n}"))
            .collect();
        format!("{{{}}}", keys.join(", "))
    }
}

struct TcpProxy {
    listen_host: String,
    listen_port: u16,
    target_host: String,
    target_port: u16,
    traffic_stats: TrafficStats,
}

impl TcpProxy {
    fn handle_client(&self, client_socket: TcpStream) {
        // Connect to target
        let target_socket = match TcpStream::connect((self.target_host.as_str(), self.target_port))
        {
            Ok(socket) => socket,
            // The Python raises here: its thread dies with a traceback.
            Err(e) => {
                eprintln!("Exception in thread: {e}");
                return;
            }
        };
        // Monitor both directions: one thread each, joined.
        thread::scope(|scope| {
            let client_to_target =
                scope.spawn(|| self.forward_data(&client_socket, &target_socket, "outbound"));
            let target_to_client =
                scope.spawn(|| self.forward_data(&target_socket, &client_socket, "inbound"));
            let _ = client_to_target.join();
            let _ = target_to_client.join();
        });
        // finally: client_socket.close(); target_socket.close() (the drop)
    }

    // ANCHOR: forward_data
    #[allow(
        clippy::unused_io_amount,
        reason = "FLAW: the article ignores what send returns"
    )]
    fn forward_data(&self, mut source: &TcpStream, mut destination: &TcpStream, direction: &str) {
        let mut data = [0u8; 4096];
        loop {
            match source.read(&mut data) {
                // FLAW: the end of one direction stops this thread and tells
                // nobody. The other side never learns that nothing more is
                // coming: a client that half-closes after its request
                // waits for the end of a reply that never ends, and the
                // other thread (and `handle_client`, joining it) waits
                // with it.
                Ok(0) => break,
                Ok(n) => {
                    self.traffic_stats.add(direction, n as u64);
                    // FLAW: `send` may write only part of `data`; the rest
                    // is silently lost. (Python's `sendall`, Rust's
                    // `write_all`, loop until all of it is written.)
                    if destination.write(&data[..n]).is_err() {
                        break;
                    }
                }
                // FLAW: `except: break` hides every error: a reset, a
                // refused write, a bug, all look like a normal end.
                Err(_) => break,
            }
        }
    }
    // ANCHOR_END: forward_data

    fn start(self: Arc<Self>) -> std::io::Result<()> {
        // FLAW (by default): the article binds 0.0.0.0, every interface:
        // anyone who can reach this machine can use the proxy to reach the
        // target. std sets SO_REUSEADDR as the article does, and listens
        // with a backlog of 128 where the article asks for 5.
        let server_socket = TcpListener::bind((self.listen_host.as_str(), self.listen_port))?;
        let port = server_socket.local_addr()?.port();

        // except KeyboardInterrupt: Rust has no such exception. The closest
        // literal port prints the same lines from a Ctrl-C handler and
        // exits, killing the other threads as Python kills its daemon
        // threads. (cli::on_termination catches SIGTERM too; the Python
        // does not, and a SIGTERM loses its stats.)
        let proxy = Arc::clone(&self);
        let _ = cli::on_termination(move || {
            println!("\nShutting down...");
            println!("Traffic stats: {}", proxy.traffic_stats.show());
            std::process::exit(0);
        });
        println!("Proxy listening on port {port}");
        loop {
            let (client_socket, addr) = server_socket.accept()?;
            println!("New connection from {}", cli::python_addr(addr));
            // FLAW: a thread per client, without limit or timeout: every
            // client that never closes holds two threads for ever.
            let proxy = Arc::clone(&self);
            thread::spawn(move || proxy.handle_client(client_socket));
        }
    }
}

fn main() -> std::io::Result<()> {
    let mut proxy = TcpProxy {
        listen_host: "0.0.0.0".into(),
        listen_port: 8888,
        target_host: "example.com".into(),
        target_port: 80,
        traffic_stats: TrafficStats::default(),
    };
    // `--host H --port P --target-host H --target-port P`, each optional.
    let mut args = std::env::args().skip(1);
    while let (Some(flag), Some(value)) = (args.next(), args.next()) {
        match (flag.as_str(), value.parse::<u16>()) {
            ("--host", _) => proxy.listen_host = value,
            ("--target-host", _) => proxy.target_host = value,
            ("--port", Ok(port)) => proxy.listen_port = port,
            ("--target-port", Ok(port)) => proxy.target_port = port,
            _ => {
                eprintln!(
                    "usage: article-proxy [--host H] [--port P] [--target-host H] [--target-port P]"
                );
                std::process::exit(2);
            }
        }
    }
    Arc::new(proxy).start()
}
