// tcp1_threaded_echo: serve 8 clients at once                 (chapter: tcp)
//
// The article's TCP server handles one client at a time: `accept()`, `recv`,
// `send`, `close`, and only then the next `accept()`. One client that
// connects and says nothing holds up everyone queued behind it.
//
// Your task: change `serve` so that every accepted connection is handled on
// its own thread, and `serve` still returns only after all its clients have
// been served. `handle_client` (the echo itself) is done; leave it as it is.
//
// The check starts `serve` on 127.0.0.1 (port 0), connects one client that
// never sends, then 8 clients that all hold their connection open before any
// of them sends. Every one of the 8 must get `Echo: ` + its message within
// 5 seconds. Then it starts `serve` for 2 clients, and the second one waits
// 300 ms between sending and half-closing: `serve` must not return before
// that client has its echo.
//
// Check it:  rustlings run tcp1_threaded_echo
// Stuck?     rustlings hint tcp1_threaded_echo

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// What the server puts in front of the echoed bytes, as in the article.
const ECHO_PREFIX: &[u8] = b"Echo: ";

/// How long `handle_client` waits for a silent client before dropping it.
/// Long on purpose: a server that serves one client at a time sits this long
/// on the idle client, and the check notices.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The most a client may send; a client that never stops cannot make the
/// server buffer without limit.
const MAX_MESSAGE_BYTES: u64 = 64 * 1024;

/// Echoes one client: reads until it half-closes, then replies `Echo: ` +
/// everything it sent, and closes. Like the article (`if data:`), an empty message gets
/// no reply.
fn handle_client(mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let mut message = Vec::new();
    (&mut stream)
        .take(MAX_MESSAGE_BYTES)
        .read_to_end(&mut message)?;
    if !message.is_empty() {
        stream.write_all(&[ECHO_PREFIX, &message].concat())?;
    }
    // Dropping the stream closes it: the client's read-to-end ends here.
    Ok(())
}

/// Accepts `max_connections` clients, echoes to each on its own thread, and
/// returns once every one of them has been served.
fn serve(listener: &TcpListener, max_connections: usize) -> io::Result<()> {
    // TODO: This is the article's loop: the next `accept` waits until the
    // current client is done, so a silent client stalls everyone behind it.
    // Handle each client on its own thread instead, and make sure `serve`
    // does not return before those threads have finished.
    for _ in 0..max_connections {
        let (stream, addr) = listener.accept()?;
        if let Err(e) = handle_client(stream) {
            eprintln!("{addr}: {e}");
        }
    }
    Ok(())
}

