//! Each chapter's exchange, staged for the capture: the chapter's own
//! server and client, on free loopback ports, in one process. A scene says
//! who is who ([`Stage::serves`]) and what the programs
//! printed and when ([`Stage::note`]): the ladder places each line between
//! the packets around it.

use std::fmt::Display;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sniff::capture::LiveError;
use socket2::{Domain, Socket, Type};
use tcp::Stop;

use crate::cast::Cast;
use crate::ladder::Note;
use crate::record::{Recorder, Recording};
use crate::shape::{Move, Step};

/// Generous: a loaded machine answers on loopback well within it.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A chapter's exchange and what its ladder must show.
pub struct Chapter {
    /// What `just trace NAME` calls it.
    pub name: &'static str,
    /// One line on what the ladder shows.
    pub about: &'static str,
    /// Runs the exchange on the stage.
    pub run: fn(&Stage) -> Result<(), String>,
    /// Orders the chapter claims: each chain's moves happen in this order
    /// (lanes counted from the left from 0).
    pub claims: &'static [&'static [Move]],
}

const fn to(from: usize, to: usize, step: Step) -> Move {
    Move { from, to, step }
}

use Step::{Data, Fin, Rst, Syn, SynAck, Unreachable};

/// Every traced exchange, in the article's order.
pub const CHAPTERS: &[Chapter] = &[
    Chapter {
        name: "tcp",
        about: "tcp-client and tcp-server: handshake, the message, the echo, half-close, close",
        run: tcp_echo,
        claims: &[
            &[
                to(0, 1, Syn),
                to(1, 0, SynAck),
                to(0, 1, Data),
                to(1, 0, Data),
                to(1, 0, Fin),
            ],
            &[to(0, 1, Data), to(0, 1, Fin), to(1, 0, Fin)],
        ],
    },
    Chapter {
        name: "tcp-serial",
        about: "the article's one-client-at-a-time server with an idle client: the second client \
                is connected by the kernel but not served until the first is dropped",
        run: tcp_serial,
        claims: &[
            &[
                to(0, 2, Syn),
                to(2, 0, SynAck),
                to(1, 2, Syn),
                to(2, 1, SynAck),
                to(2, 0, Fin),
            ],
            &[to(1, 2, Data), to(2, 0, Fin), to(2, 1, Data), to(2, 1, Fin)],
        ],
    },
    Chapter {
        name: "udp",
        about: "udp-client and udp-server: one datagram each way, no handshake; then a datagram \
                to a port where nothing listens",
        run: udp_ack,
        claims: &[&[
            to(0, 1, Data),
            to(1, 0, Data),
            to(0, 2, Data),
            to(2, 0, Unreachable),
        ]],
    },
    Chapter {
        name: "proto",
        about: "the article's Employee, length-prefixed, over a TCP connection to the echo server",
        run: proto_over_tcp,
        claims: &[&[
            to(0, 1, Syn),
            to(1, 0, SynAck),
            to(0, 1, Data),
            to(1, 0, Data),
            to(1, 0, Fin),
        ]],
    },
    Chapter {
        name: "pool",
        about: "a SocketPool of 2: two handshakes up front, three requests with none, close_all",
        run: pool_reuse,
        claims: &[&[
            to(0, 1, Syn),
            to(0, 1, Syn),
            to(0, 1, Data),
            to(1, 0, Data),
            to(0, 1, Data),
            to(1, 0, Data),
            to(0, 1, Data),
            to(1, 0, Data),
            to(0, 1, Fin),
        ]],
    },
    Chapter {
        name: "timeout",
        about: "safe_request against a server that never answers, then against a closed port",
        run: timeout_expiry,
        claims: &[
            &[
                to(0, 1, Syn),
                to(1, 0, SynAck),
                to(0, 1, Data),
                to(0, 1, Fin),
            ],
            &[to(0, 1, Fin), to(0, 2, Syn), to(2, 0, Rst)],
        ],
    },
    Chapter {
        name: "http",
        about: "a GET and a POST on one kept-open connection to http-server",
        run: http_keepalive,
        claims: &[&[
            to(0, 1, Syn),
            to(1, 0, SynAck),
            to(0, 1, Data),
            to(1, 0, Data),
            to(0, 1, Data),
            to(1, 0, Data),
            to(0, 1, Fin),
        ]],
    },
    Chapter {
        name: "proxy",
        about: "tcp-client through the proxy to the echo server: two connections, the half-close \
                passed on",
        run: proxy_echo,
        claims: &[
            &[
                to(0, 1, Syn),
                to(1, 0, SynAck),
                to(1, 2, Syn),
                to(2, 1, SynAck),
                to(1, 2, Data),
                to(2, 1, Data),
                to(1, 0, Data),
            ],
            &[to(0, 1, Fin), to(1, 2, Fin), to(2, 1, Fin), to(1, 0, Fin)],
        ],
    },
];

