//! # test-support: what netlab's tests share and do not teach
//!
//! A dev-only crate, in the spirit of rust-analyzer's `test-utils`: the
//! chapter crates list it under `[dev-dependencies]`, and nothing a learner
//! runs depends on it. Three things live here so that no chapter repeats them.
//!
//! - **Servers on port 0** ([`Server`], [`run`]). [`Server::start`] launches
//!   a server binary with `--port 0` and reads the port the kernel chose from
//!   the server's first line (`Server listening on port 43211...`), so tests
//!   never fight over fixed ports and never sleep to wait for a server. Its
//!   stdout stays readable line by line; it is stopped with SIGTERM
//!   ([`Server::stop`]) or killed when dropped. [`run`] runs a client to the
//!   end and kills it if it hangs. Every wait has a deadline.
//! - **Choppy I/O** ([`ChoppyWriter`], [`ChoppyReader`], [`write_in_pieces`]).
//!   TCP is a byte stream, but on loopback a short message nearly always
//!   arrives whole. These cut data into small pieces, so a test can prove a
//!   server copes with a message split across several reads.
//! - **The article's Python** ([`python3`], [`skip_without_python`],
//!   [`PythonServer`], [`run_python`]). `python/article.py` is our rendition
//!   of the article's TCP and UDP programs; tests run it against our binaries
//!   to show the two interoperate. Where `python3` is missing those tests say
//!   `SKIPPED ...` and why.
//!
//! And [`Background`], a library server on a thread of the test that is
//! stopped when the test ends, and [`free_port_v4`], for the rare program
//! that cannot take `--port 0`.
//!
//! ## Example
//!
//! A chapter test starts its server on a free port and runs its client
//! against it (in a chapter crate, `SERVER` and `CLIENT` would be
//! `env!("CARGO_BIN_EXE_tcp-server")` and `env!("CARGO_BIN_EXE_tcp-client")`):
//!
//! ```no_run
//! use std::time::Duration;
//! use test_support::{Server, run};
//!
//! # const SERVER: &str = "tcp-server";
//! # const CLIENT: &str = "tcp-client";
//! let server = Server::start(SERVER, &["--host", "127.0.0.1"])?;
//! let port = server.port().to_string();
//! let output = run(CLIENT, &["--host", "127.0.0.1", "--port", &port], None, Duration::from_secs(10))?;
//! assert_eq!(String::from_utf8_lossy(&output.stdout), "Received: b'Echo: Hello, Server!'\n");
//! server.expect_line("Connection from ('127.0.0.1', ", Duration::from_secs(10));
//! let stopped = server.stop();
//! assert!(stopped.status.success());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The same client against the article's Python server:
//!
//! ```no_run
//! use std::time::Duration;
//! use test_support::{ARTICLE_SCRIPT, PythonServer, article_program, run, skip_without_python};
//!
//! # const CLIENT: &str = "tcp-client";
//! let Some(_python) = skip_without_python("rust_client_python_server") else {
//!     return Ok(());
//! };
//! let server = PythonServer::start(article_program(ARTICLE_SCRIPT), &["tcp-server"])?;
//! let port = server.port().to_string();
//! let output = run(CLIENT, &["--host", "127.0.0.1", "--port", &port], None, Duration::from_secs(10))?;
//! assert_eq!(String::from_utf8_lossy(&output.stdout), "Received: b'Echo: Hello, Server!'\n");
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]

pub mod background;
pub mod choppy;
pub mod port;
pub mod python;
pub mod server;

pub use background::Background;
pub use choppy::{ChoppyReader, ChoppyWriter, write_in_pieces};
pub use port::{free_port_v4, parse_port};
pub use python::{
    ARTICLE_SCRIPT, PythonServer, article_program, python3, run_python, skip_without_python,
};
pub use server::{STARTUP_TIMEOUT, STOP_GRACE, Server, Stopped, example_path, run};
