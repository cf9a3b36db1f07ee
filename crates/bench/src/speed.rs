//! How fast the echo servers are against the article's programs: the
//! literal `std::net` ports and, where python3 exists, the Python itself,
//! each a separate process so that its CPU time can be read, all measured
//! in the same run with the same load.
//!
//! Connection-per-request load on loopback has a trap: the side that closes
//! first keeps the connection in `TIME_WAIT` for a minute, and our protocol
//! has the client close first (its half-close says "that is all"). With
//! every client on 127.0.0.1 the clients' ephemeral ports then run short,
//! and the run measures the kernel's port table rather than the server. So
//! the clients here spread their connections over the source addresses
//! 127.0.0.1 to 127.0.0.8 (every 127.x address is this machine): eight
//! times the ports, and the server is what is measured again.

use std::cell::RefCell;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use measure::{Load, Report};
use socket2::{Domain, Protocol, Socket, Type};

use crate::processes::{Process, python_article, sibling};
use crate::{Args, REQUEST_TIMEOUT, Row, checked, expect, median, per_sec};

/// How many source addresses the clients spread over.
const SOURCES: u8 = 8;

/// A server to measure: what the table calls it, and how to start it.
struct Contender {
    label: &'static str,
    program: PathBuf,
    args: Vec<String>,
}

impl Contender {
    /// One of this workspace's binaries or examples.
    fn ours(label: &'static str, binary: &str, args: &[&str]) -> io::Result<Self> {
        Ok(Self {
            label,
            program: sibling(binary)?,
            args: args.iter().map(|a| a.to_string()).collect(),
        })
    }

    /// One of the article's programs in Python, if python3 is installed.
    fn python(program: &str) -> Option<Self> {
        let (python, script) = python_article()?;
        Some(Self {
            label: "the article's Python",
            program: python,
            args: vec![script.display().to_string(), program.to_string()],
        })
    }
}

/// Requests per second and server CPU time per request, over one run.
#[derive(Clone, Copy)]
struct Figure {
    rate: f64,
    cpu_us: f64,
}

impl Figure {
    fn median(runs: &[Figure]) -> Figure {
        Figure {
            rate: median(runs.iter().map(|f| f.rate).collect()),
            cpu_us: median(runs.iter().map(|f| f.cpu_us).collect()),
        }
    }

    fn show(&self) -> String {
        format!("{}, {:.1} µs CPU/req", per_sec(self.rate), self.cpu_us)
    }
}

/// Starts `contender`, puts `load` on it with `request`, and reads the
/// server's CPU time before and after.
fn measure_one(
    contender: &Contender,
    load: Load,
    request: &(dyn Fn(SocketAddr) -> io::Result<()> + Sync),
) -> io::Result<Figure> {
    let args: Vec<&str> = contender.args.iter().map(String::as_str).collect();
    let server = Process::start(&contender.program, &args)?;
    let before = server.cpu_time().unwrap_or_default();
    let report = checked(load, || request(server.addr))?;
    let used = server.cpu_time().unwrap_or_default().saturating_sub(before);
    Ok(Figure {
        rate: report.requests_per_sec(),
        cpu_us: used.as_secs_f64() * 1e6 / report.latencies.len().max(1) as f64,
    })
}

/// Every contender, `runs` times, alternating, so a burst of load elsewhere
/// on the machine hits them all alike; the median of each.
fn measure_all(
    contenders: &[Contender],
    runs: usize,
    load: Load,
    request: &(dyn Fn(SocketAddr) -> io::Result<()> + Sync),
) -> io::Result<Vec<Figure>> {
    let mut figures = vec![Vec::new(); contenders.len()];
    for _ in 0..runs {
        for (contender, runs) in contenders.iter().zip(&mut figures) {
            let figure = measure_one(contender, load, request)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", contender.label)))?;
            runs.push(figure);
        }
    }
    Ok(figures.iter().map(|runs| Figure::median(runs)).collect())
}

/// The next source address, 127.0.0.1 to 127.0.0.8 in turn.
pub fn next_source() -> Ipv4Addr {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % usize::from(SOURCES);
    Ipv4Addr::new(127, 0, 0, 1 + n as u8)
}

/// `tcp-client`'s request (connect, send, half-close, read the echo to the
/// end, check it) from the next source address.
pub fn spread_tcp_request(server: SocketAddr) -> io::Result<()> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SocketAddr::from((next_source(), 0)).into())?;
    socket.connect_timeout(&server.into(), REQUEST_TIMEOUT)?;
    let mut stream = TcpStream::from(socket);
    let message = tcp::DEFAULT_MESSAGE.as_bytes();
    let reply = tcp::request(&mut stream, message, REQUEST_TIMEOUT)?;
    expect(reply == tcp::expected_echo(message), "wrong echo")
}

/// `udp-client`'s request, each client thread with its own socket.
fn udp_request(server: SocketAddr) -> io::Result<()> {
    thread_local! {
        static CLIENT: RefCell<Option<udp::Client>> = const { RefCell::new(None) };
    }
    let message = udp::DEFAULT_MESSAGE.as_bytes();
    CLIENT.with_borrow_mut(|client| {
        let client = match client {
            Some(client) => client,
            None => client.insert(udp::Client::new(server, REQUEST_TIMEOUT)?),
        };
        let reply = client.request(message)?;
        expect(reply == udp::expected_ack(message), "wrong ACK")
    })
}

