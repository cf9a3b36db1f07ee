//! # Chapter 7: an HTTP API server
//!
//! The article builds a JSON API on Python's `http.server`: an `APIHandler`
//! whose `do_GET` answers with the method, the path, the query parameters
//! and a timestamp, and whose `do_POST` reads a JSON body and echoes it
//! back, with one log line per request. This crate is that handler, with the
//! same names, answers and log lines, served by a server that keeps
//! connections alive, runs requests on many threads, and survives clients
//! that send too much, too slowly, or nothing at all.
//!
//! | Python (article)                                   | Rust (here)                                   |
//! |----------------------------------------------------|-----------------------------------------------|
//! | `class APIHandler(BaseHTTPRequestHandler)`         | [`ApiHandler`]                                |
//! | `do_GET`                                           | [`ApiHandler::do_get`]                        |
//! | `urlparse(self.path)`, `parse_qs(query)`           | [`query::urlparse`], [`query::parse_qs`]      |
//! | `time.time()` (the article forgets `import time`)  | [`timestamp`]                                 |
//! | `do_POST`: `int(headers['Content-Length'])`, `rfile.read(n)` | [`request::read_request`], within [`Limits`] |
//! | `json.loads(post_data)`                            | `serde_json::from_slice`, in [`ApiHandler::do_post`] |
//! | `send_response`, `send_header`, `end_headers`      | [`response::write_response`] (adds `Content-Length`) |
//! | `json.dumps(response_data).encode()`               | [`cli::json_dumps`], byte for byte the same   |
//! | `log_message` + `log_date_time_string()`           | [`Event::Request`]'s `Display`                |
//! | `HTTPServer(('localhost', 8000), APIHandler)`      | [`listen`] (the tcp chapter's socket)         |
//! | `server.serve_forever()`, one request at a time    | [`serve`]: [`tcp::serve_workers`], a [`tcp::Stop`] |
//! | "I often add authentication and rate limiting"     | [`guard::token_matches`], [`guard::RateLimiter`] |
//!
//! Where the Rust differs, and why (the book has the measurements):
//!
//! 1. **Many connections at once, each kept alive.** `HTTPServer` serves
//!    one connection at a time and, speaking HTTP/1.0, closes it after
//!    every answer. Here each connection has a worker thread and stays open
//!    for the next request (HTTP/1.1), which needs a `Content-Length` on
//!    every answer: the article sends none.
//! 2. **Every wait and every buffer has a bound.** A client that sends
//!    nothing, sends a byte a second, or declares a 100 GB body costs one
//!    worker for a bounded time and a bounded amount of memory; see
//!    [`request`]. The article's server waits for ever and reads whatever
//!    `Content-Length` says.
//! 3. **Invalid JSON is a `400`.** The article sends `201 Created` first and
//!    parses afterwards, so a body it cannot read is answered "created" with
//!    an error inside.
//! 4. **No tiny_http.** The Rust library one would reach for, tiny_http,
//!    is the obvious port (`examples/tiny-http-server.rs`), but 0.12 aborts
//!    the process on a huge `Content-Length` and has no limits or timeouts
//!    to set; the connection handling here is the tcp chapter's, in
//!    [`request`] and [`server`].
//!
//! Run it: `just http-server` in one terminal, then
//! `curl 'localhost:8000/items?x=1&x=2'` in another.
#![forbid(unsafe_code)]

pub mod client;
pub mod date;
pub mod guard;
pub mod query;
pub mod request;
pub mod response;
mod server;

pub use request::Limits;
pub use server::{Config, Event, Logged, Summary, escape_controls, serve, serve_with};

use std::io;
use std::net::TcpListener;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The article's port.
pub const DEFAULT_PORT: u16 = 8000;
/// The article's host.
pub const DEFAULT_HOST: &str = "localhost";
/// The largest body accepted (`--max-body`): 1 MiB, plenty for a JSON API,
/// and the most one connection makes the server hold.
pub const MAX_BODY: usize = 1024 * 1024;
/// The largest request line plus headers: 16 KiB, twice what nginx allows
/// a line by default; also the size of each connection's read buffer.
pub const MAX_HEAD: usize = 16 * 1024;
/// How long a connection may wait for its next request (`--idle-timeout`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request may take to arrive whole, and its answer to be
/// written (`--request-timeout`): a byte a second cannot hold a worker
/// for longer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once (`--max-connections`). With a body limit of
/// 1 MiB, the most the server holds in bodies is this many MiB.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// How often a waiting connection looks up from its socket to check the
/// stop flag and its deadline: the read and write timeout of every
/// connection, set once on the listener.
pub const POLL: Duration = Duration::from_millis(200);

