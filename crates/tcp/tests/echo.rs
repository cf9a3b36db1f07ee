//! The echo server and client over real loopback sockets: the article's
//! exchange first, then every way a client can misbehave. Each misbehaviour
//! test ends by checking that the server still serves the next client.
#![allow(clippy::print_stderr, reason = "a skipped test says why")]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use tcp::{
    Stop, Summary, bind_server, expected_echo, handle_client, request, serve, serve_prethreaded,
};
use test_support::Background;

/// Only guards against hangs; every exchange here takes milliseconds.
const GUARD: Duration = Duration::from_secs(10);

/// A server on its own thread, stopped (and joined) when dropped.
struct Server {
    addr: SocketAddr,
    log: Receiver<String>,
    running: Background<std::io::Result<Summary>>,
}

impl Server {
    /// Stops the server and returns what it reports.
    fn stop(self) -> Summary {
        self.running.stop().unwrap()
    }

    /// Waits for the next log line that contains `needle`.
    fn expect_log(&self, needle: &str) -> String {
        loop {
            let line = self
                .log
                .recv_timeout(GUARD)
                .unwrap_or_else(|_| panic!("no log line containing {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }
}

/// Binds port 0 before the server thread starts, so clients can connect at
/// once: the kernel queues them until `accept`.
fn start(ip: SocketAddr, config: Config) -> Server {
    let listener = bind_server(ip, tcp::DEFAULT_BACKLOG, config.idle_timeout).unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, log) = mpsc::channel();
    let stop = Arc::new(Stop::new());
    let on_stop = Arc::clone(&stop);
    let running = Background::spawn(
        move || on_stop.stop(),
        move || {
            let tx = std::sync::Mutex::new(tx);
            let log = |event: tcp::Event| {
                let _ = tx.lock().unwrap().send(event.to_string());
            };
            match config.workers {
                1 => serve(&listener, &stop, log),
                n => serve_prethreaded(&listener, &stop, n, log),
            }
        },
    );
    Server { addr, log, running }
}

/// How a test's server runs.
#[derive(Clone, Copy)]
struct Config {
    idle_timeout: Duration,
    workers: usize,
}

fn start_v4(config: Config) -> Server {
    start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config)
}

/// For tests about anything but idleness: a loaded machine must not turn a
/// pause inside a message into "the client went quiet".
fn patient() -> Config {
    Config {
        idle_timeout: GUARD,
        workers: 1,
    }
}

/// For tests about idleness: quiet is declared quickly.
fn quick() -> Config {
    Config {
        idle_timeout: Duration::from_millis(200),
        workers: 1,
    }
}

fn echo(addr: SocketAddr, message: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    request(&mut stream, message, GUARD).unwrap()
}

fn assert_still_serving(server: &Server) {
    assert_eq!(echo(server.addr, b"next"), b"Echo: next");
}

#[test]
fn article_exchange_echoes_the_message() {
    let server = start_v4(patient());
    assert_eq!(
        echo(server.addr, b"Hello, Server!"),
        b"Echo: Hello, Server!"
    );
    assert!(
        server
            .expect_log("Connection from ('127.0.0.1', ")
            .ends_with(")")
    );
}

#[test]
fn article_style_client_gets_the_whole_reply_in_one_read() {
    // The article's client: one send, one recv(1024), close, no half-close.
    let server = start_v4(patient());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    stream.write_all(b"Hello, Server!").unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"Echo: Hello, Server!");
    drop(stream);
    assert_still_serving(&server);
}

#[test]
fn message_split_across_segments_is_echoed_whole() {
    let server = start_v4(patient());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.write_all(b"Hello, ").unwrap();
    // Long enough that the two halves are separate segments and reads.
    thread::sleep(Duration::from_millis(100));
    stream.write_all(b"Server!").unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut reply = Vec::new();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    stream.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, b"Echo: Hello, Server!");
    assert_still_serving(&server);
}

#[test]
fn long_message_is_echoed_whole_without_a_reset() {
    let server = start_v4(patient());
    let message: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(echo(server.addr, &message), expected_echo(&message));
    assert_still_serving(&server);
}

#[test]
fn client_that_closes_at_once_gets_nothing_and_server_goes_on() {
    let server = start_v4(patient());
    drop(TcpStream::connect(server.addr).unwrap());
    server.expect_log("Connection from");
    assert_still_serving(&server);
}

#[test]
fn idle_client_is_dropped_and_the_next_client_is_served() {
    let server = start_v4(quick());
    let mut idle = TcpStream::connect(server.addr).unwrap();
    // The next client queues behind the idle one (serial server) and is
    // served once the quiet period has passed.
    assert_still_serving(&server);
    server.expect_log("sent nothing; closed");
    // The server closed the idle connection: its read sees end-of-stream.
    idle.set_read_timeout(Some(GUARD)).unwrap();
    let mut rest = Vec::new();
    assert_eq!(idle.read_to_end(&mut rest).unwrap(), 0);
}

#[test]
fn client_that_never_closes_gets_its_echo_then_end_of_stream() {
    let server = start_v4(quick());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(b"no half-close").unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, b"Echo: no half-close");
    server.expect_log("went quiet after 13 bytes");
    assert_still_serving(&server);
}

