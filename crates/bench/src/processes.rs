//! Servers run as separate processes, so the bench can read how much CPU
//! each one used: the article's literal ports, our binaries and, where
//! python3 exists, our rendition of the article's Python.

use std::fs;
use std::io::{self, BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long a server may take to print its first line.
const STARTUP: Duration = Duration::from_secs(30);

/// A server process, killed when dropped. Its stdout is read to the end on
/// a thread, so its log lines cost it what they cost in a terminal and it
/// never blocks on a full pipe.
pub struct Process {
    child: Child,
    /// Where it listens (always 127.0.0.1).
    pub addr: SocketAddr,
}

impl Process {
    /// Starts `program args... --host 127.0.0.1 --port P` and waits for its
    /// first line. `P` is a port found free just before (the Python
    /// servers cannot be given port 0 and report it).
    pub fn start(program: &Path, args: &[&str]) -> io::Result<Self> {
        let port = free_port()?;
        let mut child = Command::new(program)
            .args(args)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", program.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let (first, first_line) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = first.send(lines.next());
            for _ in lines {}
        });
        match first_line.recv_timeout(STARTUP) {
            Ok(Some(Ok(_))) => Ok(Self {
                child,
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(io::Error::other(format!(
                    "{} printed no first line",
                    program.display()
                )))
            }
        }
    }

    /// User plus system CPU time the process has used so far (Linux).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name, which is in parentheses and may
        // hold spaces: utime and stime are the 12th and 13th of those.
        let after_name = stat.rsplit_once(')')?.1;
        let mut fields = after_name.split_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        Some(Duration::from_secs_f64(
            (utime + stime) as f64 / clock_ticks(),
        ))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clock ticks per second, the unit of /proc's CPU times.
fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A port free on 127.0.0.1 for TCP and UDP a moment ago.
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// A binary of this workspace, built by `just bench` beside the bench.
pub fn sibling(name: &str) -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or_else(|| io::Error::other("no target dir"))?;
    for candidate in [dir.join(name), dir.join("examples").join(name)] {
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "{name} is not built in {}: run `just bench`, which builds it",
            dir.display()
        ),
    ))
}

/// `python3` and the article's programs, when python3 is installed.
pub fn python_article() -> Option<(PathBuf, PathBuf)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-support/python/article.py");
    let works = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (works && script.exists()).then(|| (PathBuf::from("python3"), script))
}
