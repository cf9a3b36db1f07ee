//! `just bench`: each chapter's claim, measured as a ratio in one run.
//!
//! The article makes claims it never measures: UDP has "the speed of
//! connectionless communication", protocol buffers are "exceptionally
//! efficient", and (implicitly) one client at a time is enough. Each row of
//! the table this prints puts a figure next to the reference it should be
//! compared with, both measured in the same run on the same machine, and
//! gives their ratio. A ratio survives a noisy machine far better than a
//! single timing does; each figure is still the median of several runs,
//! and the runs of a figure and its reference alternate so that a burst of
//! load elsewhere hits both.
//!
//! The socket rows drive the chapters' library functions, the same ones the
//! clients' `--count/--concurrency` mode calls, against servers started here
//! on free loopback ports. The servers' log lines are dropped: the rows
//! measure the sockets, not the terminal. The protobuf rows read criterion's
//! results for `cargo bench -p proto`, which `just bench` runs first.
#![forbid(unsafe_code)]

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

mod pooling;
mod processes;
mod proxying;
mod sniffing;
mod speed;
mod timeouts;
mod variants;
mod web;

use clap::Parser;
use measure::{Load, Report};
use tcp::Stop;

/// Per request: generous, only there so a stuck server cannot stall the run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Measure each chapter's claim against its reference and print one table.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Runs per figure; the table shows the median.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Requests per run for the request-counting rows.
    #[arg(long, default_value_t = 4000)]
    count: usize,
    /// Run only the sections whose name contains this (e.g. `tcp`,
    /// `servers`, `protobuf`).
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
    /// Where `cargo bench -p proto` left criterion's results.
    #[arg(long, default_value_os_t = default_criterion_dir())]
    criterion: PathBuf,
}

/// A group of rows measured together.
type Section = fn(&Args) -> io::Result<Vec<Row>>;

