//! Our rendition of the article's Python `safe_request`
//! (`python/safe_request.py`) against `slow-server`: the same flaws as the
//! literal Rust port, so the book's claims hold for the Python itself.
//! Skipped, with a printed reason, where python3 is missing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use test_support::{Server, run_python, skip_without_python};

const SLOW: &str = env!("CARGO_BIN_EXE_slow-server");
/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(20);

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/safe_request.py")
}

/// The Python `safe_request` with a 1-second timeout against `server`:
/// what it printed, and how long it took.
fn python_request(server: &Server) -> (String, Duration) {
    let port = server.port().to_string();
    let args = ["--host", "127.0.0.1", "--port", &port, "--timeout", "1"];
    let started = Instant::now();
    let out = run_python(script(), &args, None, PATIENCE).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn the_python_timeout_is_per_call_too() {
    let Some(_python) = skip_without_python("the_python_timeout_is_per_call_too") else {
        return;
    };
    let trickle = Server::start(
        SLOW,
        &[
            "--host",
            "127.0.0.1",
            "--mode",
            "trickle",
            "--max-connection-time",
            "2",
        ],
    )
    .unwrap();
    let (printed, took) = python_request(&trickle);
    assert!(took > Duration::from_millis(1800), "took {took:?}");
    assert!(printed.starts_with("Received "), "{printed}");
}

#[test]
fn the_python_throws_a_kept_open_response_away() {
    let Some(_python) = skip_without_python("the_python_throws_a_kept_open_response_away") else {
        return;
    };
    let keepalive = Server::start(SLOW, &["--host", "127.0.0.1", "--mode", "keepalive"]).unwrap();
    let (printed, _) = python_request(&keepalive);
    assert_eq!(printed, "Operation timed out after 1.0 seconds\n");
}

#[test]
fn the_python_and_ours_print_the_same_words() {
    let Some(_python) = skip_without_python("the_python_and_ours_print_the_same_words") else {
        return;
    };
    let silent = Server::start(SLOW, &["--host", "127.0.0.1", "--mode", "silent"]).unwrap();
    let (printed, _) = python_request(&silent);
    assert_eq!(printed, "Operation timed out after 1.0 seconds\n");
    let port = silent.port().to_string();
    let ours = test_support::run(
        env!("CARGO_BIN_EXE_safe-request"),
        &["--host", "127.0.0.1", "--port", &port, "--timeout", "1"],
        None,
        PATIENCE,
    )
    .unwrap();
    let ours = String::from_utf8_lossy(&ours.stdout);
    assert!(
        ours.starts_with("Operation timed out after 1.0 seconds ("),
        "{ours}"
    );
}
