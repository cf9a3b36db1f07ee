//! The harness of the netlab exercises: everything an exercise needs that is
//! not its lesson, so the exercise file a learner edits stays small.
//!
//! Each exercise's `#[cfg(test)]` block is a few calls to the *checks* here,
//! one per test, such as [`tcp::check_idle_client_blocks_nobody`]. A check
//! takes the learner's function as a plain function pointer, runs it against
//! real sockets, and panics with a message that says what went wrong and
//! what the article's version of the code would have done. Checks are
//! `#[track_caller]`, so a failure points at the test in the exercise file,
//! the file the learner has open. Read a check to see exactly what an
//! exercise asks for.
//!
//! | module | used by | what it holds |
//! |---|---|---|
//! | [`net`] | all | loopback connections, [`net::ChoppyReader`], [`net::send_in_pieces`], [`net::within`] |
//! | [`tcp`] | `tcp1_threaded_echo`, `tcp2_length_prefix` | the echo handler, a server runner, a client, their checks |
//! | [`udp`] | `udp1_retry_backoff` | [`udp::LossyServer`] (drops datagrams, or never answers), its checks |
//! | [`proto`] | `proto1_stream`, `proto2_evolve` | the article's `Employee` for quick-protobuf, an old (v1) server, the checks |
//! | [`pool`] | `pool1_evict_idle`, `pool2_wait_with_timeout` | idle connections with their age ([`pool::Idle`]), whether a peer was closed, the checks |
//! | [`http`] | `http1_health`, `http2_rate_limit` | a server running your handler or rate limiter on loopback, [`http::do_get`], [`http::Bucket`], the checks |
//! | [`proxy`] | `proxy1_allow_list`, `proxy2_byte_cap` | [`proxy::Network`], a one-client proxy that asks `allowed` ([`proxy::proxy_once`]), [`proxy::StingyWriter`] (a few bytes per write), the checks |
//! | [`sniff`] | `sniff1_dns_name`, `sniff2_conversations` | [`sniff::dns_query`], [`sniff::echo_exchange`], the checks (bytes only, no sockets) |
//! | [`timeout`] | `timeout1_deadline`, `timeout2_backoff` | [`timeout::HttpServer`] (answers, silent, trickles, or 503 first), a request by a deadline, the checks |
//!
//! Three promises hold for every function here:
//! - every socket is on 127.0.0.1, on a port the system picks (port 0), so
//!   nothing leaves the machine and nothing clashes with a running server;
//! - every wait has a time limit ([`net::TIMEOUT`] unless it says
//!   otherwise), and the learner's code runs on a thread the check gives up
//!   on after that limit ([`net::within`]): a check fails, it never hangs;
//! - no check depends on the learner's code being fast, only on it being
//!   right: the limits are seconds where the right code takes milliseconds.

pub mod http;
pub mod net;
pub mod pool;
pub mod proto;
pub mod proxy;
pub mod sniff;
pub mod tcp;
pub mod timeout;
pub mod udp;
