//! Run our binaries from tests: servers in the background, clients to the end.
//!
//! [`Server::start`] launches a server with `--port 0`, so the kernel picks a
//! free port and no two tests ever fight over 8080, then reads the port back
//! from the line every netlab server prints first (`Server listening on port
//! N...`). The test learns the port without guessing and without sleeping: the
//! first line is printed after the bind, so once it is read the server is
//! accepting.
//!
//! The server's stdout is read line by line on a background thread, so the
//! server never blocks on a full pipe and the test can wait for a line it
//! expects ([`Server::wait_for_line`]). Every wait has a deadline, and a
//! [`Server`] that goes out of scope kills its process: a failing test leaves
//! nothing running.
//!
//! [`run`] is the one-shot counterpart for clients: run, collect, and kill it
//! if it outlives its time.

use std::ffi::{OsStr, OsString};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::port::parse_port;

/// How long a server may take to print its first line. Generous because a
/// loaded CI machine (or a first Python start) can be slow; a healthy server
/// prints it in milliseconds.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`Server::stop`] waits after SIGTERM before it sends SIGKILL. Our
/// servers finish the client in hand and print a summary, well within this.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// How long to wait for a pipe to reach end-of-file once the process has
/// exited. Only a grandchild that inherited the pipe can keep it open longer,
/// and then we stop waiting rather than hang the test.
const PIPE_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a bounded wait checks whether the child has exited.
const EXIT_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// A server process started for a test, with its port and its stdout.
///
/// Killed when dropped, if [`Server::stop`] has not already ended it.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The command line, for error messages.
    name: String,
    host: IpAddr,
    port: u16,
    first_line: String,
    lines: Mutex<LineLog>,
    stderr: Receiver<Vec<u8>>,
    /// Set once the process has been waited for, so `Drop` has nothing to do.
    finished: bool,
}

/// What a stopped server left behind.
#[derive(Debug)]
pub struct Stopped {
    /// How the process ended. After SIGTERM a server that handles it exits
    /// with its own code; one that does not reports the signal.
    pub status: ExitStatus,
    /// True if it ignored SIGTERM for [`STOP_GRACE`] and had to be killed.
    pub killed: bool,
    /// Every line the server printed on stdout, its first line included.
    pub stdout: Vec<String>,
    /// The stdout lines the test had not yet taken with
    /// [`Server::next_line`] or [`Server::wait_for_line`]: typically the
    /// summary a server prints as it shuts down.
    pub remaining: Vec<String>,
    /// Everything the server wrote to stderr (lossily decoded as UTF-8).
    pub stderr: String,
}

/// Stdout lines as they arrive, and how many the test has taken.
#[derive(Debug)]
struct LineLog {
    incoming: Receiver<String>,
    seen: Vec<String>,
    taken: usize,
}

impl LineLog {
    /// Moves every line that has already arrived into `seen`, without waiting.
    fn collect_arrived(&mut self) {
        while let Ok(line) = self.incoming.try_recv() {
            self.seen.push(line);
        }
    }

    /// The next line not yet taken, waiting until `deadline` for it. The
    /// error says whether time ran out or stdout was closed.
    fn take_next(&mut self, deadline: Instant) -> Result<String, RecvTimeoutError> {
        if self.taken == self.seen.len() {
            let wait = deadline.saturating_duration_since(Instant::now());
            let line = self.incoming.recv_timeout(wait)?;
            self.seen.push(line);
        }
        self.taken += 1;
        Ok(self.seen[self.taken - 1].clone())
    }

    /// Waits for the reader thread to reach end-of-file (bounded), then
    /// returns every line collected.
    fn collect_to_end(&mut self) {
        let deadline = Instant::now() + PIPE_DRAIN_TIMEOUT;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(wait) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected | RecvTimeoutError::Timeout) => break,
            }
        }
    }
}