/// One line of the table.
struct Row {
    chapter: &'static str,
    measured: String,
    figure: String,
    reference: String,
    ratio: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.runs == 0 || args.count == 0 {
        return cli::fail("--runs and --count must be at least 1");
    }
    cli::status(&format!(
        "measuring ({} runs per figure; about a minute)...",
        args.runs
    ));
    let mut rows = Vec::new();
    let sections: [(&str, Section); 13] = [
        ("tcp servers", speed::tcp_servers),
        ("udp servers", speed::udp_servers),
        ("server designs", speed::server_designs),
        ("tcp concurrency", tcp_concurrency),
        ("tcp backlog", backlog_against_article),
        ("udp vs tcp", udp_against_tcp),
        ("serial vs threaded", serial_against_threaded),
        ("protobuf vs JSON", protobuf_against_json),
        ("pooled vs fresh", pooling::pooled_against_fresh),
        ("timeout precision", timeouts::precision),
        ("sniff parsing", sniffing::parsing_rate),
        ("proxy vs direct", proxying::proxy_against_direct),
        ("http api", web::api_server),
    ];
    let chosen = |name: &str| args.only.as_deref().is_none_or(|only| name.contains(only));
    for (name, section) in sections.into_iter().filter(|(name, _)| chosen(name)) {
        cli::status(&format!("  {name}..."));
        match section(&args) {
            // The machine's load while the section ran, beside each row: a
            // ratio measured on a busy machine says so.
            Ok(section_rows) => {
                let load = load_average();
                rows.extend(section_rows.into_iter().map(|row| (row, load.clone())));
            }
            Err(e) => {
                return cli::fail(&format!("{name}: {e}"));
            }
        }
    }
    print_table(&rows);
    ExitCode::SUCCESS
}

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// A server started for part of the run; dropping it stops it through its
/// stop handle and joins its thread.
struct Running {
    addr: SocketAddr,
    stop: Arc<Stop>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Running {
    /// Runs `serve` on its own thread with a fresh stop handle.
    fn start(addr: SocketAddr, serve: impl FnOnce(&Stop) + Send + 'static) -> Self {
        let stop = Arc::new(Stop::new());
        let thread = thread::spawn({
            let stop = Arc::clone(&stop);
            move || serve(&stop)
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a tcp-server on a free port with `workers` threads (1: the
/// article's serial loop). Its log lines are dropped: the rows measure the
/// sockets, not the terminal.
fn start_tcp_server(backlog: i32, idle_timeout: Duration, workers: usize) -> io::Result<Running> {
    let listener = tcp::bind_server(loopback(), backlog, idle_timeout)?;
    let addr = listener.local_addr()?;
    Ok(Running::start(addr, move |stop| {
        let _ = match workers {
            1 => tcp::serve(&listener, stop, |_| {}),
            n => tcp::serve_prethreaded(&listener, stop, n, |_| {}),
        };
    }))
}

/// Starts a udp-server on a free port.
fn start_udp_server() -> io::Result<Running> {
    let socket = udp::bind_server(loopback(), false)?;
    let addr = socket.local_addr()?;
    Ok(Running::start(addr, move |stop| {
        // No reply rate limit: one client on a kept-awake machine can pass
        // the default 20,000 replies a second, and a dropped reply would
        // cost the run a whole client timeout.
        let _ = udp::serve_with_limit(&socket, stop, u32::MAX, |_| {});
    }))
}

/// What `tcp-client` does per request: connect, send, half-close, read the
/// echo to the end, check it.
fn tcp_request(addr: SocketAddr) -> io::Result<()> {
    let message = tcp::DEFAULT_MESSAGE.as_bytes();
    let reply = tcp::exchange(
        &addr.ip().to_string(),
        addr.port(),
        message,
        REQUEST_TIMEOUT,
    )?;
    expect(reply == tcp::expected_echo(message), "wrong echo")
}

fn expect(ok: bool, what: &str) -> io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidData, what.to_string()))
    }
}

/// Runs `load` with `request`, failing the whole bench if any request
/// failed: a figure made of errors would be a wrong figure.
fn checked(load: Load, request: impl Fn() -> io::Result<()> + Sync) -> io::Result<Report> {
    let report = measure::run(load, request);
    if report.errors + report.timed_out > 0 {
        return Err(io::Error::other(format!(
            "{} of {} requests failed: {}",
            report.errors + report.timed_out,
            report.attempted(),
            report.first_error.as_deref().unwrap_or("?")
        )));
    }
    Ok(report)
}

/// The median of `runs` runs of each of two measurements, alternated.
fn paired(
    runs: usize,
    mut measured: impl FnMut() -> io::Result<f64>,
    mut reference: impl FnMut() -> io::Result<f64>,
) -> io::Result<(f64, f64)> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(measured()?);
        b.push(reference()?);
    }
    Ok((median(a), median(b)))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// tcp: connect-per-request throughput with 8 clients against 1. The kernel
/// does most of the work of a connection; 8 clients show how much of it
/// overlaps on this machine's cores.
fn tcp_concurrency(args: &Args) -> io::Result<Vec<Row>> {
    let server = start_tcp_server(tcp::DEFAULT_BACKLOG, tcp::DEFAULT_IDLE_TIMEOUT, 1)?;
    let addr = server.addr;
    let rate = |concurrency| {
        checked(Load::new(args.count, concurrency), || tcp_request(addr))
            .map(|report| report.requests_per_sec())
    };
    let (eight, one) = paired(args.runs, || rate(8), || rate(1))?;
    Ok(vec![Row {
        chapter: "tcp",
        measured: "connect-per-request echo, 8 concurrent clients (serial server)".into(),
        figure: per_sec(eight),
        reference: format!("1 client: {}", per_sec(one)),
        ratio: format!("{:.2}x", eight / one),
    }])
}

/// tcp: the article listens with a backlog of 5. A burst of 32 clients
/// overflows that accept queue; the kernel drops the SYNs that do not fit and
/// each such client waits a full second to retransmit. Our default, 1024,
/// absorbs the burst.
fn backlog_against_article(args: &Args) -> io::Result<Vec<Row>> {
    let burst = |backlog| -> io::Result<Burst> {
        let server = start_tcp_server(backlog, tcp::DEFAULT_IDLE_TIMEOUT, 1)?;
        let addr = server.addr;
        let overflows_before = listen_overflows();
        // Not `checked`: with the article's backlog some clients fail (a
        // reset when the handshake's last ACK was dropped). That is part of
        // the finding, so it is counted rather than fatal.
        let report = measure::run(Load::new(args.count, 32), || tcp_request(addr));
        Ok(Burst {
            rate: report.requests_per_sec(),
            slowest: report.percentile(100.0).unwrap_or_default(),
            overflows: listen_overflows().saturating_sub(overflows_before),
            failed: report.errors + report.timed_out,
        })
    };
    let (mut ours, mut article) = (Vec::new(), Vec::new());
    for _ in 0..args.runs.min(3) {
        ours.push(burst(tcp::DEFAULT_BACKLOG)?);
        article.push(burst(tcp::ARTICLE_BACKLOG)?);
    }
    let (ours, article) = (Burst::summary(&ours), Burst::summary(&article));
    Ok(vec![Row {
        chapter: "tcp",
        measured: format!(
            "32 clients at once, listen backlog {}",
            tcp::DEFAULT_BACKLOG
        ),
        figure: ours.to_string(),
        reference: format!("the article's backlog {}: {article}", tcp::ARTICLE_BACKLOG),
        ratio: format!("{:.2}x", ours.rate / article.rate),
    }])
}

/// What a burst of clients met.
struct Burst {
    rate: f64,
    slowest: Duration,
    overflows: u64,
    failed: usize,
}

impl Burst {
    /// Over several runs: the median rate, the slowest request of all, and
    /// the totals of dropped SYNs and failed requests.
    fn summary(runs: &[Burst]) -> Burst {
        Burst {
            rate: median(runs.iter().map(|r| r.rate).collect()),
            slowest: runs.iter().map(|r| r.slowest).max().unwrap_or_default(),
            overflows: runs.iter().map(|r| r.overflows).sum(),
            failed: runs.iter().map(|r| r.failed).sum(),
        }
    }
}

impl fmt::Display for Burst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, slowest {}, {} SYNs dropped, {} failed",
            per_sec(self.rate),
            measure::human(self.slowest),
            self.overflows,
            self.failed
        )
    }
}

