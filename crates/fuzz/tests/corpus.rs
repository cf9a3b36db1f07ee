//! Every corpus file through its target: the seeds, and every input that
//! ever crashed a target (`crash-*`), which makes each crash found a
//! regression test from the moment it is saved.

use fuzz::{TARGETS, Target, corpus, engine};

/// Runs every file of `target`'s corpus; fails naming each file that fails.
fn corpus_passes(target: &Target) {
    let files = corpus::load(target.name).expect("the corpus is readable");
    assert!(!files.is_empty(), "{} has no seed corpus", target.name);
    let failures: Vec<String> = files
        .iter()
        .filter_map(|(path, bytes)| {
            let failed = engine::run_once(target, bytes).err()?;
            Some(format!("{}: {failed}", path.display()))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn named(name: &str) -> &'static Target {
    fuzz::target(name).expect("a target of that name")
}

#[test]
fn every_target_has_a_corpus_directory() {
    for target in TARGETS {
        assert!(
            corpus::dir(target.name).is_dir(),
            "no corpus for {}",
            target.name
        );
    }
}

#[test]
fn proto_employee() {
    corpus_passes(named("proto_employee"));
}

#[test]
fn proto_raw() {
    corpus_passes(named("proto_raw"));
}

#[test]
fn proto_framed() {
    corpus_passes(named("proto_framed"));
}

#[test]
fn sniff_decode() {
    corpus_passes(named("sniff_decode"));
}

#[test]
fn sniff_monitor() {
    corpus_passes(named("sniff_monitor"));
}

#[test]
fn sniff_pcap() {
    corpus_passes(named("sniff_pcap"));
}

#[test]
fn trace_ladder() {
    corpus_passes(named("trace_ladder"));
}

#[test]
fn http_request() {
    corpus_passes(named("http_request"));
}

#[test]
fn proxy_forward() {
    corpus_passes(named("proxy_forward"));
}

#[test]
fn tcp_reply() {
    corpus_passes(named("tcp_reply"));
}

#[test]
fn udp_reply() {
    corpus_passes(named("udp_reply"));
}

#[test]
fn timeout_reply() {
    corpus_passes(named("timeout_reply"));
}

#[test]
fn a_seed_names_one_input() {
    // The replay promise: the same seed makes the same input.
    let seeds = vec![b"GET / HTTP/1.1\r\n\r\n".to_vec(), vec![0x08, 0x96, 0x01]];
    let make = |seed| {
        let mut made = Vec::new();
        arbtest::arbtest(|u| {
            made = fuzz::mutate::input(u, &seeds);
            Ok(())
        })
        .seed(seed)
        .run();
        made
    };
    for n in 0..50 {
        let seed = engine::nth_seed(0x5eed, n);
        assert_eq!(make(seed), make(seed));
    }
}