/// One line per traced chapter: its name and what its ladder shows.
pub fn listing() -> Vec<String> {
    CHAPTERS
        .iter()
        .map(|c| format!("  {:<11} {}", c.name, c.about))
        .collect()
}

/// The chapter called `name`.
pub fn find(name: &str) -> Option<&'static Chapter> {
    CHAPTERS.iter().find(|chapter| chapter.name == name)
}

/// Where a scene runs: the cast it declares, the notes it takes, and the
/// capture (if there is one) watching its ports.
pub struct Stage {
    cast: Mutex<Cast>,
    notes: Mutex<Vec<Note>>,
    /// Once the curtain is down, what the servers print as they stop is
    /// not part of the exchange.
    curtain_down: AtomicBool,
    recorder: Option<Recorder>,
}

/// A scene, run: who was who, what was said, what was captured.
pub struct Traced {
    /// The lanes and ports.
    pub cast: Cast,
    /// What the programs printed, stamped.
    pub notes: Vec<Note>,
    /// The packets, if a capture ran.
    pub recording: Option<Recording>,
    /// Whether the exchange did what the chapter says.
    pub outcome: Result<(), String>,
}

/// Runs `chapter` with a capture when `capture` is true; the capture's
/// error (most often a missing permission) comes back before the scene.
pub fn run(chapter: &Chapter, capture: bool) -> Result<Traced, LiveError> {
    let recorder = if capture {
        Some(Recorder::start()?)
    } else {
        None
    };
    let stage = Stage {
        cast: Mutex::new(Cast::new()),
        notes: Mutex::new(Vec::new()),
        curtain_down: AtomicBool::new(false),
        recorder,
    };
    let outcome = (chapter.run)(&stage);
    let Stage {
        cast,
        notes,
        recorder,
        ..
    } = stage;
    let recording = recorder
        .map(Recorder::finish)
        .transpose()
        .map_err(LiveError::Io)?;
    Ok(Traced {
        cast: cast.into_inner().unwrap_or_else(PoisonError::into_inner),
        notes: notes.into_inner().unwrap_or_else(PoisonError::into_inner),
        recording,
        outcome,
    })
}

impl Stage {
    /// Adds a lane to the right of the others.
    pub fn lane(&self, name: &str) -> usize {
        self.cast().lane(name)
    }

    /// `lane` listens on `port` and `callers` call it, in order (see
    /// [`Cast::calls`]); the capture keeps the port's packets from now.
    pub fn serves(&self, port: u16, lane: usize, callers: &[usize]) {
        self.cast().calls(port, callers);
        self.cast().listens(port, lane);
        if let Some(recorder) = &self.recorder
            && let Err(e) = recorder.watch(port)
        {
            // The capture still sorts packets by port itself; without the
            // kernel's filter it only risks losing some on a busy `lo`.
            self.note(format!("trace: cannot filter the capture by port: {e}"));
        }
    }

    /// What a program printed, or what happened, now.
    pub fn note(&self, text: impl Into<String>) {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        if self.curtain_down.load(Ordering::SeqCst) {
            return;
        }
        self.notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Note {
                at,
                text: text.into(),
            });
    }

    /// The exchange is over: let its last packets arrive, then keep
    /// nothing newer, so stopping the servers (a connection to wake each
    /// `accept`) stays out of the picture.
    pub fn curtain(&self) {
        if let Some(recorder) = &self.recorder {
            recorder.curtain();
        }
        self.curtain_down.store(true, Ordering::SeqCst);
    }

    fn cast(&self) -> std::sync::MutexGuard<'_, Cast> {
        self.cast.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

