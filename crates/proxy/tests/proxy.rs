//! The proxy as a library, over real loopback sockets: the tcp chapter's
//! echo server behind it and the tcp chapter's client in front, as in
//! `just tcp-server`, `just proxy`, `just tcp-client`. Each fix the chapter
//! claims over the article, and each fault, has its test here.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::{Duration, Instant};

use common::{
    PATIENCE, answer_after_request, closed_port, connect, echo_target, echo_target_at, exchange,
    is_reset, start_proxy,
};
use proxy::{Config, Faults, Traffic};
use socket2::SockRef;

/// tcp-server's default idle timeout: it closes a quiet client after this.
const ECHO_IDLE: Duration = Duration::from_millis(500);

#[test]
fn the_echo_comes_back_through_the_proxy_and_every_byte_is_counted() {
    let (target, _echo) = echo_target(ECHO_IDLE);
    let proxy = start_proxy(target, Config::default());
    let reply = exchange(proxy.addr, b"Hello, Server!", PATIENCE);
    assert_eq!(reply.into_result().unwrap(), b"Echo: Hello, Server!");
    proxy.expect_line("New connection from ('127.0.0.1', ");
    let closed = proxy.expect_line(" closed after ");
    assert!(
        closed.ends_with("{'outbound': 14, 'inbound': 20}; the client closed first"),
        "{closed}"
    );
    let (summary, lines) = proxy.stop();
    assert_eq!(
        summary.traffic,
        Traffic {
            outbound: 14,
            inbound: 20
        }
    );
    assert_eq!(summary.connections, 1);
    assert_eq!(lines.last().map(String::as_str), Some("\nShutting down..."));
}

#[test]
fn a_client_that_half_closes_gets_its_whole_reply_at_once() {
    // The target would wait 30 s for more before it gave up on the client:
    // only the client's end of stream, passed on, ends the exchange sooner.
    let (target, _echo) = echo_target(Duration::from_secs(30));
    let proxy = start_proxy(target, Config::default());
    let started = Instant::now();
    let reply = exchange(proxy.addr, b"Hello, Server!", Duration::from_secs(10));
    assert_eq!(reply.into_result().unwrap(), b"Echo: Hello, Server!");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A server that answers only once the request is complete.
    let (target, _server) = answer_after_request();
    let proxy = start_proxy(target, Config::default());
    let reply = exchange(proxy.addr, &[b'x'; 3000], Duration::from_secs(10));
    assert_eq!(reply.into_result().unwrap(), b"Got 3000 bytes");
}

#[test]
fn no_byte_is_lost_with_a_hundred_connections_at_once() {
    const CLIENTS: usize = 100;
    const SIZE: usize = 256 * 1024;
    let (target, _echo) = echo_target(Duration::from_secs(5));
    let proxy = start_proxy(target, Config::default());
    thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let addr = proxy.addr;
                scope.spawn(move || {
                    let message: Vec<u8> =
                        (0..SIZE).map(|j| ((i * 7 + j * 13) % 251) as u8).collect();
                    let reply = exchange(addr, &message, PATIENCE).into_result().unwrap();
                    assert!(
                        reply == tcp::expected_echo(&message),
                        "client {i}: {} bytes back, not its own echo",
                        reply.len()
                    );
                })
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
    });
    let (summary, lines) = proxy.stop();
    // Exact, with 200 threads adding at once.
    assert_eq!(
        summary.traffic,
        Traffic {
            outbound: (CLIENTS * SIZE) as u64,
            inbound: (CLIENTS * (SIZE + tcp::ECHO_PREFIX.len())) as u64
        }
    );
    let per_connection = format!("{{'outbound': {SIZE}, 'inbound': {}}}", SIZE + 6);
    let closed = lines.iter().filter(|l| l.contains(&per_connection)).count();
    assert_eq!(closed, CLIENTS, "{lines:#?}");
}

#[test]
fn an_unreachable_target_closes_the_client_at_once_and_the_proxy_goes_on() {
    let port = closed_port();
    let proxy = start_proxy(([127, 0, 0, 1], port).into(), Config::default());
    let started = Instant::now();
    let reply = exchange(proxy.addr, b"Hello, Server!", PATIENCE);
    assert!(reply.data.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let line = proxy.expect_line("cannot reach");
    assert!(
        line.ends_with(&format!(
            "cannot reach 127.0.0.1:{port}: connection refused"
        )),
        "{line}"
    );
    // The target comes up on that port: the next client is forwarded.
    let (_, _echo) = echo_target_at(([127, 0, 0, 1], port).into(), ECHO_IDLE);
    let reply = exchange(proxy.addr, b"again", PATIENCE);
    assert_eq!(reply.into_result().unwrap(), b"Echo: again");
    let (summary, _) = proxy.stop();
    assert_eq!((summary.connections, summary.unreachable), (2, 1));
}

#[test]
fn a_client_that_resets_is_named_in_the_log() {
    let (target, _server) = answer_after_request();
    let proxy = start_proxy(target, Config::default());
    let client = connect(proxy.addr);
    (&client).write_all(b"half a request").unwrap();
    proxy.expect_line("New connection");
    // A zero linger time makes the close a reset.
    SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);
    let line = proxy.expect_line(" closed after ");
    assert!(line.ends_with("the client reset the connection"), "{line}");
}