/// The kernel's count of connections dropped because an accept queue was
/// full (`ListenOverflows` in /proc/net/netstat), machine-wide; 0 where the
/// file does not exist.
fn listen_overflows() -> u64 {
    let Ok(netstat) = fs::read_to_string("/proc/net/netstat") else {
        return 0;
    };
    // The file pairs a header line of names with a line of values.
    let lines: Vec<&str> = netstat.lines().collect();
    for pair in lines.chunks(2) {
        if let [names, values] = pair {
            if !names.starts_with("TcpExt:") {
                continue;
            }
            let position = names
                .split_whitespace()
                .position(|name| name == "ListenOverflows");
            return position
                .and_then(|i| values.split_whitespace().nth(i))
                .and_then(|value| value.parse().ok())
                .unwrap_or(0);
        }
    }
    0
}

/// udp: the article says UDP has "the speed of connectionless
/// communication". Compared with what? Against a TCP connection that stays
/// open, a round trip costs about the same; against the article's TCP
/// client, which connects for every message, UDP saves the handshake.
fn udp_against_tcp(args: &Args) -> io::Result<Vec<Row>> {
    let udp_server = start_udp_server()?;
    let udp_addr = udp_server.addr;
    // Like with like: both TCP references are the serial server the tcp
    // rows measure, one for the kept-open connection (which must outlive the
    // pauses between runs, and would hold a serial server's only loop) and
    // one for a connection per request.
    let kept_open_server = start_tcp_server(tcp::DEFAULT_BACKLOG, Duration::from_secs(60), 1)?;
    let tcp_server = start_tcp_server(tcp::DEFAULT_BACKLOG, tcp::DEFAULT_IDLE_TIMEOUT, 1)?;
    let tcp_addr = tcp_server.addr;
    let message = udp::DEFAULT_MESSAGE.as_bytes();
    let expected = udp::expected_ack(message);
    let udp_client = Mutex::new(udp::Client::new(udp_addr, REQUEST_TIMEOUT)?);
    let udp_round_trip = || {
        let mut client = udp_client.lock().unwrap_or_else(|p| p.into_inner());
        let reply = client.request(message)?;
        expect(reply == expected, "wrong ACK")
    };
    let kept_open = Mutex::new(KeptOpen::connect(kept_open_server.addr)?);
    let tcp_round_trip = || {
        let mut stream = kept_open.lock().unwrap_or_else(|p| p.into_inner());
        stream.round_trip(message)
    };
    let latency = |request: &(dyn Fn() -> io::Result<()> + Sync)| {
        checked(Load::new(args.count, 1), request).map(|report| p50_micros(&report))
    };
    let (udp_p50, open_p50) = paired(
        args.runs,
        || latency(&udp_round_trip),
        || latency(&tcp_round_trip),
    )?;
    let rate = |request: &(dyn Fn() -> io::Result<()> + Sync)| {
        checked(Load::new(args.count, 1), request).map(|report| report.requests_per_sec())
    };
    let (udp_rate, connect_rate) = paired(
        args.runs,
        || rate(&udp_round_trip),
        || rate(&|| tcp_request(tcp_addr)),
    )?;
    Ok(vec![
        Row {
            chapter: "udp",
            measured: "request/ACK round trip, median latency, 1 client".into(),
            figure: format!("{udp_p50:.1} µs"),
            reference: format!(
                "TCP round trip on a kept-open connection (serial server): {open_p50:.1} µs"
            ),
            ratio: format!("{:.2}x (TCP/UDP time)", open_p50 / udp_p50),
        },
        Row {
            chapter: "udp",
            measured: "request/ACK exchanges per second, 1 client".into(),
            figure: per_sec(udp_rate),
            reference: format!(
                "TCP connect per request (serial server): {}",
                per_sec(connect_rate)
            ),
            ratio: format!("{:.2}x", udp_rate / connect_rate),
        },
    ])
}

