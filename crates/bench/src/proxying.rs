//! proxy: what forwarding costs. One large transfer through the proxy
//! against the same transfer over a direct loopback connection, in the
//! same run; the same through socat (`-b65536`, when installed) and the
//! article's Python proxy (when python3 is); and 100 connections at once,
//! 10 MB each way through the proxy to an echo server, every byte checked.
//!
//! The sizes scale with `--count` (default 4000): 1 GiB for the transfer,
//! 10 MB each way per connection for the hundred.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::processes::Process;
use crate::{Args, Row, Running, loopback, median};

/// Reads and writes of the benchmark's own clients and sink: large, so
/// that they cost the figures as little as possible.
const CHUNK: usize = 256 * 1024;
/// How long a transfer may take before the bench gives up on it.
const PATIENCE: Duration = Duration::from_secs(120);

/// `--count` 4000 (the default) moves 1 GiB.
fn transfer_bytes(args: &Args) -> u64 {
    ((1u64 << 30) * args.count as u64 / 4000).max(1 << 20)
}

/// `--count` 4000 moves 10 MB each way on each of the hundred.
fn per_connection_bytes(args: &Args) -> u64 {
    (10_000_000 * args.count as u64 / 4000).max(100_000)
}

pub fn proxy_against_direct(args: &Args) -> io::Result<Vec<Row>> {
    let bytes = transfer_bytes(args);
    let sink = start_sink()?;
    let ours = start_proxy(sink.addr)?;
    let python = python_proxy(sink.addr);
    let socat = if socat_installed() {
        Some(start_socat(sink.addr)?)
    } else {
        None
    };
    let (mut direct, mut through_ours, mut through_socat, mut through_python) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // The ratio to direct scatters widely from run to run: every run for
    // those two, three for the slower others.
    for run in 0..args.runs {
        direct.push(transfer(sink.addr, bytes)?);
        through_ours.push(transfer(ours.addr, bytes)?);
        if run >= 3 {
            continue;
        }
        if let Some((_, socat)) = &socat {
            through_socat.push(transfer(*socat, bytes)?);
        }
        if let Some(python) = &python {
            through_python.push(transfer(python.addr, bytes)?);
        }
    }
    let (direct, ours_rate) = (median(direct), median(through_ours));
    let size = show_size(bytes);
    let mut rows = vec![Row {
        chapter: "proxy",
        measured: format!("one {size} transfer through the proxy (256 KiB buffers, in-process)"),
        figure: gbps(ours_rate),
        reference: format!(
            "the same transfer, direct loopback connection: {}",
            gbps(direct)
        ),
        ratio: format!(
            "{:.2}x ({:.0} % of direct)",
            ours_rate / direct,
            ours_rate / direct * 100.0
        ),
    }];
    rows.push(if socat.is_some() {
        let socat_rate = median(through_socat);
        Row {
            chapter: "proxy",
            measured: format!("one {size} transfer through the proxy"),
            figure: gbps(ours_rate),
            reference: format!("socat -b65536 as the proxy: {}", gbps(socat_rate)),
            ratio: format!("{:.2}x socat", ours_rate / socat_rate),
        }
    } else {
        Row {
            chapter: "proxy",
            measured: format!("one {size} transfer through the proxy"),
            figure: gbps(ours_rate),
            reference: "socat is not installed: no socat figure (apt install socat)".into(),
            ratio: "-".into(),
        }
    });
    if python.is_some() {
        let python_rate = median(through_python);
        rows.push(Row {
            chapter: "proxy",
            measured: format!("one {size} transfer through the proxy"),
            figure: gbps(ours_rate),
            reference: format!(
                "the article's Python proxy (recv(4096)): {}",
                gbps(python_rate)
            ),
            ratio: format!("{:.2}x the Python", ours_rate / python_rate),
        });
    }
    rows.push(hundred_connections(args)?);
    Ok(rows)
}

