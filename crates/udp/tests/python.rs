//! The article's Python and our binaries, side by side: each client against
//! each server, and the lines both servers print compared after the one
//! thing that differs from run to run, the client's port. Skipped, with the
//! reason printed, where python3 is missing.

use std::time::Duration;

use test_support::{ARTICLE_SCRIPT, PythonServer, Server, article_program, run, run_python};

const SERVER: &str = env!("CARGO_BIN_EXE_udp-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_udp-client");
/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(20);

fn python_client(port: u16) -> String {
    let port = port.to_string();
    let args = [
        "udp-client",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--timeout",
        "10",
    ];
    let out = run_python(article_program(ARTICLE_SCRIPT), &args, None, PATIENCE).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn rust_client(port: u16) -> String {
    let port = port.to_string();
    let args = ["--host", "127.0.0.1", "--port", &port];
    let out = run(CLIENT, &args, None, PATIENCE).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `Received from ('127.0.0.1', 54321): b'...'` with the port replaced.
fn without_port(line: &str) -> String {
    let Some((head, rest)) = line.split_once("', ") else {
        return line.to_string();
    };
    let Some((_port, tail)) = rest.split_once(')') else {
        return line.to_string();
    };
    format!("{head}', PORT){tail}")
}

#[test]
fn every_client_gets_the_same_reply_from_either_server() {
    if test_support::skip_without_python("udp: every_client_gets_the_same_reply").is_none() {
        return;
    }
    let python = PythonServer::start(article_program(ARTICLE_SCRIPT), &["udp-server"]).unwrap();
    let rust = Server::start(SERVER, &["--host", "127.0.0.1"]).unwrap();
    let article = "Server response: b'ACK: Hello, UDP Server!'\n";
    for port in [python.port(), rust.port()] {
        assert_eq!(python_client(port), article);
        assert_eq!(rust_client(port), article);
    }
}

#[test]
fn both_servers_print_the_same_received_line() {
    if test_support::skip_without_python("udp: both_servers_print_the_same_line").is_none() {
        return;
    }
    let python = PythonServer::start(article_program(ARTICLE_SCRIPT), &["udp-server"]).unwrap();
    let rust = Server::start(SERVER, &["--host", "127.0.0.1"]).unwrap();
    python_client(python.port());
    python_client(rust.port());
    let theirs = python.expect_line("Received from", PATIENCE);
    let ours = rust.expect_line("Received from", PATIENCE);
    assert_eq!(without_port(&ours), without_port(&theirs));
    assert_eq!(
        without_port(&ours),
        "Received from ('127.0.0.1', PORT): b'Hello, UDP Server!'"
    );
}
