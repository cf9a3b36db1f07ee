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
    assert!(stderr.contains("part of our 3000 bytes unread"), "{stderr}");
    assert!(stderr.contains("recv(1024)"), "{stderr}");
}

#[test]
fn what_arrived_before_a_reset_is_shown_and_not_blamed_on_recv() {
    // A server that reads everything, answers half, and aborts: SO_LINGER 0
    // makes its close a reset. The client shows the half that arrived and
    // does not guess at a cause it cannot know.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut request).unwrap();
        std::io::Write::write_all(&mut stream, b"Echo: Hel").unwrap();
        thread::sleep(Duration::from_millis(100));
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    });
    let out = client(port, &[]);
    server.join().unwrap();
    assert!(!out.status.success());
    assert_eq!(text(&out.stdout), "Received: b'Echo: Hel'\n");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("reset the connection after 9 bytes of reply"),
        "{stderr}"
    );
    assert!(!stderr.contains("recv(1024)"), "{stderr}");
}

#[test]
fn timeout_bounds_the_whole_exchange_not_each_read() {
    // A server that sends a byte every 100 ms for ever never lets one read
    // time out; the client's deadline must end the exchange anyway.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        for _ in 0..600 {
            if std::io::Write::write_all(&mut stream, b".").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let started = std::time::Instant::now();
    let out = client(port, &["--timeout", "1"]);
    let took = started.elapsed();
    assert!(!out.status.success());
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        text(&out.stdout).starts_with("Received: b'."),
        "{}",
        text(&out.stdout)
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no complete reply from 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("within 1 s"), "{stderr}");
}

#[test]
fn a_message_larger_than_the_socket_buffers_does_not_deadlock() {
    // The server echoes while it reads; a client that wrote 12 MiB before
    // reading would wait on a server waiting on it.
    let server = start_server(&["--threads"]);
    let file = std::env::temp_dir().join(format!("netlab-big-{}.bin", std::process::id()));
    std::fs::write(&file, vec![b'z'; 12 << 20]).unwrap();
    let out = client(
        server.port(),
        &["--message-file", file.to_str().unwrap(), "--timeout", "60"],
    );
    let _ = std::fs::remove_file(&file);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Too long for a screen: its length and first bytes.
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("Received: b'Echo: zzz"), "{stdout}");
    assert!(
        stdout.ends_with(&format!("... ({} bytes)\n", 6 + (12 << 20))),
        "{stdout}"
    );
}

#[test]
fn a_trickling_client_cannot_hold_the_serial_server_past_its_time_limit() {
    let server = start_server(&["--idle-timeout", "0.5", "--max-connection-time", "1"]);
    let addr = server.addr();
    let trickler = thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        // A byte every 0.2 s: never quiet for the 0.5 s idle timeout.
        for _ in 0..50 {
            if std::io::Write::write_all(&mut stream, b".").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    server.expect_line("Connection from", PATIENCE);
    let started = std::time::Instant::now();
    let out = client(server.port(), &["--timeout", "8"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(5));
    server.expect_line("still sending after the time limit", PATIENCE);
    trickler.join().unwrap();
}

#[test]
fn a_trickling_client_is_cut_off_by_the_threaded_server_too() {
    // One worker per client, but 1024 trickling clients would hold them
    // all: the same time limit applies.
    let server = start_server(&[
        "--threads",
        "--idle-timeout",
        "0.5",
        "--max-connection-time",
        "1",
    ]);
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut echoed = Vec::new();
    // A byte every 0.2 s, reading the echo as it comes, until the server
    // closes (read returns 0) or the test's patience ends.
    while started.elapsed() < PATIENCE {
        if std::io::Write::write_all(&mut stream, b".").is_err() {
            break;
        }
        let mut buf = [0u8; 64];
        match std::io::Read::read(&mut stream, &mut buf) {
            Ok(0) => break,
            Ok(n) => echoed.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "held {:?}",
        started.elapsed()
    );
    server.expect_line("still sending after the time limit", PATIENCE);
    assert!(echoed.starts_with(b"Echo: ."), "{echoed:?}");
}

#[test]
fn a_server_whose_stdout_nobody_reads_keeps_serving() {
    // Nobody reads the pipe: a server that printed on its serving path
    // would block once the pipe's 64 KiB were full, about 2,000 lines in.
    let mut child = Command::new(SERVER)
        .args(["--host", "127.0.0.1", "--port", "0", "--threads"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    let port = test_support::parse_port(&first).unwrap();
    // Keep the pipe open, unread.
    let out = client(
        port,
        &["--count", "5000", "--concurrency", "4", "--timeout", "5"],
    );
    let _ = child.kill();
    let _ = child.wait();
    drop(stdout);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("errors 0, timed out 0"));
}

#[test]
fn flag_values_out_of_range_get_one_line_errors() {
    for (args, expect) in [
        (&["--timeout", "-1"][..], "more than 0 seconds"),
        (&["--timeout", "1e20"][..], "too long"),
        (&["--count", "0"][..], "--count"),
    ] {
        let out = Command::new(CLIENT).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn more_clients_than_requests_are_capped_at_the_count() {
    let server = start_server(&[]);
    let out = client(server.port(), &["--count", "2", "--concurrency", "5000"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 at a time"),
        "{}",
        text(&out.stdout)
    );
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

#[test]
fn load_mode_json_is_one_line_with_the_agreed_keys() {
    let server = start_server(&["--threads"]);
    let out = client(
        server.port(),
        &["--count", "50", "--concurrency", "2", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with(r#"{"n": 50, "ok": 50, "errors": 0, "rps": "#),
        "{stdout}"
    );
    for key in ["mean_us", "p50_us", "p99_us"] {
        assert!(stdout.contains(&format!(r#""{key}": "#)), "{stdout}");
    }
}
