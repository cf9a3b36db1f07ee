//! Values printed the way Python prints them.
//!
//! The article's programs print `bytes`, addresses and dicts with Python's
//! `print`, `repr` and `json.dumps`. netlab's binaries print the same text,
//! so that a learner running the Python in one terminal and the Rust in the
//! other sees identical lines. Each function names the Python it mirrors;
//! the tests hold what Python 3.11 printed.

use std::fmt::Write as _;
use std::net::SocketAddr;

use serde_json::Value;

/// How many bytes of a message a log line shows before it is shortened (see
/// [`preview`]): one long message stays one line.
pub const PREVIEW_BYTES: usize = 100;

/// `print(data)` for `bytes`: `b'Echo: Hello, Server!'`.
///
/// Python's rule: single quotes, unless the bytes hold a `'` and no `"`;
/// backslash, tab, newline, carriage return and the chosen quote escaped;
/// other bytes outside printable ASCII as `\xNN`. A terminal therefore never
/// receives a raw control byte from the network.
pub fn python_bytes(data: &[u8]) -> String {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut shown = String::with_capacity(data.len() + 3);
    shown.push('b');
    shown.push(char::from(quote));
    for &byte in data {
        match byte {
            b'\\' => shown.push_str("\\\\"),
            b'\t' => shown.push_str("\\t"),
            b'\n' => shown.push_str("\\n"),
            b'\r' => shown.push_str("\\r"),
            _ if byte == quote => {
                shown.push('\\');
                shown.push(char::from(quote));
            }
            b' '..=b'~' => shown.push(char::from(byte)),
            _ => {
                let _ = write!(shown, "\\x{byte:02x}");
            }
        }
    }
    shown.push(char::from(quote));
    shown
}

/// [`python_bytes`] for a log line: data longer than [`PREVIEW_BYTES`] is
/// cut there and its length given, `b'xxxx'... (3000 bytes)`.
pub fn preview(data: &[u8]) -> String {
    if data.len() <= PREVIEW_BYTES {
        python_bytes(data)
    } else {
        format!(
            "{}... ({} bytes)",
            python_bytes(&data[..PREVIEW_BYTES]),
            data.len()
        )
    }
}

/// `repr(s)` for a `str`: `'Sarah Chen'`, `"it's"`.
///
/// Python picks single quotes unless the text contains `'` and no `"`, and
/// escapes backslashes, the chosen quote and unprintable characters. We
/// treat control characters and whitespace other than the space as
/// unprintable; Python also escapes a few rarer classes (format characters
/// such as U+200B), which are shown as they are here.
pub fn python_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            ' ' => out.push(' '),
            c if c.is_control() || c.is_whitespace() => {
                let _ = match u32::from(c) {
                    code @ 0..=0xff => write!(out, "\\x{code:02x}"),
                    code @ 0x100..=0xffff => write!(out, "\\u{code:04x}"),
                    code => write!(out, "\\U{code:08x}"),
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `print(list_of_str)`: `['Project Alpha', 'Project Beta']`.
pub fn python_list<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<String> = items.iter().map(|s| python_repr(s.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

/// `print(address)` for what `accept()` and `recvfrom()` return: the tuple
/// `('127.0.0.1', 54321)` for IPv4 and `('::1', 54321, 0, 0)` for IPv6,
/// whose last two members are the flow label and the scope id.
pub fn python_addr(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => format!("('{}', {})", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!(
            "('{}', {}, {}, {})",
            v6.ip(),
            v6.port(),
            v6.flowinfo(),
            v6.scope_id()
        ),
    }
}

/// `json.dumps(value)`: `{"method": "GET", "n": 1}`, with Python's default
/// separators (`", "` and `": "`), non-ASCII escaped as `\uXXXX`
/// (`ensure_ascii`), and floats as Python writes them (`1.0`, `1e+16`).
/// Keys keep their insertion order, as a Python dict does.
pub fn json_dumps(value: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value, None, 0);
    out
}

/// `json.dumps(value, indent=N)`: one member per line, nested `N` spaces
/// deeper, `": "` between key and value, and `{}`/`[]` for empty ones.
pub fn json_dumps_indent(value: &Value, indent: usize) -> String {
    let mut out = String::new();
    write_json(&mut out, value, Some(indent), 0);
    out
}

fn write_json(out: &mut String, value: &Value, indent: Option<usize>, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => {
                let _ = write!(out, "{i}");
            }
            (None, Some(u), _) => {
                let _ = write!(out, "{u}");
            }
            (None, None, Some(f)) => out.push_str(&python_float(f)),
            _ => out.push_str("null"),
        },
        Value::String(s) => write_json_string(out, s),
        Value::Array(items) => {
            let items = items.iter().map(|item| (None, item));
            write_container(out, ('[', ']'), items, indent, depth);
        }
        Value::Object(members) => {
            let members = members.iter().map(|(k, v)| (Some(k.as_str()), v));
            write_container(out, ('{', '}'), members, indent, depth);
        }
    }
}

fn write_container<'a>(
    out: &mut String,
    (open, close): (char, char),
    members: impl ExactSizeIterator<Item = (Option<&'a str>, &'a Value)>,
    indent: Option<usize>,
    depth: usize,
) {
    out.push(open);
    if members.len() == 0 {
        out.push(close);
        return;
    }
    for (i, (key, value)) in members.enumerate() {
        match (indent, i) {
            (None, 0) => {}
            (None, _) => out.push_str(", "),
            (Some(width), i) => {
                if i > 0 {
                    out.push(',');
                }
                out.push('\n');
                out.push_str(&" ".repeat(width * (depth + 1)));
            }
        }
        if let Some(key) = key {
            write_json_string(out, key);
            out.push_str(": ");
        }
        write_json(out, value, indent, depth + 1);
    }
    if let Some(width) = indent {
        out.push('\n');
        out.push_str(&" ".repeat(width * depth));
    }
    out.push(close);
}

