//! No leak: after 1,000 connections through the `proxy` binary, some of
//! them ended by a reset, its threads and open descriptors are back where
//! they were. Alone in its test binary so that nothing else runs at once.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{PATIENCE, connect, echo_target, eventually, exchange, threads_and_fds};
use socket2::SockRef;
use test_support::Server;

const PROXY: &str = env!("CARGO_BIN_EXE_proxy");

/// One client, as `tcp-client` would; every tenth resets instead of
/// waiting for its echo.
fn one_client(proxy: &Server, i: usize) {
    if i % 10 == 9 {
        let client = connect(proxy.addr());
        (&client).write_all(b"bye").unwrap();
        SockRef::from(&client)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    } else {
        let message = format!("client {i}");
        let reply = exchange(proxy.addr(), message.as_bytes(), PATIENCE);
        assert_eq!(
            reply.into_result().unwrap(),
            tcp::expected_echo(message.as_bytes())
        );
    }
}

#[test]
fn a_thousand_connections_leave_no_thread_and_no_descriptor_behind() {
    let (target, _echo) = echo_target(Duration::from_millis(500));
    let port = target.port().to_string();
    let proxy = Server::start(
        PROXY,
        &[
            "--host",
            "127.0.0.1",
            "--target-host",
            "127.0.0.1",
            "--target-port",
            &port,
            "--quiet",
            "--stats-every",
            "0.05",
            // The worker pool starts 4 threads and adds one whenever all
            // are busy, which a loaded machine can make happen even with
            // one client at a time; capped at 4, it cannot grow, and any
            // thread more afterwards is a leak.
            "--max-connections",
            "4",
        ],
    )
    .unwrap();
    // A few clients first.
    for i in 0..20 {
        one_client(&proxy, i);
    }
    // The proxy's own count says when the last of them is closed: a
    // connection counts as open until both its sockets are.
    proxy.expect_line("(20 connections, 0 open)", PATIENCE);
    let before = threads_and_fds(proxy.pid());
    for i in 0..1000 {
        one_client(&proxy, i);
    }
    proxy.expect_line("(1020 connections, 0 open)", PATIENCE);
    // The worker that closed the last one may still be on its way back
    // to `accept`.
    let back = eventually(Duration::from_secs(5), || {
        threads_and_fds(proxy.pid()) == before
    });
    assert!(
        back,
        "threads and descriptors: {before:?} before, {:?} after 1,000 connections",
        threads_and_fds(proxy.pid())
    );
    let stopped = proxy.stop();
    assert!(stopped.status.success());
    assert_eq!(
        stopped.remaining.iter().rev().nth(1).map(String::as_str),
        Some("Stopped after 1020 connections.")
    );
}
