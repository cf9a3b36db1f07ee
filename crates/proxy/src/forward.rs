//! Forwarding one connection both ways: the article's `forward_data`, run
//! on two threads, and how the connection ended.
//!
//! A TCP connection has two directions, and each ends on its own: a
//! client that has sent its whole request shuts down its sending side
//! (a half-close, chapter 1) and goes on reading the reply. A proxy must
//! pass that end of stream on, or the server never learns the request is
//! complete. The article's `forward_data` stops its thread at end of stream
//! and tells nobody; [`Connection::run`] shuts down the sending side of the
//! other socket instead, so the end travels on exactly as it arrived.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use socket2::SockRef;

use crate::faults::{Budget, Faults, Pacer};
use crate::stats::{Direction, Traffic, TrafficStats};

/// The size of one read in the forwarding loop. The article reads 4096
/// bytes at a time; every read and every write is a system call, so a
/// larger buffer moves the same bytes with fewer of them. Measured on
/// loopback (`just bench`, 1 GiB through the proxy), 16 KiB reads reach a
/// third of a direct connection's speed, 128 KiB about half, 256 KiB
/// about 60 %; beyond that the figures only scatter more. It is allocated
/// per direction and connection, but the kernel gives a page of it real
/// memory only once a read has filled that page: an idle or chatty
/// connection costs a few pages, a bulk transfer the whole 256 KiB.
pub const BUFFER_SIZE: usize = 256 * 1024;

/// One end of the proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client that connected to the proxy.
    Client,
    /// The target the proxy connected to for it.
    Target,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Client => "client",
            Side::Target => "target",
        })
    }
}

/// How a proxied connection ended: what the article's bare `except: break`
/// swallows.
#[derive(Debug)]
pub enum Ending {
    /// Both directions reached their end of stream; `first` ended first.
    Finished {
        /// The side that finished sending first.
        first: Side,
    },
    /// This side reset the connection (or closed it with our bytes
    /// unread); the reset is passed on to the other side.
    Reset(Side),
    /// Another error on this side's socket.
    Failed(Side, io::Error),
    /// `--reset-after`: the client's connection was reset on purpose once
    /// this many bytes had passed.
    ResetOnPurpose(u64),
    /// The proxy was stopping: it shut the connection down.
    Stopped,
    /// The target could not be reached; the client was closed at once.
    Unreachable {
        /// `host:port` of the target.
        target: String,
        /// Why not.
        error: io::Error,
    },
    /// The proxy could not start the connection's second thread.
    NoThread(io::Error),
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::Finished { first } => write!(f, "the {first} closed first"),
            Ending::Reset(side) => write!(f, "the {side} reset the connection"),
            Ending::Failed(side, e) => write!(f, "the {side}'s connection failed: {e}"),
            Ending::ResetOnPurpose(bytes) => {
                write!(f, "reset on purpose after {bytes} bytes (--reset-after)")
            }
            Ending::Stopped => f.write_str("the proxy is stopping"),
            Ending::Unreachable { target, error } => {
                write!(f, "cannot reach {target}: {}", explain(error))
            }
            Ending::NoThread(e) => write!(f, "cannot start a thread: {e}"),
        }
    }
}

/// A connect error as a person reads it.
fn explain(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "no answer (timed out)".into(),
        _ => e.to_string(),
    }
}

/// How one direction's loop ended.
enum LegEnd {
    /// The source said it has nothing more to send.
    EndOfStream,
    /// Reading the source failed.
    ReadFailed(io::Error),
    /// Writing the destination failed.
    WriteFailed(io::Error),
    /// The `--reset-after` budget is spent.
    Spent,
}

/// One connection being forwarded: its two sockets and what its two
/// directions share.
pub struct Connection<'a> {
    client: &'a TcpStream,
    target: &'a TcpStream,
    faults: Faults,
    budget: Budget,
    /// This connection's bytes, each way.
    counts: TrafficStats,
    /// The proxy's `traffic_stats`, which every connection adds to.
    totals: &'a TrafficStats,
    /// Set, before any socket is shut down, once the connection is being
    /// torn down: an end of stream seen after that is our own doing and
    /// must not be passed on as a clean half-close.
    aborted: AtomicBool,
    first_to_finish: OnceLock<Side>,
    failure: OnceLock<Ending>,
}

impl<'a> Connection<'a> {
    /// A connection between `client` and `target`, adding to `totals`.
    pub fn new(
        client: &'a TcpStream,
        target: &'a TcpStream,
        faults: Faults,
        totals: &'a TrafficStats,
    ) -> Self {
        Self {
            client,
            target,
            faults,
            budget: Budget::new(faults.reset_after),
            counts: TrafficStats::default(),
            totals,
            aborted: AtomicBool::new(false),
            first_to_finish: OnceLock::new(),
            failure: OnceLock::new(),
        }
    }

