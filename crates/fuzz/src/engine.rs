//! The fuzzing loop: seed after seed until the time is up or a target
//! panics, and what to keep when one does.
//!
//! A *seed* is a `u64` in arbtest's format: the low 32 bits say how many
//! random bytes to draw, the high 32 bits start the generator that draws
//! them. [`arbtest`] turns it into an `arbitrary::Unstructured` over those
//! bytes, [`mutate::input`] turns that into the target's input. The same
//! seed and corpus give the same input on every machine, so a failure is
//! reported by its seed, and `--seed` replays it.
//!
//! A panic may happen on a thread that is not ours (a worker of the HTTP
//! server, the proxy's second direction). So besides catching the panic
//! that unwinds through the target, a panic hook records the first panic
//! of any thread while an input runs, and [`run_once`] looks at that
//! record after each input.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use arbtest::arbtest;

use crate::{Target, mutate};

/// Random bytes per input: from 64 to 4096, doubling. Small inputs find
/// shallow bugs fast; large ones leave room for many mutations.
const ENTROPY_SIZES: [u64; 7] = [64, 128, 256, 512, 1024, 2048, 4096];

/// How long shrinking a crashing input may take.
const SHRINK_BUDGET: Duration = Duration::from_secs(10);

/// What one target did in its time.
#[derive(Debug)]
pub struct Run {
    /// Inputs tried.
    pub inputs: u64,
    /// How long it ran.
    pub elapsed: Duration,
    /// The first input that failed, if one did.
    pub failure: Option<Failure>,
}

/// An input that made a target panic.
#[derive(Debug)]
pub struct Failure {
    /// The panic's message and where it happened.
    pub message: String,
    /// The seed that makes this input again.
    pub seed: u64,
    /// The input, shrunk while it still fails the same way.
    pub input: Vec<u8>,
}

/// Runs `target` on inputs made from `corpus`, seed after seed from
/// `first_seed`, until `budget` has passed or an input fails.
pub fn fuzz(target: &Target, corpus: &[Vec<u8>], first_seed: u64, budget: Duration) -> Run {
    let started = Instant::now();
    let mut inputs = 0;
    while started.elapsed() < budget {
        let seed = nth_seed(first_seed, inputs);
        inputs += 1;
        if let Err(failure) = replay(target, corpus, seed) {
            return Run {
                inputs,
                elapsed: started.elapsed(),
                failure: Some(failure),
            };
        }
    }
    Run {
        inputs,
        elapsed: started.elapsed(),
        failure: None,
    }
}

/// Makes the input of `seed` and runs `target` on it once: `--seed`.
pub fn replay(target: &Target, corpus: &[Vec<u8>], seed: u64) -> Result<(), Failure> {
    let mut input = Vec::new();
    let checked = catch_panics(|| {
        arbtest(|u| {
            input = mutate::input(u, corpus);
            (target.run)(&input);
            Ok(())
        })
        .seed(seed)
        .run();
    });
    checked.map_err(|message| Failure {
        input: shrink(target, &message, input),
        message,
        seed,
    })
}

/// Runs `target` on `data` once; `Err` with the panic's message if it, or
/// any thread it started, panicked.
pub fn run_once(target: &Target, data: &[u8]) -> Result<(), String> {
    catch_panics(|| (target.run)(data))
}

/// Runs `body`, catching a panic on this thread and noticing one on any
/// other.
fn catch_panics(body: impl FnOnce()) -> Result<(), String> {
    record_panics();
    CHECKING.fetch_add(1, Ordering::SeqCst);
    let unwound = panic::catch_unwind(AssertUnwindSafe(body));
    CHECKING.fetch_sub(1, Ordering::SeqCst);
    let recorded = take_recorded_panic();
    match (unwound, recorded) {
        (Ok(()), None) => Ok(()),
        (_, Some(message)) => Err(message),
        // Only if someone replaced our hook: still a failure, never a pass.
        (Err(_), None) => Err("panicked (message lost: the panic hook was replaced)".into()),
    }
}

/// The `n`th seed of a run that starts from `first`: a different stream of
/// random bytes each time (splitmix64), and a size from [`ENTROPY_SIZES`].
pub fn nth_seed(first: u64, n: u64) -> u64 {
    let mut z = first.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    let random = (z ^ (z >> 31)) >> 32;
    let size = ENTROPY_SIZES[(n % ENTROPY_SIZES.len() as u64) as usize];
    // A zero generator state would draw only zeros.
    (random.max(1) << 32) | size
}

/// A seed to start from when none is given: the clock's nanoseconds.
pub fn fresh_seed() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(1, |d| d.as_nanos() as u64)
}

/// Cuts pieces out of a failing input while it still fails with the same
/// panic (same place), halving the piece size when none can go: a short
/// input is one a person can read. Bounded by [`SHRINK_BUDGET`].
fn shrink(target: &Target, message: &str, mut input: Vec<u8>) -> Vec<u8> {
    let same_place = |other: &str| other.lines().next() == message.lines().next();
    let started = Instant::now();
    let mut piece = input.len() / 2;
    while piece > 0 && started.elapsed() < SHRINK_BUDGET {
        let mut at = 0;
        let mut cut_any = false;
        while at < input.len() && started.elapsed() < SHRINK_BUDGET {
            let end = (at + piece).min(input.len());
            let candidate = [&input[..at], &input[end..]].concat();
            match run_once(target, &candidate) {
                Err(other) if same_place(&other) => {
                    input = candidate;
                    cut_any = true;
                }
                _ => at += piece,
            }
        }
        if !cut_any {
            piece /= 2;
        }
    }
    input
}

/// The first panic since the last look, with its place: `panicked at
/// crates/x/src/y.rs:10:5:` and the message.
static PANIC: Mutex<Option<String>> = Mutex::new(None);
/// How many inputs are being run now: panics are recorded only then.
static CHECKING: AtomicUsize = AtomicUsize::new(0);
/// Set by the runner, which prints each failure once, with its seed.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Keeps panics from being printed as they happen, as well as recorded.
pub fn quiet_panics() {
    QUIET.store(true, Ordering::SeqCst);
}

/// Installs the recording hook, once per process, in front of the one
/// that prints (so a test still shows every panic).
fn record_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let print = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CHECKING.load(Ordering::SeqCst) > 0 {
                let mut slot = PANIC.lock().unwrap_or_else(PoisonError::into_inner);
                slot.get_or_insert_with(|| info.to_string());
            }
            if !QUIET.load(Ordering::SeqCst) {
                print(info);
            }
        }));
    });
}

fn take_recorded_panic() -> Option<String> {
    PANIC.lock().unwrap_or_else(PoisonError::into_inner).take()
}
