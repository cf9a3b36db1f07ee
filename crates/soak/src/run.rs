//! One server's soak, start to end: start it, measure it at rest, run the
//! good and bad clients for the configured time while sampling `/proc`,
//! wait for the descriptors to come back, check it is alive and stops, then
//! the `ulimit -n 64` run.

use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::bad::{self, Bad, Rng};
use crate::good::{self, GoodClient};
use crate::process::{Process, STOP_GRACE, open_fds, status_kib};
use crate::report::{LowFd, Report};
use crate::{Config, GOOD_TIMEOUT, LOW_FD_LIMIT, Protocol, SLACK, Target};

/// How often `/proc/PID` is sampled for descriptors and memory.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// How many failure messages of the good clients are kept.
const ERRORS_KEPT: usize = 3;
/// In the low-fd run, how long the server has to serve again once the
/// pressure is gone.
const RECOVERY: Duration = Duration::from_secs(10);
/// In the low-fd run, good requests that must all succeed after recovery.
const AFTER_RECOVERY: usize = 10;

/// Soaks `target` as `config` says; `progress` hears what is happening
/// (the binary shows it on a terminal). Every failed assertion is a line
/// in the report's `failures`.
pub fn run(target: &Target, config: &Config, progress: &dyn Fn(&str)) -> Report {
    let mut report = Report {
        name: target.name.clone(),
        ..Report::default()
    };
    let name = target.name.as_str();
    let backend = match &target.backend {
        None => None,
        Some((program, args)) => match Process::start(program, args, None) {
            Ok(backend) => Some(backend),
            Err(e) => {
                report
                    .failures
                    .push(format!("{name}: its backend did not start: {e}"));
                return report;
            }
        },
    };
    let mut args = target.args.clone();
    if let Some(backend) = &backend {
        args.push(backend.addr.port().to_string());
    }
    let server = match Process::start(&target.program, &args, None) {
        Ok(server) => server,
        Err(e) => {
            report.failures.push(format!("{name}: did not start: {e}"));
            return report;
        }
    };

    progress(&format!(
        "{name}: {} s of good and bad clients...",
        config.duration.as_secs_f64()
    ));
    report.fds_start = open_fds(server.pid).unwrap_or(0);
    let sampler = Sampler::start(server.pid);
    load(target, config, server.addr, &mut report);

    progress(&format!(
        "{name}: waiting for its descriptors to come back..."
    ));
    report.fds_end = settle(server.pid, report.fds_start, config.settle);
    let (fds_peak, rss_peak) = sampler.finish();
    report.fds_peak = fds_peak.max(report.fds_end);
    report.rss_peak_kib = status_kib(server.pid, "VmHWM").unwrap_or(0).max(rss_peak);
    check(&mut report, server, target, config);

    if config.low_fd && target.protocol != Protocol::Datagram {
        progress(&format!("{name}: again with ulimit -n {LOW_FD_LIMIT}..."));
        report.low_fd = Some(low_fd(target, &args, &mut report.failures));
    }
    report
}