impl Server {
    /// Starts `program` with `args` and `--port 0` (unless `args` already
    /// has a `--port`), and returns once it has printed its first line, with
    /// the port read from that line by [`crate::parse_port`].
    ///
    /// Fails, with the server's stderr in the message, if it exits before
    /// printing, prints a first line with no port, or prints nothing within
    /// [`STARTUP_TIMEOUT`]. The test then sees *why* the server did not start
    /// (`error: cannot bind ...`), not just that it did not.
    ///
    /// The address to connect to is `127.0.0.1`, or what `--host` names (see
    /// [`Server::addr`]). Pass `--host 127.0.0.1` to keep a server on
    /// loopback whatever its default.
    pub fn start(program: impl AsRef<OsStr>, args: &[&str]) -> io::Result<Server> {
        let mut command = Command::new(program.as_ref());
        command.args(args);
        if !has_flag(args, "--port") {
            command.args(["--port", "0"]);
        }
        let name = describe(program.as_ref(), args);
        Server::launch(command, name, connect_host(args), None)
    }

    /// Spawns `command` with stdout and stderr piped and waits for its first
    /// line. The port is `known_port` if given, otherwise read from that line.
    pub(crate) fn launch(
        mut command: Command,
        name: String,
        host: IpAddr,
        known_port: Option<u16>,
    ) -> io::Result<Server> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {name}: {e}")))?;
        let (stdout, stderr) = match (child.stdout.take(), child.stderr.take()) {
            (Some(stdout), Some(stderr)) => (stdout, stderr),
            _ => unreachable!("both pipes were requested above"),
        };
        let mut server = Server {
            child,
            name,
            host,
            port: known_port.unwrap_or(0),
            first_line: String::new(),
            lines: Mutex::new(LineLog {
                incoming: read_lines_in_background(stdout),
                seen: Vec::new(),
                taken: 0,
            }),
            stderr: read_to_end_in_background(stderr),
            finished: false,
        };

