//! `slow-server` and `safe-request` driven as a learner drives them from
//! two terminals: the server on a free port, the client pointed at it.

use std::io::Read;
use std::net::TcpListener;
use std::process::Output;
use std::thread;
use std::time::{Duration, Instant};

use test_support::{Server, run};

const SLOW: &str = env!("CARGO_BIN_EXE_slow-server");
const SAFE: &str = env!("CARGO_BIN_EXE_safe-request");
/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(20);

fn slow_server(mode: &str) -> Server {
    Server::start(SLOW, &["--host", "127.0.0.1", "--mode", mode]).unwrap()
}

/// `safe-request --host 127.0.0.1 --port PORT extra...`, and how long it took.
fn safe_request(port: u16, extra: &[&str]) -> (Output, Duration) {
    let port = port.to_string();
    let mut args = vec!["--host", "127.0.0.1", "--port", &port];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let out = run(SAFE, &args, None, PATIENCE).unwrap();
    (out, started.elapsed())
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_slow_server_says_its_mode_and_port_first() {
    let server = slow_server("trickle");
    assert_eq!(
        server.first_line(),
        format!(
            "Slow server (mode trickle) listening on port {}...",
            server.port()
        )
    );
}

#[test]
fn each_misbehaving_server_gets_its_line_and_exit_status() {
    let keepalive = format!(
        "Received {} bytes (complete by Content-Length: {}; the server kept the connection open)\n",
        timeout::keepalive_response().len(),
        timeout::KEEPALIVE_BODY.len()
    );
    let cases: [(&str, &[&str], i32, &str); 5] = [
        ("keepalive", &[], 0, &keepalive),
        (
            "silent",
            &["--timeout", "1"],
            6,
            "Operation timed out after 1.0 seconds (receive timed out: 127.0.0.1:",
        ),
        (
            "trickle",
            &["--timeout", "1"],
            7,
            "Operation timed out after 1.0 seconds (deadline exceeded: the response from 127.0.0.1:",
        ),
        (
            "flood",
            &["--max-bytes", "100000"],
            8,
            "Response too large: more than 100000 bytes arrived; stopped reading (--max-bytes)\n",
        ),
        (
            "reset",
            &[],
            9,
            "Network error: connection reset by 127.0.0.1:",
        ),
    ];
    for (mode, extra, code, line) in cases {
        let server = slow_server(mode);
        let (out, took) = safe_request(server.port(), extra);
        assert_eq!(out.status.code(), Some(code), "{mode}: {}", stdout(&out));
        assert!(stdout(&out).starts_with(line), "{mode}: {}", stdout(&out));
        assert!(took < Duration::from_secs(3), "{mode} took {took:?}");
        server.expect_line("Connection from ('127.0.0.1', ", PATIENCE);
    }
}

#[test]
fn nothing_listening_is_refused_with_its_own_status() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (out, _) = safe_request(port, &[]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(
        stdout(&out),
        format!(
            "Network error: connection refused by 127.0.0.1:{port}: nothing listens on that port\n"
        )
    );
}

#[test]
fn a_name_that_does_not_resolve_has_its_own_status() {
    let out = run(SAFE, &["--host", "no-such-host.invalid"], None, PATIENCE).unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout(&out).starts_with("Network error: cannot resolve no-such-host.invalid"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn help_lists_every_exit_status() {
    let out = run(SAFE, &["--help"], None, PATIENCE).unwrap();
    let help = stdout(&out);
    for (code, meaning) in timeout::EXIT_CODES {
        assert!(help.contains(&format!("  {code}  {meaning}")), "{help}");
    }
    for flag in ["--host", "--port", "--timeout", "--data", "--max-bytes"] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
}

#[test]
fn data_is_sent_as_given_with_its_escapes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut request = [0u8; 64];
        let n = stream.read(&mut request).unwrap();
        request[..n].to_vec()
        // Dropped here: the close ends the client's read.
    });
    let (out, _) = safe_request(port, &["--data", r"PING\r\n"]);
    assert_eq!(server.join().unwrap(), b"PING\r\n");
    assert_eq!(stdout(&out), "Received 0 bytes\n");
    assert!(out.status.success());
}

#[test]
fn bad_flags_get_one_line_errors() {
    for (args, expect) in [
        (&["--timeout", "0"][..], "more than 0 seconds"),
        (&["--max-bytes", "0"][..], "--max-bytes"),
    ] {
        let out = run(SAFE, args, None, PATIENCE).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
    }
    let out = run(SLOW, &["--mode", "sulky"], None, PATIENCE).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("silent, trickle, keepalive, flood, reset"),
        "{stderr}"
    );
}

#[test]
fn the_slow_server_stops_on_sigterm_with_a_summary() {
    let server = slow_server("silent");
    let (out, _) = safe_request(server.port(), &["--timeout", "0.2"]);
    assert_eq!(out.status.code(), Some(6));
    server.expect_line("closed the connection; 0 bytes sent", PATIENCE);
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(!stopped.killed);
    assert_eq!(stopped.remaining, ["Stopped after 1 connection."]);
}

#[test]
fn the_slow_server_hangs_up_after_its_time_limit() {
    let server = Server::start(
        SLOW,
        &[
            "--host",
            "127.0.0.1",
            "--mode",
            "trickle",
            "--max-connection-time",
            "0.5",
        ],
    )
    .unwrap();
    let (out, _) = safe_request(server.port(), &["--timeout", "5"]);
    // The trickle ends with the server's close: a whole response.
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("Received "), "{}", stdout(&out));
    server.expect_line("hung up after 0.5 s (--max-connection-time)", PATIENCE);
}

#[test]
fn a_taken_port_is_a_one_line_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run(
        SLOW,
        &["--host", "127.0.0.1", "--port", &port],
        None,
        PATIENCE,
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot bind 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("try --port"), "{stderr}");
}
