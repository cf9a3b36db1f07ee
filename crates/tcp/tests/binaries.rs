//! `tcp-server` and `tcp-client` driven as a learner drives them from two
//! terminals: the server on a free port, the client pointed at it.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use test_support::Server;

const SERVER: &str = env!("CARGO_BIN_EXE_tcp-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_tcp-client");

/// Generous: only there so a broken server fails the test instead of
/// hanging it.
const PATIENCE: Duration = Duration::from_secs(10);

/// Starts the server on port 0 (test-support reads the port from its first
/// line, `Server listening on port N...`): no fixed port, no sleep.
fn start_server(extra: &[&str]) -> Server {
    let mut args = vec!["--host", "127.0.0.1"];
    args.extend_from_slice(extra);
    Server::start(SERVER, &args).unwrap()
}

fn client(port: u16, extra: &[&str]) -> Output {
    Command::new(CLIENT)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(extra)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn client_prints_the_echo_like_the_article() {
    let server = start_server(&[]);
    let out = client(server.port(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Received: b'Echo: Hello, Server!'\n");
    let line = server.expect_line("Connection from ", PATIENCE);
    assert!(line.starts_with("Connection from ('127.0.0.1', "), "{line}");
}

#[test]
fn client_sends_the_message_it_is_given() {
    let server = start_server(&["--threads"]);
    let out = client(server.port(), &["--message", "hi there"]);
    assert_eq!(text(&out.stdout), "Received: b'Echo: hi there'\n");
}

#[test]
fn load_mode_reports_throughput_and_latency() {
    let server = start_server(&[]);
    let out = client(server.port(), &["--count", "200", "--concurrency", "4"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("200 requests, 4 concurrent"), "{stdout}");
    assert!(stdout.contains("latency p50"), "{stdout}");
    assert!(stdout.contains("errors 0, timed out 0"), "{stdout}");
}

#[test]
fn client_without_a_server_says_connection_refused() {
    // Bind and drop: the port is free and nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = client(port, &[]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot connect to 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("connection refused"), "{stderr}");
}

#[test]
fn port_in_use_names_the_port_and_the_flag() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = Command::new(SERVER)
        .args(["--host", "127.0.0.1", "--port", &port])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("address in use"), "{stderr}");
    assert!(stderr.contains("--port"), "{stderr}");
}

#[test]
fn bad_flag_values_get_a_clear_error() {
    let out = Command::new(SERVER)
        .args(["--idle-timeout", "soon"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("'soon' is not a number of seconds"));
    let out = Command::new(CLIENT)
        .args(["--port", "99999"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("99999"));
}

#[test]
fn server_that_reads_once_gets_a_reset_explained() {
    // The article's server: one recv(1024), reply, close. Closing with the
    // rest of a 3000-byte message unread makes the kernel send a reset.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let n = std::io::Read::read(&mut stream, &mut buf).unwrap();
        std::io::Write::write_all(&mut stream, &[b"Echo: ", &buf[..n]].concat()).unwrap();
    });
    let message = "x".repeat(3000);
    let out = client(port, &["--message", &message]);
    server.join().unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("reset the connection"), "{stderr}");
    assert!(stderr.contains("before reading all 3000 bytes"), "{stderr}");
}

#[test]
fn sigterm_stops_the_server_with_a_summary_and_exit_0() {
    let server = start_server(&["--threads", "4"]);
    let out = client(server.port(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    server.expect_line("Connection from ", PATIENCE);
    let stopped = server.stop();
    assert!(!stopped.killed, "SIGTERM did not stop it: {stopped:?}");
    assert!(stopped.status.success(), "{stopped:?}");
    assert_eq!(stopped.remaining, ["Stopped after 1 connection."]);
}
