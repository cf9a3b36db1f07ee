//! What one server's soak found, and the Markdown table of them all.

use std::time::Duration;

/// One server's soak.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The server, as the table names it.
    pub name: String,
    /// Good requests answered correctly.
    pub good_ok: u64,
    /// Good requests that failed.
    pub good_failed: u64,
    /// The first few failures' messages.
    pub good_errors: Vec<String>,
    /// The longest a good request took.
    pub slowest_good: Duration,
    /// UDP only: tries a good client had to send again (datagrams lost).
    pub resent: u64,
    /// Bad clients run against it.
    pub bad_clients: u64,
    /// How long the idle and trickling clients were allowed to stay.
    pub slow: SlowClients,
    /// Its open descriptors before the first client.
    pub fds_start: usize,
    /// The most it had open at once (sampled every 50 ms).
    pub fds_peak: usize,
    /// Once every client had gone (after waiting up to `Config::settle`).
    pub fds_end: usize,
    /// Its peak resident memory (`VmHWM`), in KiB.
    pub rss_peak_kib: u64,
    /// The `ulimit -n 64` run, if there was one.
    pub low_fd: Option<LowFd>,
    /// Every assertion that did not hold, one line each.
    pub failures: Vec<String>,
}

/// How long the server let its slow clients stay connected.
#[derive(Debug, Clone, Copy, Default)]
pub struct SlowClients {
    /// Idle clients.
    pub idle: Held,
    /// Byte-at-a-time clients.
    pub trickle: Held,
}

/// The longest a kind of slow client stayed: cut by the server, or still
/// connected when it gave up at the end of the run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Held {
    /// The longest one the server closed.
    pub longest_cut: Option<Duration>,
    /// The longest one the server had not closed when the run ended.
    pub longest_uncut: Option<Duration>,
}

impl Held {
    /// Adds one client's time.
    pub fn add(&mut self, held: Duration, cut: bool) {
        let slot = if cut {
            &mut self.longest_cut
        } else {
            &mut self.longest_uncut
        };
        *slot = Some(slot.map_or(held, |longest| longest.max(held)));
    }

    /// `0.5 s`, or `not cut (held 20 s)` when the server cut none.
    fn show(&self) -> String {
        match (self.longest_cut, self.longest_uncut) {
            // Once the server has cut one, the ones it had not cut yet were
            // only cut short by the end of the run.
            (Some(cut), _) => seconds(cut),
            (None, Some(uncut)) if uncut >= Duration::from_secs(1) => {
                format!("not cut (held {})", seconds(uncut))
            }
            _ => "-".into(),
        }
    }
}

/// The `ulimit -n 64` run.
#[derive(Debug, Clone, Default)]
pub struct LowFd {
    /// How long after the pressure passed the first good request
    /// succeeded; `None` if none did.
    pub recovered_in: Option<Duration>,
    /// The first `accept failed` line it printed, if any.
    pub accept_failed: Option<String>,
    /// Its peak descriptor count.
    pub fds_peak: usize,
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{} ms", d.as_millis())
    } else if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// One Markdown table, a row per server, and below it one line per failed
/// assertion (none when every assertion held).
pub fn table(reports: &[Report]) -> String {
    let mut out = String::from(
        "| server | good requests | bad clients | failures | peak fds | fds start → end | peak RSS \
         | slowest good | idle cut after | byte-a-time cut after | `ulimit -n 64` |\n\
         |---|---:|---:|---:|---:|---|---:|---:|---|---|---|\n",
    );
    for r in reports {
        let good = if r.resent > 0 {
            format!(
                "{}/{} ({} datagrams resent)",
                r.good_ok,
                r.good_ok + r.good_failed,
                r.resent
            )
        } else {
            format!("{}/{}", r.good_ok, r.good_ok + r.good_failed)
        };
        let low_fd = match &r.low_fd {
            None => "-".to_string(),
            Some(LowFd {
                recovered_in: Some(after),
                accept_failed,
                fds_peak,
            }) => format!(
                "serves again after {}; peak {fds_peak} fds{}",
                seconds(*after),
                if accept_failed.is_some() {
                    ", accept failures reported"
                } else {
                    ""
                }
            ),
            Some(_) => "**did not recover**".to_string(),
        };
        out.push_str(&format!(
            "| {} | {good} | {} | {} | {} | {} → {} | {} | {} | {} | {} | {low_fd} |\n",
            r.name,
            r.bad_clients,
            r.failures.len(),
            r.fds_peak,
            r.fds_start,
            r.fds_end,
            mib(r.rss_peak_kib),
            seconds(r.slowest_good),
            r.slow.idle.show(),
            r.slow.trickle.show(),
        ));
    }
    let failures: Vec<&String> = reports.iter().flat_map(|r| &r.failures).collect();
    if !failures.is_empty() {
        out.push('\n');
        for failure in failures {
            out.push_str(&format!("FAILED: {failure}\n"));
        }
    }
    out
}