#[test]
fn two_hundred_clients_at_once_are_all_answered() {
    let server = start_v4(patient());
    let addr = server.addr;
    thread::scope(|scope| {
        let clients: Vec<_> = (0..200)
            .map(|i| {
                scope.spawn(move || {
                    let message = format!("client {i}");
                    assert_eq!(
                        echo(addr, message.as_bytes()),
                        expected_echo(message.as_bytes())
                    );
                })
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
    });
    assert_still_serving(&server);
}

#[test]
fn threaded_server_serves_others_while_a_client_idles() {
    // An idle timeout far longer than the client's: a serial server would
    // make the second client time out; a threaded one answers at once.
    let server = start_v4(Config {
        idle_timeout: Duration::from_secs(60),
        workers: 4,
    });
    let _idle = TcpStream::connect(server.addr).unwrap();
    server.expect_log("Connection from");
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let reply = request(&mut stream, b"not blocked", Duration::from_secs(5)).unwrap();
    assert_eq!(reply, b"Echo: not blocked");
}

#[test]
fn serial_server_makes_clients_wait_behind_an_idle_one() {
    // The counterpart of the test above: the article's one-at-a-time loop
    // cannot answer while it waits on a silent client.
    let server = start_v4(Config {
        idle_timeout: Duration::from_secs(60),
        workers: 1,
    });
    let _idle = TcpStream::connect(server.addr).unwrap();
    server.expect_log("Connection from");
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let err = request(&mut stream, b"queued", Duration::from_millis(300)).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
}

#[test]
fn client_reads_a_reply_sent_in_pieces() {
    // A server that answers in two segments, 200 ms apart: one recv would
    // print only the first piece.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        stream.read_to_end(&mut request).unwrap();
        stream.write_all(b"Echo: Hel").unwrap();
        thread::sleep(Duration::from_millis(200));
        stream.write_all(b"lo, Server!").unwrap();
        request
    });
    assert_eq!(echo(addr, b"Hello, Server!"), b"Echo: Hello, Server!");
    assert_eq!(server.join().unwrap(), b"Hello, Server!");
}

#[test]
fn handle_client_reports_how_the_connection_ended() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = thread::spawn(move || echo(addr, b"12345"));
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    let ending = handle_client(stream, None).unwrap();
    assert_eq!(ending, tcp::Ending::Finished(5));
    assert_eq!(client.join().unwrap(), b"Echo: 12345");
}

#[test]
fn exchange_works_over_ipv6() {
    let Ok(probe) = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) else {
        eprintln!("skipped: this machine has no ::1");
        return;
    };
    drop(probe);
    let server = start(SocketAddr::from((Ipv6Addr::LOCALHOST, 0)), patient());
    assert!(server.addr.is_ipv6());
    let mut stream = tcp::connect("::1", server.addr.port(), GUARD).unwrap();
    assert_eq!(request(&mut stream, b"six", GUARD).unwrap(), b"Echo: six");
    assert!(
        server
            .expect_log("Connection from ('::1', ")
            .ends_with(", 0, 0)")
    );
}

#[test]
fn stop_ends_a_serial_server_blocked_in_accept_and_reports_its_count() {
    let server = start_v4(patient());
    echo(server.addr, b"one");
    echo(server.addr, b"two");
    let asked = Instant::now();
    assert_eq!(server.stop(), Summary { connections: 2 });
    // Promptly: the wake-up connection, not the accept timeout, ended it.
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
}

#[test]
fn stop_ends_every_worker_of_a_threaded_server() {
    let server = start_v4(Config {
        idle_timeout: GUARD,
        workers: 8,
    });
    for i in 0..20 {
        let message = format!("client {i}");
        assert_eq!(
            echo(server.addr, message.as_bytes()),
            expected_echo(message.as_bytes())
        );
    }
    assert_eq!(server.stop(), Summary { connections: 20 });
}

#[test]
fn a_stop_before_the_server_starts_is_not_lost() {
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let listener = bind_server(any, 16, GUARD).unwrap();
    let stop = Stop::new();
    stop.stop();
    let summary = serve(&listener, &stop, |_| {}).unwrap();
    assert_eq!(summary.connections, 0);
}

#[test]
fn the_worker_pool_grows_past_its_first_threads_for_silent_clients() {
    // Ten silent clients hold ten workers; the pool started with fewer and
    // must add one whenever all are busy, so the eleventh is still served.
    let server = start_v4(Config {
        idle_timeout: Duration::from_secs(60),
        workers: 32,
    });
    let silent: Vec<TcpStream> = (0..10)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    for _ in &silent {
        server.expect_log("Connection from");
    }
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let reply = request(&mut stream, b"still served", Duration::from_secs(5)).unwrap();
    assert_eq!(reply, b"Echo: still served");
    drop(silent);
    server.stop();
}

#[test]
fn past_the_worker_cap_clients_wait_in_the_backlog() {
    let server = start_v4(Config {
        idle_timeout: Duration::from_secs(60),
        workers: 2,
    });
    let silent: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    for _ in &silent {
        server.expect_log("Connection from");
    }
    // Connected (the kernel completes the handshake) but not served.
    let mut waiting = TcpStream::connect(server.addr).unwrap();
    let err = request(&mut waiting, b"wait", Duration::from_millis(300)).unwrap_err();
    assert!(tcp::is_timeout(&err), "{err}");
    // A worker freed is a worker for the next client.
    drop(silent);
    let mut next = TcpStream::connect(server.addr).unwrap();
    assert_eq!(request(&mut next, b"now", GUARD).unwrap(), b"Echo: now");
}
