//! The two `urllib.parse` calls the article's `do_GET` makes, ported so
//! that the JSON it answers is the same, byte for byte, for any request:
//! `urlparse(self.path)` ([`urlparse`]) and `parse_qs(query)`
//! ([`parse_qs`]), with the `unquote` they rely on ([`unquote`]).
//!
//! `http.server` hands the handler the request target as text decoded from
//! ISO-8859-1, one character per byte, so these work on that text too (see
//! [`latin1`]). The rules are Python 3.11's, and the tests hold what it
//! printed; `tests/python.rs` compares whole answers with the Python itself.

use std::fmt;

/// What `urlparse` splits a URL into: `scheme://netloc/path;params?query#fragment`.
/// Percent escapes are left as they are, as in Python.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedUrl {
    /// `http` in `http://host/x`; empty for a request's usual `/x`.
    pub scheme: String,
    /// `host:port` after `//`.
    pub netloc: String,
    /// What the article puts in its answer as `path`.
    pub path: String,
    /// After a `;` in the last path segment (an old URL feature Python keeps).
    pub params: String,
    /// After the first `?`: what `parse_qs` reads.
    pub query: String,
    /// After the first `#`.
    pub fragment: String,
}

/// A URL `urlparse` refuses: Python raises `ValueError("Invalid IPv6 URL")`
/// for a host with a `[` and no `]`, or the other way round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidUrl;

impl fmt::Display for InvalidUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Invalid IPv6 URL")
    }
}

/// The characters `urlsplit` strips from the start of a URL: the C0
/// controls and the space (WHATWG's "C0 control or space").
fn is_c0_or_space(c: char) -> bool {
    c <= ' '
}

// ANCHOR: urlparse
/// Python's `urlparse(url)`: scheme, then `//netloc`, then `#fragment`,
/// `?query` and `;params`, in that order, each split at its first
/// delimiter. A request target is usually just `/path?query`.
pub fn urlparse(url: &str) -> Result<ParsedUrl, InvalidUrl> {
    // urlsplit first strips leading controls and spaces, and removes tabs
    // and line breaks anywhere (they can hide a URL's real shape).
    let url: String = url
        .trim_start_matches(is_c0_or_space)
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut parsed = ParsedUrl::default();
    let mut rest = url.as_str();
    if let Some(colon) = rest.find(':')
        && colon > 0
        && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && rest[..colon]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        parsed.scheme = rest[..colon].to_ascii_lowercase();
        rest = &rest[colon + 1..];
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let netloc = &after[..end];
        if netloc.contains('[') != netloc.contains(']') {
            return Err(InvalidUrl);
        }
        parsed.netloc = netloc.to_string();
        rest = &after[end..];
    }
    if let Some((before, fragment)) = rest.split_once('#') {
        parsed.fragment = fragment.to_string();
        rest = before;
    }
    if let Some((before, query)) = rest.split_once('?') {
        parsed.query = query.to_string();
        rest = before;
    }
    // `;params` belong to the last path segment only, and only for the
    // schemes that had them (the empty scheme of `/x;y` is one).
    let has_params = matches!(
        parsed.scheme.as_str(),
        "" | "ftp"
            | "hdl"
            | "prospero"
            | "http"
            | "imap"
            | "https"
            | "shttp"
            | "rtsp"
            | "rtsps"
            | "rtspu"
            | "sip"
            | "sips"
            | "mms"
            | "sftp"
            | "tel"
    );
    let last_segment = rest.rfind('/').unwrap_or(0);
    match rest[last_segment..].find(';') {
        Some(at) if has_params => {
            parsed.params = rest[last_segment + at + 1..].to_string();
            parsed.path = rest[..last_segment + at].to_string();
        }
        _ => parsed.path = rest.to_string(),
    }
    Ok(parsed)
}
// ANCHOR_END: urlparse

// ANCHOR: parse_qs
/// Python's `parse_qs(qs)`: `x=1&x=2&y=a+b` gives `x: ["1", "2"]` and
/// `y: ["a b"]`, keys in the order they first appear.
///
/// Its defaults, which the article keeps: fields are split at `&` only,
/// `+` means a space, `%XX` escapes are decoded as UTF-8 (an invalid
/// sequence becomes U+FFFD), and a field with no `=` or an empty value
/// (`flag`, `flag=`) is dropped.
pub fn parse_qs(qs: &str) -> Vec<(String, Vec<String>)> {
    let mut parsed: Vec<(String, Vec<String>)> = Vec::new();
    for field in qs.split('&') {
        let Some((name, value)) = field.split_once('=') else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let name = unquote(&name.replace('+', " "));
        let value = unquote(&value.replace('+', " "));
        match parsed.iter_mut().find(|(key, _)| *key == name) {
            Some((_, values)) => values.push(value),
            None => parsed.push((name, vec![value])),
        }
    }
    parsed
}
// ANCHOR_END: parse_qs