/// The assertions about the main run, then the stop.
fn check(report: &mut Report, mut server: Process, target: &Target, config: &Config) {
    let name = target.name.as_str();
    let failures = &mut report.failures;
    let total = report.good_ok + report.good_failed;
    if report.good_failed > 0 || total == 0 {
        failures.push(format!(
            "{name}: {} of {total} good requests failed (first: {})",
            report.good_failed,
            report.good_errors.join("; ")
        ));
    }
    match server.alive() {
        Err(why) => failures.push(format!(
            "{name}: not alive at the end: {why}; its last lines: {:?}",
            server.log().last
        )),
        Ok(()) => {
            let mut client = GoodClient::new(target.protocol, server.addr, target.good_timeout());
            if let Err(e) = client.request() {
                failures.push(format!("{name}: alive, but no longer answers: {e}"));
            }
        }
    }
    if report.fds_end > report.fds_start {
        failures.push(format!(
            "{name}: {} descriptors open at the start, {} after every client had gone \
             (waited {} s): a leak",
            report.fds_start,
            report.fds_end,
            config.settle.as_secs_f64()
        ));
    }
    if let Some(promised) = target.cuts_slow_clients_within {
        let trickle = report.slow.trickle;
        let longest = trickle.longest_cut.max(trickle.longest_uncut);
        if let Some(held) = longest.filter(|held| *held > promised + SLACK) {
            failures.push(format!(
                "{name}: a byte-at-a-time client stayed connected {:.1} s; \
                 the server promises to cut it after {} s",
                held.as_secs_f64(),
                promised.as_secs()
            ));
        }
    }
    if report.rss_peak_kib > config.rss_limit {
        failures.push(format!(
            "{name}: peak resident memory {} KiB, over the bound of {} KiB",
            report.rss_peak_kib, config.rss_limit
        ));
    }
    let pid = server.pid;
    if server.alive().is_ok() && !server.stop() {
        failures.push(format!(
            "{name} (pid {pid}): did not exit within {} s of SIGTERM",
            STOP_GRACE.as_secs()
        ));
    }
}

/// Runs the good clients, the bad mix and the storm against `addr` for
/// `config.duration`, and adds their counts to `report`.
fn load(target: &Target, config: &Config, addr: SocketAddr, report: &mut Report) {
    let end = Instant::now() + config.duration;
    // What the client threads add up.
    let tally = Mutex::new(Report::default());
    let lock = || tally.lock().unwrap_or_else(|p| p.into_inner());
    let good_clients = if target.serial {
        config.good_clients.min(2)
    } else {
        config.good_clients
    };
    thread::scope(|scope| {
        for _ in 0..good_clients {
            scope.spawn(|| {
                let mut client = GoodClient::new(target.protocol, addr, target.good_timeout());
                while Instant::now() < end {
                    let started = Instant::now();
                    let result = client.request();
                    let took = started.elapsed();
                    let mut r = lock();
                    r.slowest_good = r.slowest_good.max(took);
                    match result {
                        Ok(()) => r.good_ok += 1,
                        Err(e) => {
                            r.good_failed += 1;
                            if r.good_errors.len() < ERRORS_KEPT {
                                r.good_errors.push(e);
                            }
                        }
                    }
                    drop(r);
                    good::pause();
                }
                lock().resent += client.resent();
            });
        }
        let mut salt = 0;
        for (kind, count) in Bad::mix(target.protocol, target.serial) {
            for _ in 0..count {
                salt += 1;
                let lock = &lock;
                scope.spawn(move || {
                    let mut rng = Rng::new(salt);
                    while Instant::now() < end {
                        match bad::once(kind, target.protocol, addr, end, &mut rng) {
                            Some(outcome) => {
                                let mut r = lock();
                                r.bad_clients += outcome.clients;
                                match kind {
                                    Bad::Idle => r.slow.idle.add(outcome.held, outcome.cut),
                                    Bad::Trickle => r.slow.trickle.add(outcome.held, outcome.cut),
                                    _ => {}
                                }
                            }
                            // Could not connect: the server is busy or
                            // gone; the good clients will say which.
                            None => thread::sleep(Duration::from_millis(50)),
                        }
                    }
                });
            }
        }
        if target.protocol != Protocol::Datagram {
            scope.spawn(|| {
                // A third of the way in, when the others are in full swing.
                thread::sleep(config.duration / 3);
                let connected = bad::storm(addr, config.storm);
                lock().bad_clients += connected;
            });
        }
    });
    let counted = tally.into_inner().unwrap_or_else(|p| p.into_inner());
    report.good_ok = counted.good_ok;
    report.good_failed = counted.good_failed;
    report.good_errors = counted.good_errors;
    report.slowest_good = counted.slowest_good;
    report.resent = counted.resent;
    report.bad_clients = counted.bad_clients;
    report.slow = counted.slow;
}

