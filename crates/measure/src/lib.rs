//! The one helper the chapters share: run a request many times, from several
//! threads, and report how fast and how steadily it was answered.
//!
//! Every client in netlab takes `--count N --concurrency C`. With them it stops
//! being a one-shot demo and becomes the chapter's load generator: it calls
//! [`run`] with a closure that performs one request (connect, send, read the
//! reply) and prints the [`Report`]:
//!
//! ```text
//! 10000 requests, 8 concurrent, in 0.52 s: 19231 requests/s
//! latency p50 380 µs, p90 610 µs, p99 1.20 ms, max 4.10 ms
//! errors 0, timed out 0 (0.00% lost)
//! ```
//!
//! The loop is bounded twice, by count and by time ([`Load::deadline`]), so a
//! dead server can never keep a benchmark or a test running for ever.
#![forbid(unsafe_code)]

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How much load to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Total number of requests, across all threads.
    pub count: usize,
    /// Number of threads issuing requests at the same time.
    pub concurrency: usize,
    /// No request starts after this much time has passed; the report then
    /// counts what was done so far.
    pub deadline: Duration,
    /// Print a progress line on stderr every second (for a terminal).
    pub progress: bool,
}

impl Load {
    /// A deadline generous enough for any loopback benchmark in this
    /// workspace, yet short enough that a stuck server ends the run.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

    /// `count` requests from `concurrency` threads, with the default deadline.
    /// More threads than requests would only wait: the concurrency is capped
    /// at the count.
    pub fn new(count: usize, concurrency: usize) -> Self {
        Self {
            count,
            concurrency: concurrency.min(count).max(1),
            deadline: Self::DEFAULT_DEADLINE,
            progress: false,
        }
    }
}

/// What one run of [`run`] observed.
#[derive(Debug, Clone)]
pub struct Report {
    /// The load that was asked for.
    pub load: Load,
    /// Wall-clock time from the first request to the last reply.
    pub elapsed: Duration,
    /// The latency of every successful request, sorted ascending.
    pub latencies: Vec<Duration>,
    /// Requests that failed with an error other than a timeout.
    pub errors: usize,
    /// Requests that got no answer in time (for UDP: a lost datagram).
    pub timed_out: usize,
    /// The first error seen, so a report can say *why* requests failed.
    pub first_error: Option<String>,
    /// The run was cut short by [`interrupt`] (Ctrl-C).
    pub interrupted: bool,
    /// Client threads that could not be started (the rest did the work).
    pub threads_not_started: usize,
}

impl Report {
    /// Requests started (successful, failed and timed out).
    pub fn attempted(&self) -> usize {
        self.latencies.len() + self.errors + self.timed_out
    }

    /// Successful requests per second of wall-clock time.
    pub fn requests_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs == 0.0 {
            return 0.0;
        }
        self.latencies.len() as f64 / secs
    }

    /// The latency below which `p` percent of successful requests fell
    /// (nearest-rank method), or `None` when nothing succeeded.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        let n = self.latencies.len();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        Some(self.latencies[rank.clamp(1, n) - 1])
    }

    /// The mean latency of the successful requests.
    pub fn mean(&self) -> Option<Duration> {
        let n = u32::try_from(self.latencies.len())
            .ok()
            .filter(|&n| n > 0)?;
        Some(self.latencies.iter().sum::<Duration>() / n)
    }

    /// The report as one JSON line, for scripts and `just bench`:
    /// `{"n": 1000, "ok": 1000, "errors": 0, "rps": 19231.0, "mean_us": 410.2,
    /// "p50_us": 380.0, "p99_us": 1200.0}` (`errors` counts timeouts too).
    pub fn to_json(&self) -> String {
        let micros = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1e6);
        let value = serde_json::json!({
            "n": self.attempted(),
            "ok": self.latencies.len(),
            "errors": self.errors + self.timed_out,
            "rps": round1(self.requests_per_sec()),
            "mean_us": round1(micros(self.mean())),
            "p50_us": round1(micros(self.percentile(50.0))),
            "p99_us": round1(micros(self.percentile(99.0))),
        });
        cli::json_dumps(&value)
    }

    /// The share of attempted requests that timed out, in percent.
    pub fn loss_percent(&self) -> f64 {
        match self.attempted() {
            0 => 0.0,
            n => 100.0 * self.timed_out as f64 / n as f64,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} requests, {} concurrent, in {:.2} s: {:.0} requests/s",
            self.attempted(),
            self.load.concurrency,
            self.elapsed.as_secs_f64(),
            self.requests_per_sec()
        )?;
        let show = |p| self.percentile(p).map_or("-".to_string(), human);
        writeln!(
            f,
            "latency p50 {}, p90 {}, p99 {}, max {}",
            show(50.0),
            show(90.0),
            show(99.0),
            show(100.0)
        )?;
        write!(
            f,
            "errors {}, timed out {} ({:.2}% lost)",
            self.errors,
            self.timed_out,
            self.loss_percent()
        )?;
        if let Some(error) = &self.first_error {
            write!(f, "\nfirst error: {error}")?;
        }
        if self.threads_not_started > 0 {
            write!(
                f,
                "\n{} of {} client threads could not be started",
                self.threads_not_started, self.load.concurrency
            )?;
        }
        if self.interrupted {
            write!(
                f,
                "\ninterrupted after {} of {} requests",
                self.attempted(),
                self.load.count
            )?;
        }
        Ok(())
    }
}