/// 100 connections at once through the proxy to an echo server, each
/// sending its own byte pattern and checking every byte of the echo.
fn hundred_connections(args: &Args) -> io::Result<Row> {
    const CONNECTIONS: u64 = 100;
    let each = per_connection_bytes(args);
    let echo = start_echo()?;
    let proxy = start_proxy(echo.addr)?;
    let through = many(proxy.addr, CONNECTIONS, each)?;
    let direct = many(echo.addr, CONNECTIONS, each)?;
    let moved = (CONNECTIONS * each) as f64;
    Ok(Row {
        chapter: "proxy",
        measured: format!(
            "{CONNECTIONS} connections at once, {} each way, through the proxy to an echo \
             server; every byte checked",
            show_size(each)
        ),
        figure: format!(
            "{:.2} s, {} each way, all bytes intact",
            through.as_secs_f64(),
            gbps(moved / through.as_secs_f64())
        ),
        reference: format!(
            "direct to the echo server: {:.2} s, {}",
            direct.as_secs_f64(),
            gbps(moved / direct.as_secs_f64())
        ),
        ratio: format!("{:.2}x", direct.as_secs_f64() / through.as_secs_f64()),
    })
}

/// The proxy in this process, forwarding to `target`.
fn start_proxy(target: SocketAddr) -> io::Result<Running> {
    let listener = proxy::listen("127.0.0.1", 0)?;
    let addr = listener.local_addr()?;
    let forwarder = proxy::TcpProxy::new(addr.port(), "127.0.0.1", target.port());
    Ok(Running::start(addr, move |stop| {
        let _ = proxy::serve(&listener, stop, &forwarder, |_| {});
    }))
}

/// A server that reads an 8-byte length, then that many bytes, and answers
/// with the count it read: the client knows every byte arrived, even
/// through a proxy that never passes an end of stream on (the article's).
fn start_sink() -> io::Result<Running> {
    let listener = tcp::bind_server(loopback(), tcp::DEFAULT_BACKLOG, PATIENCE)?;
    let addr = listener.local_addr()?;
    Ok(Running::start(addr, move |stop| {
        let _ = tcp::serve_workers(&listener, stop, 16, &|_| {}, |mut stream, _| {
            let _ = sink(&mut stream);
        });
    }))
}

fn sink(stream: &mut TcpStream) -> io::Result<()> {
    let mut header = [0u8; 8];
    stream.read_exact(&mut header)?;
    let expected = u64::from_be_bytes(header);
    let mut buf = vec![0u8; CHUNK];
    let mut got = 0u64;
    while got < expected {
        let want = buf.len().min((expected - got) as usize);
        match stream.read(&mut buf[..want])? {
            0 => break,
            n => got += n as u64,
        }
    }
    stream.write_all(&got.to_be_bytes())
}