/// Python's `unquote(s)`: each `%XX` (two hex digits) becomes the byte it
/// names, and each run of such bytes is read as UTF-8, with U+FFFD for a
/// byte that is not. A `%` not followed by two hex digits stays as it is.
///
/// Python decodes only the ASCII stretches of the text this way and copies
/// other characters through; since `%XX` is ASCII, so does this.
pub fn unquote(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut bytes = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let escaped = (c == '%')
            .then(|| s.get(at + 1..at + 3))
            .flatten()
            .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                bytes.push(byte);
                chars.next();
                chars.next();
            }
            None if c.is_ascii() => bytes.push(c as u8),
            None => {
                out.push_str(&String::from_utf8_lossy(&bytes));
                bytes.clear();
                out.push(c);
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
    out
}

/// Bytes read as ISO-8859-1, as `http.server` reads the request line
/// (`str(raw_requestline, 'iso-8859-1')`): every byte is one character, so
/// nothing is ever rejected and no byte is lost.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qs(query: &str) -> Vec<(String, Vec<String>)> {
        parse_qs(query)
    }

    fn pair(key: &str, values: &[&str]) -> (String, Vec<String>) {
        (
            key.to_string(),
            values.iter().map(|v| v.to_string()).collect(),
        )
    }

    #[test]
    fn repeated_keys_collect_in_first_seen_order() {
        // Python 3.11: parse_qs('x=1&y=2&x=3') == {'x': ['1', '3'], 'y': ['2']}
        assert_eq!(
            qs("x=1&y=2&x=3"),
            [pair("x", &["1", "3"]), pair("y", &["2"])]
        );
    }

    #[test]
    fn blank_values_and_bare_names_are_dropped() {
        // parse_qs('a=&b&=c&&d=1') == {'': ['c'], 'd': ['1']}
        assert_eq!(qs("a=&b&=c&&d=1"), [pair("", &["c"]), pair("d", &["1"])]);
        assert_eq!(qs(""), []);
    }

    #[test]
    fn plus_is_a_space_and_escapes_are_utf8() {
        // parse_qs('q=a+b%2Bc&name=caf%C3%A9&bad=%ff%zz%4') ==
        // {'q': ['a b+c'], 'name': ['café'], 'bad': ['\ufffd%zz%4']}
        assert_eq!(
            qs("q=a+b%2Bc&name=caf%C3%A9&bad=%ff%zz%4"),
            [
                pair("q", &["a b+c"]),
                pair("name", &["café"]),
                pair("bad", &["\u{fffd}%zz%4"]),
            ]
        );
        // Only the first `=` splits: parse_qs('eq=a=b') == {'eq': ['a=b']}
        assert_eq!(qs("eq=a=b"), [pair("eq", &["a=b"])]);
        // `;` is not a separator since Python 3.9.2.
        assert_eq!(qs("a=1;b=2"), [pair("a", &["1;b=2"])]);
    }

    #[test]
    fn unquote_matches_python() {
        assert_eq!(unquote("abc%20def"), "abc def");
        assert_eq!(unquote("%e2%82"), "\u{fffd}");
        assert_eq!(unquote("%ed%a0%80"), "\u{fffd}\u{fffd}\u{fffd}");
        assert_eq!(unquote("100%"), "100%");
        // Non-ASCII text (a latin-1 decoded request) passes through.
        assert_eq!(unquote("Ã©%41"), "Ã©A");
    }

    #[test]
    fn urlparse_splits_like_python() {
        let parsed = urlparse("/items;v=2?x=1&x=2#top").unwrap();
        assert_eq!(parsed.path, "/items");
        assert_eq!(parsed.params, "v=2");
        assert_eq!(parsed.query, "x=1&x=2");
        assert_eq!(parsed.fragment, "top");
        // A `;` before the last `/` is part of the path.
        assert_eq!(urlparse("/a;b/c").unwrap().path, "/a;b/c");
        // urlparse('http://h:8000/p?q=1') -> scheme 'http', netloc 'h:8000'
        let absolute = urlparse("http://h:8000/p?q=1").unwrap();
        assert_eq!(
            (absolute.scheme.as_str(), absolute.netloc.as_str()),
            ("http", "h:8000")
        );
        assert_eq!(
            (absolute.path.as_str(), absolute.query.as_str()),
            ("/p", "q=1")
        );
        // Escapes stay escaped in the path; tabs vanish; a leading space goes.
        assert_eq!(urlparse(" /a%20b\t?x").unwrap().path, "/a%20b");
        assert_eq!(urlparse("http://[::1/x"), Err(InvalidUrl));
    }

    #[test]
    fn latin1_keeps_every_byte() {
        assert_eq!(latin1(b"/caf\xc3\xa9"), "/cafÃ©");
    }
}
