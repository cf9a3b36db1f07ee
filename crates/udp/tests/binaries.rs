//! `udp-server` and `udp-client` driven the way a learner runs them: the
//! server on `--port 0`, its first line read to learn the port, the client
//! pointed at it; every server killed when its test ends.

use std::net::UdpSocket;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use test_support::Server;

const SERVER: &str = env!("CARGO_BIN_EXE_udp-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_udp-client");
/// A hang guard only: loopback answers in microseconds.
const PATIENCE: Duration = Duration::from_secs(10);

/// Starts `udp-server` with `args`; test-support reads the port from its
/// first line, `UDP server ready on port N...`, and kills it when dropped.
fn start(args: &[&str]) -> Server {
    Server::start(SERVER, args).unwrap()
}

/// The server's next line.
fn next_line(server: &Server) -> String {
    server
        .next_line(PATIENCE)
        .expect("the server printed nothing")
}

fn client(args: &[&str]) -> Output {
    Command::new(CLIENT).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The article's client against `port`: proof the server is still serving.
fn assert_still_serving(host: &str, port: u16) {
    let output = client(&["--host", host, "--port", &port.to_string()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "Server response: b'ACK: Hello, UDP Server!'\n"
    );
}

#[test]
fn article_exchange_through_the_binaries() {
    let server = start(&["--port", "0"]);
    let output = client(&["--port", &server.port().to_string()]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "Server response: b'ACK: Hello, UDP Server!'\n"
    );
    let line = next_line(&server);
    assert!(line.starts_with("Received from ('127.0.0.1', "), "{line}");
    assert!(line.ends_with(": b'Hello, UDP Server!'"), "{line}");
}

#[test]
fn ipv6_exchange_through_the_binaries() {
    let server = start(&["--host", "::1", "--port", "0"]);
    assert_still_serving("::1", server.port());
    let line = next_line(&server);
    assert!(line.starts_with("Received from ('::1', "), "{line}");
    assert!(line.contains(", 0, 0): b'"), "{line}");
}

#[test]
fn empty_message_gets_a_bare_ack() {
    let server = start(&["--port", "0"]);
    let port = server.port().to_string();
    let output = client(&["--port", &port, "--message", ""]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "Server response: b'ACK: '\n");
    assert!(next_line(&server).ends_with(": b''"));
    assert_still_serving("localhost", server.port());
}

#[test]
fn client_without_server_says_so_and_fails() {
    // A socket that holds the port and never answers: no reply is certain,
    // and no other test can start a server there meanwhile.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();

    let started = Instant::now();
    let output = client(&["--host", "127.0.0.1", "--port", &port, "--timeout", "0.3"]);

    assert!(!output.status.success());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        stderr(&output),
        format!(
            "error: no reply from 127.0.0.1:{port} within 0.3 s — \
             is udp-server running? (just udp-server)\n"
        )
    );
    assert_eq!(stdout(&output), "");
}

#[test]
fn port_already_in_use_names_the_port_and_the_flag() {
    let server = start(&["--port", "0"]);
    let port = server.port().to_string();

    let output = Command::new(SERVER)
        .args(["--port", &port])
        .output()
        .unwrap();

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.starts_with("error: cannot bind "), "{message}");
    assert!(
        message.contains(&format!(":{port}: address in use")),
        "{message}"
    );
    assert!(message.contains("--port"), "{message}");
    assert_still_serving("localhost", server.port());
}

#[test]
fn broadcast_gets_an_ack_from_every_reuse_addr_server() {
    let first = start(&["--host", "0.0.0.0", "--port", "0", "--reuse-addr"]);
    let port = first.port().to_string();
    let second = start(&["--host", "0.0.0.0", "--port", &port, "--reuse-addr"]);

    let output = client(&["--broadcast", "--port", &port, "--timeout", "1"]);

    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    let responses: Vec<&str> = out
        .lines()
        .filter(|line| line.starts_with("Server response from 127.0.0.1:"))
        .collect();
    assert_eq!(responses.len(), 2, "{out}");
    for line in responses {
        assert!(line.ends_with(": b'ACK: Hello, UDP Server!'"), "{line}");
    }
    for server in [&first, &second] {
        assert!(next_line(server).ends_with(": b'Hello, UDP Server!'"));
    }
}

#[test]
fn broadcast_with_no_server_says_so_and_fails() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let output = client(&["--broadcast", "--port", &port, "--timeout", "0.3"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no reply to the broadcast"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn broadcast_over_ipv6_is_refused() {
    let output = client(&["--broadcast", "--host", "::1", "--timeout", "0.3"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.starts_with("error: --broadcast is IPv4 only"),
        "{message}"
    );
}

#[test]
fn load_mode_reports_speed_and_no_loss() {
    let server = start(&["--port", "0", "--quiet"]);
    let port = server.port().to_string();
    let output = client(&["--port", &port, "--count", "500", "--concurrency", "4"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("500 requests, 4 concurrent"), "{out}");
    assert!(out.contains("(0.00% lost)"), "{out}");
}

#[test]
fn load_mode_without_server_is_one_clear_error() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let output = client(&[
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--count",
        "1000",
        "--timeout",
        "0.3",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no reply from"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn sigterm_stops_the_server_with_a_summary_and_exit_0() {
    let server = start(&["--port", "0"]);
    assert_still_serving("localhost", server.port());
    let stopped = server.stop();
    assert!(!stopped.killed, "SIGTERM did not stop it: {stopped:?}");
    assert!(stopped.status.success(), "{stopped:?}");
    assert_eq!(
        stopped.remaining.last().map(String::as_str),
        Some("Stopped after 1 datagram, 1 answered.")
    );
}
