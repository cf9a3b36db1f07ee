//! The tour: each chapter's server and client, started on free loopback
//! ports inside one process, with what both sides print. It is the quickest
//! way to see that everything works, and the main job of the README's quick
//! start (`cargo run -p tour`).
//!
//! Each chapter is one module with a `run` function that tells its story
//! through a [`Story`] and returns a one-line summary, or what went wrong.
//! A later chapter adds its module and one entry to [`CHAPTERS`].
#![forbid(unsafe_code)]

mod http;
mod pool;
mod proto;
mod proxy;
mod sniff;
mod tcp;
mod timeout;
mod udp;

use std::io::{self, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A chapter of the tour: its crate name, its title and the step to run.
pub struct Chapter {
    /// The crate, and the chapter's name in the summary.
    pub name: &'static str,
    /// What the chapter shows, as its heading.
    pub title: &'static str,
    /// Runs the chapter; `Ok` holds the summary line.
    pub run: fn(&Story) -> Result<String, String>,
}

/// Every chapter, in the article's order.
pub const CHAPTERS: &[Chapter] = &[
    Chapter {
        name: "tcp",
        title: "TCP sockets: the echo server and its client",
        run: tcp::run,
    },
    Chapter {
        name: "udp",
        title: "UDP sockets: datagrams and their ACKs",
        run: udp::run,
    },
    Chapter {
        name: "proto",
        title: "Protocol buffers: the Employee message, byte for byte with Python",
        run: proto::run,
    },
    Chapter {
        name: "pool",
        title: "Connection pooling: the article's SocketPool, reused and healed",
        run: pool::run,
    },
    Chapter {
        name: "timeout",
        title: "Timeouts: safe_request against servers that misbehave",
        run: timeout::run,
    },
    Chapter {
        name: "sniff",
        title: "Packet inspection: the article's NetworkMonitor, every frame counted once",
        run: sniff::run,
    },
    Chapter {
        name: "http",
        title: "An HTTP API: the article's APIHandler, kept alive and bounded",
        run: http::run,
    },
    Chapter {
        name: "proxy",
        title: "A monitored TCP proxy: the echo through it, counted, then slowed on purpose",
        run: proxy::run,
    },
];

/// Where the tour's lines go: stdout for `cargo run -p tour`, and a
/// transcript the tests read. Chapters print commands as a learner would
/// type them, and each side's lines labelled with who printed them.
pub struct Story {
    echo: bool,
    transcript: Mutex<Vec<String>>,
}

impl Story {
    /// A story printed to stdout as it happens (and kept).
    pub fn printed() -> Self {
        Self {
            echo: true,
            transcript: Mutex::new(Vec::new()),
        }
    }

    /// A story only kept, for tests.
    pub fn quiet() -> Self {
        Self {
            echo: false,
            transcript: Mutex::new(Vec::new()),
        }
    }

    /// Every line told so far.
    pub fn transcript(&self) -> Vec<String> {
        self.lines().clone()
    }

    /// A command the learner would type.
    pub fn command(&self, text: &str) {
        self.line(format!("$ {text}"));
    }

    /// A line one side printed (`server`, `client`, ...).
    pub fn said(&self, who: &str, text: &str) {
        self.line(format!("  {who:>6} | {text}"));
    }

    /// A remark from the tour itself.
    pub fn note(&self, text: &str) {
        self.line(format!("  {text}"));
    }

    /// A line of the tour's own frame (headings, summary).
    pub fn line(&self, text: String) {
        if self.echo {
            // A closed stdout (`cargo run -p tour | head`) ends the printing,
            // not the tour.
            let _ = writeln!(io::stdout(), "{text}");
        }
        self.lines().push(text);
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // A chapter thread that panicked mid-line leaves the lines intact.
        self.transcript.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What one chapter of the tour came to.
pub struct Outcome {
    /// The chapter's name.
    pub name: &'static str,
    /// Its summary line, or what went wrong.
    pub result: Result<String, String>,
    /// How long it took.
    pub took: Duration,
}

/// Runs every chapter in order, then tells the summary; returns the
/// outcomes so the caller can set the exit status.
pub fn run(story: &Story) -> Vec<Outcome> {
    story.line("netlab tour: every chapter end to end on loopback, on free ports.".into());
    let mut outcomes = Vec::new();
    for (number, chapter) in CHAPTERS.iter().enumerate() {
        story.line(String::new());
        story.line(format!(
            "== {}. {} (crates/{}) ==",
            number + 1,
            chapter.title,
            chapter.name
        ));
        let started = Instant::now();
        let result = (chapter.run)(story);
        if let Err(e) = &result {
            story.note(&format!("FAILED: {e}"));
        }
        outcomes.push(Outcome {
            name: chapter.name,
            result,
            took: started.elapsed(),
        });
    }

    story.line(String::new());
    story.line("== Summary ==".into());
    for outcome in &outcomes {
        story.line(match &outcome.result {
            Ok(summary) => format!(
                "{:<8} ok      {summary} ({} ms)",
                outcome.name,
                outcome.took.as_millis()
            ),
            Err(e) => format!("{:<8} FAILED  {e}", outcome.name),
        });
    }
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    story.line(match failed {
        0 => format!("all {} chapters ok", outcomes.len()),
        n => format!("{n} of {} chapters failed", outcomes.len()),
    });
    outcomes
}
