//! pool: the article's claim that "creating new connections for every
//! request becomes expensive", measured: the same echo request through a
//! pooled connection and on a new connection each time, one client and
//! eight; and what the pool itself costs over one raw kept-open socket.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

use measure::{Load, Report};
use pool::SocketPool;
use socket2::{Domain, Protocol, Socket, Type};

use crate::speed::next_source;
use crate::{Args, REQUEST_TIMEOUT, Row, Running, checked, expect, loopback, median, per_sec};

/// A fresh connection per request, from the next source address (see
/// `speed`: a connection per request must not run the clients out of
/// ports), closed after its echo.
fn fresh_request(server: SocketAddr, message: &[u8]) -> io::Result<()> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SocketAddr::from((next_source(), 0)).into())?;
    socket.connect_timeout(&server.into(), REQUEST_TIMEOUT)?;
    let mut stream = TcpStream::from(socket);
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let reply = pool::round_trip(&mut stream, message)?;
    expect(reply == message, "wrong echo")
}

/// pool-server on a free port, in this process.
fn start_pool_server() -> io::Result<Running> {
    let listener = tcp::bind_server(loopback(), tcp::DEFAULT_BACKLOG, Duration::from_secs(60))?;
    let addr = listener.local_addr()?;
    Ok(Running::start(addr, move |stop| {
        let _ = pool::serve(&listener, stop, 1024, |_| {});
    }))
}

/// Requests per second, p50 and p99 of one run.
fn summary(report: &Report) -> (f64, Duration, Duration) {
    (
        report.requests_per_sec(),
        report.percentile(50.0).unwrap_or_default(),
        report.percentile(99.0).unwrap_or_default(),
    )
}

fn show((rate, p50, p99): (f64, Duration, Duration)) -> String {
    format!(
        "{}, p50 {}, p99 {}",
        per_sec(rate),
        measure::human(p50),
        measure::human(p99)
    )
}

/// The median run of each, by rate.
fn median_run(runs: &[(f64, Duration, Duration)]) -> (f64, Duration, Duration) {
    let rate = median(runs.iter().map(|r| r.0).collect());
    *runs
        .iter()
        .min_by(|a, b| (a.0 - rate).abs().total_cmp(&(b.0 - rate).abs()))
        .unwrap_or(&(0.0, Duration::ZERO, Duration::ZERO))
}

pub fn pooled_against_fresh(args: &Args) -> io::Result<Vec<Row>> {
    let server = start_pool_server()?;
    let addr = server.addr;
    let message = pool::DEFAULT_MESSAGE.as_bytes();
    let pool = SocketPool::new("127.0.0.1", addr.port(), pool::DEFAULT_POOL_SIZE)?;
    let mut rows = Vec::new();
    for threads in [1, 8] {
        let (mut pooled, mut fresh) = (Vec::new(), Vec::new());
        for _ in 0..args.runs.min(3) {
            let load = Load::new(args.count * 2, threads);
            let report = checked(load, || {
                let reply = pool.request(message)?;
                expect(reply == message, "wrong echo")
            })?;
            pooled.push(summary(&report));
            let report = checked(Load::new(args.count, threads), || {
                fresh_request(addr, message)
            })?;
            fresh.push(summary(&report));
        }
        let (pooled, fresh) = (median_run(&pooled), median_run(&fresh));
        rows.push(Row {
            chapter: "pool",
            measured: format!(
                "echo requests through a pool of 5, {threads} {}",
                if threads == 1 {
                    "thread (sequential)"
                } else {
                    "threads"
                }
            ),
            figure: show(pooled),
            reference: format!("a new connection per request: {}", show(fresh)),
            ratio: format!("{:.2}x", pooled.0 / fresh.0),
        });
    }

    // The pool's own cost: the same sequential requests on one raw socket
    // kept open, with no queue, no guard and no health check, against a
    // pool of one, so both use a single connection (a pool of five spreads
    // sequential requests over five server threads, which is another
    // effect).
    let pool = SocketPool::new("127.0.0.1", addr.port(), 1)?;
    let raw = Mutex::new({
        let stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
        stream
    });
    let (mut pooled, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..args.runs.min(3) {
        let report = checked(Load::new(args.count * 2, 1), || {
            let reply = pool.request(message)?;
            expect(reply == message, "wrong echo")
        })?;
        pooled.push(report.requests_per_sec());
        let report = checked(Load::new(args.count * 2, 1), || {
            let mut stream = raw.lock().unwrap_or_else(|p| p.into_inner());
            let reply = pool::round_trip(&mut stream, message)?;
            expect(reply == message, "wrong echo")
        })?;
        direct.push(report.requests_per_sec());
    }
    let (pooled, direct) = (median(pooled), median(direct));
    rows.push(Row {
        chapter: "pool",
        measured: "sequential requests through a pool of 1 (its own overhead)".into(),
        figure: per_sec(pooled),
        reference: format!("one raw kept-open socket: {}", per_sec(direct)),
        ratio: format!(
            "{:.2}x ({:+.1}%)",
            pooled / direct,
            (pooled / direct - 1.0) * 100.0
        ),
    });
    pool.close_all();
    Ok(rows)
}