        let first = server.log().take_next(Instant::now() + STARTUP_TIMEOUT);
        let first = match first {
            Ok(line) => line,
            // Its stdout closed: almost always because it exited (the exit
            // status in the message says).
            Err(RecvTimeoutError::Disconnected) => {
                let reason = "exited before printing its first line";
                return Err(server.fail_to_start(io::ErrorKind::Other, reason));
            }
            Err(RecvTimeoutError::Timeout) => {
                let reason = format!("printed nothing within {STARTUP_TIMEOUT:?}");
                return Err(server.fail_to_start(io::ErrorKind::TimedOut, &reason));
            }
        };
        if known_port.is_none() {
            match parse_port(&first) {
                Some(port) => server.port = port,
                None => {
                    let reason = format!("printed a first line naming no port: {first:?}");
                    return Err(server.fail_to_start(io::ErrorKind::InvalidData, &reason));
                }
            }
        }
        server.first_line = first;
        Ok(server)
    }

    /// Kills a server that did not start properly and turns what it left
    /// behind into one error message.
    fn fail_to_start(mut self, kind: io::ErrorKind, reason: &str) -> io::Error {
        let name = self.name.clone();
        let stopped = self.finish(Duration::ZERO);
        io::Error::new(
            kind,
            format!(
                "{name} {reason} ({}); stdout: {:?}; stderr: {:?}",
                stopped.status, stopped.stdout, stopped.stderr
            ),
        )
    }

    /// The port the server is listening on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address to connect to: `127.0.0.1:port`, or the `--host` the
    /// server was started with when that is an IP address (`::1` gives
    /// `[::1]:port`; `0.0.0.0` and `::` give the loopback address of the same
    /// family). A host name such as `localhost` gives `127.0.0.1`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The first line the server printed (the one the port was read from).
    pub fn first_line(&self) -> &str {
        &self.first_line
    }

    /// The next stdout line after the ones already taken, or `None` if none
    /// arrives within `timeout` or the server has closed its stdout.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.log().take_next(Instant::now() + timeout).ok()
    }

    /// Takes lines until one satisfies `matches` and returns it; the lines
    /// before it are taken too. `None` if no such line arrives within
    /// `timeout` (the whole wait, not per line).
    pub fn wait_for_line(
        &self,
        mut matches: impl FnMut(&str) -> bool,
        timeout: Duration,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut log = self.log();
        loop {
            let line = log.take_next(deadline).ok()?;
            if matches(&line) {
                return Some(line);
            }
        }
    }

    /// Like [`Server::wait_for_line`] for a line containing `needle`, but
    /// panics, listing every line the server printed, if none arrives in
    /// time: the usual assertion in a test.
    #[track_caller]
    pub fn expect_line(&self, needle: &str, timeout: Duration) -> String {
        match self.wait_for_line(|line| line.contains(needle), timeout) {
            Some(line) => line,
            None => panic!(
                "{} printed no line containing {needle:?} within {timeout:?}; its stdout so far: {:#?}",
                self.name,
                self.lines_so_far()
            ),
        }
    }

    /// Every stdout line that has arrived so far, taken or not, first line
    /// included. Does not wait.
    pub fn lines_so_far(&self) -> Vec<String> {
        let mut log = self.log();
        log.collect_arrived();
        log.seen.clone()
    }

    /// Asks the server to stop with SIGTERM, as a learner's Ctrl-C or a
    /// service manager would, waits up to [`STOP_GRACE`] for it to exit (then
    /// kills it), and returns its exit status and output.
    ///
    /// The signal is sent by running `kill -TERM <pid>`, which keeps this
    /// crate free of `unsafe`. Where there is no `kill` command (or no
    /// signals, on Windows) the process is killed outright.
    pub fn stop(mut self) -> Stopped {
        self.finish(STOP_GRACE)
    }

    /// Sends SIGTERM, waits up to `grace` for an exit, kills it after that,
    /// and gathers the output.
    fn finish(&mut self, grace: Duration) -> Stopped {
        let mut killed = false;
        let status = match self.child.try_wait() {
            Ok(Some(status)) => Some(status),
            _ => {
                if !grace.is_zero() && send_sigterm(self.child.id()) {
                    wait_until(&mut self.child, Instant::now() + grace)
                } else {
                    None
                }
            }
        };
        let status = match status {
            Some(status) => status,
            None => {
                killed = true;
                let _ = self.child.kill();
                match self.child.wait() {
                    Ok(status) => status,
                    Err(e) => panic!("cannot wait for {}: {e}", self.name),
                }
            }
        };
        self.finished = true;

        let mut log = self.log();
        log.collect_to_end();
        let remaining = log.seen[log.taken..].to_vec();
        let stdout = log.seen.clone();
        drop(log);
        let stderr = self
            .stderr
            .recv_timeout(PIPE_DRAIN_TIMEOUT)
            .unwrap_or_default();
        Stopped {
            status,
            killed,
            stdout,
            remaining,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, LineLog> {
        // A test that panicked while holding the lock left the log intact.
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a one-shot program (a client) to the end and returns what it printed.
///
/// `stdin` is written to the program's standard input, then closed; `None`
/// gives it an empty stdin. If the program has not exited after `timeout` it
/// is killed and the error, of kind [`io::ErrorKind::TimedOut`], says so and
/// shows what it had printed: a client that hangs fails the test instead of
/// hanging it.
pub fn run(
    program: impl AsRef<OsStr>,
    args: &[&str],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> io::Result<Output> {
    let mut command = Command::new(program.as_ref());
    command.args(args);
    run_command(command, &describe(program.as_ref(), args), stdin, timeout)
}

/// [`run`] for a prepared command; `name` is for error messages.
pub(crate) fn run_command(
    mut command: Command,
    name: &str,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> io::Result<Output> {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start {name}: {e}")))?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // On its own thread: a program that prints before it reads could
        // otherwise fill its stdout pipe while we block filling its stdin.
        let data = data.to_vec();
        thread::spawn(move || {
            // A program that exits without reading its input closes the
            // pipe; that is its business, not an error here.
            let _ = pipe.write_all(&data);
        });
    }
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        unreachable!("both pipes were requested above");
    };
    let stdout = read_to_end_in_background(out);
    let stderr = read_to_end_in_background(err);

    let exited = wait_until(&mut child, Instant::now() + timeout);
    let status = match exited {
        Some(status) => status,
        None => {
            let _ = child.kill();
            child.wait()?
        }
    };
    let output = Output {
        status,
        stdout: stdout.recv_timeout(PIPE_DRAIN_TIMEOUT).unwrap_or_default(),
        stderr: stderr.recv_timeout(PIPE_DRAIN_TIMEOUT).unwrap_or_default(),
    };
    if exited.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{name} did not finish within {timeout:?}, so it was killed; stdout: {:?}; stderr: {:?}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            ),
        ));
    }
    Ok(output)
}

