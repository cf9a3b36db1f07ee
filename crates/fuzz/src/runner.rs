//! What `just fuzz` does with one target, and the lines it prints: the
//! command line's words turned into calls to [`engine`](crate::engine).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::engine::{self, Run};
use crate::{TARGETS, Target, corpus};

/// Fuzz from a seed for a time, or replay the one input of a seed.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// `--seconds S` (and `--seed S`: where the run starts).
    Fuzz {
        /// The seed of the first input.
        first_seed: u64,
        /// How long to fuzz the target.
        budget: Duration,
    },
    /// `--seed S --replay`: the input of this seed, once.
    Replay(u64),
}

/// One target's run, with where its failing input was saved.
#[derive(Debug)]
pub struct Report {
    target: &'static Target,
    run: Run,
    saved: Option<io::Result<PathBuf>>,
}

impl Report {
    /// Whether an input failed.
    pub fn failed(&self) -> bool {
        self.run.failure.is_some()
    }
}

/// Runs `target` in `mode` over its corpus; a failing input is saved to
/// the corpus, where `tests/corpus.rs` will find it.
pub fn run(target: &'static Target, mode: Mode) -> io::Result<Report> {
    let seeds: Vec<Vec<u8>> = corpus::load(target.name)?
        .into_iter()
        .map(|(_, bytes)| bytes)
        .collect();
    let run = match mode {
        Mode::Fuzz { first_seed, budget } => engine::fuzz(target, &seeds, first_seed, budget),
        Mode::Replay(seed) => Run {
            inputs: 1,
            elapsed: Duration::ZERO,
            failure: engine::replay(target, &seeds, seed).err(),
        },
    };
    let saved = run
        .failure
        .as_ref()
        .map(|failure| corpus::save_crash(target.name, &failure.input));
    Ok(Report { target, run, saved })
}

/// `http_request    ok: 242559 inputs in 60.0 s`, or the failure: the
/// panic, the command that replays it, where the input is.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, run) = (self.target.name, &self.run);
        let tried = format!(
            "{} in {:.1} s",
            cli::count(run.inputs, "input"),
            run.elapsed.as_secs_f64()
        );
        let Some(failure) = &run.failure else {
            return write!(f, "{name:16} ok: {tried}");
        };
        writeln!(f, "{name:16} FAILED after {tried}: {}", failure.message)?;
        let seed = failure.seed;
        writeln!(
            f,
            "  replay: just fuzz --target {name} --seed {seed:#x} --replay"
        )?;
        let size = failure.input.len();
        match &self.saved {
            Some(Ok(path)) => write!(f, "  input ({size} bytes, shrunk): {}", path.display()),
            Some(Err(e)) => write!(f, "  input ({size} bytes) not saved: {e}"),
            None => Ok(()),
        }
    }
}

/// The targets `names` names, or all of them for none; `Err` says which
/// name is unknown and lists the real ones.
pub fn select(names: &[String]) -> Result<Vec<&'static Target>, String> {
    if names.is_empty() {
        return Ok(TARGETS.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            crate::target(name).ok_or_else(|| {
                let known: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
                format!("no target '{name}'; the targets are: {}", known.join(", "))
            })
        })
        .collect()
}

/// A seed as a failure prints it (`0x5eed`), or in decimal.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| format!("'{text}' is not a seed: give one as printed, like 0x5eed"))
}
