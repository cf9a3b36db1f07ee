//! Every way [`safe_request`](crate::safe_request) can fail, by name.
//!
//! The article catches two exceptions: `socket.timeout` ("Operation timed
//! out") and `socket.error` ("Network error"), prints a line and returns
//! `None`, so the caller cannot tell a typo in the host name from a server
//! that hung. [`RequestError`] keeps them apart: which step failed, and how.
//! Each class has its own exit status in `safe-request`, so a script can
//! tell them apart too.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// The steps of a request, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Turning the host name into addresses (`getaddrinfo`).
    Resolve,
    /// The TCP handshake.
    Connect,
    /// Writing the request.
    Send,
    /// Reading the response.
    Receive,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Resolve => "resolving the name",
            Step::Connect => "connecting",
            Step::Send => "sending",
            Step::Receive => "receiving",
        })
    }
}

// ANCHOR: error
/// Why a request failed. `Display` is one line that says which step failed
/// and what that means; [`RequestError::exit_code`] is its class.
#[derive(Debug)]
pub enum RequestError {
    /// The name did not resolve, or not before the deadline.
    Resolve {
        /// The name.
        host: String,
        /// What the resolver said (or that it had not answered in time).
        error: io::Error,
    },
    /// Every address of the host refused the connection: nothing listens
    /// on that port.
    Refused {
        /// The addresses tried.
        addrs: Vec<SocketAddr>,
    },
    /// The handshake did not complete before the deadline.
    ConnectTimedOut {
        /// The address that did not answer.
        addr: SocketAddr,
        /// The whole request's timeout.
        timeout: Duration,
    },
    /// The deadline passed while the server took nothing (`Send`) or sent
    /// nothing at all (`Receive`).
    TimedOut {
        /// [`Step::Send`] or [`Step::Receive`].
        step: Step,
        /// The server.
        addr: SocketAddr,
        /// The whole request's timeout.
        timeout: Duration,
    },
    /// The deadline passed while the response was still arriving: the
    /// per-call timeout of the article would never have fired.
    DeadlineExceeded {
        /// The server.
        addr: SocketAddr,
        /// The whole request's timeout.
        timeout: Duration,
        /// What had arrived by then.
        partial: Vec<u8>,
    },
    /// The response grew past the cap; reading stopped there.
    TooLarge {
        /// The cap (`--max-bytes`).
        max_bytes: usize,
    },
    /// Any other I/O error, such as a reset, in the step where it happened.
    Io {
        /// The step.
        step: Step,
        /// The server, once known.
        addr: Option<SocketAddr>,
        /// The error.
        error: io::Error,
    },
}
// ANCHOR_END: error

// ANCHOR: exit_codes
/// `safe-request`'s exit status for each class of failure (0 is success,
/// 2 a command line clap could not parse).
pub const EXIT_CODES: [(u8, &str); 7] = [
    (3, "name resolution failed"),
    (4, "connection refused"),
    (5, "connect timed out"),
    (
        6,
        "send or receive timed out (the server took or sent nothing)",
    ),
    (
        7,
        "overall deadline exceeded (the response was still arriving)",
    ),
    (8, "response too large (--max-bytes)"),
    (9, "other network error (e.g. connection reset)"),
];

impl RequestError {
    /// The exit status of this failure's class, from [`EXIT_CODES`].
    pub fn exit_code(&self) -> u8 {
        match self {
            RequestError::Resolve { .. } => 3,
            RequestError::Refused { .. } => 4,
            RequestError::ConnectTimedOut { .. } => 5,
            RequestError::TimedOut { .. } => 6,
            RequestError::DeadlineExceeded { .. } => 7,
            RequestError::TooLarge { .. } => 8,
            RequestError::Io { .. } => 9,
        }
    }
}
// ANCHOR_END: exit_codes

impl RequestError {
    /// Whether the deadline ended the request: the failures the article
    /// reports as `Operation timed out`.
    pub fn is_timeout(&self) -> bool {
        match self {
            RequestError::Resolve { error, .. } => error.kind() == io::ErrorKind::TimedOut,
            RequestError::ConnectTimedOut { .. }
            | RequestError::TimedOut { .. }
            | RequestError::DeadlineExceeded { .. } => true,
            _ => false,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The resolver's error already names the host.
            RequestError::Resolve { error, .. } => write!(f, "{error}"),
            RequestError::Refused { addrs } => {
                let addrs: Vec<String> = addrs.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "connection refused by {}: nothing listens on that port",
                    addrs.join(" and ")
                )
            }
            RequestError::ConnectTimedOut { addr, timeout } => write!(
                f,
                "connect to {addr} timed out: no answer to the handshake within {} \
                 (a full accept queue, a firewall that drops, or a host that is down)",
                cli::show_seconds(*timeout)
            ),
            RequestError::TimedOut {
                step: Step::Send,
                addr,
                timeout,
            } => write!(
                f,
                "send timed out: {addr} did not take our request within {}",
                cli::show_seconds(*timeout)
            ),
            RequestError::TimedOut { addr, timeout, .. } => write!(
                f,
                "receive timed out: {addr} accepted the connection and sent nothing within {}",
                cli::show_seconds(*timeout)
            ),
            RequestError::DeadlineExceeded {
                addr,
                timeout,
                partial,
            } => write!(
                f,
                "deadline exceeded: the response from {addr} was still arriving after {}; \
                 {} received",
                cli::show_seconds(*timeout),
                cli::count(partial.len() as u64, "byte")
            ),
            RequestError::TooLarge { max_bytes } => write!(
                f,
                "response too large: more than {} arrived; stopped reading (--max-bytes)",
                cli::count(*max_bytes as u64, "byte")
            ),
            RequestError::Io { step, addr, error } => {
                let from = addr.map(|a| format!(" by {a}")).unwrap_or_default();
                match error.kind() {
                    io::ErrorKind::ConnectionReset => write!(
                        f,
                        "connection reset{from} while {step}: the server aborted the connection \
                         (ECONNRESET)"
                    ),
                    _ => write!(f, "{step}: {error}"),
                }
            }
        }
    }
}

impl std::error::Error for RequestError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_its_own_listed_code() {
        let addr: SocketAddr = "127.0.0.1:8090".parse().unwrap();
        let timeout = Duration::from_secs(1);
        let errors = [
            RequestError::Resolve {
                host: "x.invalid".into(),
                error: io::Error::other("cannot resolve x.invalid"),
            },
            RequestError::Refused { addrs: vec![addr] },
            RequestError::ConnectTimedOut { addr, timeout },
            RequestError::TimedOut {
                step: Step::Receive,
                addr,
                timeout,
            },
            RequestError::DeadlineExceeded {
                addr,
                timeout,
                partial: b"..".to_vec(),
            },
            RequestError::TooLarge { max_bytes: 10 },
            RequestError::Io {
                step: Step::Receive,
                addr: Some(addr),
                error: io::ErrorKind::ConnectionReset.into(),
            },
        ];
        let codes: Vec<u8> = errors.iter().map(RequestError::exit_code).collect();
        let listed: Vec<u8> = EXIT_CODES.iter().map(|(code, _)| *code).collect();
        assert_eq!(codes, listed);
        assert_eq!(
            errors[4].to_string(),
            "deadline exceeded: the response from 127.0.0.1:8090 was still arriving after 1 s; \
             2 bytes received"
        );
        assert!(
            errors[6]
                .to_string()
                .starts_with("connection reset by 127.0.0.1:8090 while receiving")
        );
    }
}
