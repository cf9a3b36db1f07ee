//! Chapter 8 on the tour: `proxy` in front of `tcp-server`, the article's
//! client through it, the traffic stats on Ctrl-C; then the same with
//! `--latency`, a fault injected on purpose.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use proxy::{Config, Faults, TcpProxy};
use tcp::Stop;

use crate::Story;

const TIMEOUT: Duration = Duration::from_secs(5);
/// The fault of the second half: long enough to see, short for a tour.
const LATENCY: Duration = Duration::from_millis(100);

/// Runs the chapter; see the module comment.
pub fn run(story: &Story) -> Result<String, String> {
    let echo = bind(tcp::bind_server(
        loopback(),
        tcp::DEFAULT_BACKLOG,
        tcp::DEFAULT_IDLE_TIMEOUT,
    ))?;
    let echo_port = port(&echo)?;
    story.command(&format!("just tcp-server --port {echo_port}"));
    story.said(
        "server",
        &format!("Server listening on port {echo_port}..."),
    );
    let echo_stop = Stop::new();
    thread::scope(|scope| {
        scope.spawn(|| tcp::serve_prethreaded(&echo, &echo_stop, 16, |_| {}));
        let result = through_the_proxy(story, echo_port);
        echo_stop.stop();
        result
    })
}

fn through_the_proxy(story: &Story, echo_port: u16) -> Result<String, String> {
    let listener = bind(proxy::listen("127.0.0.1", 0))?;
    let port = port(&listener)?;
    story.command(&format!(
        "just proxy --port {port} --target-host localhost --target-port {echo_port}"
    ));
    let forwarder = TcpProxy::new(port, "localhost", echo_port);
    let stop = Stop::new();
    let (summary, took) = thread::scope(|scope| {
        let server = scope.spawn(|| {
            proxy::serve(&listener, &stop, &forwarder, |event| {
                story.said("proxy", event.to_string().trim_start());
            })
        });
        story.said("proxy", &format!("Proxy listening on port {port}"));
        let exchanged = exchange(story, port);
        // Ctrl-C in the proxy's terminal, in effect.
        stop.stop();
        let summary = server
            .join()
            .map_err(|_| "the proxy thread panicked".to_string())?
            .map_err(|e| format!("proxy: {e}"))?;
        Ok::<_, String>((summary, exchanged?))
    })?;
    story.said(
        "proxy",
        &format!(
            "Stopped after {}.",
            cli::count(summary.connections, "connection")
        ),
    );
    story.said("proxy", &format!("Traffic stats: {}", summary.traffic));
    story.note(&format!(
        "The client half-closed after its message; the proxy passed that on, \
         so the echo ended at once ({:.2} ms).",
        took.as_secs_f64() * 1000.0
    ));
    let expected = "{'outbound': 14, 'inbound': 20}";
    if summary.traffic.to_string() != expected {
        return Err(format!("traffic stats {}, not {expected}", summary.traffic));
    }
    let slowed = with_latency(story, echo_port)?;
    Ok(format!(
        "echo through the proxy, counted {expected}; --latency {} ms made a round trip take {} ms",
        LATENCY.as_millis(),
        slowed.as_millis()
    ))
}

/// `just tcp-client --port PORT` through the proxy: the reply, checked.
fn exchange(story: &Story, port: u16) -> Result<Duration, String> {
    story.command(&format!("just tcp-client --port {port}"));
    let started = Instant::now();
    let reply = tcp::exchange("127.0.0.1", port, tcp::DEFAULT_MESSAGE.as_bytes(), TIMEOUT)
        .map_err(|e| format!("through the proxy: {e}"))?;
    let took = started.elapsed();
    story.said(
        "client",
        &format!("Received: {}", cli::python_bytes(&reply)),
    );
    if reply != tcp::expected_echo(tcp::DEFAULT_MESSAGE.as_bytes()) {
        return Err("the echo through the proxy differs".into());
    }
    Ok(took)
}

/// The same exchange through a proxy that holds every reply back.
fn with_latency(story: &Story, echo_port: u16) -> Result<Duration, String> {
    story.note("A fault on purpose: every reply held back by the proxy.");
    let listener = bind(proxy::listen("127.0.0.1", 0))?;
    let port = port(&listener)?;
    story.command(&format!(
        "just proxy --port {port} --target-host localhost --target-port {echo_port} --latency {}",
        LATENCY.as_millis()
    ));
    let mut forwarder = TcpProxy::new(port, "localhost", echo_port);
    forwarder.config = Config {
        faults: Faults {
            latency: Some(LATENCY),
            ..Faults::default()
        },
        ..Config::default()
    };
    let stop = Stop::new();
    thread::scope(|scope| {
        scope.spawn(|| proxy::serve(&listener, &stop, &forwarder, |_| {}));
        let took = exchange(story, port);
        stop.stop();
        let took = took?;
        story.note(&format!("That round trip took {} ms.", took.as_millis()));
        if took < LATENCY {
            return Err(format!(
                "--latency {LATENCY:?} but a round trip took {took:?}"
            ));
        }
        Ok(took)
    })
}

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

fn bind(listener: std::io::Result<TcpListener>) -> Result<TcpListener, String> {
    listener.map_err(|e| format!("cannot bind a free loopback port: {e}"))
}

fn port(listener: &TcpListener) -> Result<u16, String> {
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}
