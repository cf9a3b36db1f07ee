//! The literal port of the article's `safe_request`
//! (`examples/article-safe-request`) really fails the way the chapter says
//! it does, and `safe-request` does not: the book runs these same
//! experiments, and this keeps it honest.

use std::process::Output;
use std::time::{Duration, Instant};

use test_support::{Server, example_path, run};

const SLOW: &str = env!("CARGO_BIN_EXE_slow-server");
const SAFE: &str = env!("CARGO_BIN_EXE_safe-request");
/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(20);

/// Runs `program --host 127.0.0.1 --port PORT --timeout 1`; returns what
/// it printed and how long it took.
fn one_second_request(program: &str, port: u16) -> (Output, Duration) {
    let port = port.to_string();
    let args = ["--host", "127.0.0.1", "--port", &port, "--timeout", "1"];
    let started = Instant::now();
    let out = run(program, &args, None, PATIENCE).unwrap();
    (out, started.elapsed())
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_trickle_outlasts_the_articles_per_call_timeout() {
    // A byte every 200 ms, hanging up after 3 s: the article's 1-second
    // timeout never fires, and only the server's hang-up ends its request.
    let server = Server::start(
        SLOW,
        &[
            "--host",
            "127.0.0.1",
            "--mode",
            "trickle",
            "--max-connection-time",
            "3",
        ],
    )
    .unwrap();
    let article = example_path("article-safe-request");
    let (out, took) = one_second_request(article.to_str().unwrap(), server.port());
    assert!(took > Duration::from_secs(2), "the article's took {took:?}");
    assert!(stdout(&out).starts_with("Received "), "{}", stdout(&out));

    let (out, took) = one_second_request(SAFE, server.port());
    assert!(took < Duration::from_millis(1500), "ours took {took:?}");
    assert_eq!(out.status.code(), Some(7), "{}", stdout(&out));
}

#[test]
fn the_article_throws_a_kept_open_response_away() {
    let server = Server::start(SLOW, &["--host", "127.0.0.1", "--mode", "keepalive"]).unwrap();
    let article = example_path("article-safe-request");
    let (out, took) = one_second_request(article.to_str().unwrap(), server.port());
    assert!(
        took >= Duration::from_secs(1),
        "the article's took {took:?}"
    );
    assert_eq!(stdout(&out), "Operation timed out after 1.0 seconds\n");
    server.expect_line("sent a complete HTTP response", PATIENCE);

    let (out, took) = one_second_request(SAFE, server.port());
    assert!(took < Duration::from_millis(500), "ours took {took:?}");
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("Received 117 bytes (complete by Content-Length: 52"));
}