fn main() -> io::Result<()> {
    // One exchange on loopback, like the article's two terminals.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || serve(&listener, 1));

    let mut client = TcpStream::connect(addr)?;
    client.set_read_timeout(Some(Duration::from_secs(5)))?;
    client.write_all(b"Hello, Server!")?;
    client.shutdown(Shutdown::Write)?;
    let mut reply = Vec::new();
    client.read_to_end(&mut reply)?;
    println!("Received: b'{}'", reply.escape_ascii());

    server
        .join()
        .map_err(|_| io::Error::other("the server thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::sync::{Barrier, mpsc};
    use std::time::Instant;

    const CLIENTS: usize = 8;
    /// How long the 8 clients together may take. With a thread per client it
    /// takes milliseconds; the rest is margin for a loaded machine.
    const DEADLINE: Duration = Duration::from_secs(5);
    /// How long the last client of `serve_returns_once_its_clients_are_served`
    /// waits between sending and half-closing. A `serve` that does not wait
    /// for its threads returns right after accepting that client; a longer
    /// pause only makes the check slower.
    const SLOW_CLIENT_PAUSE: Duration = Duration::from_millis(300);

    /// Starts `serve` on 127.0.0.1, port 0, on its own thread. The receiver
    /// gets `serve`'s result when it returns.
    fn start_server(max_connections: usize) -> (SocketAddr, mpsc::Receiver<io::Result<()>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        thread::spawn(move || done_tx.send(serve(&listener, max_connections)));
        (addr, done_rx)
    }

    /// One client: connect, wait until every client is connected, send,
    /// half-close, read the reply. Gives up at `deadline`.
    fn echo_client(
        addr: SocketAddr,
        message: &[u8],
        all_connected: &Barrier,
        deadline: Instant,
    ) -> Result<Vec<u8>, String> {
        let connected = TcpStream::connect(addr);
        // Wait even if connect failed, or the other clients wait for ever.
        all_connected.wait();
        let mut stream = connected.map_err(|e| format!("connect: {e}"))?;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        stream.set_read_timeout(Some(left)).unwrap();
        stream
            .write_all(message)
            .map_err(|e| format!("send: {e}"))?;
        stream.shutdown(Shutdown::Write).unwrap();
        let mut reply = Vec::new();
        match stream.read_to_end(&mut reply) {
            Ok(_) => Ok(reply),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(format!("no reply within {DEADLINE:?}"))
            }
            Err(e) => Err(format!("recv: {e}")),
        }
    }

    #[test]
    fn eight_clients_are_served_while_an_idle_one_waits() {
        let (addr, _done) = start_server(CLIENTS + 1);
        // First in the accept queue, and never says a word.
        let idle = TcpStream::connect(addr).unwrap();

        let all_connected = Barrier::new(CLIENTS);
        let deadline = Instant::now() + DEADLINE;
        let results = thread::scope(|scope| {
            let clients: Vec<_> = (0..CLIENTS)
                .map(|i| {
                    let all_connected = &all_connected;
                    scope.spawn(move || {
                        let message = format!("client {i}").into_bytes();
                        let reply = echo_client(addr, &message, all_connected, deadline);
                        (message, reply)
                    })
                })
                .collect();
            clients
                .into_iter()
                .map(|c| c.join().unwrap())
                .collect::<Vec<_>>()
        });

        let failures: Vec<String> = results
            .iter()
            .filter_map(|(message, reply)| {
                let expected = [ECHO_PREFIX, message].concat();
                match reply {
                    Ok(reply) if *reply == expected => None,
                    Ok(reply) => Some(format!(
                        "  {}: got b'{}', expected b'{}'",
                        message.escape_ascii(),
                        reply.escape_ascii(),
                        expected.escape_ascii()
                    )),
                    Err(e) => Some(format!("  {}: {e}", message.escape_ascii())),
                }
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} of {CLIENTS} clients got no correct echo while an idle client stayed connected:\n{}\n\
             A server that handles one client at a time is still waiting for the idle \
             client to speak. Give each accepted connection its own thread.",
            failures.len(),
            failures.join("\n")
        );
        drop(idle);
    }

    #[test]
    fn serve_returns_once_its_clients_are_served() {
        let (addr, done) = start_server(2);
        let all_connected = Barrier::new(1);
        let deadline = Instant::now() + DEADLINE;
        let reply = echo_client(addr, b"one", &all_connected, deadline).unwrap();
        assert_eq!(reply, [ECHO_PREFIX, b"one"].concat());

        // The second and last client sends, then takes its time before it
        // half-closes. Its handler is still reading, so `serve` must still be
        // running: a `serve` that leaves its threads behind returns as soon as
        // it has accepted this client, and the channel hears of it.
        let mut last = TcpStream::connect(addr).unwrap();
        last.set_read_timeout(Some(DEADLINE)).unwrap();
        last.write_all(b"two").unwrap();
        if let Ok(result) = done.recv_timeout(SLOW_CLIENT_PAUSE) {
            panic!(
                "serve(listener, 2) returned ({result:?}) while its second client was still \
                 sending. serve must wait for the threads it started before it returns: \
                 std::thread::scope does that, or keep every JoinHandle and join it."
            );
        }
        last.shutdown(Shutdown::Write).unwrap();
        let mut reply = Vec::new();
        last.read_to_end(&mut reply).unwrap();
        assert_eq!(reply, [ECHO_PREFIX, b"two"].concat());

        match done.recv_timeout(DEADLINE) {
            Ok(result) => result.unwrap(),
            Err(_) => panic!(
                "serve(listener, 2) had not returned {DEADLINE:?} after its 2 clients were \
                 served; it should stop accepting after max_connections"
            ),
        }
    }
}
