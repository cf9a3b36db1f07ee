//! The article's SocketPool over real loopback sockets: thread safety shown,
//! and every fault the chapter lists, each ending with the pool still
//! serving requests.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pool::{Exhausted, PoolConfig, SocketPool, Summary};
use tcp::Stop;
use test_support::Background;

/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(10);

/// pool-server's library on a thread, on `addr` (port 0 for a free one).
fn start_server(addr: SocketAddr, idle_timeout: Duration) -> (SocketAddr, Background<Summary>) {
    let listener = tcp::bind_server(addr, tcp::DEFAULT_BACKLOG, idle_timeout).unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(Stop::new());
    let on_stop = Arc::clone(&stop);
    let server = Background::spawn(
        move || on_stop.stop(),
        move || pool::serve(&listener, &stop, 64, |_| {}).unwrap(),
    );
    (addr, server)
}

fn any_port() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

fn pool_for(addr: SocketAddr, size: usize) -> SocketPool {
    SocketPool::new("127.0.0.1", addr.port(), size).unwrap()
}

#[test]
fn the_articles_usage_gets_its_echo() {
    let (addr, _server) = start_server(any_port(), PATIENCE);
    let pool = pool_for(addr, 5);
    let mut sock = pool.get_socket().unwrap();
    sock.write_all(b"Request data").unwrap();
    let mut response = [0u8; 1024];
    let n = sock.read(&mut response).unwrap();
    assert_eq!(&response[..n], b"Request data");
    pool.return_socket(sock);
    assert_eq!(pool.idle(), 5);
    pool.close_all();
    assert_eq!(pool.idle(), 0);
}

#[test]
fn eight_threads_share_a_pool_of_five_and_every_reply_is_theirs() {
    let (addr, _server) = start_server(any_port(), PATIENCE);
    let pool = pool_for(addr, 5);
    thread::scope(|scope| {
        for t in 0..8 {
            let pool = &pool;
            scope.spawn(move || {
                for i in 0..1000 {
                    let message = format!("thread {t} request {i}");
                    let reply = pool.request(message.as_bytes()).unwrap();
                    assert_eq!(reply, message.as_bytes());
                }
            });
        }
    });
    let stats = pool.stats();
    assert_eq!(
        stats.retried + stats.discarded + stats.found_dead,
        0,
        "{stats:?}"
    );
    // The article's policy opens extra connections when all five are lent.
    assert!(stats.created >= 5, "{stats:?}");
}

#[test]
fn a_server_that_is_down_is_a_clear_error_when_the_pool_is_made() {
    let port = TcpListener::bind(any_port())
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = SocketPool::new("127.0.0.1", port, 5).err().unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

#[test]
fn requests_recover_when_the_server_restarts() {
    let (addr, first) = start_server(any_port(), PATIENCE);
    let pool = pool_for(addr, 3);
    assert_eq!(pool.request(b"before").unwrap(), b"before");
    // The server goes away with the pool's connections open, and comes back
    // on the same port: every pooled connection is now dead.
    first.stop();
    let (_, _second) = start_server(addr, PATIENCE);
    for i in 0..10 {
        let message = format!("after {i}");
        assert_eq!(
            pool.request(message.as_bytes()).unwrap(),
            message.as_bytes()
        );
    }
    let stats = pool.stats();
    assert!(stats.found_dead + stats.retried >= 3, "{stats:?}");
}

#[test]
fn the_health_check_replaces_connections_the_server_closed_for_idleness() {
    let (addr, _server) = start_server(any_port(), Duration::from_millis(200));
    let pool = pool_for(addr, 3);
    thread::sleep(Duration::from_millis(600));
    assert_eq!(pool.request(b"still here?").unwrap(), b"still here?");
    let stats = pool.stats();
    assert!(stats.found_dead >= 1, "{stats:?}");
    assert_eq!(
        stats.retried, 0,
        "the check, not a failed request, caught it: {stats:?}"
    );
}

#[test]
fn connections_idle_past_max_idle_are_not_reused() {
    let (addr, _server) = start_server(any_port(), PATIENCE);
    let config = PoolConfig {
        max_idle: Duration::from_millis(100),
        ..PoolConfig::default()
    };
    let pool = SocketPool::with_config("127.0.0.1", addr.port(), 2, config).unwrap();
    thread::sleep(Duration::from_millis(300));
    assert_eq!(pool.request(b"fresh").unwrap(), b"fresh");
    assert!(pool.stats().expired >= 1, "{:?}", pool.stats());
}

#[test]
fn an_exhausted_pool_creates_like_the_article_or_waits_if_asked() {
    let (addr, _server) = start_server(any_port(), PATIENCE);
    // The article's policy: a third connection is opened.
    let pool = pool_for(addr, 2);
    let held: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect();
    assert_eq!(pool.stats().created, 3);
    drop(held);
    assert_eq!(pool.idle(), 2);
    assert_eq!(pool.stats().surplus, 1);

    // Waiting, bounded: nothing comes back, so it fails after the wait.
    let config = PoolConfig {
        exhausted: Exhausted::Wait(Duration::from_millis(200)),
        ..PoolConfig::default()
    };
    let waiting = SocketPool::with_config("127.0.0.1", addr.port(), 2, config).unwrap();
    let held: Vec<_> = (0..2).map(|_| waiting.get().unwrap()).collect();
    let err = waiting.get().err().unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(err.to_string().contains("pool exhausted"), "{err}");
    // One returned while another waits is handed over.
    thread::scope(|scope| {
        let taker = scope.spawn(|| waiting.get().map(|_| ()));
        thread::sleep(Duration::from_millis(50));
        drop(held);
        taker.join().unwrap().unwrap();
    });
}

#[test]
fn a_connection_that_failed_is_closed_not_returned() {
    // A "server" that accepts and closes at once: every request on it fails.
    let listener = TcpListener::bind(any_port()).unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let closer = thread::spawn(move || {
        // Accepts and closes whatever comes, for a bounded time.
        let until = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < until {
            match listener.accept() {
                Ok((stream, _)) => drop(stream),
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    let pool = pool_for(addr, 2);
    let err = pool.request(b"lost").unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
        ),
        "{err}"
    );
    let stats = pool.stats();
    assert!(stats.discarded >= 1, "{stats:?}");
    // Neither the failed pooled connection nor the failed retry came back.
    assert!(pool.idle() <= 1, "{}", pool.idle());
    drop(pool);
    closer.join().unwrap();
}
