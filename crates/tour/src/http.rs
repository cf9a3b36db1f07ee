//! Chapter 7 on the tour: `http-server` answering the article's GET and a
//! JSON POST on one kept-open connection, then a body that is not JSON,
//! and one declared at 100 GB, refused before a byte of it is read.

use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use http::client::{Client, Response};
use tcp::Stop;

use crate::Story;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the chapter; see the module comment.
pub fn run(story: &Story) -> Result<String, String> {
    let listener = http::listen("127.0.0.1", 0)
        .map_err(|e| format!("cannot bind a free loopback port: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let port = addr.port();
    story.command(&format!("just http-server --port {port}"));
    story.said("server", &format!("Starting API server on port {port}..."));
    let stop = Stop::new();
    // The server's lines wait in a queue, so each is told right after the
    // request it logs, whichever thread gets there first.
    let (lines, logged) = mpsc::channel();
    let log = move |event: http::Event| {
        let _ = lines.send(event.to_string());
    };
    thread::scope(|scope| {
        let server = scope.spawn(|| http::serve(&listener, &stop, log));
        let clients = clients(story, addr, &logged);
        stop.stop();
        let summary = server
            .join()
            .map_err(|_| "the server thread panicked".to_string())?
            .map_err(|e| format!("server: {e}"))?;
        story.said(
            "server",
            &format!(
                "Stopped after {} on {}.",
                cli::count(summary.requests, "request"),
                cli::count(summary.connections, "connection")
            ),
        );
        clients
    })
}

/// The requests of the chapter, each checked.
fn clients(story: &Story, addr: SocketAddr, logged: &Receiver<String>) -> Result<String, String> {
    let port = addr.port();
    let mut client = Client::connect(addr, TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    story.command(&format!("curl 'localhost:{port}/items?x=1&x=2'"));
    let get = ask(story, logged, client.get("/items?x=1&x=2"))?;
    expect(
        &get,
        200,
        r#"{"method": "GET", "path": "/items", "query_params": {"x": ["1", "2"]}, "timestamp": "#,
    )?;

    story.command(&format!(
        "curl -d '{{\"name\": \"Ada\"}}' localhost:{port}/items"
    ));
    let post = ask(story, logged, client.post("/items", br#"{"name": "Ada"}"#))?;
    expect(
        &post,
        201,
        r#"{"status": "success", "received": {"name": "Ada"}}"#,
    )?;
    story.note("Both on one connection: each answer says its Content-Length, so it can stay open.");

    story.command(&format!("curl -d '{{oops' localhost:{port}/items"));
    let bad = ask(story, logged, client.post("/items", b"{oops"))?;
    expect(
        &bad,
        400,
        r#"{"status": "error", "message": "Invalid JSON"}"#,
    )?;
    story.note("The article answers that one 201 Created, with the error inside.");

    story.note("A body declared at 100 GB is refused before a byte of it is read:");
    story.command(&format!(
        "printf 'POST /items HTTP/1.1\\r\\nContent-Length: 100000000000\\r\\n\\r\\n' | nc localhost {port}"
    ));
    let mut raw = Client::connect(addr, TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    let huge = raw.send(b"POST /items HTTP/1.1\r\nContent-Length: 100000000000\r\n\r\n");
    let huge = ask(story, logged, huge)?;
    expect(
        &huge,
        413,
        r#"{"status": "error", "message": "Body larger than 1048576 bytes"}"#,
    )?;
    Ok(format!(
        "GET and POST on one kept-open connection to {addr}; bad JSON 400, a 100 GB body 413"
    ))
}

/// Tells the server's log line for the request, then what the client got:
/// the status, and the body.
fn ask(
    story: &Story,
    logged: &Receiver<String>,
    response: std::io::Result<Response>,
) -> Result<Response, String> {
    let response = response.map_err(|e| format!("request: {e}"))?;
    let line = logged
        .recv_timeout(TIMEOUT)
        .map_err(|_| "the server logged nothing".to_string())?;
    story.said("server", &line);
    story.said(
        "client",
        &format!(
            "{} {}",
            response.status,
            http::response::reason(response.status)
        ),
    );
    story.said("client", &response.text());
    Ok(response)
}

fn expect(response: &Response, status: u16, body_start: &str) -> Result<(), String> {
    if response.status == status && response.text().starts_with(body_start) {
        Ok(())
    } else {
        Err(format!(
            "expected {status} {body_start}..., got {} {}",
            response.status,
            response.text()
        ))
    }
}
