//! What the proxy's test files share: targets to forward to (the tcp
//! chapter's echo server, run in this process), the proxy itself on a
//! thread with its lines collected, and counts from /proc.
#![allow(dead_code, reason = "each test file uses part of this")]

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proxy::{Config, Summary, TcpProxy};
use tcp::Stop;
use test_support::Background;

/// A hang guard only: every healthy wait here takes milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// `tcp-server --threads --idle-timeout IDLE` in this process: the tcp
/// chapter's echo (`Echo: ` + every byte, until the client half-closes or
/// goes quiet for `idle`), up to 256 clients at once.
pub fn echo_target(idle: Duration) -> (SocketAddr, Background<()>) {
    echo_target_at(loopback(), idle)
}

/// [`echo_target`] on a given address (to bring back a target that was
/// out of reach).
pub fn echo_target_at(addr: SocketAddr, idle: Duration) -> (SocketAddr, Background<()>) {
    let listener = tcp::bind_server(addr, tcp::DEFAULT_BACKLOG, idle).unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(Stop::new());
    let on_stop = Arc::clone(&stop);
    let server = Background::spawn(
        move || on_stop.stop(),
        move || {
            tcp::serve_prethreaded(&listener, &stop, 256, |_| {}).unwrap();
        },
    );
    (addr, server)
}

/// A target that reads the whole request, until the client's end of
/// stream, and only then answers `Got N bytes` and closes: a server that
/// cannot reply before it knows the request is complete (an HTTP/1.0
/// upload, `sort`, a compiler service).
pub fn answer_after_request() -> (SocketAddr, Background<()>) {
    let listener = tcp::bind_server(loopback(), 64, PATIENCE).unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(Stop::new());
    let on_stop = Arc::clone(&stop);
    let server = Background::spawn(
        move || on_stop.stop(),
        move || {
            tcp::serve_workers(&listener, &stop, 16, &|_| {}, |mut stream, _| {
                let mut request = Vec::new();
                if stream.read_to_end(&mut request).is_ok() {
                    let _ = write!(stream, "Got {} bytes", request.len());
                }
            })
            .unwrap();
        },
    );
    (addr, server)
}

/// A proxy running in this process, its lines collected as they come.
pub struct Proxy {
    pub addr: SocketAddr,
    pub proxy: Arc<TcpProxy>,
    lines: Mutex<Receiver<String>>,
    seen: Mutex<Vec<String>>,
    server: Background<io::Result<Summary>>,
}

/// Starts a proxy to `target` with `config` on a free loopback port.
pub fn start_proxy(target: SocketAddr, config: Config) -> Proxy {
    let listener = proxy::listen("127.0.0.1", 0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut forwarder = TcpProxy::new(addr.port(), "127.0.0.1", target.port());
    forwarder.config = config;
    let forwarder = Arc::new(forwarder);
    let stop = Arc::new(Stop::new());
    let (send, lines) = mpsc::channel();
    let server = Background::spawn(
        {
            let stop = Arc::clone(&stop);
            move || stop.stop()
        },
        {
            let forwarder = Arc::clone(&forwarder);
            move || {
                proxy::serve(&listener, &stop, &forwarder, |event| {
                    let _ = send.send(event.to_string());
                })
            }
        },
    );
    Proxy {
        addr,
        proxy: forwarder,
        lines: Mutex::new(lines),
        seen: Mutex::new(Vec::new()),
        server,
    }
}

impl Proxy {
    /// Waits for a line containing `needle` and returns it; panics with
    /// every line seen if none comes within [`PATIENCE`].
    pub fn expect_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        let lines = self.lines.lock().unwrap();
        let mut seen = self.seen.lock().unwrap();
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(wait) {
                Ok(line) => {
                    seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {needle:?} from the proxy; it said {seen:#?}"),
            }
        }
    }

    /// Stops the proxy; its summary and every line it printed.
    pub fn stop(self) -> (Summary, Vec<String>) {
        let summary = self.server.stop().unwrap();
        let mut seen = self.seen.into_inner().unwrap();
        seen.extend(self.lines.into_inner().unwrap().try_iter());
        (summary, seen)
    }
}

/// `tcp-client`'s whole exchange with `addr`: connect, send, half-close,
/// read until the server closes.
pub fn exchange(addr: SocketAddr, message: &[u8], timeout: Duration) -> tcp::Reply {
    tcp::exchange_reply("127.0.0.1", addr.port(), message, timeout)
}

/// A port nothing listens on (a moment ago).
pub fn closed_port() -> u16 {
    TcpListener::bind(loopback())
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Threads and open descriptors of process `pid`, from /proc.
pub fn threads_and_fds(pid: u32) -> (usize, usize) {
    let count = |dir: &str| fs::read_dir(format!("/proc/{pid}/{dir}")).map_or(0, |d| d.count());
    (count("task"), count("fd"))
}

/// Polls `f` until it returns true or `limit` passes; whether it did.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `e` is a reset, as the peer's abort shows up on this side.
pub fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// Connects to `addr` with [`PATIENCE`] as every timeout.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, PATIENCE).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Sends SIGINT, what Ctrl-C sends, to process `pid` (with `kill`, which
/// keeps this crate free of `unsafe`).
pub fn interrupt(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -INT {pid}: {status}");
}
