//! The packet-inspection chapter: what `sniff1_dns_name` and
//! `sniff2_conversations` need besides their lesson, and their checks.
//!
//! - For `sniff1_dns_name`: [`dns_query`] (a DNS query as it travels in a
//!   UDP datagram to port 53), and the checks [`check_reads_query_names`]
//!   and [`check_lying_lengths_are_refused`].
//! - For `sniff2_conversations`: [`Counters`], [`echo_exchange`] (the
//!   segments of one TCP echo, both directions), and the checks
//!   [`check_one_counter_per_conversation`] and
//!   [`check_conversations_stay_apart`].
//!
//! No sockets here: a capture is bytes, and these checks feed bytes.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::net::{TIMEOUT, show, within};

/// `query_name` of sniff1: the name a DNS query asks for, or `None` when
/// the payload is not a whole, honest query.
pub type QueryNameFn = fn(&[u8]) -> Option<String>;

/// Bytes per conversation, as sniff2 keeps them.
pub type Counters = HashMap<(SocketAddr, SocketAddr), u64>;

/// `add` of sniff2: counts `bytes` sent from `src` to `dst`.
pub type AddFn = fn(&mut Counters, SocketAddr, SocketAddr, u64);

/// A DNS query for `name` (type A, class IN), as its UDP payload: the
/// 12-byte header (one question), then the name as length-prefixed labels
/// ending in a zero, then the type and class.
pub fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut query = Vec::new();
    query.extend_from_slice(&id.to_be_bytes());
    // Flags: recursion desired. Counts: 1 question, no answers.
    query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.push(0);
    query.extend_from_slice(&[0, 1, 0, 1]);
    query
}

/// sniff1: the names of honest queries.
#[track_caller]
pub fn check_reads_query_names(query_name: QueryNameFn) {
    for name in ["example.com", "www.rust-lang.org", "localhost", "a.b.c.d.e"] {
        let query = dns_query(0x1234, name);
        let got = within(TIMEOUT, "query_name", move || query_name(&query));
        assert_eq!(
            got.as_deref(),
            Some(name),
            "the query for {name:?} ({}) should give {name:?}",
            show(&dns_query(0x1234, name))
        );
    }
    let root = dns_query(1, "");
    let got = within(TIMEOUT, "query_name", move || query_name(&root));
    assert_eq!(
        got.as_deref(),
        Some(""),
        "a query for the root (a lone zero) names \"\""
    );
}

/// sniff1: a query cut short, or whose lengths point past its end, is
/// refused with `None`, never a panic.
#[track_caller]
pub fn check_lying_lengths_are_refused(query_name: QueryNameFn) {
    let honest = dns_query(7, "example.com");
    let mut lying = honest.clone();
    // The first label claims 60 bytes; 21 follow.
    lying[12] = 60;
    let mut no_end = dns_query(7, "example.com");
    // Cut just before the terminating zero.
    no_end.truncate(12 + 1 + 7 + 1 + 3);
    let cases: [(&str, Vec<u8>); 4] = [
        ("shorter than a DNS header", honest[..5].to_vec()),
        ("a label longer than what follows", lying),
        ("names that never end with a zero", no_end),
        ("a header and nothing else", honest[..12].to_vec()),
    ];
    for (what, payload) in cases {
        let shown = show(&payload);
        let got = within(TIMEOUT, "query_name", move || query_name(&payload));
        assert_eq!(
            got, None,
            "{what} ({shown}) should give None: a monitor that trusts a length \
             reads past the buffer, and Rust stops it with a panic"
        );
    }
}

/// The segments of one TCP echo between a client and a server, both
/// directions, with their payload sizes: request, echo, and the empty
/// ACKs in between.
pub fn echo_exchange(client: SocketAddr, server: SocketAddr) -> Vec<(SocketAddr, SocketAddr, u64)> {
    vec![
        (client, server, 0),
        (server, client, 0),
        (client, server, 0),
        (client, server, 14),
        (server, client, 0),
        (server, client, 20),
        (client, server, 0),
    ]
}

/// sniff2: both directions of one conversation count in one counter.
#[track_caller]
pub fn check_one_counter_per_conversation(add: AddFn) {
    let client: SocketAddr = "127.0.0.1:51234".parse().unwrap_or_else(|_| unreachable!());
    let server: SocketAddr = "127.0.0.1:8080".parse().unwrap_or_else(|_| unreachable!());
    let counters = within(TIMEOUT, "add", move || {
        let mut counters = Counters::new();
        for (src, dst, bytes) in echo_exchange(client, server) {
            add(&mut counters, src, dst, bytes);
        }
        counters
    });
    assert_eq!(
        counters.len(),
        1,
        "one echo is one conversation, in both directions; got {counters:?}"
    );
    assert_eq!(
        counters.values().sum::<u64>(),
        34,
        "the request (14 bytes) and the echo (20) together"
    );
}

/// sniff2: two clients of one server are two conversations.
#[track_caller]
pub fn check_conversations_stay_apart(add: AddFn) {
    let server: SocketAddr = "[::1]:8080".parse().unwrap_or_else(|_| unreachable!());
    let one: SocketAddr = "[::1]:40000".parse().unwrap_or_else(|_| unreachable!());
    let two: SocketAddr = "[::1]:40001".parse().unwrap_or_else(|_| unreachable!());
    let counters = within(TIMEOUT, "add", move || {
        let mut counters = Counters::new();
        add(&mut counters, one, server, 10);
        add(&mut counters, server, two, 5);
        add(&mut counters, server, one, 1);
        add(&mut counters, two, server, 2);
        counters
    });
    let mut totals: Vec<u64> = counters.values().copied().collect();
    totals.sort_unstable();
    assert_eq!(
        totals,
        [7, 11],
        "client 40000 exchanged 10 + 1 bytes, client 40001 5 + 2; got {counters:?}"
    );
}
