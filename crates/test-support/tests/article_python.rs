//! The article's Python programs, as rendered in `python/article.py`, talk to
//! each other the way the article shows: the same proof the chapter crates
//! rely on when they run their binaries against this script.

use std::time::Duration;

use test_support::{
    ARTICLE_SCRIPT, PythonServer, article_program, run_python, skip_without_python,
};

/// Every wait in these tests; Python starts in well under a second.
const PATIENCE: Duration = Duration::from_secs(20);

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "client failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn python_tcp_client_gets_its_echo_from_the_python_tcp_server() {
    let Some(_python) =
        skip_without_python("python_tcp_client_gets_its_echo_from_the_python_tcp_server")
    else {
        return;
    };
    let script = article_program(ARTICLE_SCRIPT);
    let server = PythonServer::start(&script, &["tcp-server", "--host", "127.0.0.1"]).unwrap();
    assert_eq!(
        server.first_line(),
        format!("Server listening on port {}...", server.port())
    );

    let port = server.port().to_string();
    let args = ["tcp-client", "--host", "127.0.0.1", "--port", &port];
    let output = run_python(&script, &args, None, PATIENCE).unwrap();
    assert_eq!(stdout(&output), "Received: b'Echo: Hello, Server!'\n");

    let line = server.expect_line("Connection from", PATIENCE);
    assert!(line.starts_with("Connection from ('127.0.0.1', "), "{line}");
    let stopped = server.stop();
    assert!(!stopped.killed, "{stopped:?}");
}

#[test]
fn python_udp_client_gets_its_ack_from_the_python_udp_server() {
    let Some(_python) =
        skip_without_python("python_udp_client_gets_its_ack_from_the_python_udp_server")
    else {
        return;
    };
    let script = article_program(ARTICLE_SCRIPT);
    let server = PythonServer::start(&script, &["udp-server", "--host", "127.0.0.1"]).unwrap();
    assert_eq!(server.first_line(), "UDP server ready...");

    let port = server.port().to_string();
    let args = [
        "udp-client",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--timeout",
        "10",
    ];
    let output = run_python(&script, &args, None, PATIENCE).unwrap();
    assert_eq!(
        stdout(&output),
        "Server response: b'ACK: Hello, UDP Server!'\n"
    );

    let line = server.expect_line("Received from", PATIENCE);
    assert!(line.starts_with("Received from ('127.0.0.1', "), "{line}");
    assert!(line.ends_with("): b'Hello, UDP Server!'"), "{line}");
}

#[test]
fn python_udp_client_gives_up_after_its_timeout() {
    let Some(_python) = skip_without_python("python_udp_client_gives_up_after_its_timeout") else {
        return;
    };
    // A bound socket that never answers: the client's datagram goes nowhere.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let args = [
        "udp-client",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--timeout",
        "0.2",
    ];
    let output = run_python(article_program(ARTICLE_SCRIPT), &args, None, PATIENCE).unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no response within 0.2 seconds"),
        "{output:?}"
    );
}
