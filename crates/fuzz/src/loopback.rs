//! What the socket targets share: listeners on 127.0.0.1 with a port the
//! OS picks, and reading a peer until it is done.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// How long any one wait on loopback may take. An answer takes
/// microseconds; this only keeps a bug from hanging the run.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// A listener on `127.0.0.1`, port chosen by the OS, and its address.
pub fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot listen on 127.0.0.1");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    (listener, addr)
}

/// Accepts one connection, with [`PATIENCE`] on its reads and writes, and
/// without Nagle's algorithm: the targets write in small pieces on purpose,
/// and each would otherwise wait for the previous one's ACK.
pub fn accept(listener: &TcpListener) -> TcpStream {
    let (stream, _) = listener.accept().expect("accept on loopback");
    patient(stream)
}

/// `stream` with [`PATIENCE`] on its reads and writes and without Nagle's
/// algorithm, as [`accept`] makes the server's end: for the clients' ends.
pub fn patient(stream: TcpStream) -> TcpStream {
    stream.set_nodelay(true).expect("set TCP_NODELAY");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("set timeout");
    stream
        .set_write_timeout(Some(PATIENCE))
        .expect("set timeout");
    stream
}

/// Everything the peer sends until it closes, and the error that ended the
/// reading instead, if one did (a reset, or [`PATIENCE`] running out).
pub fn read_all(stream: &mut TcpStream) -> (Vec<u8>, Option<io::Error>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (data, None),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (data, Some(e)),
        }
    }
}

/// Whether `e` is a wait that ran out: the one reading error a target
/// must never see on loopback.
pub fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
