//! Ports: read the one a server announces, or find a free one.
//!
//! Our servers take `--port 0`, let the kernel choose, and print the port
//! they got on their first line. [`parse_port`] reads it back from that line.
//! [`free_port_v4`] is for programs that cannot be told `--port 0` (the
//! article's Python servers print no port), and it has a race, explained on it.

use std::io;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};

/// How many times [`free_port_v4`] looks for a port free for both TCP and
/// UDP before it gives up. One try almost always succeeds.
const FREE_PORT_ATTEMPTS: usize = 20;

/// The port a server announces on its first line: the number after the word
/// `port`.
///
/// Every netlab server says it the same way, after the article:
/// `Server listening on port 8080...`, `UDP server ready on port 9090...`,
/// `Starting API server on port 8000...`, `Proxy listening on port 8888`.
/// A `:` or `=` after the word is allowed (`port: 8080`, `port=8080`).
/// Returns `None` when no `port` word is followed by a number that fits a
/// `u16`.
///
/// ```
/// use test_support::parse_port;
/// assert_eq!(parse_port("Server listening on port 8080..."), Some(8080));
/// assert_eq!(parse_port("UDP server ready..."), None);
/// ```
pub fn parse_port(line: &str) -> Option<u16> {
    let mut rest = line;
    while let Some(at) = find_word(rest, "port") {
        let after = &rest[at + "port".len()..];
        let number = after.trim_start_matches([' ', '\t', ':', '=']);
        let digits_end = number
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(number.len());
        if let Ok(port) = number[..digits_end].parse() {
            return Some(port);
        }
        rest = after;
    }
    None
}

/// Where `word` occurs in `text` as a whole word (case-insensitive), so that
/// `port` does not match inside `support` or `ports`.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(word) {
        let start = from + found;
        let end = start + word.len();
        let before_ok = !lower[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let after_ok = !lower[end..]
            .chars()
            .next()
            .is_some_and(char::is_alphanumeric);
        if before_ok && after_ok {
            return Some(start);
        }
        from = end;
    }
    None
}

/// A port on 127.0.0.1 that was free for both TCP and UDP a moment ago.
///
/// It binds a TCP listener on port 0, checks a UDP socket can bind the same
/// port, and closes both. **This races**: between this call and the server
/// binding the port, another process (or another test running in parallel)
/// may take it. So a binary that accepts `--port 0` should be started that
/// way and its port read from its first line ([`crate::Server::start`] does
/// this); use this function only for programs that cannot announce their port,
/// such as the article's Python servers, and be ready to retry
/// ([`crate::PythonServer::start`] does).
pub fn free_port_v4() -> io::Result<u16> {
    let mut last_error = None;
    for _ in 0..FREE_PORT_ATTEMPTS {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        match UdpSocket::bind((Ipv4Addr::LOCALHOST, port)) {
            Ok(_udp) => return Ok(port),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free port found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_port_from_each_servers_first_line() {
        assert_eq!(parse_port("Server listening on port 8080..."), Some(8080));
        assert_eq!(parse_port("UDP server ready on port 9090..."), Some(9090));
        assert_eq!(
            parse_port("Starting API server on port 8000..."),
            Some(8000)
        );
        assert_eq!(parse_port("Proxy listening on port 8888"), Some(8888));
        assert_eq!(parse_port("Server listening on port 43211..."), Some(43211));
    }

    #[test]
    fn accepts_a_colon_or_equals_sign_and_any_case() {
        assert_eq!(parse_port("listening, port: 1234"), Some(1234));
        assert_eq!(parse_port("port=1234"), Some(1234));
        assert_eq!(parse_port("Port 1234"), Some(1234));
    }

    #[test]
    fn lines_without_a_port_give_none() {
        assert_eq!(parse_port("UDP server ready..."), None);
        assert_eq!(parse_port(""), None);
        assert_eq!(parse_port("port"), None);
        assert_eq!(parse_port("port ..."), None);
        assert_eq!(parse_port("the support crate on 8080"), None);
        assert_eq!(parse_port("ports 8080"), None);
        assert_eq!(parse_port("port 70000"), None);
    }

    #[test]
    fn skips_a_port_word_without_a_number_and_takes_the_next() {
        assert_eq!(parse_port("the port you chose: port 5000"), Some(5000));
    }

    #[test]
    fn a_free_port_can_be_bound_by_tcp_and_udp() {
        let port = free_port_v4().unwrap();
        assert_ne!(port, 0);
        // Racy in principle (see the doc), but nothing else binds here.
        let _tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
        let _udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}
