//! The literal port of the article's proxy (`examples/article-proxy`) and
//! the article's Python itself (`python/tcp_proxy.py`) really fail the way
//! the chapter says, and `proxy` does not: the book runs these same
//! experiments, and this keeps it honest.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{answer_after_request, echo_target, exchange, threads_and_fds};
use test_support::{PythonServer, Server, example_path, skip_without_python};

const PROXY: &str = env!("CARGO_BIN_EXE_proxy");

fn python_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/tcp_proxy.py")
}

fn target_args(target: std::net::SocketAddr) -> Vec<String> {
    [
        "--host",
        "127.0.0.1",
        "--target-host",
        "127.0.0.1",
        "--target-port",
        &target.port().to_string(),
    ]
    .map(String::from)
    .to_vec()
}

fn start(program: impl AsRef<std::ffi::OsStr>, target: std::net::SocketAddr) -> Server {
    let args = target_args(target);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(program, &args).unwrap()
}

#[test]
fn all_three_forward_a_target_that_closes_first() {
    // tcp-server's own idle timeout (0.5 s) ends the exchange from the
    // target's side, so even a proxy that drops the client's end of stream
    // delivers the echo, half a second late.
    let (target, _echo) = echo_target(Duration::from_millis(500));
    let mut proxies = vec![
        start(PROXY, target),
        start(example_path("article-proxy"), target),
    ];
    let python = skip_without_python("all_three_forward_a_target_that_closes_first").map(|_| {
        let args = target_args(target);
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend(["--port", "0"]);
        PythonServer::start(python_script(), &args)
            .unwrap()
            .into_inner()
    });
    proxies.extend(python);
    for proxy in &proxies {
        let reply = exchange(proxy.addr(), b"Hello, Server!", Duration::from_secs(10));
        assert_eq!(reply.into_result().unwrap(), b"Echo: Hello, Server!");
        assert!(proxy.first_line().starts_with("Proxy listening on port "));
        proxy.expect_line("New connection from ('127.0.0.1', ", common::PATIENCE);
    }
}

#[test]
fn the_literal_port_never_passes_a_half_close_on() {
    // A target that replies only once the request is complete: through
    // the literal port it never learns that it is.
    let (target, _server) = answer_after_request();
    let ours = start(PROXY, target);
    let reply = exchange(ours.addr(), b"Hello, Server!", Duration::from_secs(10));
    assert_eq!(reply.into_result().unwrap(), b"Got 14 bytes");

    let literal = start(example_path("article-proxy"), target);
    let (threads_before, _) = threads_and_fds(literal.pid());
    let started = Instant::now();
    let reply = exchange(literal.addr(), b"Hello, Server!", Duration::from_secs(2));
    let err = reply.error.expect("no reply can come");
    assert!(tcp::is_timeout(&err), "{err}");
    assert!(reply.data.is_empty(), "{:?}", reply.data);
    assert!(started.elapsed() >= Duration::from_secs(2));
    // The client gave up and closed, but the literal port's inbound thread
    // still waits on the target, and its handler thread on that one.
    let (threads_after, _) = threads_and_fds(literal.pid());
    assert!(
        threads_after > threads_before,
        "{threads_before} threads before, {threads_after} after"
    );
}

#[test]
fn through_the_literal_port_an_echo_never_ends() {
    // tcp-server with a long idle timeout: the echo arrives, but its end
    // (the server's close, which answers the client's) never does.
    let (target, _echo) = echo_target(Duration::from_secs(30));
    let literal = start(example_path("article-proxy"), target);
    let reply = exchange(literal.addr(), b"Hello, Server!", Duration::from_secs(2));
    assert_eq!(reply.data, b"Echo: Hello, Server!");
    assert!(tcp::is_timeout(&reply.error.expect("no end of the reply")));

    let ours = start(PROXY, target);
    let started = Instant::now();
    let reply = exchange(ours.addr(), b"Hello, Server!", Duration::from_secs(10));
    assert_eq!(reply.into_result().unwrap(), b"Echo: Hello, Server!");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn the_python_proxy_loses_its_stats_on_sigterm_and_ours_does_not() {
    let Some(_python) = skip_without_python("the_python_proxy_loses_its_stats_on_sigterm") else {
        return;
    };
    let (target, _echo) = echo_target(Duration::from_millis(500));
    let args = target_args(target);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--port", "0"]);
    let python = PythonServer::start(python_script(), &args).unwrap();
    let ours = start(PROXY, target);
    for proxy in [&*python, &ours] {
        let reply = exchange(proxy.addr(), b"Hello, Server!", Duration::from_secs(10));
        assert_eq!(reply.into_result().unwrap(), b"Echo: Hello, Server!");
    }
    let python = python.stop();
    assert!(
        !python.stdout.iter().any(|l| l.starts_with("Traffic stats")),
        "{:?}",
        python.stdout
    );
    let ours = ours.stop();
    assert_eq!(
        ours.remaining.last().map(String::as_str),
        Some("Traffic stats: {'outbound': 14, 'inbound': 20}")
    );
}

#[test]
fn on_ctrl_c_the_python_and_ours_print_the_same_last_lines() {
    let Some(_python) = skip_without_python("on_ctrl_c_the_python_and_ours_print_the_same") else {
        return;
    };
    let (target, _echo) = echo_target(Duration::from_millis(500));
    let args = target_args(target);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--port", "0"]);
    let python = PythonServer::start(python_script(), &args)
        .unwrap()
        .into_inner();
    let ours = start(PROXY, target);
    let mut endings = Vec::new();
    for proxy in [python, ours] {
        let reply = exchange(proxy.addr(), b"Hello, Server!", Duration::from_secs(10));
        assert_eq!(reply.into_result().unwrap(), b"Echo: Hello, Server!");
        // Both count a chunk before they forward it: with the whole echo
        // here, their counts are final.
        common::interrupt(proxy.pid());
        proxy.expect_line("Traffic stats", common::PATIENCE);
        let stopped = proxy.stop();
        let lines = stopped.stdout;
        let at = lines.iter().position(|l| l == "Shutting down...").unwrap();
        endings.push((lines[at - 1].clone(), lines.last().cloned().unwrap()));
    }
    let expected = (
        String::new(),
        "Traffic stats: {'outbound': 14, 'inbound': 20}".to_string(),
    );
    assert_eq!(endings, [expected.clone(), expected]);
}
