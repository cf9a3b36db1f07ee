//! `just bench` in miniature: the server rows run end to end with tiny
//! counts (figures this small mean nothing; the test is that every
//! contender starts, answers correctly and lands in the table).

use std::process::Command;

#[test]
fn the_server_rows_measure_every_contender() {
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--only", "servers", "--runs", "1", "--count", "100"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{stdout}");
    for row in [
        "connect per request, 8 clients, tcp-server --threads",
        "connect per request, 1 client, tcp-server (serial)",
        "request/ACK, 8 clients, udp-server",
    ] {
        assert!(stdout.contains(row), "no row {row:?} in\n{stdout}");
    }
    assert!(stdout.contains("literal port"), "{stdout}");
}
