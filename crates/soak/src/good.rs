//! The good clients: each chapter's real request, made the way the
//! chapter's own client makes it, and checked byte for byte.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use crate::Protocol;

/// How many times a good UDP client sends its datagram before it gives
/// up. UDP promises nothing: a datagram that arrives while the server's
/// receive buffer is full of a flood is dropped by the kernel, before the
/// server ever sees it, and a real UDP client sends again (as DNS clients
/// do). Each try waits a tenth of the request's time.
pub const UDP_TRIES: u32 = 10;

/// How many requests an HTTP good client sends on one connection before
/// it opens a new one: keep-alive as a browser uses it, and new connections
/// to accept while the bad clients are crowding the server.
const HTTP_REQUESTS_PER_CONNECTION: u32 = 20;

/// One good client: what it keeps between requests (a keep-alive
/// connection, a pool, a UDP socket).
pub enum GoodClient {
    /// tcp-server and, through it, the proxy: connect, send
    /// `Hello, Server!`, half-close, read the echo to the end.
    Echo {
        /// Where to connect.
        addr: SocketAddr,
        /// The whole request's time.
        timeout: Duration,
    },
    /// udp-server: `Hello, UDP Server!`, answered `ACK: Hello, UDP Server!`.
    Datagram {
        /// Where to send.
        addr: SocketAddr,
        /// The whole request's time, all tries together.
        timeout: Duration,
        /// The socket, made on first use.
        client: Option<udp::Client>,
        /// Tries that got no answer, over all requests.
        resent: u64,
    },
    /// pool-server through the article's `SocketPool`: `Request data`
    /// echoed on a kept-open connection.
    Pool {
        /// Where to connect.
        addr: SocketAddr,
        /// The pool, made on first use and again after a failure.
        pool: Option<pool::SocketPool>,
    },
    /// http-server: the article's GET and a JSON POST, on a kept-alive
    /// connection.
    Http {
        /// Where to connect.
        addr: SocketAddr,
        /// Per connect, read and write.
        timeout: Duration,
        /// The connection and how many requests it has carried.
        conn: Option<(http::client::Client, u32)>,
        /// Whether the next request is the POST.
        post: bool,
    },
}

impl GoodClient {
    /// A good client of a server that speaks `protocol` at `addr`, whose
    /// requests may each take up to `timeout`.
    pub fn new(protocol: Protocol, addr: SocketAddr, timeout: Duration) -> Self {
        match protocol {
            Protocol::Echo => GoodClient::Echo { addr, timeout },
            Protocol::Datagram => GoodClient::Datagram {
                addr,
                timeout,
                client: None,
                resent: 0,
            },
            Protocol::KeepAliveEcho => GoodClient::Pool { addr, pool: None },
            Protocol::Http => GoodClient::Http {
                addr,
                timeout,
                conn: None,
                post: false,
            },
        }
    }

    /// One request; `Err` says what was wrong with it.
    pub fn request(&mut self) -> Result<(), String> {
        match self {
            GoodClient::Echo { addr, timeout } => echo(*addr, *timeout),
            GoodClient::Datagram {
                addr,
                timeout,
                client,
                resent,
            } => datagram(*addr, *timeout, client, resent),
            GoodClient::Pool { addr, pool } => pooled(*addr, pool),
            GoodClient::Http {
                addr,
                timeout,
                conn,
                post,
            } => {
                *post = !*post;
                web(*addr, *timeout, conn, *post)
            }
        }
    }

    /// UDP tries that had to be sent again (0 for the TCP clients).
    pub fn resent(&self) -> u64 {
        match self {
            GoodClient::Datagram { resent, .. } => *resent,
            _ => 0,
        }
    }
}

fn show(e: &io::Error) -> String {
    e.to_string()
}

/// `tcp-client`'s request.
fn echo(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let message = tcp::DEFAULT_MESSAGE.as_bytes();
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| show(&e))?;
    let reply = tcp::request(&mut stream, message, timeout).map_err(|e| show(&e))?;
    if reply == tcp::expected_echo(message) {
        Ok(())
    } else {
        Err(format!("wrong echo: {}", cli::python_bytes(&reply)))
    }
}

/// `udp-client`'s request, sent again while no answer comes.
fn datagram(
    addr: SocketAddr,
    timeout: Duration,
    client: &mut Option<udp::Client>,
    resent: &mut u64,
) -> Result<(), String> {
    let message = udp::DEFAULT_MESSAGE.as_bytes();
    let client = match client {
        Some(client) => client,
        None => client.insert(udp::Client::new(addr, timeout / UDP_TRIES).map_err(|e| show(&e))?),
    };
    let mut last = String::new();
    for try_number in 0..UDP_TRIES {
        if try_number > 0 {
            *resent += 1;
        }
        match client.request(message) {
            Ok(reply) if reply == udp::expected_ack(message) => return Ok(()),
            Ok(reply) => return Err(format!("wrong ACK: {}", cli::python_bytes(reply))),
            Err(e) => last = show(&e),
        }
    }
    Err(format!("{UDP_TRIES} tries, no ACK: {last}"))
}

/// The pool chapter's request through its `SocketPool` (one connection,
/// reused for every request; the pool itself retries once on a fresh
/// connection when a reused one turns out dead).
fn pooled(addr: SocketAddr, pool: &mut Option<pool::SocketPool>) -> Result<(), String> {
    let message = pool::DEFAULT_MESSAGE.as_bytes();
    let host = addr.ip().to_string();
    let sockets = match pool {
        Some(sockets) => sockets,
        None => pool.insert(pool::SocketPool::new(&host, addr.port(), 1).map_err(|e| show(&e))?),
    };
    match sockets.request(message) {
        Ok(reply) if reply == message => Ok(()),
        Ok(reply) => Err(format!("wrong echo: {}", cli::python_bytes(&reply))),
        Err(e) => {
            *pool = None;
            Err(show(&e))
        }
    }
}

/// The article's `curl 'localhost:8000/items?x=1&x=2'`, or a POST of a
/// JSON body, checked by status and by what the body must hold.
fn web(
    addr: SocketAddr,
    timeout: Duration,
    conn: &mut Option<(http::client::Client, u32)>,
    post: bool,
) -> Result<(), String> {
    if conn
        .as_ref()
        .is_some_and(|(_, n)| *n >= HTTP_REQUESTS_PER_CONNECTION)
    {
        *conn = None;
    }
    let (client, used) = match conn {
        Some(open) => open,
        None => conn.insert((
            http::client::Client::connect(addr, timeout).map_err(|e| show(&e))?,
            0,
        )),
    };
    *used += 1;
    let (answer, status, needle) = if post {
        let body = br#"{"name": "soak", "n": 1}"#;
        let answer = client.post("/items", body);
        (answer, 201, r#""received": {"name": "soak", "n": 1}"#)
    } else {
        let answer = client.get("/items?x=1&x=2");
        (answer, 200, r#""query_params": {"x": ["1", "2"]}"#)
    };
    let checked = match answer {
        Ok(response) if response.status == status && response.text().contains(needle) => Ok(()),
        Ok(response) => Err(format!("{} {}", response.status, response.text())),
        Err(e) => Err(show(&e)),
    };
    if checked.is_err() {
        *conn = None;
    }
    checked
}

/// Good clients pause this long between requests: steady traffic that
/// leaves the two cores of a small machine to the server and the bad
/// clients.
pub const PAUSE: Duration = Duration::from_millis(20);

/// Sleeps [`PAUSE`].
pub fn pause() {
    thread::sleep(PAUSE);
}