#[test]
fn a_target_that_resets_is_named_and_the_client_sees_a_reset_too() {
    let listener = std::net::TcpListener::bind(common::loopback()).unwrap();
    let target = listener.local_addr().unwrap();
    let resetter = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        (&stream).read_exact(&mut buf).unwrap();
        SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    });
    let proxy = start_proxy(target, Config::default());
    let mut client = connect(proxy.addr);
    client.write_all(b"hello").unwrap();
    resetter.join().unwrap();
    let mut rest = Vec::new();
    let err = client.read_to_end(&mut rest).unwrap_err();
    assert!(
        is_reset(&err),
        "the client saw {err} after {} bytes",
        rest.len()
    );
    let line = proxy.expect_line(" closed after ");
    assert!(line.ends_with("the target reset the connection"), "{line}");
}

#[test]
fn a_stop_ends_connections_that_are_still_open() {
    let (target, _echo) = echo_target(Duration::from_secs(30));
    let proxy = start_proxy(target, Config::default());
    let mut quiet = connect(proxy.addr);
    proxy.expect_line("New connection");
    let started = Instant::now();
    let (summary, lines) = proxy.stop();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(summary.connections, 1);
    let shutting = lines.iter().position(|l| l == "\nShutting down...");
    let closed = lines
        .iter()
        .position(|l| l.ends_with("the proxy is stopping"));
    assert!(shutting.is_some() && closed > shutting, "{lines:#?}");
    // The client's connection is over: end of stream (or a reset).
    assert!(matches!(quiet.read(&mut [0u8; 16]), Ok(0) | Err(_)));
}

#[test]
fn latency_adds_at_least_its_time_to_a_round_trip() {
    let (target, _echo) = echo_target(ECHO_IDLE);
    let latency = Duration::from_millis(300);
    let faults = Faults {
        latency: Some(latency),
        ..Faults::default()
    };
    let proxy = start_proxy(
        target,
        Config {
            faults,
            ..Config::default()
        },
    );
    let started = Instant::now();
    let reply = exchange(proxy.addr, b"Hello, Server!", PATIENCE);
    let took = started.elapsed();
    assert_eq!(reply.into_result().unwrap(), b"Echo: Hello, Server!");
    assert!(took >= latency, "a round trip took {took:?}");
}

#[test]
fn bandwidth_holds_the_rate_roughly() {
    let (target, _echo) = echo_target(ECHO_IDLE);
    let rate = 200_000; // bytes a second, each way: --bandwidth 200
    let faults = Faults {
        bandwidth: Some(rate),
        ..Faults::default()
    };
    let proxy = start_proxy(
        target,
        Config {
            faults,
            ..Config::default()
        },
    );
    let message = vec![b'x'; 100_000];
    let started = Instant::now();
    let reply = exchange(proxy.addr, &message, PATIENCE);
    let took = started.elapsed();
    assert_eq!(reply.into_result().unwrap().len(), 100_006);
    // 100 kB at 200 kB/s is half a second, each way at the same time.
    let measured = 100_000.0 / took.as_secs_f64();
    assert!(
        measured <= rate as f64 * 1.25 && measured >= rate as f64 / 5.0,
        "{measured:.0} bytes/s through a {rate} bytes/s limit ({took:?})"
    );
}

#[test]
fn reset_after_resets_the_client_once_that_many_bytes_passed() {
    let (target, _echo) = echo_target(ECHO_IDLE);
    let faults = Faults {
        reset_after: Some(1000),
        ..Faults::default()
    };
    let proxy = start_proxy(
        target,
        Config {
            faults,
            ..Config::default()
        },
    );
    let reply = exchange(proxy.addr, &[b'x'; 10_000], PATIENCE);
    let err = reply.error.expect("the connection was reset");
    assert!(is_reset(&err), "{err}");
    assert!(
        reply.data.len() <= 1000,
        "{} bytes came back",
        reply.data.len()
    );
    let line = proxy.expect_line(" closed after ");
    assert!(
        line.ends_with("reset on purpose after 1000 bytes (--reset-after)"),
        "{line}"
    );
    let (summary, _) = proxy.stop();
    let passed = summary.traffic.outbound + summary.traffic.inbound;
    assert_eq!(passed, 1000, "{:?}", summary.traffic);
}

#[test]
fn stats_every_reports_the_totals() {
    let (target, _echo) = echo_target(ECHO_IDLE);
    let proxy = start_proxy(
        target,
        Config {
            stats_every: Some(Duration::from_millis(100)),
            ..Config::default()
        },
    );
    let reply = exchange(proxy.addr, b"Hello, Server!", PATIENCE);
    assert!(reply.error.is_none());
    proxy.expect_line(" closed after ");
    proxy.expect_line("Traffic stats: {'outbound': 14, 'inbound': 20} (1 connection, 0 open)");
}

#[test]
fn a_client_can_keep_reading_after_it_half_closed() {
    // The half-close by hand: send, shut down the writing side, and read
    // the reply to its end through the proxy.
    let (target, _echo) = echo_target(Duration::from_secs(30));
    let proxy = start_proxy(target, Config::default());
    let mut client = connect(proxy.addr);
    client.write_all(b"abc").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, b"Echo: abc");
    let line = proxy.expect_line(" closed after ");
    assert!(line.ends_with("the client closed first"), "{line}");
}
