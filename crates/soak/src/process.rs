//! The server under test, as a separate process: started with `--port 0`,
//! its port read from the first line it prints, its descriptors and memory
//! read from `/proc/PID`, stopped with SIGTERM as a user's Ctrl-C would.
//!
//! test-support's `Server` does the same for tests, but keeps every line a
//! server prints; a server soaked for minutes prints hundreds of thousands
//! (one per datagram for `udp-server`). This one counts the lines and keeps
//! only the few the soak reports: the accept failures and the last lines.

use std::collections::VecDeque;
use std::fs;
use std::io::{self, BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to print its first line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// How many of its last lines are kept, to show what a dead server said.
const LAST_LINES: usize = 5;

/// A running server, killed when dropped.
pub struct Process {
    child: Child,
    /// Its process id: where `/proc/PID` is.
    pub pid: u32,
    /// Where it listens: 127.0.0.1 and the port it printed.
    pub addr: SocketAddr,
    log: Arc<Mutex<Log>>,
}

/// What the soak keeps of a server's stdout.
#[derive(Debug, Default, Clone)]
pub struct Log {
    /// Lines printed.
    pub lines: u64,
    /// The first `accept failed` line, if any: what a server says when it
    /// runs out of descriptors.
    pub accept_failed: Option<String>,
    /// How many `accept failed` lines (each one stands for a second of
    /// failures at most).
    pub accept_failed_lines: u64,
    /// The last few lines.
    pub last: VecDeque<String>,
}

impl Process {
    /// Starts `program args... --port 0`; with `fd_limit`, under a shell
    /// that lowers `RLIMIT_NOFILE` first (`ulimit -n`) and then `exec`s the
    /// server, so the limit is the server's own and no `unsafe` is needed.
    pub fn start(program: &Path, args: &[String], fd_limit: Option<u32>) -> io::Result<Process> {
        let mut command = match fd_limit {
            None => Command::new(program),
            Some(limit) => {
                let mut sh = Command::new("sh");
                let script = format!("ulimit -n {limit} && exec \"$0\" \"$@\"");
                sh.arg("-c").arg(script).arg(program);
                sh
            }
        };
        command
            .args(args)
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", program.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let log = Arc::new(Mutex::new(Log::default()));
        let (first_tx, first_rx) = mpsc::channel();
        let keep = Arc::clone(&log);
        thread::spawn(move || read_log(stdout, first_tx, &keep));
        let first = first_rx.recv_timeout(STARTUP_TIMEOUT).ok();
        let port = first.as_deref().and_then(port_in);
        let pid = child.id();
        let process = Process {
            child,
            pid,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port.unwrap_or(0))),
            log,
        };
        match port {
            Some(_) => Ok(process),
            None => Err(io::Error::other(format!(
                "{} printed no port on its first line (it printed {first:?})",
                program.display()
            ))),
        }
    }

    /// Whether it is still running; `Err` holds how it ended.
    pub fn alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("exited ({status})")),
            Err(e) => Err(format!("cannot be waited for: {e}")),
        }
    }

    /// What it has printed so far.
    pub fn log(&self) -> Log {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// SIGTERM (by running `kill`), then up to `STOP_GRACE` (10 s) for it to
    /// exit; killed after that. True if it exited by itself.
    pub fn stop(mut self) -> bool {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + STOP_GRACE;
        while sent && Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the server's stdout to its end, sending the first line on
/// `first` and keeping what [`Log`] keeps.
fn read_log(stdout: impl io::Read, first: mpsc::Sender<String>, log: &Mutex<Log>) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let mut first = Some(first);
    while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        line.clear();
        if let Some(first) = first.take() {
            let _ = first.send(text.clone());
        }
        let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
        log.lines += 1;
        if text.contains("accept failed") {
            log.accept_failed_lines += 1;
            log.accept_failed.get_or_insert_with(|| text.clone());
        }
        if log.last.len() == LAST_LINES {
            log.last.pop_front();
        }
        log.last.push_back(text);
    }
}

/// The port in a server's first line: the number after `port `
/// (`Server listening on port 43211...`, `Proxy listening on port 43211`).
fn port_in(line: &str) -> Option<u16> {
    let after = &line[line.find("port ")? + 5..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&port| port != 0)
}

/// How many descriptors process `pid` has open: the entries of
/// `/proc/PID/fd`. `None` once the process is gone.
pub fn open_fds(pid: u32) -> Option<usize> {
    Some(fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// A `kB` field of `/proc/PID/status`, in KiB: `VmRSS` is the resident
/// memory now, `VmHWM` its peak over the process's life ("high water
/// mark").
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

/// This process's soft and hard limits on open descriptors, from
/// `/proc/self/limits`.
pub fn fd_limits() -> Option<(u64, u64)> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut numbers = line.split_whitespace().filter_map(|w| w.parse().ok());
    Some((numbers.next()?, numbers.next()?))
}

/// Raises this process's soft descriptor limit to its hard limit (a
/// thousand clients at once need more than the usual 1024), by running
/// util-linux `prlimit` on our own pid: no `unsafe`, and when it is
/// missing the soak sizes its crowds to the limit it has. Returns the soft
/// limit in force afterwards.
pub fn raise_fd_limit() -> u64 {
    let Some((soft, hard)) = fd_limits() else {
        return 1024;
    };
    if soft < hard {
        let _ = Command::new("prlimit")
            .arg("--pid")
            .arg(std::process::id().to_string())
            .arg(format!("--nofile={hard}:{hard}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    fd_limits().map_or(soft, |(soft, _)| soft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_port_in_every_first_line() {
        for line in [
            "Server listening on port 43211...",
            "UDP server ready on port 43211...",
            "Pool server listening on port 43211...",
            "Starting API server on port 43211...",
            "Proxy listening on port 43211",
        ] {
            assert_eq!(port_in(line), Some(43211), "{line}");
        }
        assert_eq!(port_in("no port here"), None);
    }

    #[test]
    fn reads_its_own_proc_entries() {
        let me = std::process::id();
        assert!(open_fds(me).is_some_and(|n| n >= 3));
        assert!(status_kib(me, "VmRSS").is_some_and(|kib| kib > 0));
        assert!(status_kib(me, "VmHWM").is_some_and(|kib| kib > 0));
        assert!(fd_limits().is_some());
    }
}
