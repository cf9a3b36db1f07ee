//! http: the article's API server on `http.server` against ours, with the
//! same 32 clients sending the same requests. The article's server speaks
//! HTTP/1.0 and sends no `Content-Length`, so it closes the connection
//! after every answer: its clients must connect for every request. Ours
//! keeps connections open (HTTP/1.1), and the third row measures what that
//! is worth by making our clients connect for every request too.
//!
//! Our server runs in this process (it formats each log line, as the
//! binary does, and drops it); the Python runs as its own process, where
//! python3 exists, and prints its lines to a pipe.

use std::cell::RefCell;
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use http::client::Client;
use measure::{Load, Report};
use socket2::{Domain, Protocol, Socket, Type};

use crate::processes::Process;
use crate::speed::next_source;
use crate::{Args, REQUEST_TIMEOUT, Row, Running, expect, loopback, median, per_sec};

/// Clients at once, each with its own connection.
const CLIENTS: usize = 32;
/// How long each figure's load runs; five figures, three runs: about 20 s.
const WINDOW: Duration = Duration::from_secs(1);
/// What the POST rows send.
const BODY: &[u8] =
    br#"{"name": "Sarah Chen", "employee_id": 42, "projects": ["Project Alpha", "Project Beta"]}"#;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

/// One figure: rate, p99, slowest and failures of a run. The slowest
/// shows what p99 can hide: the Python's listen backlog of 5 overflows,
/// and a client whose connection attempt was dropped waits a second.
#[derive(Clone, Copy)]
struct Figure {
    rate: f64,
    p99: Duration,
    max: Duration,
    failed: usize,
}

impl Figure {
    fn of(report: &Report) -> Self {
        Self {
            rate: report.requests_per_sec(),
            p99: report.percentile(99.0).unwrap_or_default(),
            max: report.percentile(100.0).unwrap_or_default(),
            failed: report.errors + report.timed_out,
        }
    }

    /// The run with the median rate, with the failures of all runs.
    fn median(runs: &[Figure]) -> Figure {
        let rate = median(runs.iter().map(|f| f.rate).collect());
        let mut chosen = *runs
            .iter()
            .min_by(|a, b| (a.rate - rate).abs().total_cmp(&(b.rate - rate).abs()))
            .unwrap_or(&Figure {
                rate: 0.0,
                p99: Duration::ZERO,
                max: Duration::ZERO,
                failed: 0,
            });
        chosen.failed = runs.iter().map(|f| f.failed).sum();
        chosen
    }

    fn show(&self) -> String {
        let failed = match self.failed {
            0 => String::new(),
            n => format!(", {n} failed"),
        };
        format!(
            "{}, p99 {}, slowest {}{failed}",
            per_sec(self.rate),
            measure::human(self.p99),
            measure::human(self.max)
        )
    }
}

/// `http-server` on a free port, in this process.
fn start_ours() -> io::Result<Running> {
    let listener = tcp::bind_server(loopback(), tcp::DEFAULT_BACKLOG, http::POLL)?;
    let addr = listener.local_addr()?;
    Ok(Running::start(addr, move |stop| {
        let _ = http::serve(&listener, stop, |event| {
            black_box(event.to_string());
        });
    }))
}

/// `python3` and our rendition of the article's server, where python3 runs.
fn python_server() -> Option<(PathBuf, PathBuf)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../http/python/api_server.py");
    let works = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (works && script.exists()).then(|| (PathBuf::from("python3"), script))
}

fn check(method: Method, status: u16, body: &[u8]) -> io::Result<()> {
    match method {
        Method::Get => expect(
            status == 200 && body.starts_with(b"{\"method\": \"GET\""),
            "wrong GET answer",
        ),
        Method::Post => expect(
            status == 201 && body.ends_with(b"\"Project Beta\"]}}"),
            "wrong POST answer",
        ),
    }
}