/// Polls until the child exits or `deadline` passes; `None` means it is
/// still running.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(EXIT_POLL_INTERVAL),
            _ => return None,
        }
    }
}

/// Sends SIGTERM by running `kill`; false if that could not be done.
#[cfg(unix)]
fn send_sigterm(pid: u32) -> bool {
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(not(unix))]
fn send_sigterm(_pid: u32) -> bool {
    false
}

/// Reads `pipe` line by line on a thread; the channel closes at end-of-file.
fn read_lines_in_background(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = crossbeam_channel::unbounded();
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\n', '\r']).to_string();
                    if sender.send(text).is_err() {
                        break;
                    }
                }
            }
        }
    });
    receiver
}

/// Reads `pipe` to end-of-file on a thread and sends everything at once.
fn read_to_end_in_background(mut pipe: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (sender, receiver) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = sender.send(bytes);
    });
    receiver
}

/// Whether `args` sets `flag`, as `--flag value` or `--flag=value`.
pub(crate) fn has_flag(args: &[&str], flag: &str) -> bool {
    flag_value(args, flag).is_some() || args.contains(&flag)
}

/// The value given to `flag` in `args`, if any (the last one wins, as with
/// clap and argparse).
pub(crate) fn flag_value<'a>(args: &[&'a str], flag: &str) -> Option<&'a str> {
    let mut value = None;
    for (i, arg) in args.iter().enumerate() {
        if *arg == flag {
            value = args.get(i + 1).copied();
        } else if let Some(v) = arg.strip_prefix(flag).and_then(|v| v.strip_prefix('=')) {
            value = Some(v);
        }
    }
    value
}

