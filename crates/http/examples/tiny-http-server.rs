//! The article's API server ported the obvious way, on tiny_http 0.12, the
//! small Rust HTTP server library closest to Python's `http.server`: the
//! starting point `http-server` replaces. Run it with
//! `cargo run -p http --example tiny-http-server` (`--host`, `--port`,
//! `--workers`, `--read-timeout S`).
//!
//! tiny_http's model: an accept thread hands each connection to a thread
//! of its own, which parses requests and pushes them onto one queue; any
//! number of worker threads (here `--workers`) take requests off the queue
//! with `recv()` and answer them. Python's `HTTPServer` has one thread,
//! which accepts, reads, answers, and only then accepts again.
//!
//! The handler is the library's [`http::ApiHandler`], so the answers are
//! the same as `http-server`'s; what differs is the connection handling,
//! and each defect of it is marked `FLAW:` where it happens. The book
//! measures them and `tests/tiny_http.rs` checks they really happen.
#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints like the article"
)]

use std::io::Read;
use std::thread;
use std::time::Duration;

use clap::Parser;
use http::{ApiHandler, Reply};
use tiny_http::{Header, Method, Request, Response, Server};

/// The article's API server on tiny_http 0.12, flaws and all.
#[derive(Parser)]
struct Args {
    /// Host name or address to listen on.
    #[arg(long, default_value = http::DEFAULT_HOST)]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = http::DEFAULT_PORT)]
    port: u16,
    /// Threads taking requests off tiny_http's queue.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Hand tiny_http a listener with this read timeout (tcp::bind_server),
    /// which every connection inherits.
    #[arg(long, value_name = "SECONDS", value_parser = cli::parse_seconds)]
    read_timeout: Option<Duration>,
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    let addr = tcp::server_address(&args.host, args.port)?;
    let listener = match args.read_timeout {
        // FLAW: the timeout reaches every connection, as intended, but
        // also the listener's own `accept`: the first time nobody connects
        // for that long, tiny_http's accept thread takes the timeout for an
        // error, stops, and closes the listener. Later clients are refused.
        Some(timeout) => tcp::bind_server(addr, tcp::DEFAULT_BACKLOG, timeout)?,
        // FLAW: with no timeout at all, a client that connects and sends
        // nothing, or a byte a second, is never closed: it holds a thread,
        // or its place in the queue for one, for as long as it likes, and
        // tiny_http starts a thread per connection without limit. At the
        // descriptor limit `accept` fails, and that too ends the accept
        // thread for good.
        None => std::net::TcpListener::bind(addr)?,
    };
    // FLAW: tiny_http's thread pool counts a thread as idle until it has
    // woken up, so when many clients connect at once some connections are
    // queued for threads that have just taken a kept-open connection each:
    // they wait until one of those clients leaves.
    let server = Server::from_listener(listener, None)?;
    let port = server.server_addr().to_ip().map_or(args.port, |a| a.port());
    println!("Starting API server on port {port}...");
    thread::scope(|scope| {
        for _ in 0..args.workers.max(1) {
            scope.spawn(|| {
                while let Ok(request) = server.recv() {
                    answer(request);
                }
            });
        }
    });
    Ok(())
}

fn answer(mut request: Request) {
    let handler = ApiHandler;
    let reply = match request.method() {
        Method::Get => handler.do_get(request.url()),
        Method::Post => match request.body_length() {
            Some(length) if length > http::MAX_BODY => Reply::error(413, "Body too large"),
            _ => {
                let mut body = Vec::new();
                // The limit is ours to enforce: tiny_http reads whatever
                // the client declared.
                let read = request
                    .as_reader()
                    .take(http::MAX_BODY as u64)
                    .read_to_end(&mut body);
                match read {
                    Ok(_) => handler.do_post(&body),
                    Err(_) => Reply::error(400, "Unreadable body"),
                }
            }
        },
        _ => Reply::error(501, "Unsupported method"),
    };
    let line = format!(
        "{} {} HTTP/{}",
        request.method(),
        request.url(),
        request.http_version()
    );
    println!(
        "{}",
        http::Logged {
            at: std::time::SystemTime::now(),
            client: request
                .remote_addr()
                .copied()
                .unwrap_or_else(|| ([0, 0, 0, 0], 0).into()),
            line,
            status: reply.status,
        }
    );
    let json = cli::json_dumps(&reply.body);
    let content_type =
        Header::from_bytes(&b"Content-type"[..], &b"application/json"[..]).expect("a valid header");
    let response = Response::from_string(json)
        .with_status_code(reply.status)
        .with_header(content_type);
    // FLAW: `respond` drops the request, and with it the unread rest of the
    // body, which tiny_http 0.12 reads and discards into a buffer the size
    // the client *declared*. `Content-Length: 100000000000` on a 413 makes
    // it allocate 100 GB: the allocation fails and the whole process aborts.
    // FLAW: it writes the head and then a body over 1 KiB in two writes,
    // without TCP_NODELAY: on a kept-open connection the body waits 40 ms
    // for the client's delayed ACK.
    if let Err(e) = request.respond(response) {
        eprintln!("respond: {e}");
    }
}
