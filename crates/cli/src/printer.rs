//! A server's log that can never slow the server down.
//!
//! Printing is a write to a pipe or a terminal, and a write blocks when
//! nobody reads the other end (`tcp-server | less` with the pager scrolled
//! back, a supervisor that never drains stdout). A server that prints on its
//! serving path then stops serving, a few thousand connections in, when the
//! pipe's buffer is full. [`Printer`] moves the printing to a thread of its
//! own behind a bounded queue: the serving path only queues, and a line that
//! does not fit is dropped and counted rather than waited for.
//!
//! The printing thread wakes every [`FLUSH_EVERY`] and writes what has
//! queued up in one go, rather than waiting on the queue: a thread parked
//! on a queue has to be woken by a system call for every line, which would
//! cost a busy server more than the printing itself.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};

/// Lines the queue holds before it starts dropping: several seconds of a
/// busy server's log, a few hundred KiB at most.
pub const QUEUE_LINES: usize = 8192;

/// How often the printing thread writes what has queued up: often enough
/// that a person sees each line at once, seldom enough to cost nothing.
pub const FLUSH_EVERY: Duration = Duration::from_millis(20);

/// How long [`Printer::finish`] waits for queued lines to reach stdout.
const DRAIN_WAIT: Duration = Duration::from_secs(1);

/// Prints lines on its own thread; see the module comment.
pub struct Printer {
    queue: Sender<String>,
    dropped: Arc<AtomicU64>,
    drained: Receiver<()>,
}

impl Printer {
    /// Starts the printing thread, writing to stdout.
    pub fn start() -> Self {
        let (queue, lines) = crossbeam_channel::bounded::<String>(QUEUE_LINES);
        let (done, drained) = crossbeam_channel::bounded(1);
        thread::spawn(move || {
            let mut batch = String::new();
            loop {
                thread::sleep(FLUSH_EVERY);
                batch.clear();
                let mut closed = false;
                loop {
                    match lines.try_recv() {
                        Ok(line) => {
                            batch.push_str(&line);
                            batch.push('\n');
                        }
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            closed = true;
                            break;
                        }
                    }
                }
                // A closed stdout ends the output, not the server.
                let written =
                    batch.is_empty() || io::stdout().lock().write_all(batch.as_bytes()).is_ok();
                if closed || !written {
                    break;
                }
            }
            let _ = done.send(());
        });
        Self {
            queue,
            dropped: Arc::new(AtomicU64::new(0)),
            drained,
        }
    }

    /// Queues one line, or counts it as dropped if the queue is full.
    /// Never waits. Once stdout has closed (`tcp-server | head -1`), the
    /// printing thread is gone and lines are discarded uncounted: nobody
    /// is reading them, and "stdout was not keeping up" would be untrue.
    pub fn line(&self, line: String) {
        if let Err(TrySendError::Full(_)) = self.queue.try_send(line) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines dropped so far because stdout was not keeping up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Closes the queue and waits (briefly: stdout may be stuck) for the
    /// queued lines to be written. Returns how many lines were dropped.
    pub fn finish(self) -> u64 {
        let dropped = self.dropped();
        drop(self.queue);
        let _ = self.drained.recv_timeout(DRAIN_WAIT);
        dropped
    }
}
