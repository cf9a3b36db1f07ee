//! `pool-server` and `pool-demo` driven as a learner drives them, and both
//! against the article's Python: its pool against our server, our pool
//! against a plain Python keep-alive echo.

use std::time::Duration;

use test_support::{ARTICLE_SCRIPT, PythonServer, Server, article_program, run, run_python};

const SERVER: &str = env!("CARGO_BIN_EXE_pool-server");
const DEMO: &str = env!("CARGO_BIN_EXE_pool-demo");
/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(30);

fn start_server(extra: &[&str]) -> Server {
    let mut args = vec!["--host", "127.0.0.1"];
    args.extend_from_slice(extra);
    Server::start(SERVER, &args).unwrap()
}

fn demo(port: u16, extra: &[&str]) -> (bool, String, String) {
    let port = port.to_string();
    let mut args = vec!["--host", "127.0.0.1", "--port", &port];
    args.extend_from_slice(extra);
    let out = run(DEMO, &args, None, PATIENCE).unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_demo_prints_the_articles_response() {
    let server = start_server(&[]);
    let (ok, stdout, stderr) = demo(server.port(), &[]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "Response: b'Request data'\n");
    assert!(
        server
            .first_line()
            .starts_with("Pool server listening on port ")
    );
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    // Five pooled connections and their echo, then the summary.
    assert_eq!(
        stopped.remaining.last().map(String::as_str),
        Some("Stopped after 5 connections, 12 bytes echoed.")
    );
}

#[test]
fn without_a_server_the_demo_says_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (ok, _, stderr) = demo(port, &[]);
    assert!(!ok);
    assert!(
        stderr.starts_with("error: cannot fill the pool:"),
        "{stderr}"
    );
    assert!(stderr.contains("is pool-server running?"), "{stderr}");
}

#[test]
fn pooled_and_fresh_load_modes_report_in_text_and_json() {
    let server = start_server(&["--quiet"]);
    let (ok, stdout, stderr) = demo(server.port(), &["--requests", "500", "--threads", "4"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("through a pool of 5, 4 at a time"),
        "{stdout}"
    );
    assert!(stdout.contains("errors 0, timed out 0"), "{stdout}");
    assert!(stdout.contains("pool: "), "{stdout}");
    let (ok, stdout, stderr) = demo(
        server.port(),
        &["--requests", "200", "--mode", "fresh", "--json"],
    );
    assert!(ok, "{stderr}");
    let line = stdout.trim();
    assert!(
        line.starts_with(r#"{"n": 200, "ok": 200, "errors": 0, "rps": "#),
        "{line}"
    );
    for key in ["mean_us", "p50_us", "p99_us"] {
        assert!(line.contains(&format!(r#""{key}": "#)), "{line}");
    }
}

#[test]
fn pointed_at_the_chapter_1_server_the_pool_meets_a_server_that_closes() {
    // The article's own setup: its pool against its echo server, which
    // answers `Echo: ` + data once and closes. A pooled connection is good
    // for one request at most.
    if test_support::skip_without_python("pool: against the chapter 1 server").is_none() {
        return;
    }
    let server = PythonServer::start(article_program(ARTICLE_SCRIPT), &["tcp-server"]).unwrap();
    let (_, stdout, stderr) = demo(server.port(), &["--requests", "20"]);
    assert!(
        stdout.contains("errors") && !stdout.contains("errors 0,"),
        "{stdout}{stderr}"
    );
}

#[test]
fn the_articles_python_pool_works_against_our_server() {
    if test_support::skip_without_python("pool: python pool, our server").is_none() {
        return;
    }
    let server = start_server(&[]);
    let port = server.port().to_string();
    let args = ["pool-demo", "--host", "127.0.0.1", "--port", &port];
    let out = run_python(article_program(ARTICLE_SCRIPT), &args, None, PATIENCE).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Response: b'Request data'\n"
    );
}

#[test]
fn our_pool_works_against_a_plain_python_echo_server() {
    if test_support::skip_without_python("pool: our pool, python echo").is_none() {
        return;
    }
    let server =
        PythonServer::start(article_program(ARTICLE_SCRIPT), &["keepalive-echo-server"]).unwrap();
    let (ok, stdout, stderr) = demo(server.port(), &[]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "Response: b'Request data'\n");
    let (ok, stdout, stderr) = demo(server.port(), &["--requests", "300", "--threads", "3"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("errors 0, timed out 0"), "{stdout}");
}

#[test]
fn the_server_keeps_no_descriptor_after_a_thousand_requests_with_reconnects() {
    let server = start_server(&["--quiet", "--idle-timeout", "0.2"]);
    let fds = || {
        std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
            .unwrap()
            .count()
    };
    let before = fds();
    // Two runs with a pause longer than the idle timeout between them: the
    // server closes the pooled connections, and the pool reconnects.
    for _ in 0..2 {
        let (ok, stdout, stderr) = demo(server.port(), &["--requests", "500", "--threads", "2"]);
        assert!(ok, "{stdout}{stderr}");
        std::thread::sleep(Duration::from_millis(400));
    }
    // Every connection the demo made is closed by now (it exited).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while fds() != before && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(fds(), before);
}