fn p50_micros(report: &Report) -> f64 {
    report
        .percentile(50.0)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
}

/// A TCP connection to the echo server that stays open: the server echoes
/// each message as it arrives, `Echo: ` in front of the first one only.
struct KeptOpen {
    stream: TcpStream,
    first: bool,
    buf: Vec<u8>,
}

impl KeptOpen {
    fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)?;
        // Each message is one small write answered before the next: Nagle's
        // algorithm would only add delay.
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
        Ok(Self {
            stream,
            first: true,
            buf: Vec::new(),
        })
    }

    /// Sends `message` and reads exactly its echo: on a stream, the reply's
    /// length is what marks where it ends.
    fn round_trip(&mut self, message: &[u8]) -> io::Result<()> {
        self.stream.write_all(message)?;
        let prefix = if self.first { tcp::ECHO_PREFIX } else { b"" };
        self.first = false;
        self.buf.resize(prefix.len() + message.len(), 0);
        self.stream.read_exact(&mut self.buf)?;
        expect(
            self.buf[..prefix.len()] == *prefix && self.buf[prefix.len()..] == *message,
            "wrong echo",
        )
    }
}

/// tcp: the article serves one client at a time. With 8 clients, one of
/// which connects and says nothing, every request queues behind the silent
/// one until the idle timeout drops it; a thread per connection does not.
fn serial_against_threaded(args: &Args) -> io::Result<Vec<Row>> {
    const WINDOW: Duration = Duration::from_secs(1);
    let rate_with_idle_client = |threaded| -> io::Result<f64> {
        let workers = if threaded { tcp::DEFAULT_WORKERS } else { 1 };
        let server = start_tcp_server(tcp::DEFAULT_BACKLOG, tcp::DEFAULT_IDLE_TIMEOUT, workers)?;
        let addr = server.addr;
        let stop = AtomicBool::new(false);
        thread::scope(|scope| {
            scope.spawn(|| idle_client(addr, &stop));
            let load = Load {
                deadline: WINDOW,
                ..Load::new(usize::MAX, 7)
            };
            let report = measure::run(load, || tcp_request(addr));
            stop.store(true, Ordering::Relaxed);
            if report.errors > 0 {
                return Err(io::Error::other(report.first_error.unwrap_or_default()));
            }
            Ok(report.requests_per_sec())
        })
    };
    let (threaded, serial) = paired(
        args.runs.min(3),
        || rate_with_idle_client(true),
        || rate_with_idle_client(false),
    )?;
    Ok(vec![Row {
        chapter: "tcp",
        measured: "7 busy clients + 1 idle one, prethreaded server (`--threads`)".into(),
        figure: per_sec(threaded),
        reference: format!("serial server (the article's loop): {}", per_sec(serial)),
        ratio: format!("{:.0}x", threaded / serial.max(f64::MIN_POSITIVE)),
    }])
}

