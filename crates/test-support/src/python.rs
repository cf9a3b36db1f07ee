//! The article's Python programs, run beside ours.
//!
//! netlab promises that its binaries and the article's Python programs talk to
//! each other and print the same lines. Tests check that promise by running
//! both: `python/article.py` in this crate is our rendition of the article's
//! TCP and UDP programs (`tcp-server`, `tcp-client`, `udp-server`,
//! `udp-client` subcommands), with the same bytes on the wire and the same
//! prints.
//!
//! Python is not a build requirement, so every such test starts with
//! [`skip_without_python`], which says out loud why it is skipping on a
//! machine without `python3`: a skipped test is never a silent pass.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use crate::port::free_port_v4;
use crate::server::{Server, Stopped, connect_host, describe, flag_value, has_flag, run_command};

/// The script holding our rendition of the article's TCP and UDP programs;
/// give it to [`article_program`].
pub const ARTICLE_SCRIPT: &str = "article.py";

/// How long finding and checking `python3` may take.
const PYTHON_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// How many ports [`PythonServer::start`] tries when the one it picked was
/// taken before the server could bind it.
const BIND_ATTEMPTS: usize = 5;

/// Asks the interpreter for its own path: proves it runs and is Python 3.7
/// or newer (argparse's required subcommands), and sees through launcher shims
/// such as pyenv's, so the process a test signals is Python itself.
const PYTHON_CHECK: &str = "import sys; assert sys.version_info >= (3, 7); print(sys.executable)";

/// The `python3` interpreter, if there is one on `PATH` that runs.
///
/// Looked up once per test binary and remembered.
pub fn python3() -> Option<PathBuf> {
    static PYTHON3: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON3.get_or_init(find_python3).clone()
}

fn find_python3() -> Option<PathBuf> {
    let name = format!("python3{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::var_os("PATH")?;
    let candidate = std::env::split_paths(&path)
        .map(|dir| dir.join(&name))
        .find(|file| file.is_file())?;
    let output = crate::server::run(
        &candidate,
        &["-c", PYTHON_CHECK],
        None,
        PYTHON_CHECK_TIMEOUT,
    )
    .ok()?;
    if !output.status.success() {
        return None;
    }
    let executable = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if executable.is_empty() {
        Some(candidate)
    } else {
        Some(PathBuf::from(executable))
    }
}

/// `python3`, or `None` after printing why `test_name` is skipped.
///
/// Start a test that needs Python with
///
/// ```no_run
/// # use test_support::skip_without_python;
/// let Some(_python) = skip_without_python("tcp_client_talks_to_the_article_server") else {
///     return;
/// };
/// ```
///
/// The line goes straight to the process's stderr, past the test harness's
/// output capture, so it shows in `cargo test` output even though the test
/// "passes".
pub fn skip_without_python(test_name: &str) -> Option<PathBuf> {
    let python = python3();
    if python.is_none() {
        let _ = writeln!(
            io::stderr(),
            "SKIPPED {test_name}: python3 not found on PATH; install python3 to run the article's Python side by side"
        );
    }
    python
}

/// The path of a script in this crate's `python/` directory, such as
/// [`ARTICLE_SCRIPT`].
pub fn article_program(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}

/// Runs `python3 script args...` to the end, like [`crate::run`]: `stdin`
/// is fed to it, and it is killed (with a [`io::ErrorKind::TimedOut`]
/// error) if it is still running after `timeout`.
///
/// Fails with [`io::ErrorKind::NotFound`] if there is no `python3`; call
/// [`skip_without_python`] first.
pub fn run_python(
    script: impl AsRef<Path>,
    args: &[&str],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> io::Result<Output> {
    let script = script.as_ref();
    let command = python_command(script, args)?;
    run_command(command, &describe(script.as_os_str(), args), stdin, timeout)
}

/// One of the article's Python servers, running for a test.
///
/// Derefs to [`Server`] for everything but starting: [`Server::port`],
/// [`Server::addr`], [`Server::next_line`], [`Server::wait_for_line`]...
/// Killed when dropped.
#[derive(Debug)]
pub struct PythonServer(Server);

impl PythonServer {
    /// Starts `python3 script args... --port N` and returns once it has
    /// printed its first line.
    ///
    /// The article's servers print no port (`UDP server ready...`), so they
    /// cannot be given `--port 0`: unless `args` has a `--port`, this picks a
    /// port with [`free_port_v4`] and passes it. That races with anything else
    /// binding ports, so if the server exits complaining `Address already in
    /// use`, it tries again on another port (a few times). With a `--port` in
    /// `args` that port is used as given (`--port 0` reads the port from the
    /// first line, which only the TCP server prints).
    ///
    /// Fails with [`io::ErrorKind::NotFound`] if there is no `python3`; call
    /// [`skip_without_python`] first.
    pub fn start(script: impl AsRef<Path>, args: &[&str]) -> io::Result<PythonServer> {
        let script = script.as_ref();
        if has_flag(args, "--port") {
            // The caller chose: trust a real port, or read the port from the
            // first line for `--port 0` (only the TCP server prints it).
            let port = flag_value(args, "--port")
                .and_then(|port| port.parse().ok())
                .filter(|&port| port != 0);
            return PythonServer::launch(script, args, port);
        }
        let mut attempt = 1;
        loop {
            let port = free_port_v4()?.to_string();
            let mut with_port = args.to_vec();
            with_port.extend(["--port", &port]);
            match PythonServer::launch(script, &with_port, port.parse().ok()) {
                Err(e) if attempt < BIND_ATTEMPTS && e.to_string().contains("in use") => {
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    fn launch(script: &Path, args: &[&str], port: Option<u16>) -> io::Result<PythonServer> {
        let command = python_command(script, args)?;
        let name = describe(script.as_os_str(), args);
        Server::launch(command, name, connect_host(args), port).map(PythonServer)
    }

    /// Stops the server as [`Server::stop`] does.
    pub fn stop(self) -> Stopped {
        self.0.stop()
    }

    /// The [`Server`] inside.
    pub fn into_inner(self) -> Server {
        self.0
    }
}

impl Deref for PythonServer {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.0
    }
}

/// `python3 -u script args...`; `-u` so its prints reach our pipe at once,
/// even from a script that forgets to flush.
fn python_command(script: &Path, args: &[&str]) -> io::Result<Command> {
    let python = python3().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "python3 not found on PATH (use skip_without_python to skip instead)",
        )
    })?;
    let mut command = Command::new(python);
    command.arg("-u").arg(OsStr::new(script)).args(args);
    Ok(command)
}