/// One row per contender after the first, each against the reference.
fn rows(
    chapter: &'static str,
    what: &str,
    contenders: &[Contender],
    figures: &[Figure],
    reference: usize,
) -> Vec<Row> {
    let base = figures[reference];
    let others: Vec<String> = contenders
        .iter()
        .zip(figures)
        .enumerate()
        .filter(|(i, _)| *i != reference)
        .map(|(_, (c, f))| format!("{}: {}", c.label, f.show()))
        .collect();
    vec![Row {
        chapter,
        measured: format!("{what}, {}", contenders[reference].label),
        figure: base.show(),
        reference: others.join("; "),
        ratio: contenders
            .iter()
            .zip(figures)
            .enumerate()
            .filter(|(i, _)| *i != reference)
            .map(|(_, (c, f))| format!("{:.2}x {}", base.rate / f.rate, c.label))
            .collect::<Vec<_>>()
            .join(", "),
    }]
}

/// tcp: our servers against the literal port and the Python, 8 clients
/// and 1, connection per request.
pub fn tcp_servers(args: &Args) -> io::Result<Vec<Row>> {
    let threaded = || Contender::ours("tcp-server --threads", "tcp-server", &["--threads"]);
    let serial = || Contender::ours("tcp-server (serial)", "tcp-server", &[]);
    let literal = || Contender::ours("literal port", "article-tcp-server", &[]);
    // Every request leaves a connection in TIME_WAIT for a minute, and the
    // kernel keeps at most about 131,000: the counts stay well below that.
    let count = args.count * 2;
    let runs = args.runs.min(3);

    let mut eight = vec![threaded()?, serial()?, literal()?];
    eight.extend(Contender::python("tcp-server"));
    let figures = measure_all(&eight, runs, Load::new(count, 8), &spread_tcp_request)?;
    let mut table = rows("tcp", "connect per request, 8 clients", &eight, &figures, 0);

    // One client at a time is the article's situation: there the serial
    // server is the one to compare.
    let mut one = vec![serial()?, literal()?];
    one.extend(Contender::python("tcp-server"));
    let figures = measure_all(&one, runs, Load::new(args.count, 1), &spread_tcp_request)?;
    table.extend(rows(
        "tcp",
        "connect per request, 1 client",
        &one,
        &figures,
        0,
    ));
    Ok(table)
}

/// udp: `udp-server` against the literal port and the Python, 8 clients.
pub fn udp_servers(args: &Args) -> io::Result<Vec<Row>> {
    let mut contenders = vec![
        // Eight clients stay far below the per-source reply limit, but a
        // fast machine need not: measure the server, not its limiter.
        Contender::ours(
            "udp-server",
            "udp-server",
            &["--max-replies-per-second", "1000000000"],
        )?,
        Contender::ours("literal port", "article-udp-server", &[])?,
    ];
    contenders.extend(Contender::python("udp-server"));
    let count = args.count * 5;
    let figures = measure_all(
        &contenders,
        args.runs.min(3),
        Load::new(count, 8),
        &udp_request,
    )?;
    Ok(rows(
        "udp",
        "request/ACK, 8 clients",
        &contenders,
        &figures,
        0,
    ))
}

/// A way to serve a listener until stopped.
type Design = fn(&std::net::TcpListener, &tcp::Stop) -> io::Result<()>;

/// The server designs of UNP chapter 30, in this process, 8 clients.
pub fn server_designs(args: &Args) -> io::Result<Vec<Row>> {
    use crate::variants;
    let count = args.count * 2;
    let designs: [(&str, Design); 4] = [
        (
            "prethreaded: up to 8 threads, each calling accept (`--threads`)",
            |l, s| tcp::serve_prethreaded(l, s, 8, |_| {}).map(drop),
        ),
        ("iterative (the article's loop)", |l, s| {
            tcp::serve(l, s, |_| {}).map(drop)
        }),
        ("a thread per connection", variants::thread_per_connection),
        (
            "acceptor handing off to 8 threads over a channel",
            |l, s| variants::acceptor_with_channel(l, s, 8),
        ),
    ];
    let mut rates = vec![Vec::new(); designs.len()];
    for _ in 0..args.runs.min(3) {
        for ((_, design), rates) in designs.iter().zip(&mut rates) {
            let listener = tcp::bind_server(
                crate::loopback(),
                tcp::DEFAULT_BACKLOG,
                tcp::DEFAULT_IDLE_TIMEOUT,
            )?;
            let addr = listener.local_addr()?;
            let design = *design;
            let server = crate::Running::start(addr, move |stop| {
                let _ = design(&listener, stop);
            });
            let report: Report = checked(Load::new(count, 8), || spread_tcp_request(server.addr))?;
            rates.push(report.requests_per_sec());
        }
    }
    let rates: Vec<f64> = rates.into_iter().map(median).collect();
    Ok(designs
        .iter()
        .zip(&rates)
        .skip(1)
        .map(|((name, _), rate)| Row {
            chapter: "tcp",
            measured: format!("UNP ch. 30 designs, 8 clients: {}", designs[0].0),
            figure: per_sec(rates[0]),
            reference: format!("{name}: {}", per_sec(*rate)),
            ratio: format!("{:.2}x", rates[0] / rate),
        })
        .collect())
}
