//! The server around [`ApiHandler`]: connections accepted by the tcp
//! chapter's worker pool, kept alive across requests, each request read
//! within [`Limits`], answered, and logged in `http.server`'s format.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use tcp::Stop;

use crate::date::log_date;
use crate::guard::{RateLimiter, retry_after_secs, token_matches};
use crate::request::{Limits, Method, Next, Request, Wire, read_request};
use crate::response::{Connection, write_response};
use crate::{ApiHandler, Reply};

/// How the server behaves; [`Config::default`] is `http-server` with no flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Connections served at once, one worker thread each; more wait in the
    /// listen backlog.
    pub max_connections: usize,
    /// What one request may cost: sizes and deadlines.
    pub limits: Limits,
    /// `--token`: every request needs `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
    /// `--rate-limit`: requests per second per client address.
    pub rate_limit: Option<u32>,
    /// `TCP_NODELAY` on every connection (see the book for the 40 ms it
    /// saves); off only to measure what it saves.
    pub nodelay: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_connections: crate::DEFAULT_MAX_CONNECTIONS,
            limits: Limits::default(),
            token: None,
            rate_limit: None,
            nodelay: true,
        }
    }
}

/// One answered request, as the article's `log_message` prints it:
/// `26/Nov/2026 10:12:01 "GET /items?x=1 HTTP/1.1" 200 -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// When the answer was sent.
    pub at: SystemTime,
    /// Who asked (the article's override leaves it out of the line).
    pub client: SocketAddr,
    /// The request line, as sent.
    pub line: String,
    /// The status answered.
    pub status: u16,
}

impl fmt::Display for Logged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `"%s" %s %s` with requestline, code and size ('-', as always).
        let message = format!("\"{}\" {} -", self.line, self.status);
        write!(f, "{} {}", log_date(self.at), escape_controls(&message))
    }
}

/// What Python 3.11's own `log_message` does and the article's override
/// undoes: control characters shown as `\xNN` (and `\` as `\\`), so a
/// request line cannot move the cursor or recolour the terminal it is
/// printed on.
pub fn escape_controls(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\0'..='\x1f' | '\x7f'..='\u{9f}' => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// What the server has to say; `Display` is the line it prints.
#[derive(Debug)]
pub enum Event {
    /// A request was answered: the article's log line.
    Request(Logged),
    /// A failed accept, as the tcp chapter reports it.
    Accept(tcp::Event),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Request(logged) => logged.fmt(f),
            Event::Accept(event) => event.fmt(f),
        }
    }
}

/// What [`serve`] did before it was stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Connections accepted.
    pub connections: u64,
    /// Requests answered, refused ones included.
    pub requests: u64,
}

/// [`serve_with`] and the default [`Config`].
pub fn serve(
    listener: &TcpListener,
    stop: &Stop,
    on_event: impl Fn(Event) + Sync,
) -> io::Result<Summary> {
    serve_with(listener, stop, &Config::default(), on_event)
}

// ANCHOR: serve
/// Serves HTTP on `listener` until `stop` is used: up to
/// `config.max_connections` connections at once, each on a worker thread of
/// [`tcp::serve_workers`], each kept open for as many requests as its
/// client sends. The listener must come from [`crate::listen`] (or
/// [`tcp::bind_server`] with [`crate::POLL`]): its timeouts are every
/// connection's.
pub fn serve_with(
    listener: &TcpListener,
    stop: &Stop,
    config: &Config,
    on_event: impl Fn(Event) + Sync,
) -> io::Result<Summary> {
    let server = Server {
        config,
        stop,
        handler: ApiHandler,
        limiter: config.rate_limit.map(RateLimiter::new),
        on_event: &on_event,
        connections: AtomicU64::new(0),
        requests: AtomicU64::new(0),
    };
    let on_accept = |event| on_event(Event::Accept(event));
    tcp::serve_workers(
        listener,
        stop,
        config.max_connections,
        &on_accept,
        |stream, addr| server.connection(stream, addr),
    )?;
    Ok(Summary {
        connections: server.connections.into_inner(),
        requests: server.requests.into_inner(),
    })
}
// ANCHOR_END: serve

/// What every connection's worker shares.
struct Server<'a, E> {
    config: &'a Config,
    stop: &'a Stop,
    handler: ApiHandler,
    limiter: Option<RateLimiter>,
    on_event: &'a E,
    connections: AtomicU64,
    requests: AtomicU64,
}