fn port_of(listener: io::Result<TcpListener>) -> Result<(TcpListener, u16), String> {
    let listener = listener.map_err(|e| format!("cannot bind a loopback port: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    Ok((listener, port))
}

/// A TCP port where nothing listens, held for the scene: a socket bound to
/// it but never listening keeps every other program off the port, and the
/// kernel answers a SYN to it with a reset.
fn closed_tcp_port() -> Result<(Socket, u16), String> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(|e| e.to_string())?;
    socket
        .bind(&loopback().into())
        .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
    let port = socket
        .local_addr()
        .ok()
        .and_then(|addr| addr.as_socket())
        .ok_or("the reserved socket has no port")?
        .port();
    Ok((socket, port))
}

/// A UDP port no socket receives from us on, held for the scene: its
/// socket is connected to itself, so it takes only its own datagrams, and
/// the kernel answers anyone else's with ICMP "port unreachable".
fn closed_udp_port() -> Result<(UdpSocket, SocketAddr), String> {
    let socket = UdpSocket::bind(loopback()).map_err(|e| format!("cannot bind: {e}"))?;
    let addr = socket.local_addr().map_err(|e| e.to_string())?;
    socket.connect(addr).map_err(|e| e.to_string())?;
    Ok((socket, addr))
}

/// Runs `serve`, a server until its [`Stop`], on a thread of its own while
/// `exchange` runs here; then brings the curtain down, stops the server,
/// and returns what went wrong first: the exchange, or the server.
fn with_server<T: Send>(
    stage: &Stage,
    who: &str,
    serve: impl FnOnce(&Stop) -> io::Result<T> + Send,
    exchange: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    let stop = Stop::new();
    thread::scope(|scope| {
        let serving = scope.spawn(|| serve(&stop));
        let outcome = exchange();
        stage.curtain();
        stop.stop();
        let served = serving
            .join()
            .map_err(|_| format!("the {who} thread panicked"))?;
        outcome?;
        served.map(drop).map_err(|e| format!("{who}: {e}"))
    })
}

/// A server's events as the scene's notes: `server: Connection from …`.
fn says<E: Display>(stage: &Stage, who: &'static str) -> impl Fn(E) + Sync {
    move |event| stage.note(format!("{who}: {event}"))
}

/// The echo server, serial as the article's, and a client: chapter 1.
fn tcp_echo(stage: &Stage) -> Result<(), String> {
    let message = tcp::DEFAULT_MESSAGE.as_bytes();
    echo_scene(stage, message, |reply| {
        format!("client: Received: {}", cli::python_bytes(reply))
    })
}

/// Chapter 3's Employee, framed, through chapter 1's echo server.
fn proto_over_tcp(stage: &Stage) -> Result<(), String> {
    let employee = proto::create_employee();
    let mut framed = Vec::new();
    proto::framing::write_frame(&mut framed, &employee).map_err(|e| e.to_string())?;
    stage.note(format!(
        "client: create_employee() is {} bytes, sent after its length ({} byte varint)",
        employee.len(),
        framed.len() - employee.len()
    ));
    echo_scene(stage, &framed, |reply| {
        format!("client: {} bytes back, `Echo: ` + the frame", reply.len())
    })
}

/// One exchange with the serial echo server; `said` is the client's line.
fn echo_scene(stage: &Stage, message: &[u8], said: impl Fn(&[u8]) -> String) -> Result<(), String> {
    let (client, server) = (stage.lane("client"), stage.lane("server"));
    let (listener, port) = port_of(tcp::bind_server(loopback(), tcp::DEFAULT_BACKLOG, TIMEOUT))?;
    stage.serves(port, server, &[client]);
    let serve = |stop: &Stop| tcp::serve(&listener, stop, says(stage, "server"));
    with_server(stage, "server", serve, || {
        let reply = tcp::exchange("127.0.0.1", port, message, TIMEOUT)
            .map_err(|e| format!("client: {e}"))?;
        stage.note(said(&reply));
        if reply != tcp::expected_echo(message) {
            return Err(format!("the echo differs: {}", cli::preview(&reply)));
        }
        Ok(())
    })
}

/// The serial server holding an idle client while a second one waits.
fn tcp_serial(stage: &Stage) -> Result<(), String> {
    let (idle, waiting, server) = (
        stage.lane("client A"),
        stage.lane("client B"),
        stage.lane("server"),
    );
    // The article's server would hold the idle client for ever; ours drops
    // it after its idle timeout, the default of `just tcp-server`.
    let (listener, port) = port_of(tcp::bind_server(
        loopback(),
        tcp::DEFAULT_BACKLOG,
        tcp::DEFAULT_IDLE_TIMEOUT,
    ))?;
    stage.serves(port, server, &[idle, waiting]);
    let (accepted, connection) = mpsc::channel();
    let serve = |stop: &Stop| {
        let log = says(stage, "server");
        tcp::serve(&listener, stop, |event| {
            log(event);
            let _ = accepted.send(());
        })
    };
    with_server(stage, "server", serve, || {
        let a = tcp::connect("127.0.0.1", port, TIMEOUT).map_err(|e| format!("client A: {e}"))?;
        stage.note("client A: connected; sends nothing");
        connection
            .recv_timeout(TIMEOUT)
            .map_err(|_| "the server never accepted client A".to_string())?;
        stage.note("client B: connects and sends while the server waits on A");
        let reply = tcp::exchange("127.0.0.1", port, tcp::DEFAULT_MESSAGE.as_bytes(), TIMEOUT)
            .map_err(|e| format!("client B: {e}"))?;
        stage.note(format!("client B: Received: {}", cli::python_bytes(&reply)));
        drop(a);
        Ok(())
    })
}

/// A datagram and its ACK, then one to a closed port: chapter 2.
fn udp_ack(stage: &Stage) -> Result<(), String> {
    let (client, server, nobody) = (
        stage.lane("client"),
        stage.lane("server"),
        stage.lane("nobody"),
    );
    let socket = udp::bind_server(loopback(), false).map_err(|e| format!("cannot bind: {e}"))?;
    let addr = socket.local_addr().map_err(|e| e.to_string())?;
    stage.serves(addr.port(), server, &[client]);
    let (_held, closed) = closed_udp_port()?;
    stage.serves(closed.port(), nobody, &[client]);
    let serve = |stop: &Stop| {
        // An event borrows the datagram: said as text before it goes.
        let log = says(stage, "server");
        udp::serve(&socket, stop, |event| log(event.to_string()))
    };
    with_server(stage, "server", serve, || {
        let message = udp::DEFAULT_MESSAGE.as_bytes();
        let mut asker = udp::Client::new(addr, TIMEOUT).map_err(|e| e.to_string())?;
        let reply = asker.request(message).map_err(|e| e.to_string())?.to_vec();
        stage.note(format!(
            "client: Server response: {}",
            cli::python_bytes(&reply)
        ));
        if reply != udp::expected_ack(message) {
            return Err(format!("the ACK differs: {}", cli::preview(&reply)));
        }
        // The article's client has no `connect`: the kernel's ICMP answer
        // never reaches it, and only its timeout ends the wait.
        let wait = Duration::from_millis(300);
        let mut lost = udp::Client::new(closed, wait).map_err(|e| e.to_string())?;
        match lost.request(message) {
            Err(e) if tcp::is_timeout(&e) => {
                stage.note("client: no reply in 0.3 s; unconnected, it never sees the ICMP error");
                Ok(())
            }
            other => Err(format!("a datagram to a closed port: {other:?}")),
        }
    })
}

/// The article's pool, size 2 so the picture stays small: chapter 4.
fn pool_reuse(stage: &Stage) -> Result<(), String> {
    let (demo, server) = (stage.lane("demo"), stage.lane("server"));
    let (listener, port) = port_of(tcp::bind_server(loopback(), tcp::DEFAULT_BACKLOG, TIMEOUT))?;
    stage.serves(port, server, &[demo]);
    let serve = |stop: &Stop| pool::serve(&listener, stop, 8, |_| {});
    with_server(stage, "server", serve, || {
        let pool = pool::SocketPool::new("127.0.0.1", port, 2).map_err(|e| e.to_string())?;
        stage.note("demo: SocketPool(size 2): both connections opened now");
        let message = pool::DEFAULT_MESSAGE.as_bytes();
        for _ in 0..3 {
            let reply = pool.request(message).map_err(|e| e.to_string())?;
            stage.note(format!("demo: Response: {}", cli::python_bytes(&reply)));
        }
        pool.close_all();
        stage.note("demo: close_all()");
        Ok(())
    })
}

/// safe_request's deadline, then a refusal: chapter 5.
fn timeout_expiry(stage: &Stage) -> Result<(), String> {
    let (client, server, nobody) = (
        stage.lane("client"),
        stage.lane("server"),
        stage.lane("nobody"),
    );
    let (listener, port) = port_of(tcp::bind_server(
        loopback(),
        tcp::DEFAULT_BACKLOG,
        timeout::POLL,
    ))?;
    stage.serves(port, server, &[client]);
    let (_held, closed) = closed_tcp_port()?;
    stage.serves(closed, nobody, &[client]);
    let limit = Duration::from_millis(500);
    let serve = |stop: &Stop| {
        timeout::serve(
            &listener,
            stop,
            timeout::Mode::Silent,
            says(stage, "server"),
        )
    };
    with_server(stage, "server", serve, || {
        let ask = |port| {
            let data = timeout::article_request("127.0.0.1", port);
            let result = timeout::safe_request("127.0.0.1", port, &data, limit);
            stage.note(format!("client: {}", timeout::report_line(&result, limit)));
            result
        };
        match (ask(port), ask(closed)) {
            (
                Err(timeout::RequestError::TimedOut { .. }),
                Err(timeout::RequestError::Refused { .. }),
            ) => Ok(()),
            other => Err(format!("expected a timeout, then refused: {other:?}")),
        }
    })
}

/// Two requests on one kept-open connection: chapter 7.
fn http_keepalive(stage: &Stage) -> Result<(), String> {
    let (client, server) = (stage.lane("client"), stage.lane("server"));
    let (listener, port) = port_of(http::listen("127.0.0.1", 0))?;
    stage.serves(port, server, &[client]);
    let serve = |stop: &Stop| http::serve(&listener, stop, says(stage, "server"));
    with_server(stage, "server", serve, || {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut asker = http::client::Client::connect(addr, TIMEOUT).map_err(|e| e.to_string())?;
        let mut statuses = Vec::new();
        for response in [
            asker.get("/items?x=1"),
            asker.post("/items", br#"{"name": "Ada"}"#),
        ] {
            let status = response.map_err(|e| e.to_string())?.status;
            stage.note(format!(
                "client: {status} {}",
                http::response::reason(status)
            ));
            statuses.push(status);
        }
        drop(asker);
        if statuses != [200, 201] {
            return Err(format!("expected 200 and 201, got {statuses:?}"));
        }
        Ok(())
    })
}

/// The echo through the proxy: chapter 8.
fn proxy_echo(stage: &Stage) -> Result<(), String> {
    let (client, middle, server) = (
        stage.lane("client"),
        stage.lane("proxy"),
        stage.lane("server"),
    );
    let (echo, echo_port) = port_of(tcp::bind_server(loopback(), tcp::DEFAULT_BACKLOG, TIMEOUT))?;
    let (listener, port) = port_of(proxy::listen("127.0.0.1", 0))?;
    stage.serves(port, middle, &[client]);
    stage.serves(echo_port, server, &[middle]);
    let forwarder = proxy::TcpProxy::new(port, "127.0.0.1", echo_port);
    let echoing = |stop: &Stop| tcp::serve(&echo, stop, says(stage, "server"));
    let proxying = |stop: &Stop| {
        let log = says(stage, "proxy");
        proxy::serve(&listener, stop, &forwarder, |event| {
            log(event.to_string().trim_start().to_string())
        })
    };
    with_server(stage, "server", echoing, || {
        with_server(stage, "proxy", proxying, || {
            let message = tcp::DEFAULT_MESSAGE.as_bytes();
            let reply = tcp::exchange("127.0.0.1", port, message, TIMEOUT)
                .map_err(|e| format!("client: {e}"))?;
            stage.note(format!("client: Received: {}", cli::python_bytes(&reply)));
            if reply != tcp::expected_echo(message) {
                return Err(format!("the echo differs: {}", cli::preview(&reply)));
            }
            Ok(())
        })
    })
}