/// The listening socket: the tcp chapter's, with [`POLL`] as the timeout
/// every connection inherits.
pub fn listen(host: &str, port: u16) -> io::Result<TcpListener> {
    tcp::listen(host, port, tcp::DEFAULT_BACKLOG, POLL)
}

/// What a handler answers: a status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body, sent as `json.dumps` writes it.
    pub body: Value,
}

impl Reply {
    /// `{"status": "error", "message": ...}`, the article's error shape.
    pub fn error(status: u16, message: &str) -> Self {
        Self {
            status,
            body: json!({"status": "error", "message": message}),
        }
    }
}

/// Python's `time.time()`: seconds since 1970 as a float.
pub fn timestamp() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

// ANCHOR: api_handler
/// The article's `APIHandler`: what to answer, given the request. The
/// server around it (reading requests, writing answers) is [`serve`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiHandler;

impl ApiHandler {
    /// `do_GET`: `200` with the method, the path, the query parameters as
    /// lists, and the time. `path` is Python's `self.path`, the request
    /// target as sent.
    pub fn do_get(&self, path: &str) -> Reply {
        match get_body(path, timestamp()) {
            Ok(body) => Reply { status: 200, body },
            Err(invalid) => Reply::error(400, &invalid.to_string()),
        }
    }

    /// `do_POST`: `201` with the JSON it was sent, or `400` if the body is
    /// not JSON (the article answers `201` with the error inside).
    pub fn do_post(&self, body: &[u8]) -> Reply {
        match serde_json::from_slice::<Value>(body) {
            Ok(json_data) => Reply {
                status: 201,
                body: json!({"status": "success", "received": json_data}),
            },
            Err(_) => Reply::error(400, "Invalid JSON"),
        }
    }
}

/// `do_GET`'s `response_data`, at a given time: the keys in the article's
/// order, so `json.dumps` and [`cli::json_dumps`] write the same bytes.
pub fn get_body(path: &str, timestamp: f64) -> Result<Value, query::InvalidUrl> {
    let parsed_path = query::urlparse(path)?;
    let mut query_params = Map::new();
    for (name, values) in query::parse_qs(&parsed_path.query) {
        query_params.insert(name, Value::from(values));
    }
    Ok(json!({
        "method": "GET",
        "path": parsed_path.path,
        "query_params": query_params,
        "timestamp": timestamp,
    }))
}
// ANCHOR_END: api_handler

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_answers_like_the_article() {
        let body = get_body("/items?x=1&x=2&y=a+b", 1795687921.25).unwrap();
        assert_eq!(
            cli::json_dumps(&body),
            r#"{"method": "GET", "path": "/items", "query_params": {"x": ["1", "2"], "y": ["a b"]}, "timestamp": 1795687921.25}"#
        );
        assert_eq!(ApiHandler.do_get("http://[::1/x").status, 400);
    }

    #[test]
    fn post_echoes_json_and_refuses_the_rest() {
        let reply = ApiHandler.do_post(br#"{"name": "Ada", "tags": ["x"], "n": 1.5}"#);
        assert_eq!(reply.status, 201);
        assert_eq!(
            cli::json_dumps(&reply.body),
            r#"{"status": "success", "received": {"name": "Ada", "tags": ["x"], "n": 1.5}}"#
        );
        for bad in [&b"{not json"[..], b"", b"\xff\xfe", b"{\"a\": 1} trailing"] {
            let reply = ApiHandler.do_post(bad);
            assert_eq!(reply.status, 400);
            assert_eq!(
                cli::json_dumps(&reply.body),
                r#"{"status": "error", "message": "Invalid JSON"}"#
            );
        }
    }
}
