//! The pool exercises' setup and checks: idle connections with the time
//! they were returned, a way to tell whether a connection was closed, and
//! a returned connection that arrives while someone waits.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use crate::net::{self, within};

/// An idle connection in a pool, and when it was put back.
pub struct Idle {
    /// The pooled (client) end of the connection.
    pub stream: TcpStream,
    /// When it was returned to the pool.
    pub since: Instant,
}

/// `take_idle` of pool1: hands out a connection from the queue of idle ones.
pub type TakeIdleFn = fn(&mut VecDeque<Idle>, Duration) -> Option<TcpStream>;

/// `get_timeout` of pool2: a connection from the pool's queue within `wait`.
pub type GetTimeoutFn = fn(&Receiver<TcpStream>, Duration) -> io::Result<TcpStream>;

/// A connection returned `age` ago, and the server's end of it (to see
/// whether the pool closed it).
pub fn idle_for(age: Duration) -> io::Result<(Idle, TcpStream)> {
    let (client, server) = net::connected_pair()?;
    let since = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
    Ok((
        Idle {
            stream: client,
            since,
        },
        server,
    ))
}

/// Whether the peer of `server` has closed the connection: a read sees
/// end-of-stream (within a second) instead of waiting.
pub fn was_closed(server: &mut TcpStream) -> bool {
    let _ = server.set_read_timeout(Some(Duration::from_secs(1)));
    matches!(server.read(&mut [0u8; 1]), Ok(0))
}

/// pool1: stale connections are closed and skipped, a fresh one is handed
/// out, and an all-stale queue gives `None`.
#[track_caller]
pub fn check_skips_and_closes_stale(take_idle: TakeIdleFn) {
    let max_idle = Duration::from_millis(200);
    let (old1, mut old1_server) = idle_for(Duration::from_secs(1)).unwrap();
    let (old2, mut old2_server) = idle_for(Duration::from_millis(500)).unwrap();
    let (fresh, _fresh_server) = idle_for(Duration::ZERO).unwrap();
    let fresh_port = fresh.stream.local_addr().unwrap().port();
    let mut queue = VecDeque::from([old1, old2, fresh]);
    let (queue, got) = within(net::TIMEOUT, "take_idle", move || {
        let got = take_idle(&mut queue, max_idle);
        (queue, got)
    });
    let got = got.expect("take_idle returned None, but the third connection was fresh");
    assert_eq!(
        got.local_addr().unwrap().port(),
        fresh_port,
        "take_idle handed out a connection idle longer than max_idle: the server may \
         have closed it long ago, and the request on it would fail"
    );
    assert!(
        queue.is_empty(),
        "the stale connections are still in the queue"
    );
    assert!(
        was_closed(&mut old1_server) && was_closed(&mut old2_server),
        "the stale connections were skipped but not closed: dropping them closes them"
    );
}

/// pool1: a queue of stale connections only gives `None`, not a stale one.
#[track_caller]
pub fn check_all_stale_gives_none(take_idle: TakeIdleFn) {
    let (old, _server) = idle_for(Duration::from_secs(1)).unwrap();
    let mut queue = VecDeque::from([old]);
    let got = within(net::TIMEOUT, "take_idle", move || {
        take_idle(&mut queue, Duration::from_millis(200))
    });
    assert!(
        got.is_none(),
        "every connection was stale: take_idle must return None"
    );
}

/// pool2: with nothing returned, `get_timeout` fails with `TimedOut` after
/// about `wait`, not at once and not never.
#[track_caller]
pub fn check_times_out(get_timeout: GetTimeoutFn) {
    let (_returns, idle) = mpsc::channel::<TcpStream>();
    let wait = Duration::from_millis(300);
    let started = Instant::now();
    let result = within(net::TIMEOUT, "get_timeout", move || {
        get_timeout(&idle, wait).map(drop)
    });
    let took = started.elapsed();
    let err = result.expect_err("nothing was ever returned: get_timeout must fail");
    assert_eq!(
        err.kind(),
        io::ErrorKind::TimedOut,
        "fail with TimedOut: {err}"
    );
    assert!(
        took >= wait,
        "gave up after {took:?}, before the {wait:?} it was given"
    );
    assert!(
        took < wait * 4,
        "gave up only after {took:?} for a {wait:?} wait"
    );
}

/// pool2: a connection returned while `get_timeout` waits is handed over at
/// once, well before the wait is up.
#[track_caller]
pub fn check_gets_a_returned_connection(get_timeout: GetTimeoutFn) {
    let (returns, idle) = mpsc::channel::<TcpStream>();
    let (client, _server) = net::connected_pair().unwrap();
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        let _ = returns.send(client);
    });
    let started = Instant::now();
    let result = within(net::TIMEOUT, "get_timeout", move || {
        get_timeout(&idle, Duration::from_secs(3)).map(drop)
    });
    assert!(
        result.is_ok(),
        "a connection came back after 100 ms: {result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}: hand the connection over as soon as it is returned",
        started.elapsed()
    );
}
