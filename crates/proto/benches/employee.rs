//! The article's claim, "exceptionally efficient ... compact binary
//! encoding", measured: the Sarah Chen record as protobuf against the same
//! record as JSON (serde_json), in bytes and in build+encode+decode time.
//!
//! Run: `cargo bench -p proto` (about 20 s). Criterion prints each
//! benchmark; the closing Markdown table gives sizes, rates and ratios.
#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use serde::{Deserialize, Serialize};

/// The same record, shaped for serde_json: owned `String`s, as JSON text
/// has escapes and so cannot always be borrowed from the input.
#[derive(Serialize, Deserialize)]
struct JsonEmployee {
    name: String,
    employee_id: i32,
    department: String,
    projects: Vec<String>,
    metadata: BTreeMap<String, String>,
}

fn json_employee() -> JsonEmployee {
    JsonEmployee {
        name: "Sarah Chen".into(),
        employee_id: 42,
        department: "Engineering".into(),
        projects: vec!["Project Alpha".into(), "Project Beta".into()],
        metadata: [
            ("start_date".into(), "2023-01-15".into()),
            ("location".into(), "Remote".into()),
        ]
        .into(),
    }
}

fn json_bytes() -> Vec<u8> {
    serde_json::to_vec(&json_employee()).expect("a map of strings always serializes")
}

/// What Python's `create_employee()` + `parse_employee()` do, minus the prints.
fn protobuf_round_trip() -> usize {
    let bytes = proto::serialize(&black_box(proto::article_employee()));
    let employee = proto::parse_employee(black_box(&bytes)).expect("our own bytes parse");
    employee.projects.len()
}

fn json_round_trip() -> usize {
    let bytes = serde_json::to_vec(&black_box(json_employee())).expect("serializes");
    let employee: JsonEmployee =
        serde_json::from_slice(black_box(&bytes)).expect("our own JSON parses");
    employee.projects.len()
}

fn criterion_benches(c: &mut Criterion) {
    let protobuf = proto::create_employee();
    let json = json_bytes();

    let mut group = c.benchmark_group("employee");
    group.throughput(Throughput::Elements(1));
    group.bench_function("protobuf build+encode+decode", |b| {
        b.iter(protobuf_round_trip)
    });
    group.bench_function("json build+encode+decode", |b| b.iter(json_round_trip));
    group.bench_function("protobuf encode", |b| {
        let employee = proto::article_employee();
        b.iter(|| proto::serialize(black_box(&employee)))
    });
    group.bench_function("json encode", |b| {
        let employee = json_employee();
        b.iter(|| serde_json::to_vec(black_box(&employee)).expect("serializes"))
    });
    group.bench_function("protobuf decode", |b| {
        b.iter(|| proto::parse_employee(black_box(&protobuf)).map(|e| e.employee_id))
    });
    group.bench_function("json decode", |b| {
        b.iter(|| serde_json::from_slice::<JsonEmployee>(black_box(&json)).map(|e| e.employee_id))
    });
    group.finish();
}

/// Round trips per second: the median of several short timed runs, so the
/// closing table has one number per row without parsing criterion's files.
fn rate(round_trip: fn() -> usize) -> f64 {
    const RUNS: usize = 7;
    const RUN_TIME: Duration = Duration::from_millis(150);
    let mut rates = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let mut count = 0u64;
        while start.elapsed() < RUN_TIME {
            for _ in 0..1000 {
                black_box(round_trip());
            }
            count += 1000;
        }
        rates.push(count as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates[RUNS / 2]
}

fn summary_table() {
    let protobuf_len = proto::create_employee().len();
    let json_len = json_bytes().len();
    let protobuf_rate = rate(protobuf_round_trip);
    let json_rate = rate(json_round_trip);
    println!();
    println!("| Employee (the article's record) | protobuf | JSON | protobuf advantage |");
    println!("|---|---|---|---|");
    println!(
        "| encoded size | {protobuf_len} B | {json_len} B | {:.2}x smaller |",
        json_len as f64 / protobuf_len as f64
    );
    println!(
        "| build+encode+decode, one core | {:.2} M/s | {:.2} M/s | {:.2}x faster |",
        protobuf_rate / 1e6,
        json_rate / 1e6,
        protobuf_rate / json_rate
    );
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();
    // `cargo test --benches` runs this binary in test mode; skip the table then.
    if !std::env::args().any(|arg| arg == "--test" || arg == "--list") {
        summary_table();
    }
}