/// Sends `bytes` to the sink at `addr` (directly or through a proxy) and
/// returns the rate in bytes per second, once the sink confirmed them all.
fn transfer(addr: SocketAddr, bytes: u64) -> io::Result<f64> {
    let mut stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.set_write_timeout(Some(PATIENCE))?;
    let chunk = vec![0x5a_u8; CHUNK];
    let started = Instant::now();
    stream.write_all(&bytes.to_be_bytes())?;
    let mut left = bytes;
    while left > 0 {
        let n = chunk.len().min(left as usize);
        stream.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    let mut confirmed = [0u8; 8];
    stream.read_exact(&mut confirmed)?;
    let took = started.elapsed();
    if u64::from_be_bytes(confirmed) != bytes {
        return Err(io::Error::other("the sink did not get every byte"));
    }
    Ok(bytes as f64 / took.as_secs_f64())
}

fn socat_installed() -> bool {
    Command::new("socat")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// socat as the proxy, forwarding to `sink`: `fork` serves every
/// connection in a child process of its own, as a socat proxy usually runs.
fn start_socat(sink: SocketAddr) -> io::Result<(Killed, SocketAddr)> {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port();
    let child = Command::new("socat")
        .args([
            "-b65536",
            &format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"),
            &format!("TCP:127.0.0.1:{}", sink.port()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let socat = Killed(child);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    // socat prints nothing when it is ready: connect until it answers,
    // for a bounded time.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(_) => return Ok((socat, addr)),
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(io::Error::new(e.kind(), format!("socat: {e}"))),
        }
    }
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The article's proxy in Python, forwarding to `target`, if python3 runs.
fn python_proxy(target: SocketAddr) -> Option<Process> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proxy/python/tcp_proxy.py");
    let target_port = target.port().to_string();
    let args = [
        script.to_str()?,
        "--target-host",
        "127.0.0.1",
        "--target-port",
        &target_port,
    ];
    Process::start(&PathBuf::from("python3"), &args).ok()
}

/// An echo server: every byte back, until the client closes.
fn start_echo() -> io::Result<Running> {
    let listener = tcp::bind_server(loopback(), tcp::DEFAULT_BACKLOG, PATIENCE)?;
    let addr = listener.local_addr()?;
    Ok(Running::start(addr, move |stop| {
        let _ = pool::serve(&listener, stop, 1024, |_| {});
    }))
}

/// `connections` clients at once, each sending `each` bytes of its own
/// pattern to `addr` and checking the echo byte for byte; how long all
/// of them took.
fn many(addr: SocketAddr, connections: u64, each: u64) -> io::Result<Duration> {
    let started = Instant::now();
    thread::scope(|scope| {
        let clients: Vec<_> = (0..connections)
            .map(|seed| scope.spawn(move || echo_checked(addr, seed, each)))
            .collect();
        for client in clients {
            client
                .join()
                .map_err(|_| io::Error::other("a client panicked"))??;
        }
        Ok::<(), io::Error>(())
    })?;
    Ok(started.elapsed())
}

/// One client of [`many`]: writes on a second thread while it reads, so
/// neither side's buffers can fill and stall the other.
fn echo_checked(addr: SocketAddr, seed: u64, each: u64) -> io::Result<()> {
    let stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.set_write_timeout(Some(PATIENCE))?;
    let mut writer = stream.try_clone()?;
    thread::scope(|scope| {
        let sending = scope.spawn(move || -> io::Result<()> {
            let mut pattern = Pattern::new(seed);
            let mut chunk = vec![0u8; CHUNK];
            let mut left = each;
            while left > 0 {
                let n = chunk.len().min(left as usize);
                pattern.fill(&mut chunk[..n]);
                writer.write_all(&chunk[..n])?;
                left -= n as u64;
            }
            writer.shutdown(Shutdown::Write)
        });
        let mut reader = &stream;
        let mut expected = Pattern::new(seed);
        let (mut buf, mut want) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
        let mut got = 0u64;
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            expected.fill(&mut want[..n]);
            if buf[..n] != want[..n] {
                return Err(io::Error::other(format!(
                    "connection {seed}: a byte changed after {got} intact ones"
                )));
            }
            got += n as u64;
        }
        sending
            .join()
            .map_err(|_| io::Error::other("a writer panicked"))??;
        if got != each {
            return Err(io::Error::other(format!(
                "connection {seed}: {got} of {each} bytes came back"
            )));
        }
        Ok(())
    })
}

/// A byte stream that differs per connection (xorshift64), generated the
/// same way by the writer and by the checker.
struct Pattern {
    state: u64,
    word: [u8; 8],
    used: usize,
}

impl Pattern {
    fn new(seed: u64) -> Self {
        Self {
            state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            word: [0; 8],
            used: 8,
        }
    }

    fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            if self.used == 8 {
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                self.word = self.state.to_le_bytes();
                self.used = 0;
            }
            *byte = self.word[self.used];
            self.used += 1;
        }
    }
}

fn gbps(bytes_per_sec: f64) -> String {
    format!("{:.2} GB/s", bytes_per_sec / 1e9)
}

/// `1 GiB`, `10 MB`: the size as the row names it.
fn show_size(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else if bytes >= 1 << 30 {
        format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else if bytes.is_multiple_of(1_000_000) {
        format!("{} MB", bytes / 1_000_000)
    } else {
        format!("{bytes} bytes")
    }
}