/// The address a test connects to for a server started with `args`.
pub(crate) fn connect_host(args: &[&str]) -> IpAddr {
    match flag_value(args, "--host").map(str::parse::<IpAddr>) {
        Some(Ok(ip)) if ip.is_unspecified() => match ip {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        },
        Some(Ok(ip)) => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// `tcp-server --host 127.0.0.1`, for messages: the program's file name and
/// its arguments.
pub(crate) fn describe(program: &OsStr, args: &[&str]) -> String {
    let path = Path::new(program);
    let short: OsString = path.file_name().unwrap_or(program).to_owned();
    let mut name = short.to_string_lossy().into_owned();
    for arg in args {
        name.push(' ');
        name.push_str(arg);
    }
    name
}

/// The path of example `name` of the crate under test (`cargo test` builds
/// a crate's examples beside its tests), found from the running test's own
/// path so that it works whatever the target directory is.
pub fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/<test> -> target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test binary lives in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "example {name} is not built at {}: `cargo test` builds it, `cargo test --test X` alone may not \
         (run `cargo build --examples` first)",
        path.display()
    );
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_flags_in_both_spellings() {
        assert!(has_flag(&["--port", "0"], "--port"));
        assert!(has_flag(&["--port=0"], "--port"));
        assert!(!has_flag(&["--portal", "x"], "--port"));
        assert!(!has_flag(&["--host", "::1"], "--port"));
        assert_eq!(flag_value(&["--host", "::1"], "--host"), Some("::1"));
        assert_eq!(flag_value(&["--host=::1"], "--host"), Some("::1"));
    }

    #[test]
    fn connects_where_the_host_flag_says() {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(connect_host(&[]), v4);
        assert_eq!(connect_host(&["--host", "localhost"]), v4);
        assert_eq!(connect_host(&["--host", "0.0.0.0"]), v4);
        assert_eq!(connect_host(&["--host", "::1"]), v6);
        assert_eq!(connect_host(&["--host", "::"]), v6);
        assert_eq!(
            connect_host(&["--host=127.0.0.2"]),
            "127.0.0.2".parse::<IpAddr>().unwrap()
        );
    }

    #[cfg(unix)]
    fn sh(script: &str) -> io::Result<Server> {
        Server::start("sh", &["-c", script, "sh"])
    }

    #[cfg(unix)]
    #[test]
    fn reads_the_port_and_the_following_lines() {
        // The shell ignores the `--port 0` Server adds: they become $1 and $2.
        let server =
            sh("echo \"Server listening on port 4321...\"; echo one; echo two; exec sleep 30")
                .unwrap();
        assert_eq!(server.port(), 4321);
        assert_eq!(server.addr(), "127.0.0.1:4321".parse().unwrap());
        assert_eq!(server.first_line(), "Server listening on port 4321...");
        let two = server.wait_for_line(|line| line == "two", Duration::from_secs(10));
        assert_eq!(two.as_deref(), Some("two"));
        assert_eq!(server.lines_so_far().len(), 3);
        assert_eq!(server.next_line(Duration::from_millis(50)), None);
        let stopped = server.stop();
        assert!(!stopped.killed);
        assert!(!stopped.status.success());
        assert!(stopped.remaining.is_empty());
        assert_eq!(stopped.stdout.len(), 3);
    }

    #[cfg(unix)]
    #[test]
    fn passes_port_zero() {
        let server = sh("echo \"ready on port $2\"; exec sleep 30").unwrap();
        assert_eq!(server.port(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn stop_returns_the_lines_printed_on_the_way_out_and_stderr() {
        let server = sh(
            "trap 'echo served 3 clients; exit 0' TERM; echo 'on port 1'; echo oops >&2; \
             while :; do sleep 0.05; done",
        )
        .unwrap();
        let stopped = server.stop();
        assert!(stopped.status.success(), "{stopped:?}");
        assert!(!stopped.killed);
        assert_eq!(stopped.remaining, ["served 3 clients"]);
        assert_eq!(stopped.stdout, ["on port 1", "served 3 clients"]);
        assert_eq!(stopped.stderr, "oops\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_server_that_exits_early_reports_its_stderr() {
        let err =
            sh("echo 'error: cannot bind 127.0.0.1:8080: address in use' >&2; exit 1").unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("exited before printing its first line"),
            "{message}"
        );
        assert!(message.contains("address in use"), "{message}");
    }

    #[cfg(unix)]
    #[test]
    fn a_first_line_without_a_port_is_an_error() {
        let err = sh("echo 'UDP server ready...'; exec sleep 30").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("naming no port"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn run_feeds_stdin_and_collects_output() {
        let output = run("cat", &[], Some(b"hello"), Duration::from_secs(10)).unwrap();
        assert!(output.status.success());
        assert_eq!(output.stdout, b"hello");
    }

    #[cfg(unix)]
    #[test]
    fn run_kills_a_program_that_overstays() {
        let started = Instant::now();
        let err = run(
            "sh",
            &["-c", "echo partial; exec sleep 30"],
            None,
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("partial"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