/// Waits up to `within` for process `pid` to have no more than `start`
/// descriptors open; returns how many it has at the end of the wait.
fn settle(pid: u32, start: usize, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let now = open_fds(pid).unwrap_or(0);
        if now <= start || Instant::now() >= deadline {
            return now;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The `ulimit -n 64` run: the server started again with that limit,
/// crowded with twice as many idle connections, released; then it must
/// serve again within [`RECOVERY`] and give its descriptors back.
fn low_fd(target: &Target, args: &[String], failures: &mut Vec<String>) -> LowFd {
    let name = format!("{} at ulimit -n {LOW_FD_LIMIT}", target.name);
    let mut result = LowFd::default();
    // The proxy's backend runs without the limit, as it would in life.
    let backend = match &target.backend {
        Some((program, backend_args)) => match Process::start(program, backend_args, None) {
            Ok(backend) => Some(backend),
            Err(e) => {
                failures.push(format!("{name}: its backend did not start: {e}"));
                return result;
            }
        },
        None => None,
    };
    let mut args = args.to_vec();
    if let (Some(backend), Some(port)) = (&backend, args.last_mut()) {
        *port = backend.addr.port().to_string();
    }
    let mut server = match Process::start(&target.program, &args, Some(LOW_FD_LIMIT)) {
        Ok(server) => server,
        Err(e) => {
            failures.push(format!("{name}: did not start: {e}"));
            return result;
        }
    };
    let start = open_fds(server.pid).unwrap_or(0);
    let sampler = Sampler::start(server.pid);

    // The pressure: more connections than it has descriptors, held until
    // it says it cannot accept (the serial server never does: it holds one
    // connection at a time) or a few seconds have passed.
    let crowd: Vec<TcpStream> = (0..LOW_FD_LIMIT * 2)
        .filter_map(|_| TcpStream::connect_timeout(&server.addr, GOOD_TIMEOUT).ok())
        .collect();
    let hold_until = Instant::now() + Duration::from_secs(2);
    while server.log().accept_failed.is_none() && Instant::now() < hold_until {
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(500));
    drop(crowd);
    let released = Instant::now();

    let mut client = GoodClient::new(target.protocol, server.addr, target.good_timeout());
    while released.elapsed() < RECOVERY {
        if client.request().is_ok() {
            result.recovered_in = Some(released.elapsed());
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    match result.recovered_in {
        None => failures.push(format!(
            "{name}: no good request succeeded within {} s of the pressure passing",
            RECOVERY.as_secs()
        )),
        Some(_) => {
            let failed = (0..AFTER_RECOVERY)
                .filter(|_| client.request().is_err())
                .count();
            if failed > 0 {
                failures.push(format!(
                    "{name}: {failed} of the {AFTER_RECOVERY} good requests after recovery failed"
                ));
            }
        }
    }
    // Its kept-alive connection (pool, http) would count against the server.
    drop(client);
    let end = settle(server.pid, start, Duration::from_secs(10));
    if end > start {
        failures.push(format!(
            "{name}: {start} descriptors open at the start, {end} after the pressure passed"
        ));
    }
    result.fds_peak = sampler.finish().0;
    result.accept_failed = server.log().accept_failed;
    if let Err(why) = server.alive() {
        failures.push(format!("{name}: not alive at the end: {why}"));
    } else if !server.stop() {
        failures.push(format!(
            "{name}: did not exit within {} s of SIGTERM",
            STOP_GRACE.as_secs()
        ));
    }
    result
}

/// Samples a process's descriptor count and resident memory on a thread
/// until finished; keeps the peaks.
struct Sampler {
    stop: std::sync::Arc<AtomicBool>,
    thread: thread::JoinHandle<(usize, u64)>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let (mut fds, mut rss) = (0, 0);
            while !stopped.load(Ordering::Relaxed) {
                fds = fds.max(open_fds(pid).unwrap_or(0));
                rss = rss.max(status_kib(pid, "VmRSS").unwrap_or(0));
                thread::sleep(SAMPLE_EVERY);
            }
            (fds, rss)
        });
        Sampler { stop, thread }
    }

    /// Peak descriptors and peak sampled resident memory (KiB).
    fn finish(self) -> (usize, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}