/// Connects, says nothing, waits to be dropped, and does it again.
fn idle_client(addr: SocketAddr, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
        // Returns on end-of-stream (the server dropped us) or when told to
        // stop; a timeout only means "still connected, still silent".
        let mut byte = [0u8; 1];
        while !stop.load(Ordering::Relaxed) {
            match stream.read(&mut byte) {
                Ok(_) => break,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// proto: "compact binary encoding", as size and as time against JSON.
fn protobuf_against_json(args: &Args) -> io::Result<Vec<Row>> {
    let protobuf = proto::create_employee();
    let employee = proto::article_employee();
    // The same record as JSON; serde_json's `json!` needs no mirror struct.
    let json = serde_json::to_vec(&serde_json::json!({
        "name": employee.name,
        "employee_id": employee.employee_id,
        "department": employee.department,
        "projects": employee.projects,
        "metadata": employee.metadata,
    }))
    .map_err(io::Error::other)?;
    let mut rows = vec![Row {
        chapter: "proto",
        measured: "the article's Employee, encoded size".into(),
        figure: format!("{} bytes protobuf", protobuf.len()),
        reference: format!("JSON: {} bytes", json.len()),
        ratio: format!("{:.2}x smaller", json.len() as f64 / protobuf.len() as f64),
    }];
    let estimate = |id: &str| criterion_median_ns(&args.criterion.join("employee").join(id));
    match (
        estimate("protobuf build+encode+decode"),
        estimate("json build+encode+decode"),
    ) {
        (Ok(protobuf_ns), Ok(json_ns)) => rows.push(Row {
            chapter: "proto",
            measured: "build + encode + decode, one core (criterion median)".into(),
            figure: format!("{protobuf_ns:.0} ns = {}", per_sec(1e9 / protobuf_ns)),
            reference: format!("JSON (serde_json): {json_ns:.0} ns"),
            ratio: format!("{:.2}x faster", json_ns / protobuf_ns),
        }),
        (Err(e), _) | (_, Err(e)) => cli::warn(&format!(
            "no criterion results for proto ({e}); run `cargo bench -p proto` first, \
             or `just bench`, which does"
        )),
    }
    Ok(rows)
}

/// Reads the median point estimate, in nanoseconds, from the
/// `new/estimates.json` criterion writes for one benchmark.
fn criterion_median_ns(benchmark: &Path) -> io::Result<f64> {
    let path = benchmark.join("new/estimates.json");
    let text = fs::read_to_string(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let estimates: serde_json::Value = serde_json::from_str(&text).map_err(io::Error::other)?;
    estimates["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| io::Error::other(format!("{}: no median estimate", path.display())))
}

fn default_criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("criterion")
}

fn per_sec(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M/s", rate / 1e6)
    } else {
        format!("{rate:.0}/s")
    }
}

fn print_table(rows: &[(Row, String)]) {
    cli::say("| chapter | measured | figure | reference (same run) | ratio | load |");
    cli::say("|---|---|---|---|---|---|");
    for (row, load) in rows {
        cli::say(&format!(
            "| {} | {} | {} | {} | {} | {load} |",
            row.chapter, row.measured, row.figure, row.reference, row.ratio
        ));
    }
    cli::say("");
    cli::say(&machine());
}

/// One line saying what the figures were measured on.
fn machine() -> String {
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "Machine: {cores} cores, {cpu}; loopback only; medians of runs that alternate figure and \
         reference; load: the one-minute load average after the row was measured (above {cores} \
         means other work shared the cores)."
    )
}

/// The one-minute load average, as /proc/loadavg gives it.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}
