//! Chapter 5 on the tour: `safe-request` against `slow-server` in three of
//! its modes, and against a port where nothing listens. Each failure comes
//! back named, and none outlasts its deadline.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use tcp::Stop;
use timeout::{End, Mode, RequestError, Response};

use crate::Story;

/// Short, so the tour stays quick; the chapter's default is 5 s.
const TIMEOUT: Duration = Duration::from_millis(500);

/// Runs the chapter; see the module comment.
pub fn run(story: &Story) -> Result<String, String> {
    let answered = scene(story, Mode::Keepalive, |result| match result {
        Ok(Response {
            end: End::KeptOpen(_),
            ..
        }) => Ok(()),
        other => Err(format!(
            "keepalive: expected a kept-open response, got {other:?}"
        )),
    })?;
    story.note("The article's version waits out its timeout there, then drops the response.");
    scene(story, Mode::Silent, |result| match result {
        Err(RequestError::TimedOut { .. }) => Ok(()),
        other => Err(format!("silent: expected a receive timeout, got {other:?}")),
    })?;
    story.note("A byte every 200 ms never lets one read time out; the deadline ends it:");
    scene(story, Mode::Trickle, |result| match result {
        Err(RequestError::DeadlineExceeded { .. }) => Ok(()),
        other => Err(format!(
            "trickle: expected the deadline exceeded, got {other:?}"
        )),
    })?;

    // Bind and drop: a free port, where nothing listens.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map_err(|e| format!("cannot find a free port: {e}"))?
        .port();
    let (result, _) = request(story, SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    if !matches!(result, Err(RequestError::Refused { .. })) {
        return Err(format!("expected refused, got {result:?}"));
    }
    Ok(format!(
        "{answered} bytes from a kept-open connection at once; silent, trickle and refused \
         each named within {}",
        cli::show_seconds(TIMEOUT)
    ))
}

/// Starts a slow server in `mode`, makes one request to it, checks the
/// result, stops the server; returns the length of the response, if any.
fn scene(
    story: &Story,
    mode: Mode,
    check: impl Fn(&Result<Response, RequestError>) -> Result<(), String>,
) -> Result<usize, String> {
    let listener = tcp::bind_server(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        tcp::DEFAULT_BACKLOG,
        timeout::POLL,
    )
    .map_err(|e| format!("cannot bind a free loopback port: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    story.command(&format!(
        "just slow-server --mode {mode} --port {}",
        addr.port()
    ));
    story.said(
        "server",
        &format!(
            "Slow server (mode {mode}) listening on port {}...",
            addr.port()
        ),
    );
    let stop = Stop::new();
    thread::scope(|scope| {
        let server = scope.spawn(|| {
            timeout::serve(&listener, &stop, mode, |event| {
                story.said("server", &event.to_string())
            })
        });
        let (result, took) = request(story, addr);
        stop.stop();
        server
            .join()
            .map_err(|_| "the server thread panicked".to_string())?
            .map_err(|e| format!("server: {e}"))?;
        check(&result)?;
        story.note(&format!(
            "(safe_request returned after {:.2} s)",
            took.as_secs_f64()
        ));
        Ok(result.map_or(0, |response| response.bytes.len()))
    })
}

/// What `just safe-request --host 127.0.0.1 --port P --timeout 0.5` does
/// and prints.
fn request(story: &Story, addr: SocketAddr) -> (Result<Response, RequestError>, Duration) {
    story.command(&format!(
        "just safe-request --host 127.0.0.1 --port {} --timeout {}",
        addr.port(),
        TIMEOUT.as_secs_f64()
    ));
    let started = Instant::now();
    let data = timeout::article_request("127.0.0.1", addr.port());
    let result = timeout::safe_request("127.0.0.1", addr.port(), &data, TIMEOUT);
    let took = started.elapsed();
    story.said("client", &timeout::report_line(&result, TIMEOUT));
    (result, took)
}
