//! Chapter 8's forwarding loop, between a real client and a real target on
//! loopback, with the faults the proxy can inject.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

use arbtest::arbitrary::Unstructured;
use proxy::{Ending, Faults, TcpProxy};

use crate::loopback::{self, PATIENCE};

/// One proxied connection. `data` picks the faults (latency up to 2 ms,
/// bandwidth from 1 to 50 MB/s, a reset after some bytes), how the client
/// cuts its writes, and splits the rest into the client's request and the
/// target's reply. The target reads the whole request, then replies.
///
/// Without a reset, each side receives exactly what the other sent, in
/// order, and the proxy counts exactly those bytes. With `--reset-after N`,
/// each side receives a prefix of what was sent, no more than N bytes pass
/// in all, and the ending says the reset was on purpose.
pub fn forward(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let faults = faults(&mut u);
    let piece = u.int_in_range(1..=4096).unwrap_or(1);
    let split = u.int_in_range(0..=u.len()).unwrap_or(0);
    let rest = u.take_rest();
    let (request, reply) = rest.split_at(split.min(rest.len()));

    let (front, front_addr) = loopback::listener();
    let (target, target_addr) = loopback::listener();
    let mut proxy = TcpProxy::new(front_addr.port(), "127.0.0.1", target_addr.port());
    proxy.config.faults = faults;
    proxy.config.connect_timeout = PATIENCE;

    let (report, (at_target, _), (at_client, client_error)) = thread::scope(|scope| {
        let target = scope.spawn(|| {
            let mut stream = loopback::accept(&target);
            let got = loopback::read_all(&mut stream);
            // Fails once the proxy has reset the connection: fine.
            let _ = stream.write_all(reply);
            got
        });
        let proxied = scope.spawn(|| {
            let (client, _) = front.accept().expect("accept on loopback");
            proxy.handle_client(client)
        });
        let client = client(front_addr, request, piece);
        let report = proxied.join().expect("the proxy thread panicked");
        (report, target.join().expect("the target panicked"), client)
    });

    if let Some(e) = &client_error {
        assert!(!loopback::timed_out(e), "the client waited in vain: {e}");
    }
    let total = (request.len() + reply.len()) as u64;
    match faults.reset_after {
        Some(limit) if total >= limit && total > 0 => {
            assert!(
                request.starts_with(&at_target),
                "the target got other bytes"
            );
            assert!(reply.starts_with(&at_client), "the client got other bytes");
            assert!((at_target.len() + at_client.len()) as u64 <= limit);
            assert!(
                matches!(report.ending, Ending::ResetOnPurpose(n) if n == limit),
                "{}",
                report.ending
            );
        }
        _ => {
            assert!(at_target == request, "the target got other bytes");
            assert!(at_client == reply, "the client got other bytes");
            assert!(client_error.is_none(), "{client_error:?}");
            assert!(
                matches!(report.ending, Ending::Finished { .. }),
                "{}",
                report.ending
            );
            assert_eq!(report.traffic.outbound, request.len() as u64);
            assert_eq!(report.traffic.inbound, reply.len() as u64);
        }
    }
}

/// The faults, each present or not, from `u`.
fn faults(u: &mut Unstructured<'_>) -> Faults {
    let flags: u8 = u.int_in_range(0..=7).unwrap_or(0);
    let mut faults = Faults::default();
    if flags & 1 != 0 {
        faults.latency = Some(Duration::from_micros(u.int_in_range(0..=2000).unwrap_or(0)));
    }
    if flags & 2 != 0 {
        faults.bandwidth = Some(u.int_in_range(1_000_000..=50_000_000).unwrap_or(1_000_000));
    }
    if flags & 4 != 0 {
        faults.reset_after = Some(u.int_in_range(1..=8192).unwrap_or(1));
    }
    faults
}

/// Connects to the proxy, sends `request` in writes of `piece` bytes,
/// half-closes, and reads the reply to its end.
fn client(
    proxy: std::net::SocketAddr,
    request: &[u8],
    piece: usize,
) -> (Vec<u8>, Option<std::io::Error>) {
    let mut stream = loopback::patient(TcpStream::connect(proxy).expect("connect to the proxy"));
    for chunk in request.chunks(piece) {
        if stream.write_all(chunk).is_err() {
            break; // reset on purpose: the reading below says so
        }
    }
    let _ = stream.shutdown(Shutdown::Write);
    loopback::read_all(&mut stream)
}
