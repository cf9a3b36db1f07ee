//! `just fuzz`: every target for `--seconds` each, one line per target.
//! A failure prints the panic, the command that replays it and where its
//! input was saved in the corpus, and the exit status is 1.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fuzz::runner::{self, Mode};
use fuzz::{TARGETS, engine};

/// Fuzz every parser that reads bytes from outside, on stable Rust.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Seconds to fuzz each target.
    #[arg(long, default_value = "60", value_parser = cli::parse_seconds)]
    seconds: Duration,
    /// Fuzz only this target (repeatable); --list names them.
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// The seed of the first input (a failure prints the seed of its own).
    #[arg(long, value_parser = runner::parse_seed)]
    seed: Option<u64>,
    /// Run only the input of --seed, once: replays a failure.
    #[arg(long, requires = "seed")]
    replay: bool,
    /// List the targets and what each feeds.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for target in TARGETS {
            cli::say(&format!("{:16} {}", target.name, target.feeds));
        }
        return ExitCode::SUCCESS;
    }
    let targets = match runner::select(&args.targets) {
        Ok(targets) => targets,
        Err(e) => {
            cli::status(&format!("error: {e}"));
            return ExitCode::from(2);
        }
    };
    let first_seed = args.seed.unwrap_or_else(engine::fresh_seed);
    let mode = if args.replay {
        Mode::Replay(first_seed)
    } else {
        let (n, each) = (targets.len(), cli::show_seconds(args.seconds));
        cli::say(&format!(
            "{}, {each} each, from seed {first_seed:#x}",
            cli::count(n as u64, "target")
        ));
        Mode::Fuzz {
            first_seed,
            budget: args.seconds,
        }
    };
    // The runner prints each failure once, with its seed, instead.
    engine::quiet_panics();
    let mut failed = false;
    for target in targets {
        match runner::run(target, mode) {
            Ok(report) => {
                cli::say(&report.to_string());
                failed |= report.failed();
            }
            Err(e) => return cli::fail(&format!("cannot read the corpus of {}: {e}", target.name)),
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
