//! The soak soaks: a healthy echo server passes every assertion, one that
//! leaks a descriptor per connection and one that dies are each reported,
//! and the binary's command line does what its `--help` says. The servers
//! are the crate's `echo-under-test` example (cargo builds it for these
//! tests), so the tests need no other crate's binaries.
//!
//! Each soak lasts two seconds; the tests assert on counts and on what
//! failed, never on how fast anything was.

use std::process::Command;
use std::time::Duration;

use soak::{Config, Protocol, Report, Target};
use test_support::example_path;

fn echo_under_test(args: &[&str]) -> Target {
    Target {
        name: "echo-under-test".into(),
        program: example_path("echo-under-test"),
        args: args.iter().map(|a| a.to_string()).collect(),
        protocol: Protocol::Echo,
        serial: false,
        backend: None,
        cuts_slow_clients_within: None,
    }
}

fn two_seconds(low_fd: bool) -> Config {
    Config {
        duration: Duration::from_secs(2),
        good_clients: 2,
        storm: 100,
        settle: Duration::from_secs(3),
        low_fd,
        ..Config::default()
    }
}

fn soak(args: &[&str], low_fd: bool) -> Report {
    soak::run(&echo_under_test(args), &two_seconds(low_fd), &|_| {})
}

#[test]
fn a_healthy_server_passes_every_assertion() {
    let report = soak(&[], true);
    assert!(report.failures.is_empty(), "{report:#?}");
    assert!(report.good_ok > 0, "{report:#?}");
    assert!(report.bad_clients > 0, "{report:#?}");
    assert_eq!(report.fds_start, report.fds_end, "{report:#?}");
    let low_fd = report.low_fd.clone().expect("the low-fd run ran");
    assert!(low_fd.recovered_in.is_some(), "{report:#?}");
    let table = soak::table(&[report]);
    assert!(table.contains("| echo-under-test | "), "{table}");
    assert!(!table.contains("FAILED"), "{table}");
}

#[test]
fn a_server_that_leaks_descriptors_is_reported() {
    let report = soak(&["--leak"], false);
    assert!(
        report.failures.iter().any(|f| f.contains("a leak")),
        "{report:#?}"
    );
    assert!(report.fds_end > report.fds_start, "{report:#?}");
    assert!(soak::table(&[report]).contains("FAILED: echo-under-test:"));
}

#[test]
fn a_server_that_dies_is_reported() {
    let report = soak(&["--exit-after", "30"], false);
    assert!(
        report.failures.iter().any(|f| f.contains("not alive")),
        "{report:#?}"
    );
}

#[test]
fn the_binary_lists_its_servers_and_refuses_unknown_ones() {
    let soak = env!("CARGO_BIN_EXE_soak");
    let out = Command::new(soak).arg("--list").output().unwrap();
    assert!(out.status.success());
    let listed = String::from_utf8_lossy(&out.stdout);
    for server in [
        "tcp-server",
        "tcp-server --threads",
        "udp-server",
        "pool-server",
        "http-server",
        "proxy",
    ] {
        assert!(listed.lines().any(|l| l == server), "{listed}");
    }
    assert!(!listed.contains("slow-server"), "{listed}");

    let out = Command::new(soak)
        .args(["--server", "slow-server"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no server called 'slow-server'"),
        "{stderr}"
    );
}