    // ANCHOR: both_ways
    /// Forwards both ways until both directions are done, and says how the
    /// connection ended and what passed. The article's two threads:
    /// `outbound` runs on a thread of its own, `inbound` on this one, and
    /// the scope guarantees the first has finished before this returns.
    pub fn both_ways(self) -> (Ending, Traffic) {
        let ran = thread::scope(|scope| {
            let outbound = thread::Builder::new()
                .name(Direction::Outbound.name().into())
                .spawn_scoped(scope, || self.run(Direction::Outbound))?;
            self.run(Direction::Inbound);
            // A panic there is a bug in this file: let it surface.
            if let Err(panic) = outbound.join() {
                std::panic::resume_unwind(panic);
            }
            Ok::<(), io::Error>(())
        });
        let ending = match ran {
            Err(e) => Ending::NoThread(e),
            Ok(()) => self.failure.into_inner().unwrap_or(Ending::Finished {
                first: self.first_to_finish.into_inner().unwrap_or(Side::Client),
            }),
        };
        (ending, self.counts.snapshot())
    }

    /// One direction, start to end, and what its end means for the other.
    fn run(&self, direction: Direction) {
        let (from, to, from_side, to_side) = match direction {
            Direction::Outbound => (self.client, self.target, Side::Client, Side::Target),
            Direction::Inbound => (self.target, self.client, Side::Target, Side::Client),
        };
        match self.forward(from, to, direction) {
            LegEnd::EndOfStream => {
                let _ = self.first_to_finish.set(from_side);
                // The half-close the article forgets: "nothing more is
                // coming" goes on to the other side, whose reply can still
                // flow back the other way. It fails harmlessly when that
                // socket is already shut down.
                if !self.aborted.load(Ordering::SeqCst) {
                    let _ = to.shutdown(Shutdown::Write);
                }
            }
            LegEnd::ReadFailed(e) => self.abort(from_side, failure(from_side, e)),
            LegEnd::WriteFailed(e) => self.abort(to_side, failure(to_side, e)),
            LegEnd::Spent => {
                let limit = self.faults.reset_after.unwrap_or_default();
                self.abort(Side::Target, Ending::ResetOnPurpose(limit));
            }
        }
    }
    // ANCHOR_END: both_ways

    // ANCHOR: forward
    /// The article's `forward_data`: read a chunk from `from`, write all of
    /// it to `to`, count it, until `from` ends or fails. The faults, when
    /// asked for, act between the read and the write.
    fn forward(&self, from: &TcpStream, to: &TcpStream, direction: Direction) -> LegEnd {
        let (mut reader, mut writer) = (from, to);
        let mut buf = vec![0u8; BUFFER_SIZE];
        let mut pacer = self.faults.bandwidth.map(Pacer::new);
        let latency = match direction {
            Direction::Inbound => self.faults.latency,
            Direction::Outbound => None,
        };
        loop {
            let room = pacer.as_ref().map_or(buf.len(), |p| p.chunk(buf.len()));
            let n = match reader.read(&mut buf[..room]) {
                Ok(0) => return LegEnd::EndOfStream,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return LegEnd::ReadFailed(e),
            };
            if let Some(latency) = latency {
                thread::sleep(latency);
            }
            let (allowed, spent) = self.budget.take(n);
            if let Some(pacer) = pacer.as_mut() {
                pacer.wait_for(allowed);
            }
            // The article's `send` may take only part of `data`, and the
            // rest is lost; `write_all` loops until every byte is written.
            if let Err(e) = writer.write_all(&buf[..allowed]) {
                return LegEnd::WriteFailed(e);
            }
            self.counts.add(direction, allowed as u64);
            self.totals.add(direction, allowed as u64);
            if spent {
                return LegEnd::Spent;
            }
        }
    }
    // ANCHOR_END: forward

    // ANCHOR: abort
    /// Tears the connection down after `failed` broke it: its socket is
    /// closed; the other side's is reset, so that a client whose target
    /// failed learns that its reply is incomplete instead of seeing a
    /// clean end of stream. Both directions' reads return at once.
    fn abort(&self, failed: Side, why: Ending) {
        let _ = self.failure.set(why);
        // Before any shutdown: the other direction's loop will see an end
        // of stream caused by us, and must not pass it on as a half-close.
        self.aborted.store(true, Ordering::SeqCst);
        let (broken, other) = match failed {
            Side::Client => (self.client, self.target),
            Side::Target => (self.target, self.client),
        };
        let _ = broken.shutdown(Shutdown::Both);
        // A linger time of zero makes the close that ends this connection
        // send a reset (RST) instead of a FIN. Shutting down only the read
        // side wakes a reader without sending anything.
        let _ = SockRef::from(other).set_linger(Some(Duration::ZERO));
        let _ = other.shutdown(Shutdown::Read);
    }
    // ANCHOR_END: abort
}

/// What an I/O error on `side`'s socket means for the connection.
fn failure(side: Side, e: io::Error) -> Ending {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionReset | ConnectionAborted | BrokenPipe => Ending::Reset(side),
        _ => Ending::Failed(side, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_say_why() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let cases = [
            (
                Ending::Finished {
                    first: Side::Client,
                },
                "the client closed first",
            ),
            (
                Ending::Reset(Side::Target),
                "the target reset the connection",
            ),
            (
                Ending::ResetOnPurpose(1000),
                "reset on purpose after 1000 bytes (--reset-after)",
            ),
            (Ending::Stopped, "the proxy is stopping"),
            (
                Ending::Unreachable {
                    target: "localhost:9".into(),
                    error: refused,
                },
                "cannot reach localhost:9: connection refused",
            ),
        ];
        for (ending, line) in cases {
            assert_eq!(ending.to_string(), line);
        }
    }
}