/// One decimal is all a rate or a latency in microseconds needs.
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Formats a latency the way people read them: µs below a millisecond.
pub fn human(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1e6 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

/// Set by [`interrupt`]: no new request starts once it is.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ends every [`run`] in progress early, as if its deadline had passed: the
/// report then counts what was done. A client binary calls it on Ctrl-C, so
/// an interrupted run still prints its numbers.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Calls `request` `load.count` times from `load.concurrency` threads and
/// times each call.
///
/// `request` does one complete exchange and returns `Ok(())` when the reply was
/// right. An error of kind `TimedOut` or `WouldBlock` (what a socket read
/// timeout produces) is counted as timed out; any other error as an error.
pub fn run<F>(load: Load, request: F) -> Report
where
    F: Fn() -> io::Result<()> + Sync,
{
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let outcomes = Mutex::new(Outcomes::default());
    let finished = AtomicBool::new(false);
    let keep_going = || {
        !INTERRUPTED.load(Ordering::Relaxed)
            && next.fetch_add(1, Ordering::Relaxed) < load.count
            && started.elapsed() < load.deadline
    };
    let client = || {
        // Each thread keeps its own tally and merges it once at the end, so
        // the lock is never on the hot path.
        let mut mine = Outcomes::default();
        while keep_going() {
            let sent = Instant::now();
            match request() {
                Ok(()) => mine.latencies.push(sent.elapsed()),
                Err(e) => mine.record_failure(e),
            }
        }
        outcomes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .merge(mine);
    };

    let mut threads_not_started = 0;
    thread::scope(|scope| {
        if load.progress {
            scope.spawn(|| show_progress(&next, load, started, &finished));
        }
        let mut clients = Vec::new();
        for _ in 0..load.concurrency.max(1) {
            // A thread the system cannot start (too many threads, too little
            // memory) is a smaller load, not a crash.
            match thread::Builder::new().spawn_scoped(scope, client) {
                Ok(handle) => clients.push(handle),
                Err(_) => threads_not_started += 1,
            }
        }
        if clients.is_empty() {
            client();
        }
        for handle in clients {
            let _ = handle.join();
        }
        finished.store(true, Ordering::Relaxed);
    });

    let elapsed = started.elapsed();
    let mut outcomes = outcomes
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    outcomes.latencies.sort_unstable();
    let attempted = outcomes.latencies.len() + outcomes.errors + outcomes.timed_out;
    Report {
        load,
        elapsed,
        latencies: outcomes.latencies,
        errors: outcomes.errors,
        timed_out: outcomes.timed_out,
        first_error: outcomes.first_error,
        interrupted: INTERRUPTED.load(Ordering::Relaxed) && attempted < load.count,
        threads_not_started,
    }
}

/// Once a second until `finished`: how far the run has come, on stderr.
fn show_progress(next: &AtomicUsize, load: Load, started: Instant, finished: &AtomicBool) {
    let mut last = Instant::now();
    while !finished.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(50));
        if last.elapsed() < Duration::from_secs(1) || finished.load(Ordering::Relaxed) {
            continue;
        }
        last = Instant::now();
        let done = next.load(Ordering::Relaxed).min(load.count);
        let rate = done as f64 / started.elapsed().as_secs_f64();
        let _ = writeln!(
            io::stderr().lock(),
            "  {done} of {} requests, {rate:.0}/s so far",
            load.count
        );
    }
}

