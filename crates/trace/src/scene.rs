//! Each chapter's exchange, staged for the capture: the chapter's own
//! server and client, on free loopback ports, in one process. A scene says
//! who is who ([`Stage::listens`], [`Stage::calls`]) and what the programs
//! printed and when ([`Stage::note`]): the ladder places each line between
//! the packets around it.

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

    /// `lane` listens on `port`; the capture keeps its packets from now.
    pub fn listens(&self, port: u16, lane: usize) {
        self.cast().listens(port, lane);
        if let Some(recorder) = &self.recorder
            && let Err(e) = recorder.watch(port)
        {
            // The capture still sorts packets by port itself; without the
            // kernel's filter it only risks losing some on a busy `lo`.
            self.note(format!("trace: cannot filter the capture by port: {e}"));
        }
    }

    /// The callers of `port` take these lanes, in order.
    pub fn calls(&self, port: u16, lanes: &[usize]) {
        self.cast().calls(port, lanes);
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

fn joined<T>(handle: thread::ScopedJoinHandle<'_, io::Result<T>>, who: &str) -> Result<T, String> {
    handle
        .join()
        .map_err(|_| format!("the {who} thread panicked"))?
        .map_err(|e| format!("{who}: {e}"))
}

/// The echo server, serial as the article's, and a client: chapter 1.
fn tcp_echo(stage: &Stage) -> Result<(), String> {
    let message = tcp::DEFAULT_MESSAGE.as_bytes();
    echo_scene(stage, "client", message, |reply| {
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
    echo_scene(stage, "client", &framed, |reply| {
        format!("client: {} bytes back, `Echo: ` + the frame", reply.len())
    })
}

/// One exchange with the serial echo server, its log lines as notes.
fn echo_scene(
    stage: &Stage,
    client_name: &str,
    message: &[u8],
    said: impl Fn(&[u8]) -> String,
) -> Result<(), String> {
    let client = stage.lane(client_name);
    let server = stage.lane("server");
    let (listener, port) = port_of(tcp::bind_server(loopback(), tcp::DEFAULT_BACKLOG, TIMEOUT))?;
    stage.listens(port, server);
    stage.calls(port, &[client]);
    let stop = Stop::new();
    thread::scope(|scope| {
        let serving = scope.spawn(|| {
            tcp::serve(&listener, &stop, |event| {
                stage.note(format!("server: {event}"))
            })
        });
        let reply = tcp::exchange("127.0.0.1", port, message, TIMEOUT);
        if let Ok(reply) = &reply {
            stage.note(said(reply));
        }
        stage.curtain();
        stop.stop();
        joined(serving, "server")?;
        let reply = reply.map_err(|e| format!("client: {e}"))?;
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
    stage.listens(port, server);
    stage.calls(port, &[idle, waiting]);
    let stop = Stop::new();
    let (accepted, connection) = mpsc::channel();
    thread::scope(|scope| {
        let serving = scope.spawn(|| {
            tcp::serve(&listener, &stop, |event| {
                stage.note(format!("server: {event}"));
                let _ = accepted.send(());
            })
        });
        let result = (|| {
            let a =
                tcp::connect("127.0.0.1", port, TIMEOUT).map_err(|e| format!("client A: {e}"))?;
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
        })();
        stage.curtain();
        stop.stop();
        joined(serving, "server")?;
        result
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
    stage.listens(addr.port(), server);
    stage.calls(addr.port(), &[client]);
    let (_held, closed) = closed_udp_port()?;
    stage.listens(closed.port(), nobody);
    stage.calls(closed.port(), &[client]);
    let stop = Stop::new();
    thread::scope(|scope| {
        let serving = scope.spawn(|| {
            udp::serve(&socket, &stop, |event| {
                stage.note(format!("server: {event}"))
            })
        });
        let result = (|| {
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
            // The article's client has no `connect`: the kernel's ICMP
            // answer never reaches it, and only its timeout ends the wait.
            let wait = Duration::from_millis(300);
            let mut lost = udp::Client::new(closed, wait).map_err(|e| e.to_string())?;
            match lost.request(message) {
                Err(e) if tcp::is_timeout(&e) => {
                    stage.note(
                        "client: no reply in 0.3 s; unconnected, it never sees the ICMP error",
                    );
                    Ok(())
                }
                other => Err(format!("a datagram to a closed port: {other:?}")),
            }
        })();
        stage.curtain();
        stop.stop();
        joined(serving, "server")?;
        result
    })
}

/// The article's pool, size 2 so the picture stays small: chapter 4.
fn pool_reuse(stage: &Stage) -> Result<(), String> {
    let (demo, server) = (stage.lane("demo"), stage.lane("server"));
    let (listener, port) = port_of(tcp::bind_server(loopback(), tcp::DEFAULT_BACKLOG, TIMEOUT))?;
    stage.listens(port, server);
    stage.calls(port, &[demo]);
    let stop = Stop::new();
    thread::scope(|scope| {
        let serving = scope.spawn(|| pool::serve(&listener, &stop, 8, |_| {}));
        let result = (|| {
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
        })();
        stage.curtain();
        stop.stop();
        joined(serving, "server")?;
        result
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
    stage.listens(port, server);
    stage.calls(port, &[client]);
    let (_held, closed) = closed_tcp_port()?;
    stage.listens(closed, nobody);
    stage.calls(closed, &[client]);
    let limit = Duration::from_millis(500);
    let stop = Stop::new();
    thread::scope(|scope| {
        let serving = scope.spawn(|| {
            timeout::serve(&listener, &stop, timeout::Mode::Silent, |event| {
                stage.note(format!("server: {event}"))
            })
        });
        let ask = |port| {
            let data = timeout::article_request("127.0.0.1", port);
            let result = timeout::safe_request("127.0.0.1", port, &data, limit);
            stage.note(format!("client: {}", timeout::report_line(&result, limit)));
            result
        };
        let result = match (ask(port), ask(closed)) {
            (
                Err(timeout::RequestError::TimedOut { .. }),
                Err(timeout::RequestError::Refused { .. }),
            ) => Ok(()),
            other => Err(format!("expected a timeout, then refused: {other:?}")),
        };
        stage.curtain();
        stop.stop();
        joined(serving, "server")?;
        result
    })
}

/// Two requests on one kept-open connection: chapter 7.
fn http_keepalive(stage: &Stage) -> Result<(), String> {
    let (client, server) = (stage.lane("client"), stage.lane("server"));
    let (listener, port) = port_of(http::listen("127.0.0.1", 0))?;
    stage.listens(port, server);
    stage.calls(port, &[client]);
    let stop = Stop::new();
    thread::scope(|scope| {
        let serving = scope.spawn(|| {
            http::serve(&listener, &stop, |event| {
                stage.note(format!("server: {event}"))
            })
        });
        let result = (|| {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let mut asker =
                http::client::Client::connect(addr, TIMEOUT).map_err(|e| e.to_string())?;
            let got = asker.get("/items?x=1").map_err(|e| e.to_string())?;
            stage.note(format!(
                "client: {} {}",
                got.status,
                http::response::reason(got.status)
            ));
            let posted = asker
                .post("/items", br#"{"name": "Ada"}"#)
                .map_err(|e| e.to_string())?;
            stage.note(format!(
                "client: {} {}",
                posted.status,
                http::response::reason(posted.status)
            ));
            drop(asker);
            if (got.status, posted.status) != (200, 201) {
                return Err(format!(
                    "expected 200 and 201, got {} and {}",
                    got.status, posted.status
                ));
            }
            Ok(())
        })();
        stage.curtain();
        stop.stop();
        joined(serving, "server")?;
        result
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
    stage.listens(port, middle);
    stage.calls(port, &[client]);
    stage.listens(echo_port, server);
    stage.calls(echo_port, &[middle]);
    let forwarder = proxy::TcpProxy::new(port, "127.0.0.1", echo_port);
    let (echo_stop, stop) = (Stop::new(), Stop::new());
    thread::scope(|scope| {
        let echoing = scope.spawn(|| {
            tcp::serve(&echo, &echo_stop, |event| {
                stage.note(format!("server: {event}"))
            })
        });
        let proxying = scope.spawn(|| {
            proxy::serve(&listener, &stop, &forwarder, |event| {
                stage.note(format!("proxy: {}", event.to_string().trim_start()))
            })
        });
        let message = tcp::DEFAULT_MESSAGE.as_bytes();
        let reply = tcp::exchange("127.0.0.1", port, message, TIMEOUT);
        if let Ok(reply) = &reply {
            stage.note(format!("client: Received: {}", cli::python_bytes(reply)));
        }
        stage.curtain();
        stop.stop();
        echo_stop.stop();
        joined(proxying, "proxy")?;
        joined(echoing, "server")?;
        match reply {
            Ok(reply) if reply == tcp::expected_echo(message) => Ok(()),
            Ok(reply) => Err(format!("the echo differs: {}", cli::preview(&reply))),
            Err(e) => Err(format!("client: {e}")),
        }
    })
}