impl<E: Fn(Event) + Sync> Server<'_, E> {
    // ANCHOR: connection
    /// One connection, request after request, until the client closes it,
    /// goes quiet, asks to close, sends something we refuse, or the server
    /// stops.
    fn connection(&self, stream: TcpStream, client: SocketAddr) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        // Small answers must leave at once, not wait for the client's ACK
        // of the previous segment (Nagle's algorithm).
        let _ = stream.set_nodelay(self.config.nodelay);
        let mut wire = Wire::new(&stream, self.stop, self.config.limits.max_head);
        let mut out = Vec::with_capacity(1024);
        loop {
            let deadline = || Instant::now() + self.config.limits.request_timeout;
            match read_request(&mut wire, &self.config.limits) {
                Next::Done => return,
                Next::Refused(refusal) => {
                    out.clear();
                    let reply = Reply::error(refusal.status, &refusal.message);
                    let body = cli::json_dumps(&reply.body);
                    let now = SystemTime::now();
                    write_response(
                        &mut out,
                        reply.status,
                        &[],
                        body.as_bytes(),
                        false,
                        Connection::Close,
                        now,
                    );
                    let _ = wire.write_all_by(&out, deadline());
                    self.log(client, refusal.line, refusal.status, now);
                    wire.linger();
                    return;
                }
                Next::Request(request) => {
                    let (reply, headers) = self.answer(&request, client.ip());
                    let close = !request.keep_alive || self.stop.is_stopped();
                    let connection = match (close, request.http10) {
                        (true, _) => Connection::Close,
                        (false, true) => Connection::KeepAliveHttp10,
                        (false, false) => Connection::KeepAlive,
                    };
                    let body = cli::json_dumps(&reply.body);
                    let head_only = request.method == Method::Head;
                    let now = SystemTime::now();
                    out.clear();
                    write_response(
                        &mut out,
                        reply.status,
                        &headers,
                        body.as_bytes(),
                        head_only,
                        connection,
                        now,
                    );
                    let written = wire.write_all_by(&out, deadline());
                    self.log(client, request.line, reply.status, now);
                    if close || written.is_err() {
                        return;
                    }
                }
            }
        }
    }
    // ANCHOR_END: connection

    // ANCHOR: answer
    /// The handler's answer, unless the client is over its rate or has no
    /// valid token; with the headers those answers need.
    fn answer(&self, request: &Request, client: IpAddr) -> (Reply, Vec<(&'static str, String)>) {
        if let Some(limiter) = &self.limiter
            && let Err(wait) = limiter.check(client, Instant::now())
        {
            let retry = retry_after_secs(wait).to_string();
            return (
                Reply::error(429, "Too many requests"),
                vec![("Retry-After", retry)],
            );
        }
        if let Some(token) = &self.config.token
            && !token_matches(token, request.header("Authorization"))
        {
            let challenge = "Bearer realm=\"api\"".to_string();
            let reply = Reply::error(401, "Missing or invalid token");
            return (reply, vec![("WWW-Authenticate", challenge)]);
        }
        let reply = match request.method {
            Method::Get | Method::Head => self.handler.do_get(&request.path),
            Method::Post => self.handler.do_post(&request.body),
        };
        (reply, Vec::new())
    }
    // ANCHOR_END: answer

    fn log(&self, client: SocketAddr, line: String, status: u16, at: SystemTime) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        (self.on_event)(Event::Request(Logged {
            at,
            client,
            line,
            status,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn log_lines_look_like_the_articles() {
        let logged = Logged {
            at: UNIX_EPOCH + Duration::from_secs(1_795_687_921),
            client: SocketAddr::from((Ipv4Addr::LOCALHOST, 54321)),
            line: "GET /items?x=1 HTTP/1.1".into(),
            status: 200,
        };
        assert_eq!(
            logged.to_string(),
            "26/Nov/2026 10:12:01 \"GET /items?x=1 HTTP/1.1\" 200 -"
        );
    }

    #[test]
    fn control_characters_are_shown_not_sent_to_the_terminal() {
        // Python 3.11: 'GET /\x1b[31mred\\ HTTP/1.1'.translate(
        //     BaseHTTPRequestHandler._control_char_table)
        assert_eq!(
            escape_controls("GET /\x1b[31mred\\ \u{85}é HTTP/1.1"),
            "GET /\\x1b[31mred\\\\ \\x85é HTTP/1.1"
        );
    }
}
