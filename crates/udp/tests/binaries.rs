//! `udp-server` and `udp-client` driven the way a learner runs them: the
//! server on `--port 0`, its first line read to learn the port, the client
//! pointed at it; every server killed when its test ends.

use std::net::UdpSocket;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
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
    // The signal interrupts the blocked recvfrom (EINTR): that is no error
    // to report.
    assert!(
        !stopped.remaining.iter().any(|line| line.contains("failed")),
        "{:?}",
        stopped.remaining
    );
}

#[test]
fn a_flood_from_one_source_is_dropped_and_reported_once() {
    let server = start(&["--port", "0", "--max-replies-per-second", "5"]);
    let flood = UdpSocket::bind("127.0.0.1:0").unwrap();
    let flood_port = flood.local_addr().unwrap().port();
    // 50 datagrams in well under a second, replies unread.
    for _ in 0..50 {
        flood.send_to(b"flood", server.addr()).unwrap();
    }
    let notice = server.expect_line("ignored 1 datagram from", PATIENCE);
    assert_eq!(
        notice,
        format!(
            "ignored 1 datagram from ('127.0.0.1', {flood_port}): more than 5 a second \
             from one source (a reply loop, or a flood?); no replies to it until it slows down"
        )
    );
    // Every other source has a bucket of its own.
    assert_still_serving("localhost", server.port());
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    let summary = stopped.remaining.last().cloned().unwrap_or_default();
    assert!(
        summary.starts_with("Stopped after 51 datagrams, "),
        "{summary}"
    );
    assert!(summary.ends_with(" over the rate limit."), "{summary}");
    // Fewer notices than drops: at most one a second per source.
    let notices = stopped
        .remaining
        .iter()
        .filter(|line| line.starts_with("ignored "))
        .count();
    assert!(notices <= 1, "{:?}", stopped.remaining);
}

#[test]
fn server_rate_limit_of_zero_is_refused() {
    let output = Command::new(SERVER)
        .args(["--port", "0", "--max-replies-per-second", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.starts_with("error: invalid value '0' for '--max-replies-per-second <N>'"),
        "{message}"
    );
}

#[test]
fn broadcast_flood_is_cut_short_and_only_a_thousand_replies_kept() {
    // Something on the port that answers the broadcast with a flood.
    let flooder = UdpSocket::bind("0.0.0.0:0").unwrap();
    flooder.set_read_timeout(Some(PATIENCE)).unwrap();
    let port = flooder.local_addr().unwrap().port();
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let output = thread::scope(|scope| {
        scope.spawn(|| {
            let mut buf = [0u8; 64];
            let Ok((_, client)) = flooder.recv_from(&mut buf) else {
                return;
            };
            while !done.load(Ordering::Relaxed) && started.elapsed() < PATIENCE {
                let _ = flooder.send_to(b"ACK: flood", client);
            }
        });
        let output = client(&[
            "--broadcast",
            "--port",
            &port.to_string(),
            "--timeout",
            "20",
        ]);
        done.store(true, Ordering::Relaxed);
        output
    });

    assert!(output.status.success(), "{}", stderr(&output));
    // It stopped at the read limit, long before its 20 s timeout.
    assert!(started.elapsed() < PATIENCE, "{:?}", started.elapsed());
    let out = stdout(&output);
    let shown = out
        .lines()
        .filter(|line| line.starts_with("Server response from 127.0.0.1:"))
        .count();
    assert_eq!(shown, 1000);
    let tail: Vec<&str> = out.lines().rev().take(2).collect();
    assert_eq!(
        tail,
        ["100000 replies", "and 99000 more replies not shown"],
        "{out:.300}"
    );
    assert_eq!(
        stderr(&output),
        format!(
            "warning: stopped listening after 100000 replies, before the 20 s timeout: \
             is something flooding port {port}?\n"
        )
    );
}

/// What `udp-client` says, on every path, about a message no datagram can
/// carry (the kernel alone says "Message too long (os error 90)").
const TOO_LONG: &str = "error: the message is 70000 bytes, more than one UDP datagram can \
    carry: at most 65507 bytes over IPv4, 65527 over IPv6 (65535, the most a 16-bit length \
    can say, less the headers)\n";

#[test]
fn message_longer_than_a_datagram_says_what_the_limit_is() {
    let server = start(&["--port", "0"]);
    let port = server.port().to_string();
    let message = "x".repeat(70_000);
    for extra in [&[][..], &["--count", "10"], &["--broadcast"]] {
        let output = client(&[&["--port", &port, "--message", &message][..], extra].concat());
        assert_eq!(output.status.code(), Some(1), "{extra:?}");
        assert_eq!(stderr(&output), TOO_LONG, "{extra:?}");
    }
    assert_still_serving("localhost", server.port());
    // Nothing was sent: the first datagram the server saw is the last test's.
    assert!(next_line(&server).ends_with(": b'Hello, UDP Server!'"));
}

#[test]
fn load_mode_names_the_server_as_the_user_wrote_it() {
    let server = start(&["--port", "0", "--quiet"]);
    let port = server.port().to_string();
    let output = client(&["--port", &port, "--count", "20"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let first = stdout(&output)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        first,
        format!("Sending 20 requests to localhost:{port}, 1 at a time...")
    );

    let server = start(&["--host", "::1", "--port", "0", "--quiet"]);
    let port = server.port().to_string();
    let output = client(&["--host", "::1", "--port", &port, "--count", "20"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with(&format!(
            "Sending 20 requests to [::1]:{port}, 1 at a time...\n"
        )),
        "{}",
        stdout(&output)
    );
}

#[test]
fn flag_values_out_of_range_get_one_line_errors() {
    for (args, expect) in [
        (&["--timeout", "1e19"][..], "1e19 s is too long"),
        (&["--timeout", "inf"][..], "inf s is too long"),
        (&["--timeout", "-1"][..], "-1 s is not a usable time"),
        (
            &["--count", "0"][..],
            "invalid value '0' for '--count <COUNT>'",
        ),
        (
            &["--count", "5", "--concurrency", "0"][..],
            "invalid value '0' for '--concurrency <CONCURRENCY>'",
        ),
        // No datagram can be addressed to port 0: the kernel's bare EINVAL
        // becomes the flag's own error.
        (
            &["--port", "0"][..],
            "invalid value '0' for '--port <PORT>'",
        ),
    ] {
        let output = client(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let message = stderr(&output);
        let first = message.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: "), "{args:?}: {message}");
        assert!(first.contains(expect), "{args:?}: {message}");
        assert!(!message.contains("panicked"), "{args:?}: {message}");
        assert_eq!(stdout(&output), "", "{args:?}");
    }
}

#[test]
fn more_clients_than_requests_are_capped_at_the_count() {
    let server = start(&["--port", "0", "--quiet"]);
    let port = server.port().to_string();
    let output = client(&["--port", &port, "--count", "1", "--concurrency", "5000"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.starts_with(&format!(
            "Sending 1 requests to localhost:{port}, 1 at a time...\n1 requests, 1 concurrent"
        )),
        "{out}"
    );
}

#[test]
fn load_mode_json_is_one_line_with_the_agreed_keys() {
    let server = start(&["--port", "0", "--quiet"]);
    let port = server.port().to_string();
    let output = client(&["--port", &port, "--count", "50", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let line = stdout(&output);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.starts_with(r#"{"n": 50, "ok": 50, "errors": 0, "rps": "#),
        "{line}"
    );
}