/// A JSON string as `json.dumps` writes it with `ensure_ascii=True`:
/// printable ASCII as is, everything else escaped.
fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                // Outside the Basic Multilingual Plane, JSON needs the
                // UTF-16 surrogate pair, as Python writes it.
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// `repr(f)` for a float: the shortest text that reads back as the same
/// number, with an exponent below 1e-4 and from 1e16 on (`1e-05`, `1e+16`).
fn python_float(f: f64) -> String {
    if !f.is_finite() {
        // What json.dumps writes (not valid JSON, but Python's choice).
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    // Rust's `{:?}` is also the shortest round-trip form and switches to an
    // exponent at the same points; only the exponent's spelling differs.
    let shown = format!("{f:?}");
    match shown.split_once('e') {
        None => shown,
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(digits) => ('-', digits),
                None => ('+', exponent),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

    #[test]
    fn bytes_print_like_python() {
        assert_eq!(
            python_bytes(b"Echo: Hello, Server!"),
            "b'Echo: Hello, Server!'"
        );
        assert_eq!(python_bytes(b"a\r\n\x00\xff\x1b"), r"b'a\r\n\x00\xff\x1b'");
        assert_eq!(python_bytes(b"it's"), r#"b"it's""#);
        assert_eq!(python_bytes(br#"it's "quoted""#), r#"b'it\'s "quoted"'"#);
        assert_eq!(python_bytes(b"\\ \t"), r"b'\\ \t'");
        assert_eq!(python_bytes(b""), "b''");
    }

    #[test]
    fn preview_shortens_long_data_and_gives_its_length() {
        assert_eq!(preview(b"hi"), "b'hi'");
        let shown = preview(&[b'x'; 3000]);
        assert!(shown.ends_with("... (3000 bytes)"), "{shown}");
        assert!(shown.len() < 200, "{shown}");
    }

    #[test]
    fn repr_matches_python_for_quotes_escapes_and_unicode() {
        // Python 3.11: print(["it's", 'a"b', 'tab\there', 'é', '\x7f',
        // 'x\\y', '\xa0']).
        let items = ["it's", "a\"b", "tab\there", "é", "\x7f", "x\\y", "\u{a0}"];
        assert_eq!(
            python_list(&items),
            r#"["it's", 'a"b', 'tab\there', 'é', '\x7f', 'x\\y', '\xa0']"#
        );
        assert_eq!(python_repr("it's \"x\""), r#"'it\'s "x"'"#);
        assert_eq!(python_list::<&str>(&[]), "[]");
    }

    #[test]
    fn addresses_print_as_python_tuples() {
        let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, 54321));
        assert_eq!(python_addr(v4), "('127.0.0.1', 54321)");
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 54321));
        assert_eq!(python_addr(v6), "('::1', 54321, 0, 0)");
        let scoped = SocketAddrV6::new("fe80::1".parse().unwrap(), 8080, 0, 2);
        assert_eq!(python_addr(scoped.into()), "('fe80::1', 8080, 0, 2)");
    }

    #[test]
    fn json_matches_python_dumps() {
        // Python 3.11: json.dumps({"method": "GET", "path": "/items",
        // "query_params": {"x": ["1", "2"]}, "n": 3, "ok": True,
        // "none": None, "café": "naïve 🦀", "t": 1700000000.25, "e": []}).
        let value = json!({
            "method": "GET", "path": "/items", "query_params": {"x": ["1", "2"]},
            "n": 3, "ok": true, "none": null, "café": "naïve 🦀",
            "t": 1700000000.25, "e": []
        });
        assert_eq!(
            json_dumps(&value),
            r#"{"method": "GET", "path": "/items", "query_params": {"x": ["1", "2"]}, "n": 3, "ok": true, "none": null, "caf\u00e9": "na\u00efve \ud83e\udd80", "t": 1700000000.25, "e": []}"#
        );
    }

    #[test]
    fn indented_json_matches_python_dumps_indent_2() {
        // Python 3.11: json.dumps({'TCP': 3, 'UDP': 1, 'Other': 0}, indent=2)
        let value = json!({"TCP": 3, "UDP": 1, "Other": 0});
        assert_eq!(
            json_dumps_indent(&value, 2),
            "{\n  \"TCP\": 3,\n  \"UDP\": 1,\n  \"Other\": 0\n}"
        );
        let nested = json!({"a": [1, {}], "b": {}});
        assert_eq!(
            json_dumps_indent(&nested, 2),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {}\n}"
        );
    }

    #[test]
    fn floats_print_like_python_repr() {
        // Python 3.11: [repr(x) for x in (1.0, 0.1, 1e16, 1e-05, 123.456,
        // 1e+100, 1.5e-7)].
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e-5, "1e-05"),
            (123.456, "123.456"),
            (1e100, "1e+100"),
            (1.5e-7, "1.5e-07"),
        ];
        for (f, python) in cases {
            assert_eq!(python_float(f), python, "{f}");
        }
    }
}
