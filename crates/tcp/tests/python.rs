//! The article's Python and our binaries, side by side: each client against
//! each server, and the lines both servers print compared after the one
//! thing that differs from run to run, the client's port. Skipped, with the
//! reason printed, where python3 is missing.

use std::time::Duration;

use test_support::{ARTICLE_SCRIPT, PythonServer, Server, article_program, run, run_python};

const SERVER: &str = env!("CARGO_BIN_EXE_tcp-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_tcp-client");
/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(20);

fn python_client(port: u16) -> String {
    let port = port.to_string();
    let args = ["tcp-client", "--host", "127.0.0.1", "--port", &port];
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

/// `Connection from ('127.0.0.1', 54321)` with the port replaced by `PORT`.
fn without_port(line: &str) -> String {
    match line.rsplit_once(", ") {
        Some((head, tail)) if tail.trim_end_matches(')').parse::<u16>().is_ok() => {
            format!("{head}, PORT)")
        }
        _ => line.to_string(),
    }
}

#[test]
fn every_client_gets_the_same_reply_from_either_server() {
    if test_support::skip_without_python("tcp: every_client_gets_the_same_reply").is_none() {
        return;
    }
    let python = PythonServer::start(article_program(ARTICLE_SCRIPT), &["tcp-server"]).unwrap();
    let rust = Server::start(SERVER, &["--host", "127.0.0.1"]).unwrap();
    let article = "Received: b'Echo: Hello, Server!'\n";
    for port in [python.port(), rust.port()] {
        assert_eq!(python_client(port), article);
        assert_eq!(rust_client(port), article);
    }
}

#[test]
fn both_servers_print_the_same_connection_line() {
    if test_support::skip_without_python("tcp: both_servers_print_the_same_line").is_none() {
        return;
    }
    let python = PythonServer::start(article_program(ARTICLE_SCRIPT), &["tcp-server"]).unwrap();
    let rust = Server::start(SERVER, &["--host", "127.0.0.1"]).unwrap();
    python_client(python.port());
    python_client(rust.port());
    let theirs = python.expect_line("Connection from", PATIENCE);
    let ours = rust.expect_line("Connection from", PATIENCE);
    assert_eq!(without_port(&ours), without_port(&theirs));
    assert_eq!(without_port(&ours), "Connection from ('127.0.0.1', PORT)");
}
