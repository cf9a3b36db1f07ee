//! `http-server` driven as a learner drives it: started on a free port,
//! asked by the clients people really use (curl, Python's `urllib` and
//! `http.client`, a browser), stopped with SIGTERM. A client that is not
//! installed is skipped with the reason printed.
#![allow(clippy::print_stderr, reason = "a skipped test says why")]

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use http::client::Client;
use test_support::{Server, run, run_python, skip_without_python};

const SERVER: &str = env!("CARGO_BIN_EXE_http-server");
/// A hang guard only.
const PATIENCE: Duration = Duration::from_secs(20);

fn start(extra: &[&str]) -> Server {
    let mut args = vec!["--host", "127.0.0.1"];
    args.extend_from_slice(extra);
    Server::start(SERVER, &args).unwrap()
}

/// A log line without its date: `"GET /items?x=1 HTTP/1.1" 200 -`.
fn without_date(line: &str) -> &str {
    // `26/Nov/2026 10:12:01 ` is 21 characters.
    line.get(21..).unwrap_or(line)
}

fn installed(program: &str, test: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        eprintln!("SKIPPED {test}: {program} is not installed");
    }
    found
}

#[test]
fn prints_the_articles_first_line_and_one_line_per_request() {
    let server = start(&[]);
    assert_eq!(
        server.first_line(),
        format!("Starting API server on port {}...", server.port())
    );
    let mut client = Client::connect(server.addr(), PATIENCE).unwrap();
    client.get("/items?x=1").unwrap();
    client.post("/items", br#"{"name": "Ada"}"#).unwrap();
    let get = server.next_line(PATIENCE).unwrap();
    let post = server.next_line(PATIENCE).unwrap();
    assert_eq!(
        without_date(&get),
        r#""GET /items?x=1 HTTP/1.1" 200 -"#,
        "{get}"
    );
    assert_eq!(
        without_date(&post),
        r#""POST /items HTTP/1.1" 201 -"#,
        "{post}"
    );
    // 26/Nov/2026 10:12:01
    let date = &get[..20];
    let shape: String = date
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(&shape[..3], "99/", "{date}");
    assert_eq!(&shape[6..], "/9999 99:99:99", "{date}");
    drop(client);
    let stopped = server.stop();
    assert!(stopped.status.success(), "{}", stopped.stderr);
    assert_eq!(
        stopped.remaining,
        ["Stopped after 2 requests on 1 connection."]
    );
}

#[test]
fn help_lists_the_flags_and_errors_are_one_line() {
    let out = run(SERVER, &["--help"], None, PATIENCE).unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--host",
        "--port",
        "--token",
        "--rate-limit",
        "--max-body",
        "--request-timeout",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help: {help}");
    }
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run(
        SERVER,
        &["--host", "127.0.0.1", "--port", &port],
        None,
        PATIENCE,
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot bind 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("try --port"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let out = run(SERVER, &["--rate-limit", "0"], None, PATIENCE).unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_token_and_rate_limit_flags_work() {
    let server = start(&["--token", "s3cret", "--rate-limit", "3"]);
    let mut client = Client::connect(server.addr(), PATIENCE).unwrap();
    assert_eq!(client.get("/").unwrap().status, 401);
    let authorized = b"GET / HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n\r\n";
    let statuses: Vec<u16> = (0..3)
        .map(|_| client.send(authorized).unwrap().status)
        .collect();
    // The 401 took one of the three tokens of this second.
    assert_eq!(statuses, [200, 200, 429]);
}

#[test]
fn curl_gets_and_posts() {
    if !installed("curl", "curl_gets_and_posts") {
        return;
    }
    let server = start(&[]);
    let base = format!("http://127.0.0.1:{}", server.port());
    let get = format!("{base}/items?x=1&x=2");
    let out = run("curl", &["-s", &get], None, PATIENCE).unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.starts_with(r#"{"method": "GET", "path": "/items", "query_params": {"x": ["1", "2"]}, "timestamp": "#), "{body}");
    let post = format!("{base}/items");
    let args = [
        "-s",
        "-w",
        " %{http_code}",
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"name": "Ada"}"#,
        &post,
    ];
    let out = run("curl", &args, None, PATIENCE).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        r#"{"status": "success", "received": {"name": "Ada"}} 201"#
    );
    // Two URLs, one connection: curl reuses it because of Content-Length.
    let args = [
        "-s",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-w",
        "%{num_connects} ",
        &get,
        &get,
    ];
    let out = run("curl", &args, None, PATIENCE).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1 0 ");
}

/// Python's own clients: `urllib.request` (one connection per request,
/// `Connection: close`) and `http.client` (a kept-open connection).
const PYTHON_CLIENTS: &str = r#"
import http.client, json, sys, urllib.request
port = int(sys.argv[1])
base = f"http://127.0.0.1:{port}"
with urllib.request.urlopen(f"{base}/items?x=1&x=2") as r:
    print(r.status, json.load(r)["query_params"])
req = urllib.request.Request(f"{base}/items", data=b'{"name": "Ada"}',
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req) as r:
    print(r.status, r.read().decode())
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for path in ("/a", "/b"):
    conn.request("GET", path)
    r = conn.getresponse()
    print(r.status, json.loads(r.read())["path"], conn.sock is not None)
conn.request("POST", "/c", body=b"not json")
r = conn.getresponse()
print(r.status, r.read().decode())
"#;

#[test]
fn python_urllib_and_http_client_work_unmodified() {
    if skip_without_python("python_urllib_and_http_client_work_unmodified").is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("netlab-http-clients-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("clients.py");
    std::fs::write(&script, PYTHON_CLIENTS).unwrap();
    let server = start(&[]);
    let out = run_python(&script, &[&server.port().to_string()], None, PATIENCE).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200 {'x': ['1', '2']}\n\
         201 {\"status\": \"success\", \"received\": {\"name\": \"Ada\"}}\n\
         200 /a True\n\
         200 /b True\n\
         400 {\"status\": \"error\", \"message\": \"Invalid JSON\"}\n"
    );
}

/// The first browser found on PATH.
fn browser() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success())
        })
}

#[test]
fn a_headless_browser_shows_the_json() {
    let Some(browser) = browser() else {
        eprintln!(
            "SKIPPED a_headless_browser_shows_the_json: no chromium or google-chrome on PATH"
        );
        return;
    };
    let server = start(&[]);
    let url = format!("http://127.0.0.1:{}/items?x=1&x=2", server.port());
    let profile = std::env::temp_dir().join(format!("netlab-http-browser-{}", std::process::id()));
    let profile_flag = format!("--user-data-dir={}", profile.display());
    // --no-sandbox: Chromium refuses to run as root with its sandbox, and
    // CI runs as root.
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        &profile_flag,
        "--dump-dom",
        &url,
    ];
    let out = run(browser, &args, None, Duration::from_secs(60)).unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains(r#"{"method": "GET", "path": "/items", "query_params": {"x": ["1", "2"]}"#),
        "{dom}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.expect_line("\"GET /items?x=1&x=2 HTTP/1.1\" 200 -", PATIENCE);
}
