//! # Chapter 8: a monitored TCP proxy
//!
//! The article ends by combining its techniques in a `TCPProxy`: it listens
//! on port 8888, opens a connection to a fixed target (example.com:80) for
//! every client, copies bytes both ways on two threads, `outbound` and
//! `inbound`, and adds them up in `traffic_stats`, which Ctrl-C prints.
//! This crate is that class, [`TcpProxy`] with [`TcpProxy::new`],
//! [`TcpProxy::handle_client`] and [`TcpProxy::start`], printing the same
//! lines, with what the article gets wrong fixed:
//!
//! 1. **End of stream is passed on.** When one direction ends, the article
//!    stops that thread and tells nobody: a client that half-closes after
//!    its request never lets the server know the request is complete, and
//!    waits for a reply end that never comes. Ours shuts down the sending
//!    side of the other socket (a half-close), and closes both once both
//!    directions are done (`src/forward.rs`).
//! 2. **Every byte is written.** `send` may take part of the data; the
//!    article drops the rest. Ours uses `write_all`.
//! 3. **Every ending has a reason.** The article's bare `except: break`
//!    hides every error; each of our connections ends with a log line
//!    saying who closed or reset it, or why the target was out of reach
//!    ([`Ending`]).
//! 4. **The counts are exact.** The article adds to `traffic_stats` from
//!    two threads without a lock, and loses the counts on SIGTERM. Ours
//!    are atomic ([`TrafficStats`]) and printed on Ctrl-C and SIGTERM.
//! 5. **It listens on 127.0.0.1.** The article binds `0.0.0.0`: anyone who
//!    can reach the machine can use it. `--host 0.0.0.0` still does that,
//!    on purpose.
//!
//! Beyond the article: per-connection figures, a periodic report
//! (`--stats-every`), and faults to inject for the classroom ([`Faults`]:
//! `--latency`, `--bandwidth`, `--reset-after`).
//!
//! | Python (article)                                  | Rust (here)                                   |
//! |---------------------------------------------------|-----------------------------------------------|
//! | `TCPProxy(8888, 'example.com', 80)`               | [`TcpProxy::new`]                             |
//! | `self.traffic_stats = defaultdict(int)`           | [`TrafficStats`]: one `AtomicU64` each way     |
//! | `bind(('0.0.0.0', port))`, `listen(5)`            | [`listen`]: `127.0.0.1` unless `--host`, backlog 1024 |
//! | `while True: accept()`, a daemon thread each      | [`serve`] on `tcp::serve_workers`, until a `Stop` |
//! | `print(f"New connection from {addr}")`            | [`Event::Connection`]                         |
//! | `handle_client(client_socket)`                    | [`TcpProxy::handle_client`] → [`ConnectionReport`] |
//! | `target_socket.connect((host, port))`             | `tcp::connect`, with a timeout                |
//! | two `threading.Thread(target=forward_data)`, `join` | `thread::scope`: `outbound` and `inbound`     |
//! | `source.recv(4096)`                               | `read` into [`BUFFER_SIZE`] (256 KiB)         |
//! | `destination.send(data)`                          | `write_all`                                   |
//! | `if not data: break`                              | `shutdown(Shutdown::Write)` on the other socket |
//! | `except: break`                                   | [`Ending`]: who ended it, and how              |
//! | `traffic_stats[direction] += len(data)`           | `fetch_add` on an `AtomicU64`                 |
//! | `except KeyboardInterrupt:` print the stats       | [`Event::ShuttingDown`], [`Summary`]; Ctrl-C and SIGTERM |
//!
//! Run it: `just tcp-server` in one terminal, `just proxy --target-host
//! localhost --target-port 8080` in a second, `just tcp-client --port 8888`
//! in a third.
#![forbid(unsafe_code)]

pub mod faults;
mod forward;
mod server;
mod stats;

pub use faults::Faults;
pub use forward::{BUFFER_SIZE, Ending, Side};
pub use server::{Event, Summary, serve};
pub use stats::{Direction, Totals, Traffic, TrafficStats};

use std::fmt;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use forward::Connection;
use server::OpenConnections;
use socket2::SockRef;
use tcp::Stop;

/// The article's port.
pub const DEFAULT_PORT: u16 = 8888;
/// Where the proxy listens unless told otherwise: loopback only. The
/// article binds `0.0.0.0`, every interface ([`ARTICLE_HOST`]).
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// What the article binds: every interface of the machine.
pub const ARTICLE_HOST: &str = "0.0.0.0";
/// The article's target.
pub const DEFAULT_TARGET_HOST: &str = "example.com";
/// The article's target port.
pub const DEFAULT_TARGET_PORT: u16 = 80;
/// How long reaching the target may take before the client is closed.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Clients forwarded at once (two threads each); more wait in the backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// How often a worker blocked in `accept` looks at the stop flag if its
/// wake-up went missing. The stop normally wakes it at once.
pub const ACCEPT_POLL: Duration = Duration::from_secs(1);

/// How a proxy behaves beyond the article's three arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How long reaching the target may take.
    pub connect_timeout: Duration,
    /// Clients forwarded at once.
    pub max_connections: usize,
    /// Report the totals this often ([`Event::Stats`]).
    pub stats_every: Option<Duration>,
    /// The faults to inject; none by default.
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            stats_every: None,
            faults: Faults::default(),
        }
    }
}

/// One connection, once it is over: the per-connection figures the article
/// does not keep.
#[derive(Debug)]
pub struct ConnectionReport {
    /// Bytes forwarded each way.
    pub traffic: Traffic,
    /// From accept until both directions were done.
    pub took: Duration,
    /// Why it ended.
    pub ending: Ending,
}

