//! Generates Rust from the .proto files at build time, the way `protoc
//! --python_out` generates `employee_pb2.py` for the article.
//!
//! The output goes to OUT_DIR and is pulled in with `include!` in src/lib.rs,
//! so proto/*.proto stays the only source of the message types.

use std::path::{Path, PathBuf};

use pb_rs::ConfigBuilder;
use pb_rs::types::FileDescriptor;

fn main() {
    let proto_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let protos = [
        proto_dir.join("employee.proto"),
        proto_dir.join("employee_v2.proto"),
    ];
    for proto in &protos {
        println!("cargo::rerun-if-changed={}", proto.display());
    }

    let config = ConfigBuilder::new(
        &protos,
        None,
        Some(&out_dir),
        std::slice::from_ref(&proto_dir),
    )
    .expect("proto files exist")
    // `include!` cannot take the inner attributes (`#![allow]`) of the header.
    .headers(false)
    // pb-rs' no_std flavour stores maps in a `BTreeMap` instead of a
    // `HashMap`. We want it for its order, not for no_std: entries are
    // written sorted by key, so the same record always gives the same
    // bytes, the ones Python writes with `deterministic=True`.
    .nostd(true)
    .build();
    FileDescriptor::run(&config).expect("pb-rs generates Rust from proto/*.proto");
}
