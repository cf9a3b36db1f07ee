//! # The soak: every server, for a while, among hostile clients
//!
//! A server that answers the article's client once has passed the easy
//! test. On a real network it also meets clients that connect and say
//! nothing, send a byte at a time, send nonsense or far too much, vanish
//! mid-request, or arrive a thousand at once; and it runs for days, so a
//! descriptor or a few kilobytes lost per connection ends it in the end.
//! `just soak` runs each chapter's server binary as its own process for a
//! bounded time (`--seconds`) under a mix of good clients and bad ones, and
//! watches the process from `/proc/PID`.
//!
//! ## What each bad client does to a server
//!
//! | bad client | what it does | what it costs a server that is not ready |
//! |---|---|---|
//! | idle | connects, sends nothing | a worker (the serial server: everyone) blocked in `recv` for ever |
//! | byte-at-a-time | a byte every 100 ms; for http a head that never ends (slowloris) | beats any idle timeout: only a limit on the connection's or the request's *total* time ends it |
//! | garbage | random bytes; for http malformed request lines and headers | a parser that trusts its input panics, or loops, or answers nonsense |
//! | oversized | 64 MiB without reading the reply; for http a 1 MiB header, `Content-Length: 99999999999999999999`, a 64 MiB body | memory: a server that buffers a request whole holds it all |
//! | abrupt reset | part or all of a request, then SO_LINGER 0 and close: an RST | an error on `read` or `write` the server must treat as one client's end, not its own |
//! | connect-and-vanish | connects and closes at once, or half-closes and goes | an empty request; a descriptor left open if the server forgets to close on EOF |
//! | a thousand at once | 1000 connections opened together, then closed together | the listen backlog, a thread (and a descriptor) per connection, the descriptor limit |
//!
//! `udp-server` has no connections, so its bad mix is datagrams: random
//! ones of every size (empty included), the largest IPv4 carries (65,507
//! bytes), a flood from one socket, and a new socket for every datagram
//! (many sources for its reply limiter to track). Forged source addresses
//! need raw sockets and root, so they are not tried; the sources here are
//! real, spread over 127.0.0.1-127.0.0.254.
//!
//! ## What each assertion proves
//!
//! - **Every good request succeeds**: the chapter's real request (echo,
//!   ACK, pooled echo, GET and POST, echo through the proxy), checked byte
//!   for byte, with a generous deadline: the bad clients cost the good
//!   ones time, never their answer.
//! - **The server is alive at the end**, and stops on SIGTERM within
//!   10 s: nothing crashed it and nothing wedged it.
//! - **Its descriptor count returns to where it started** once the
//!   clients are gone: every connection, however it ended, was closed. A
//!   leak of one descriptor per bad client shows here after one run; in
//!   production it shows as `Too many open files` after a week.
//! - **Its resident memory stays bounded** (below [`Config::rss_limit`];
//!   the peak is reported): nothing buffers what a client sends without a
//!   limit.
//! - **It survives running out of descriptors**: started again with
//!   `ulimit -n 64`, pushed past that with idle connections, it must print
//!   its accept failures (once a second, with a backoff), keep listening,
//!   and serve good requests again within seconds once the pressure passes.
//!
//! ## Which servers, and why not `slow-server`
//!
//! [`servers`] lists them: `tcp-server` (serial, the article's shape) and
//! `tcp-server --threads`, `udp-server`, `pool-server`, `http-server`,
//! and `proxy` in front of a `tcp-server --threads`. `slow-server` (the
//! timeout chapter) is left out: it misbehaves on purpose (it never
//! answers, trickles, floods or resets), so a soak of it would only
//! measure the misbehaviour it was written to have. `sniff` is not a
//! server.
//!
//! The serial `tcp-server` serves one client at a time, as the article's
//! loop does, so every bad client is a wait for the good ones: an idle one
//! holds the loop for the idle timeout (0.5 s), a trickling one for
//! `--max-connection-time` (10 s). That is the design, not a failure: its
//! good clients get one of each bad client at a time and a deadline of
//! [`SERIAL_GOOD_TIMEOUT`], and the table's "slowest good" column shows what
//! the wait costs. (Its "cut after" times include the wait in the queue:
//! a client cannot tell queued from accepted.)
//!
//! ## What the "cut after" columns say
//!
//! How long the server let an idle and a byte-at-a-time client stay.
//! `http-server` promises a bound on the second (`--request-timeout`) and
//! `tcp-server --threads` one on a whole connection
//! (`--max-connection-time`, which the soak found missing there and is now
//! given in both modes); both are asserted. `pool-server` and `proxy` hold
//! connections open on purpose (a pool's, a forwarded stream's), with an
//! idle timeout but no limit on a connection's total time, so a client
//! that trickles a byte every 100 ms keeps its worker for as long as it
//! likes ("not cut"): with enough of them (1024, their connection cap)
//! good clients would wait in the backlog. The soak runs two, reports it,
//! and does not fail on it: it is a limit those servers do not claim.
#![forbid(unsafe_code)]

mod bad;
mod good;
mod process;
mod report;
mod run;

