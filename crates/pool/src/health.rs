//! Is an idle pooled connection still good? One system call tells.
//!
//! A connection the server has closed looks exactly like a live one from
//! our side until we use it: the server's FIN (or its reset) is waiting in
//! our receive queue, unread. Reading would consume data, and a plain read
//! would block on a live connection, so the check *peeks* without waiting:
//! `recv(fd, buf, 1, MSG_PEEK | MSG_DONTWAIT)`.
//!
//! | what the peek returns          | meaning                          | reuse? |
//! |--------------------------------|----------------------------------|--------|
//! | `EAGAIN` (would block)         | nothing to read: alive and idle  | yes    |
//! | 0 bytes                        | the peer closed: FIN is queued   | no     |
//! | some bytes                     | data nobody asked for (a late reply) | no |
//! | an error (`ECONNRESET`, ...)   | the peer reset it                | no     |
//!
//! The check cannot see a server that vanished without a FIN or a reset
//! (a pulled cable); only the request's own timeout catches that, and
//! [`SocketPool::request`](crate::SocketPool::request) retries it once.

use std::io;
use std::mem::MaybeUninit;
use std::net::TcpStream;

use socket2::SockRef;

// ANCHOR: is_reusable
/// Whether an idle connection can be handed out again; see the module.
pub fn is_reusable(stream: &TcpStream) -> bool {
    let mut byte = [MaybeUninit::<u8>::uninit()];
    let peeked =
        SockRef::from(stream).recv_with_flags(&mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT);
    match peeked {
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        Ok(_) => false,
    }
}
// ANCHOR_END: is_reusable

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{Shutdown, TcpListener};

    #[test]
    fn an_open_quiet_connection_is_reusable_and_a_closed_one_is_not() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert!(is_reusable(&client));
        // Unasked-for bytes: not reusable (the next user would read them).
        server.write_all(b"late").unwrap();
        server.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!is_reusable(&client));
        // The peer's FIN.
        let client2 = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server2, _) = listener.accept().unwrap();
        server2.shutdown(Shutdown::Both).unwrap();
        drop(server2);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!is_reusable(&client2));
        drop(server);
    }
}
