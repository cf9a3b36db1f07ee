//! `cargo run -p tour`: every chapter end to end, printed as a story.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let outcomes = tour::run(&tour::Story::printed());
    if outcomes.iter().all(|outcome| outcome.result.is_ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
