//! timeout: the article promises that timeouts keep an application from
//! hanging. How long past its timeout does a request really end? Both
//! sides ask for 1 second against the same misbehaving servers: our
//! `safe_request` (one deadline for the whole request) and, where python3
//! exists, the article's own function (`crates/timeout/python/
//! safe_request.py`, a timeout per call). Against a silent server both end
//! on time; against a trickle only the deadline does, and the Python runs
//! until the server hangs up, which ours does after [`TRICKLE_FOR`] so
//! that the run ends at all.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use timeout::{Mode, RequestError};

use crate::{Args, Row, Running, loopback, median};

/// What both sides ask for.
const TIMEOUT: Duration = Duration::from_secs(1);
/// When the trickle server hangs up: the end of the Python's request.
const TRICKLE_FOR: Duration = Duration::from_secs(4);
/// A Python run that takes longer than this is killed and fails the row.
const PYTHON_PATIENCE: Duration = Duration::from_secs(30);

/// The silent and trickle rows.
pub fn precision(args: &Args) -> io::Result<Vec<Row>> {
    let runs = args.runs.min(3);
    let python = python_safe_request();
    let mut rows = Vec::new();
    for (mode, hang_up) in [(Mode::Silent, None), (Mode::Trickle, Some(TRICKLE_FOR))] {
        let server = start_slow_server(mode, hang_up)?;
        let (mut ours, mut article) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            ours.push(our_request(server.addr, mode)?);
            if let Some((python, script)) = &python {
                article.push(python_request(python, script, server.addr)?);
            }
        }
        let ours = median(ours);
        let what = match hang_up {
            None => format!("{mode} server"),
            Some(after) => format!(
                "{mode} server (a byte per {} ms, hangs up after {})",
                timeout::TRICKLE_EVERY.as_millis(),
                cli::show_seconds(after)
            ),
        };
        let (reference, ratio) = if article.is_empty() {
            (
                "the article's Python: python3 not found".to_string(),
                "-".to_string(),
            )
        } else {
            let article = median(article);
            (
                format!(
                    "the article's Python (a timeout per call): {}",
                    elapsed(article)
                ),
                format!("{:.2}x the time", article / ours),
            )
        };
        rows.push(Row {
            chapter: "timeout",
            measured: format!(
                "{what}, 1 s timeout: elapsed (+ overshoot), safe_request (one deadline)"
            ),
            figure: elapsed(ours),
            reference,
            ratio,
        });
    }
    Ok(rows)
}

/// `1.002 s (+2 ms)`: elapsed seconds and the overshoot past the timeout.
fn elapsed(seconds: f64) -> String {
    let over_ms = (seconds - TIMEOUT.as_secs_f64()) * 1e3;
    format!("{seconds:.3} s ({over_ms:+.0} ms)")
}

/// A slow server on a free loopback port, in-process.
fn start_slow_server(mode: Mode, hang_up: Option<Duration>) -> io::Result<Running> {
    let listener = tcp::bind_server(loopback(), tcp::DEFAULT_BACKLOG, timeout::POLL)?;
    let addr = listener.local_addr()?;
    Ok(Running::start(addr, move |stop| {
        let _ = timeout::serve_for_at_most(&listener, stop, mode, hang_up, |_| {});
    }))
}

/// Seconds our `safe_request` took, checking it failed the way it should.
fn our_request(addr: SocketAddr, mode: Mode) -> io::Result<f64> {
    let data = timeout::article_request("127.0.0.1", addr.port());
    let started = Instant::now();
    let result = timeout::safe_request("127.0.0.1", addr.port(), &data, TIMEOUT);
    let took = started.elapsed().as_secs_f64();
    match (mode, &result) {
        (Mode::Silent, Err(RequestError::TimedOut { .. }))
        | (Mode::Trickle, Err(RequestError::DeadlineExceeded { .. })) => Ok(took),
        _ => Err(io::Error::other(format!(
            "safe_request against the {mode} server: {result:?}"
        ))),
    }
}

/// `python3` and our rendition of the article's function, when python3 runs.
fn python_safe_request() -> Option<(PathBuf, PathBuf)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../timeout/python/safe_request.py");
    let works = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (works && script.exists()).then(|| (PathBuf::from("python3"), script))
}

/// Seconds the Python `safe_request` took, as it measures itself
/// (`--time`): the interpreter's start is not part of the request.
fn python_request(python: &Path, script: &Path, addr: SocketAddr) -> io::Result<f64> {
    let port = addr.port().to_string();
    let mut child = Command::new(python)
        .arg(script)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--timeout",
            "1",
            "--time",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let started = Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > PYTHON_PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("the Python safe_request did not finish"));
        }
        thread::sleep(Duration::from_millis(10));
    }
    let mut printed = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut printed)?;
    }
    printed
        .lines()
        .find_map(|line| line.strip_prefix("Took ")?.strip_suffix(" s")?.parse().ok())
        .ok_or_else(|| io::Error::other(format!("the Python printed no time: {printed:?}")))
}