impl fmt::Display for ConnectionReport {
    /// `after 1.52 ms: {'outbound': 14, 'inbound': 20}; the client closed first`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let took = self.took.as_secs_f64() * 1000.0;
        write!(f, "after {took:.2} ms: {}; {}", self.traffic, self.ending)
    }
}

// ANCHOR: tcp_proxy
/// The article's `TCPProxy`: where to listen, where to forward, and the
/// counts of what passed.
#[derive(Debug)]
pub struct TcpProxy {
    /// The port [`TcpProxy::start`] listens on.
    pub listen_port: u16,
    /// Where every client is forwarded.
    pub target_host: String,
    /// The target's port.
    pub target_port: u16,
    /// Bytes forwarded each way, over all connections.
    pub traffic_stats: TrafficStats,
    /// Everything the article does not have.
    pub config: Config,
    connections: AtomicU64,
    unreachable: AtomicU64,
    open: OpenConnections,
}
// ANCHOR_END: tcp_proxy

impl TcpProxy {
    /// `TCPProxy(listen_port, target_host, target_port)`, with the default
    /// [`Config`].
    pub fn new(listen_port: u16, target_host: &str, target_port: u16) -> Self {
        Self {
            listen_port,
            target_host: target_host.to_string(),
            target_port,
            traffic_stats: TrafficStats::default(),
            config: Config::default(),
            connections: AtomicU64::new(0),
            unreachable: AtomicU64::new(0),
            open: OpenConnections::default(),
        }
    }

    // ANCHOR: handle_client
    /// The article's `handle_client`: connects to the target, forwards
    /// both ways until both are done, closes both sockets, and reports.
    /// A target out of reach closes the client at once.
    pub fn handle_client(&self, client: TcpStream) -> ConnectionReport {
        let started = Instant::now();
        self.connections.fetch_add(1, Ordering::Relaxed);
        // Registered as open until dropped, which closes it.
        let client = self.open.add(client);
        let report = |traffic, ending| ConnectionReport {
            traffic,
            took: started.elapsed(),
            ending,
        };
        if let Err(e) = forwarding_socket(&client) {
            return report(Traffic::default(), Ending::Failed(Side::Client, e));
        }
        let target = match self.connect_target() {
            Ok(target) => self.open.add(target),
            Err(error) => {
                self.unreachable.fetch_add(1, Ordering::Relaxed);
                // Closed with a reset, not a FIN: to the client, an empty
                // but clean end would look like an empty reply.
                let _ = SockRef::from(&*client).set_linger(Some(Duration::ZERO));
                let target = format!("{}:{}", self.target_host, self.target_port);
                return report(Traffic::default(), Ending::Unreachable { target, error });
            }
        };
        let connection = Connection::new(&client, &target, self.config.faults, &self.traffic_stats);
        let (ending, traffic) = connection.both_ways();
        let ending = if self.open.is_closing() {
            Ending::Stopped
        } else {
            ending
        };
        // Both sockets close as this returns.
        report(traffic, ending)
    }
    // ANCHOR_END: handle_client

    /// Connects to the target, ready to forward.
    fn connect_target(&self) -> io::Result<TcpStream> {
        let target = tcp::connect(
            &self.target_host,
            self.target_port,
            self.config.connect_timeout,
        )?;
        forwarding_socket(&target)?;
        Ok(target)
    }

    // ANCHOR: start
    /// The article's `start()`: listens on `host` and
    /// [`listen_port`](Self::listen_port), says so
    /// ([`Event::Listening`]), and forwards every client until `stop` is
    /// used; then returns the [`Summary`] the article prints on Ctrl-C.
    pub fn start(
        &self,
        host: &str,
        stop: &Stop,
        on_event: impl Fn(Event) + Sync,
    ) -> io::Result<Summary> {
        let listener = listen(host, self.listen_port)?;
        on_event(Event::Listening(listener.local_addr()?.port()));
        serve(&listener, stop, self, on_event)
    }
    // ANCHOR_END: start

    /// The totals as they are now.
    pub fn totals(&self) -> Totals {
        Totals {
            connections: self.connections.load(Ordering::Relaxed),
            open: self.open.count(),
            traffic: self.traffic_stats.snapshot(),
        }
    }

    /// What the proxy has done so far.
    pub fn summary(&self) -> Summary {
        Summary {
            connections: self.connections.load(Ordering::Relaxed),
            unreachable: self.unreachable.load(Ordering::Relaxed),
            traffic: self.traffic_stats.snapshot(),
        }
    }
}

/// Readies one of a connection's sockets for forwarding.
fn forwarding_socket(socket: &TcpStream) -> io::Result<()> {
    // An accepted socket inherits the listener's timeouts (its accept
    // poll); a forwarded connection may be quiet for as long as its two
    // ends like, so neither socket has any.
    socket.set_read_timeout(None)?;
    socket.set_write_timeout(None)?;
    // Small replies leave at once: a proxy must not add Nagle's delay to
    // a request/reply exchange that the client may have tuned for latency.
    socket.set_nodelay(true)
}

/// The proxy's listening socket on `host:port`: the tcp chapter's
/// [`tcp::listen`], with its backlog of 1024 where the article has 5.
pub fn listen(host: &str, port: u16) -> io::Result<TcpListener> {
    tcp::listen(host, port, tcp::DEFAULT_BACKLOG, ACCEPT_POLL)
}