#[derive(Default)]
struct Outcomes {
    latencies: Vec<Duration>,
    errors: usize,
    timed_out: usize,
    first_error: Option<String>,
}

impl Outcomes {
    fn record_failure(&mut self, e: io::Error) {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => self.timed_out += 1,
            _ => self.errors += 1,
        }
        self.first_error.get_or_insert_with(|| e.to_string());
    }

    fn merge(&mut self, other: Outcomes) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        self.timed_out += other.timed_out;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_request_once_across_threads() {
        let calls = AtomicUsize::new(0);
        let report = run(Load::new(1000, 8), || {
            calls.fetch_add(1, Ordering::Relaxed);
            Ok(())
        });
        assert_eq!(calls.load(Ordering::Relaxed), 1000);
        assert_eq!(report.latencies.len(), 1000);
        assert_eq!(report.attempted(), 1000);
    }

    #[test]
    fn sorts_failures_into_errors_and_timeouts() {
        let calls = AtomicUsize::new(0);
        let report = run(Load::new(30, 3), || {
            match calls.fetch_add(1, Ordering::Relaxed) % 3 {
                0 => Ok(()),
                1 => Err(io::Error::new(io::ErrorKind::WouldBlock, "no reply")),
                _ => Err(io::Error::new(io::ErrorKind::ConnectionRefused, "refused")),
            }
        });
        assert_eq!(report.latencies.len(), 10);
        assert_eq!(report.timed_out, 10);
        assert_eq!(report.errors, 10);
        assert!((report.loss_percent() - 100.0 / 3.0).abs() < 1e-9);
        assert!(report.first_error.is_some());
    }

    #[test]
    fn stops_at_the_deadline() {
        let load = Load {
            deadline: Duration::from_millis(50),
            ..Load::new(usize::MAX, 2)
        };
        let report = run(load, || {
            thread::sleep(Duration::from_millis(5));
            Ok(())
        });
        assert!(report.attempted() < 1000, "ran {}", report.attempted());
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let report = Report {
            load: Load::new(4, 1),
            elapsed: Duration::from_secs(2),
            latencies: [1, 2, 3, 4].map(Duration::from_millis).to_vec(),
            errors: 0,
            timed_out: 0,
            first_error: None,
            interrupted: false,
            threads_not_started: 0,
        };
        assert_eq!(report.percentile(50.0), Some(Duration::from_millis(2)));
        assert_eq!(report.percentile(90.0), Some(Duration::from_millis(4)));
        assert_eq!(report.percentile(100.0), Some(Duration::from_millis(4)));
        assert_eq!(report.requests_per_sec(), 2.0);
        assert_eq!(human(Duration::from_micros(380)), "380 µs");
        assert_eq!(human(Duration::from_micros(1200)), "1.20 ms");
    }

    #[test]
    fn concurrency_is_capped_at_the_count() {
        assert_eq!(Load::new(2, 5000).concurrency, 2);
        assert_eq!(Load::new(0, 8).concurrency, 1);
        assert_eq!(Load::new(100, 8).concurrency, 8);
    }

    #[test]
    fn json_report_has_the_agreed_keys_in_order() {
        let report = Report {
            load: Load::new(4, 1),
            elapsed: Duration::from_secs(2),
            latencies: [1, 2, 3, 4].map(Duration::from_millis).to_vec(),
            errors: 1,
            timed_out: 1,
            first_error: None,
            interrupted: false,
            threads_not_started: 0,
        };
        assert_eq!(
            report.to_json(),
            r#"{"n": 6, "ok": 4, "errors": 2, "rps": 2.0, "mean_us": 2500.0, "p50_us": 2000.0, "p99_us": 4000.0}"#
        );
    }

    #[test]
    fn empty_report_has_no_percentiles() {
        let report = run(Load::new(0, 4), || Ok(()));
        assert_eq!(report.percentile(50.0), None);
        assert!(report.to_string().contains("p50 -"));
    }
}