/// One request on this thread's kept-open connection (opened on first use).
fn keep_alive_request(server: SocketAddr, method: Method) -> io::Result<()> {
    thread_local! {
        static CLIENT: RefCell<Option<Client>> = const { RefCell::new(None) };
    }
    CLIENT.with_borrow_mut(|client| {
        let client = match client {
            Some(client) => client,
            None => client.insert(Client::connect(server, REQUEST_TIMEOUT)?),
        };
        let response = match method {
            Method::Get => client.get("/items?x=1&x=2")?,
            Method::Post => client.post("/items", BODY)?,
        };
        check(method, response.status, &response.body)
    })
}

/// One request on a new connection, from the next source address, read
/// until the server closes it (which both servers do after `Connection:
/// close`, the Python after every answer).
fn fresh_request(server: SocketAddr, method: Method) -> io::Result<()> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SocketAddr::from((next_source(), 0)).into())?;
    socket.connect_timeout(&server.into(), REQUEST_TIMEOUT)?;
    let mut stream = TcpStream::from(socket);
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let request = match method {
        Method::Get => {
            format!("GET /items?x=1&x=2 HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n")
                .into_bytes()
        }
        Method::Post => {
            let mut request = format!(
                "POST /items HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                BODY.len()
            )
            .into_bytes();
            request.extend_from_slice(BODY);
            request
        }
    };
    stream.write_all(&request)?;
    let mut response = Vec::new();
    (&mut stream).take(1 << 20).read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    check(method, status, body.as_bytes())
}

fn run(request: impl Fn() -> io::Result<()> + Sync) -> Figure {
    let load = Load {
        deadline: WINDOW,
        ..Load::new(usize::MAX, CLIENTS)
    };
    Figure::of(&measure::run(load, request))
}

/// The three rows; see the module comment.
pub fn api_server(args: &Args) -> io::Result<Vec<Row>> {
    let ours = start_ours()?;
    let python = python_server();
    let (mut get, mut post, mut fresh) = (Vec::new(), Vec::new(), Vec::new());
    let (mut py_get, mut py_post) = (Vec::new(), Vec::new());
    for _ in 0..args.runs.min(3) {
        get.push(run(|| keep_alive_request(ours.addr, Method::Get)));
        post.push(run(|| keep_alive_request(ours.addr, Method::Post)));
        fresh.push(run(|| fresh_request(ours.addr, Method::Get)));
        if let Some((python3, script)) = &python {
            let script = script.display().to_string();
            let server = Process::start(python3, &[&script])?;
            py_get.push(run(|| fresh_request(server.addr, Method::Get)));
            py_post.push(run(|| fresh_request(server.addr, Method::Post)));
        }
    }
    let (get, post, fresh) = (
        Figure::median(&get),
        Figure::median(&post),
        Figure::median(&fresh),
    );
    let against_python = |ours: Figure, runs: &[Figure]| -> (String, String) {
        if runs.is_empty() {
            return ("the article's Python: python3 not found".into(), "-".into());
        }
        let python = Figure::median(runs);
        (
            format!(
                "the article's Python (HTTP/1.0, a connection per request): {}",
                python.show()
            ),
            format!("{:.1}x", ours.rate / python.rate.max(f64::MIN_POSITIVE)),
        )
    };
    let mut rows = Vec::new();
    for (what, figure, python_runs) in [
        ("GET", get, &py_get),
        ("POST (echo a JSON body)", post, &py_post),
    ] {
        let (reference, ratio) = against_python(figure, python_runs);
        rows.push(Row {
            chapter: "http",
            measured: format!("{what}, {CLIENTS} clients on keep-alive connections"),
            figure: figure.show(),
            reference,
            ratio,
        });
    }
    rows.push(Row {
        chapter: "http",
        measured: format!("GET, {CLIENTS} clients, a new connection per request"),
        figure: fresh.show(),
        reference: format!("keep-alive (the first row): {}", get.show()),
        ratio: format!(
            "{:.2}x fewer requests/s",
            get.rate / fresh.rate.max(f64::MIN_POSITIVE)
        ),
    });
    Ok(rows)
}
