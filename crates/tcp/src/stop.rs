//! Stopping a server that is blocked in `accept` or `recvfrom`.
//!
//! The article's servers run `while True:` until Ctrl-C kills the process.
//! A library server must stop on request instead: the tour runs it for
//! three clients, a test for one, a binary until Ctrl-C — and all of them
//! want the server's own summary and its threads joined, not a dead process.
//!
//! The difficulty is that the serving thread spends its life blocked in a
//! system call: `accept()` returns only when a client connects. Setting a
//! flag is not enough; someone must also *wake* the thread so it looks at
//! the flag. The classic answer, used here, needs no special API: connect
//! to your own listener (or send your own socket a datagram). The blocked
//! call returns, the server sees the flag, and it leaves its loop.
//!
//! ```
//! use std::thread;
//!
//! let addr = "127.0.0.1:0".parse().unwrap();
//! let listener = tcp::bind_server(addr, 16, tcp::DEFAULT_IDLE_TIMEOUT).unwrap();
//! let stop = tcp::Stop::new();
//! thread::scope(|scope| {
//!     let server = scope.spawn(|| tcp::serve(&listener, &stop, |_event| {}));
//!     stop.stop(); // sets the flag, then connects to wake the `accept`
//!     assert_eq!(server.join().unwrap().unwrap().connections, 0);
//! });
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How a server is woken once the flag is set.
type Wake = Arc<dyn Fn() + Send + Sync>;

/// A stop handle: one flag that every server sharing it reads, and the ways
/// to wake those servers when it is set.
///
/// Share it by reference (or in an `Arc` for a signal handler); [`Stop::stop`]
/// may be called from any thread, any number of times.
#[derive(Default)]
pub struct Stop {
    stopped: AtomicBool,
    next_id: AtomicU64,
    wakers: Mutex<Vec<(u64, Wake)>>,
}

impl Stop {
    /// A handle that has not been used yet.
    pub fn new() -> Self {
        Self::default()
    }

    // ANCHOR: stop
    /// Asks every server using this handle to stop, and wakes each one.
    /// Returns at once; the servers finish their current client (or datagram)
    /// and then return from `serve`.
    pub fn stop(&self) {
        // The flag first, then the wake-ups: a server woken up must find it.
        self.stopped.store(true, Ordering::SeqCst);
        let wakers: Vec<Wake> = self.wakers().iter().map(|(_, w)| Arc::clone(w)).collect();
        for wake in wakers {
            wake();
        }
    }

    /// Whether [`Stop::stop`] has been called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
    // ANCHOR_END: stop

    /// Registers how to wake one server; the returned guard unregisters it.
    ///
    /// A server registers *before* its first look at the flag, so a stop
    /// that comes at any moment is either seen in the flag or delivered by
    /// the wake-up.
    pub fn on_stop(&self, wake: impl Fn() + Send + Sync + 'static) -> WakeGuard<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.wakers().push((id, Arc::new(wake)));
        WakeGuard { stop: self, id }
    }

    fn wakers(&self) -> MutexGuard<'_, Vec<(u64, Wake)>> {
        // A waker cannot panic halfway through changing the list, so a
        // poisoned lock still guards a whole list.
        self.wakers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Keeps a server's wake-up registered; dropping it (when `serve` returns)
/// unregisters it, so a later stop does not poke a port that is gone.
pub struct WakeGuard<'a> {
    stop: &'a Stop,
    id: u64,
}

impl Drop for WakeGuard<'_> {
    fn drop(&mut self) {
        self.stop.wakers().retain(|(id, _)| *id != self.id);
    }
}

// ANCHOR: wake_listener
/// The address to reach a socket bound to `addr` from this machine: a
/// server bound to every interface (`0.0.0.0`, `::`) is reached on loopback.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// Wakes `threads` threads blocked in `accept` on the listener at `addr`,
/// with one short connection each. The connection completes in the kernel
/// (the listen backlog holds it), so this never waits for the server.
pub fn wake_listener(addr: SocketAddr, threads: usize) {
    let addr = reachable(addr);
    for _ in 0..threads {
        // A failure means the server is gone or swamped with clients; a
        // swamped server looks at the flag after every accept anyway.
        if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
            return;
        }
    }
}
// ANCHOR_END: wake_listener

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn stop_runs_every_registered_waker_once_and_forgets_dropped_ones() {
        let stop = Stop::new();
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&woken);
        let kept = stop.on_stop(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let counter = Arc::clone(&woken);
        drop(stop.on_stop(move || {
            counter.fetch_add(100, Ordering::SeqCst);
        }));
        assert!(!stop.is_stopped());
        stop.stop();
        assert!(stop.is_stopped());
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        drop(kept);
    }

    #[test]
    fn unspecified_addresses_are_reached_on_loopback() {
        let any4: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(reachable(any4), "127.0.0.1:8080".parse().unwrap());
        let any6: SocketAddr = "[::]:8080".parse().unwrap();
        assert_eq!(reachable(any6), "[::1]:8080".parse().unwrap());
        let one: SocketAddr = "127.0.0.2:1".parse().unwrap();
        assert_eq!(reachable(one), one);
    }
}
