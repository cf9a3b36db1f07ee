//! `pool-server`: the server a pool needs. The article points its pool at
//! the chapter-1 server, which closes every connection after one echo, so
//! a pooled connection is stale after a single use. This one keeps each
//! connection open and echoes every byte back, unchanged, until the client
//! closes it or stays idle too long.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cli::python_addr;
use tcp::Stop;

/// What the server has to say; `Display` is the line it prints.
#[derive(Debug)]
pub enum Event {
    /// `Connection from ('127.0.0.1', 54321)`.
    Connection(SocketAddr),
    /// The client closed after this many bytes, all echoed.
    Closed(SocketAddr, u64),
    /// The connection sat idle for the server's idle timeout; closed.
    Idle(SocketAddr, u64),
    /// An I/O error ended the connection.
    Failed(SocketAddr, io::Error),
    /// A failed accept, as the tcp chapter reports it.
    Accept(tcp::Event),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Connection(addr) => write!(f, "Connection from {}", python_addr(*addr)),
            Event::Closed(addr, bytes) => {
                write!(f, "{} closed after {bytes} bytes", python_addr(*addr))
            }
            Event::Idle(addr, bytes) => {
                write!(f, "{} idle after {bytes} bytes; closed", python_addr(*addr))
            }
            Event::Failed(addr, e) => write!(f, "{}: {e}", python_addr(*addr)),
            Event::Accept(event) => event.fmt(f),
        }
    }
}

/// What [`serve`] did before it was stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Connections accepted.
    pub connections: u64,
    /// Bytes echoed, over all of them.
    pub bytes: u64,
}

// ANCHOR: serve
/// Serves up to `max_connections` clients at once, each on its own worker
/// thread (the tcp chapter's [`tcp::serve_workers`]), echoing every byte
/// until the client closes or goes idle for the listener's timeout (set by
/// [`tcp::bind_server`]). More clients wait in the listen backlog.
pub fn serve(
    listener: &TcpListener,
    stop: &Stop,
    max_connections: usize,
    on_event: impl Fn(Event) + Sync,
) -> io::Result<Summary> {
    let connections = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    // Kept-open connections would hold their workers (and so the stop) for
    // up to the idle timeout; a stop shuts them down instead.
    let open = Arc::new(OpenConnections::default());
    let _close_on_stop = stop.on_stop({
        let open = Arc::clone(&open);
        move || open.shut_down_all()
    });
    let on_accept = |event| on_event(Event::Accept(event));
    tcp::serve_workers(
        listener,
        stop,
        max_connections,
        &on_accept,
        |stream, addr| {
            connections.fetch_add(1, Ordering::Relaxed);
            on_event(Event::Connection(addr));
            let id = open.add(&stream);
            let (echoed, ended) = echo_until_closed(stream);
            open.remove(id);
            bytes.fetch_add(echoed, Ordering::Relaxed);
            on_event(match ended {
                Ok(()) => Event::Closed(addr, echoed),
                Err(e) if tcp::is_timeout(&e) => Event::Idle(addr, echoed),
                Err(e) => Event::Failed(addr, e),
            });
        },
    )?;
    Ok(Summary {
        connections: connections.into_inner(),
        bytes: bytes.into_inner(),
    })
}

/// The connections being served, so a stop can end them.
#[derive(Default)]
struct OpenConnections {
    next_id: AtomicU64,
    streams: Mutex<HashMap<u64, TcpStream>>,
}

impl OpenConnections {
    fn add(&self, stream: &TcpStream) -> Option<u64> {
        let clone = stream.try_clone().ok()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, clone);
        Some(id)
    }

    fn remove(&self, id: Option<u64>) {
        if let Some(id) = id {
            self.lock().remove(&id);
        }
    }

    /// Shuts every connection down: each worker's read returns at once.
    fn shut_down_all(&self) {
        for stream in self.lock().values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Echoes every byte back until the client closes (`Ok`) or an error or a
/// timeout ends it; returns how many bytes were echoed either way.
pub fn echo_until_closed(mut stream: TcpStream) -> (u64, io::Result<()>) {
    let mut buf = [0u8; 16 * 1024];
    let mut echoed = 0;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return (echoed, Ok(())),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (echoed, Err(e)),
        };
        if let Err(e) = stream.write_all(&buf[..n]) {
            return (echoed, Err(e));
        }
        echoed += n as u64;
    }
}
// ANCHOR_END: serve