pub use bad::{Bad, Outcome, Rng};
pub use good::GoodClient;
pub use process::{Process, open_fds, raise_fd_limit, status_kib};
pub use report::{Held, LowFd, Report, SlowClients, table};
pub use run::run;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a good request may take: generous, so that only a server that
/// fails or is stuck fails it, never a busy machine.
pub const GOOD_TIMEOUT: Duration = Duration::from_secs(5);
/// The serial server's good requests wait behind every bad client queued
/// before them, a trickling one for up to `--max-connection-time` (10 s).
pub const SERIAL_GOOD_TIMEOUT: Duration = Duration::from_secs(30);
/// How much later than promised a server may cut a slow client: its
/// timeouts are checked every poll (200 ms), and the machine may be busy.
pub const SLACK: Duration = Duration::from_secs(3);
/// The descriptor limit of the low-fd run (`ulimit -n 64`).
pub const LOW_FD_LIMIT: u32 = 64;

/// What a server speaks, which decides its good request and its bad mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// tcp-server's echo (and the proxy's, in front of one): one request
    /// per connection, half-closed, echoed with `Echo: ` in front.
    Echo,
    /// udp-server: a datagram answered with `ACK: ` in front.
    Datagram,
    /// pool-server: every byte echoed on a connection that stays open.
    KeepAliveEcho,
    /// http-server: the article's JSON API.
    Http,
}

/// A server binary to soak, and how to start it.
#[derive(Debug, Clone)]
pub struct Target {
    /// What the table calls it: the command a learner would type.
    pub name: String,
    /// The binary.
    pub program: PathBuf,
    /// Its arguments (the soak adds `--port 0`).
    pub args: Vec<String>,
    /// What it speaks.
    pub protocol: Protocol,
    /// One client at a time: a lighter bad mix and a longer good deadline.
    pub serial: bool,
    /// A server that must run first, behind this one (the proxy's echo
    /// server): its binary and arguments. Its port is appended to
    /// [`Target::args`] after `--target-port`.
    pub backend: Option<(PathBuf, Vec<String>)>,
    /// How long the server promises a byte-at-a-time client can keep a
    /// connection at most (http-server's `--request-timeout`), asserted
    /// with [`SLACK`] to spare. `None` where it promises nothing, or
    /// where the client cannot tell (the serial server's clients wait
    /// their turn in the queue first).
    pub cuts_slow_clients_within: Option<Duration>,
}

impl Target {
    /// How long each good request may take.
    pub fn good_timeout(&self) -> Duration {
        if self.serial {
            SERIAL_GOOD_TIMEOUT
        } else {
            GOOD_TIMEOUT
        }
    }
}

/// How hard and how long to soak.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long the good and bad clients run against each server.
    pub duration: Duration,
    /// Good clients running at once.
    pub good_clients: usize,
    /// How many connections "a thousand at once" opens (fewer if this
    /// process may not open that many descriptors).
    pub storm: usize,
    /// How long the descriptor count may take to come back down once the
    /// clients are gone (servers notice a closed connection at their next
    /// read, or at their idle timeout).
    pub settle: Duration,
    /// The bound on the server's peak resident memory, in KiB.
    pub rss_limit: u64,
    /// Whether to do the `ulimit -n 64` run too (TCP servers only).
    pub low_fd: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            duration: Duration::from_secs(20),
            good_clients: 4,
            storm: 1000,
            settle: Duration::from_secs(15),
            rss_limit: 256 * 1024,
            low_fd: true,
        }
    }
}

/// Every chapter's server, with the binaries found in `dir` (where cargo
/// put the soak binary itself: `just soak` builds them all there).
pub fn servers(dir: &Path) -> Vec<Target> {
    let bin = |name: &str| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let on_loopback = ["--host", "127.0.0.1"];
    let target = |name: &str, program: &str, extra: &[&str], protocol| Target {
        name: name.to_string(),
        program: bin(program),
        args: args(&[&on_loopback[..], extra].concat()),
        protocol,
        serial: false,
        backend: None,
        cuts_slow_clients_within: None,
    };
    vec![
        Target {
            serial: true,
            ..target("tcp-server", "tcp-server", &[], Protocol::Echo)
        },
        Target {
            cuts_slow_clients_within: Some(tcp::MAX_CONNECTION_TIME),
            ..target(
                "tcp-server --threads",
                "tcp-server",
                &["--threads"],
                Protocol::Echo,
            )
        },
        target("udp-server", "udp-server", &[], Protocol::Datagram),
        target("pool-server", "pool-server", &[], Protocol::KeepAliveEcho),
        Target {
            cuts_slow_clients_within: Some(http::REQUEST_TIMEOUT),
            ..target("http-server", "http-server", &[], Protocol::Http)
        },
        Target {
            backend: Some((
                bin("tcp-server"),
                args(&["--host", "127.0.0.1", "--threads"]),
            )),
            ..target(
                "proxy",
                "proxy",
                &["--target-host", "127.0.0.1", "--target-port"],
                Protocol::Echo,
            )
        },
    ]
}
