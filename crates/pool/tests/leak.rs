//! No descriptor leaks: after 1,000 requests through a pool, with a server
//! restart in the middle (so connections die, are found dead, replaced and
//! retried), this process holds exactly the descriptors it held before.
//! Alone in its test binary: other tests' sockets would blur the count.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use pool::SocketPool;
use tcp::Stop;
use test_support::Background;

fn open_descriptors() -> usize {
    fs::read_dir("/proc/self/fd").map_or(0, |entries| entries.count())
}

fn start_server(addr: SocketAddr) -> (SocketAddr, Background<()>) {
    let listener = tcp::bind_server(addr, tcp::DEFAULT_BACKLOG, Duration::from_secs(10)).unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(Stop::new());
    let on_stop = Arc::clone(&stop);
    let server = Background::spawn(
        move || on_stop.stop(),
        move || {
            pool::serve(&listener, &stop, 64, |_| {}).unwrap();
        },
    );
    (addr, server)
}

#[test]
fn a_thousand_requests_with_reconnects_leave_no_descriptor_behind() {
    let before = open_descriptors();
    {
        let (addr, first) = start_server(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let pool = SocketPool::new("127.0.0.1", addr.port(), 5).unwrap();
        for i in 0..500 {
            assert_eq!(
                pool.request(format!("{i}").as_bytes()).unwrap(),
                format!("{i}").as_bytes()
            );
        }
        first.stop();
        let (_, second) = start_server(addr);
        for i in 500..1000 {
            assert_eq!(
                pool.request(format!("{i}").as_bytes()).unwrap(),
                format!("{i}").as_bytes()
            );
        }
        assert!(pool.stats().found_dead + pool.stats().retried > 0);
        pool.close_all();
        drop(pool);
        second.stop();
    }
    assert_eq!(open_descriptors(), before);
}
