//! The accept loop: [`serve`] runs a [`TcpProxy`] on a bound listener
//! until a [`Stop`], on the tcp chapter's worker pool, and reports what
//! happens as [`Event`]s whose `Display` is the line to print.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use tcp::Stop;

use crate::stats::{Totals, Traffic};
use crate::{ConnectionReport, TcpProxy};
use cli::python_addr;

/// What the proxy has to say. `Display` gives the line it prints: the
/// article's lines for [`Event::Listening`], [`Event::Connection`] and
/// [`Event::ShuttingDown`], and the ones it has no way to say for the rest.
#[derive(Debug)]
pub enum Event {
    /// `Proxy listening on port 8888`, as the article prints it.
    Listening(u16),
    /// `New connection from ('127.0.0.1', 54321)`, as the article prints it.
    Connection(SocketAddr),
    /// A connection is over: how long it took, what passed each way, and
    /// why it ended.
    Closed(SocketAddr, ConnectionReport),
    /// The periodic report of `--stats-every`.
    Stats(Totals),
    /// The article's `print("\nShutting down...")`, blank line included:
    /// in a terminal it puts the line below the `^C`.
    ShuttingDown,
    /// A failed accept, as the tcp chapter reports it.
    Accept(tcp::Event),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Listening(port) => write!(f, "Proxy listening on port {port}"),
            Event::Connection(addr) => write!(f, "New connection from {}", python_addr(*addr)),
            Event::Closed(addr, report) => write!(f, "{} closed {report}", python_addr(*addr)),
            Event::Stats(totals) => totals.fmt(f),
            Event::ShuttingDown => f.write_str("\nShutting down..."),
            Event::Accept(event) => event.fmt(f),
        }
    }
}

/// What [`serve`] did before it was stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Clients accepted.
    pub connections: u64,
    /// Of those, how many could not be forwarded: the target was
    /// unreachable.
    pub unreachable: u64,
    /// The proxy's `traffic_stats` when it stopped.
    pub traffic: Traffic,
}

// ANCHOR: serve
/// Runs `proxy` on `listener` until `stop` is used: the article's
/// `start()` loop, each client on a worker thread of the tcp chapter's
/// pool ([`tcp::serve_workers`]), at most `proxy.config.max_connections`
/// at once; more wait in the listen backlog.
///
/// A stop ends the connections still open, too: the article's daemon
/// threads die with the process, ours are shut down and joined, so their
/// bytes are in the summary. Every line worth printing goes to `on_event`.
pub fn serve(
    listener: &TcpListener,
    stop: &Stop,
    proxy: &TcpProxy,
    on_event: impl Fn(Event) + Sync,
) -> io::Result<Summary> {
    proxy.open.reopen();
    let (wake, woken) = crossbeam_channel::bounded(1);
    let _wake = stop.on_stop(move || {
        let _ = wake.try_send(());
    });
    let on_accept = |event| on_event(Event::Accept(event));
    thread::scope(|scope| {
        scope.spawn(|| supervise(stop, &woken, proxy, &on_event));
        let served = tcp::serve_workers(
            listener,
            stop,
            proxy.config.max_connections,
            &on_accept,
            |client, addr| {
                on_event(Event::Connection(addr));
                let report = proxy.handle_client(client);
                on_event(Event::Closed(addr, report));
            },
        );
        // Already done if the workers were stopped; if they could not
        // start at all, this ends `supervise` too.
        stop.stop();
        served
    })?;
    Ok(proxy.summary())
}

/// The proxy's own thread beside the workers: the periodic report, and,
/// once `stop` is used, "Shutting down..." and the end of every open
/// connection.
fn supervise(stop: &Stop, woken: &Receiver<()>, proxy: &TcpProxy, on_event: &impl Fn(Event)) {
    // The wake-up was registered before this first look at the flag: a
    // stop is either seen here or arrives on the channel.
    while !stop.is_stopped() {
        match proxy.config.stats_every {
            Some(every) => match woken.recv_timeout(every) {
                Err(RecvTimeoutError::Timeout) => on_event(Event::Stats(proxy.totals())),
                Ok(()) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => {
                if woken.recv().is_err() {
                    break;
                }
            }
        }
    }
    on_event(Event::ShuttingDown);
    proxy.open.shut_down_all();
}
// ANCHOR_END: serve

/// The sockets of the connections being served, so that a stop can shut
/// them down: a proxied connection may stay open for as long as its two
/// ends like, and would otherwise hold the stop for as long.
#[derive(Debug, Default)]
pub(crate) struct OpenConnections {
    state: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    /// Set by a stop: sockets added from then on are shut down at once.
    closing: bool,
    next_id: u64,
    sockets: HashMap<u64, Arc<TcpStream>>,
}

impl OpenConnections {
    /// Registers `socket` for as long as the returned handle lives. During
    /// a stop it is shut down at once instead, so a connection accepted
    /// just as the stop came ends as promptly as the others.
    pub(crate) fn add(&self, socket: TcpStream) -> Registered<'_> {
        let socket = Arc::new(socket);
        let mut open = self.lock();
        if open.closing {
            let _ = socket.shutdown(Shutdown::Both);
        }
        let id = open.next_id;
        open.next_id += 1;
        open.sockets.insert(id, Arc::clone(&socket));
        Registered {
            open: self,
            id,
            socket: Some(socket),
        }
    }

    /// How many connections are open: each registers two sockets (one,
    /// briefly, while its target is being reached).
    pub(crate) fn count(&self) -> u64 {
        self.lock().sockets.len().div_ceil(2) as u64
    }

    /// Whether a stop has begun.
    pub(crate) fn is_closing(&self) -> bool {
        self.lock().closing
    }

    /// Shuts every registered socket down: each forwarding thread's read
    /// or write returns at once.
    fn shut_down_all(&self) {
        let mut open = self.lock();
        open.closing = true;
        for socket in open.sockets.values() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// Ready to serve again after a stop.
    fn reopen(&self) {
        self.lock().closing = false;
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // Nothing here can panic while holding the lock; a poisoned one
        // still guards a whole map.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A socket of an open connection, registered in [`OpenConnections`].
/// Dropping it closes the socket and unregisters it in one step, so a
/// connection counted as closed is closed.
pub(crate) struct Registered<'a> {
    open: &'a OpenConnections,
    id: u64,
    socket: Option<Arc<TcpStream>>,
}

impl Deref for Registered<'_> {
    type Target = TcpStream;

    fn deref(&self) -> &TcpStream {
        // Taken only in `drop`.
        self.socket.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let mut open = self.open.lock();
        open.sockets.remove(&self.id);
        // The last reference: the socket closes here, under the lock.
        drop(self.socket.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn events_print_like_the_article() {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 54321));
        assert_eq!(
            Event::Listening(8888).to_string(),
            "Proxy listening on port 8888"
        );
        assert_eq!(
            Event::Connection(addr).to_string(),
            "New connection from ('127.0.0.1', 54321)"
        );
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 54321));
        assert_eq!(
            Event::Connection(v6).to_string(),
            "New connection from ('::1', 54321, 0, 0)"
        );
        assert_eq!(Event::ShuttingDown.to_string(), "\nShutting down...");
    }
}
