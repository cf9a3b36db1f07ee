// tcp1_threaded_echo: a thread per client                      (chapter: tcp)
//
// The article's server handles one client at a time: `accept`, `recv`,
// `send`, `close`, and only then the next `accept`. A client that connects
// and says nothing holds up everyone queued behind it.
//
// Change `serve` so that each accepted client is handled on a thread of its
// own, and `serve` still returns only once all its clients are served. The
// echo itself, `harness::tcp::handle_client`, is given.
//
// The check connects a client that never says a word, then 8 clients that
// must each get `Echo: ` + their message within 5 seconds; then it checks
// that `serve` waits for its last, slow client before it returns.
//
// Check it:  rustlings run tcp1_threaded_echo
// Stuck?     rustlings hint tcp1_threaded_echo

use std::io;
use std::net::TcpListener;

use harness::tcp::handle_client;

/// Accepts `clients` connections, echoes to each, and returns once all of
/// them are served.
fn serve(listener: &TcpListener, clients: usize) -> io::Result<()> {
    // A scope returns only when every thread spawned in it has finished.
    std::thread::scope(|scope| {
        for _ in 0..clients {
            let (stream, _addr) = listener.accept()?;
            scope.spawn(move || handle_client(stream));
        }
        Ok(())
    })
}

fn main() -> io::Result<()> {
    // The article's two terminals, on loopback: a server for one client,
    // and that client.
    let server = harness::tcp::start(serve, 1)?;
    let reply = harness::tcp::request(server.addr(), b"Hello, Server!")?;
    println!("Received: b'{}'", reply.escape_ascii());
    server.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_clients_are_served_while_a_silent_one_waits() {
        harness::tcp::check_idle_client_blocks_nobody(serve);
    }

    #[test]
    fn serve_returns_once_its_clients_are_served() {
        harness::tcp::check_serve_waits_for_its_clients(serve);
    }
}
