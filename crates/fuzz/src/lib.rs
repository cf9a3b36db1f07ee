//! # Fuzzing: every function that reads bytes from outside, fed bytes nobody chose
//!
//! The chapters' tests send the bad inputs their authors thought of: a
//! truncated varint, a TCP data offset past the end, a `Content-Length` of
//! `-1`. A fuzzer sends the ones nobody thought of. It runs a *target*, a
//! function that hands bytes to the code under test, thousands of times a
//! second with inputs made by mutating a *seed corpus* of valid ones (flip a
//! bit, overwrite a length with `0xffff`, splice two files together), and
//! stops at the first input that makes the target panic.
//!
//! Why mutate valid inputs rather than draw uniform random bytes? A random
//! byte string is almost never a pcap file with a plausible Ethernet frame
//! inside: it is turned away at the first check, and the code behind that
//! check never runs. A real capture with one length field changed gets past
//! the magic number, the headers and the link type, and tests the one check
//! that matters.
//!
//! "No panic, clear error" is what each target holds the code to: whatever
//! the bytes, the function returns, and either succeeds or says what was
//! wrong (a `DecodeError` with its offset, a `Malformed` frame, a 4xx
//! answer). A panic is a crash of a server or of a learner's `decode`. Each
//! target also asserts what a right answer looks like, beyond "it returned":
//!
//! | target            | feeds                                              | and checks                                  |
//! |-------------------|----------------------------------------------------|---------------------------------------------|
//! | `proto_employee`  | [`proto::parse_employee`], `_v2`, `employee_lines` | what decodes re-encodes to the same record; the printer agrees |
//! | `proto_raw`       | [`proto::decode_raw`]                              | one line per record, no control byte printed |
//! | `proto_framed`    | [`proto::read_frame`] on a stream, each frame decoded | framed again, the frames read back the same |
//! | `sniff_decode`    | [`sniff::wire::decode`], every link type           | a payload lies inside the frame             |
//! | `sniff_monitor`   | [`sniff::NetworkMonitor::process_packet`], alerts  | the counts add up to the frames seen        |
//! | `sniff_pcap`      | [`sniff::pcap::read_file`], pcap and pcapng        | a valid file is read whole, frame for frame |
//! | `trace_ladder`    | [`trace::Ladder`] of any frames, text and SVG      | every packet of the port drawn; the text reads back |
//! | `http_request`    | the http-server, over a loopback connection        | well-formed answers, known statuses         |
//! | `proxy_forward`   | [`proxy::TcpProxy::handle_client`], with faults    | every byte arrives, in order, once          |
//! | `tcp_reply`       | [`tcp::exchange_reply`] and `python_bytes`         | the reply as sent; its printed form decodes back |
//! | `udp_reply`       | [`udp::Client::request`], with stray datagrams     | the server's datagram, not a stray          |
//! | `timeout_reply`   | [`timeout::http::ResponseEnd`], [`timeout::request_by`] | the end found does not depend on how the bytes were split |
//!
//! ## The tool, and why
//!
//! cargo-fuzz and `cargo bolero` drive libFuzzer or AFL, whose coverage
//! instrumentation needs the nightly compiler (`-Zsanitizer`); this
//! workspace builds on stable Rust only. On stable, bolero falls back to
//! random inputs inside `cargo test`, and proptest generates values from
//! strategies: neither mutates a corpus of files, and neither runs for a
//! time given on the command line. So the loop is ours ([`engine`], a few
//! dozen lines), and a small crate does the rest: [`arbtest`] turns a
//! 64-bit *seed* into the random bytes an `arbitrary::Unstructured` hands
//! out, so a seed names an input exactly and `just fuzz --target NAME
//! --seed S --replay` makes it again; [`mutate`] spends those bytes
//! choosing a seed-corpus file and what to change in it. What we give up
//! is coverage guidance (libFuzzer keeps the inputs that reach new code and
//! mutates those); a seed corpus of valid inputs stands in for it. A target
//! is a plain `fn(&[u8])`, the shape cargo-fuzz takes, so the targets move
//! there unchanged the day nightly is available.
//!
//! Every input that ever crashed a target is kept in its corpus directory,
//! `crates/fuzz/corpus/TARGET/crash-*`, and `tests/corpus.rs` runs every
//! corpus file through its target in `cargo test`: a crash found once is a
//! regression test for good. The first one found is
//! `corpus/sniff_pcap/crash-b27f072da92c6f5a`: a pcap file whose packet was
//! longer on the wire than the snap length, as in every capture taken with
//! `tcpdump -s`, which `sniff --pcap` refused until `read_file` was fixed.
//!
//! Run it: `just fuzz` (a minute per target), `just fuzz --seconds 10
//! --target sniff_pcap`.
#![forbid(unsafe_code)]

pub mod corpus;
pub mod engine;
pub mod mutate;
pub mod runner;

mod clients;
mod http;
mod loopback;
mod proto;
mod proxy;
mod sniff;
mod trace;

/// A fuzz target: a name, what it feeds, and the function that feeds it.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The name on the command line and of its corpus directory.
    pub name: &'static str,
    /// What it feeds the bytes to, for `--list`.
    pub feeds: &'static str,
    /// Hands `data` to the code under test; panics if a property fails.
    pub run: fn(&[u8]),
}

/// Every target, in the article's order.
pub const TARGETS: &[Target] = &[
    Target {
        name: "proto_employee",
        feeds: "proto::parse_employee, parse_employee_v2, employee_lines",
        run: proto::employee,
    },
    Target {
        name: "proto_raw",
        feeds: "proto::decode_raw (employee decode --raw)",
        run: proto::raw,
    },
    Target {
        name: "proto_framed",
        feeds: "proto::read_frame on a stream, each frame decoded",
        run: proto::framed,
    },
    Target {
        name: "sniff_decode",
        feeds: "sniff::wire::decode, every link type, snapped or not",
        run: sniff::decode,
    },
    Target {
        name: "sniff_monitor",
        feeds: "NetworkMonitor::process_packet with both alert rules",
        run: sniff::monitor,
    },
    Target {
        name: "sniff_pcap",
        feeds: "sniff::pcap::read_file (pcap and pcapng) into the monitor",
        run: sniff::pcap,
    },
    Target {
        name: "trace_ladder",
        feeds: "trace's ladder of any capture (--pcap FILE --port N): text, SVG, read back",
        run: trace::ladder,
    },
    Target {
        name: "http_request",
        feeds: "http::serve: the bytes as a client's connection, on loopback",
        run: http::request,
    },
    Target {
        name: "proxy_forward",
        feeds: "TcpProxy::handle_client both ways, with latency, bandwidth, reset",
        run: proxy::forward,
    },
    Target {
        name: "tcp_reply",
        feeds: "tcp::exchange_reply against a server replying these bytes",
        run: clients::tcp_reply,
    },
    Target {
        name: "udp_reply",
        feeds: "udp::Client::request, with stray datagrams before the reply",
        run: clients::udp_reply,
    },
    Target {
        name: "timeout_reply",
        feeds: "timeout::http::ResponseEnd and timeout::request_by",
        run: clients::timeout_reply,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
