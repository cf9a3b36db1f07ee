//! `just soak`: every chapter's server, for a while, among good and hostile
//! clients; one Markdown table, and one line per failed assertion. The
//! crate's `lib.rs` says what each bad client does and what each assertion
//! proves. Exit status 0 when every assertion held, 1 otherwise.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// Run every server under good and hostile clients and check it survives:
/// good requests all answered, alive at the end, descriptors given back,
/// memory bounded, and serving again after running out of descriptors.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Seconds of good and bad clients per server (the `ulimit -n 64` run
    /// comes on top).
    #[arg(long, value_name = "SECONDS", default_value = "20",
          value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    seconds: Duration,
    /// Soak only this server (repeat for several); `--list` names them.
    #[arg(long, value_name = "NAME")]
    server: Vec<String>,
    /// List the servers and exit.
    #[arg(long)]
    list: bool,
    /// Skip the run with a low descriptor limit.
    #[arg(long)]
    no_low_fd: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The servers are built beside this binary (`just soak` builds them).
    let dir = match std::env::current_exe() {
        Ok(exe) => exe.parent().map(|d| d.to_path_buf()).unwrap_or_default(),
        Err(e) => return cli::fail(&format!("cannot find my own path: {e}")),
    };
    let servers = soak::servers(&dir);
    if args.list {
        for target in &servers {
            cli::say(&target.name);
        }
        return ExitCode::SUCCESS;
    }
    let chosen: Vec<_> = servers
        .iter()
        .filter(|t| args.server.is_empty() || args.server.contains(&t.name))
        .collect();
    if let Some(unknown) = args
        .server
        .iter()
        .find(|n| !servers.iter().any(|t| &t.name == *n))
    {
        return cli::fail(&format!("no server called '{unknown}' (see --list)"));
    }
    if let Some(missing) = chosen.iter().find(|t| !t.program.exists()) {
        return cli::fail(&format!(
            "{} is not built: run `just soak`, which builds the servers first",
            missing.program.display()
        ));
    }

    let limit = soak::raise_fd_limit();
    let config = soak::Config {
        duration: args.seconds,
        // Room for the storm beside the other clients, if the limit is low.
        storm: 1000.min(limit.saturating_sub(200) as usize),
        low_fd: !args.no_low_fd,
        ..soak::Config::default()
    };
    let on_terminal = std::io::stderr().is_terminal();
    let progress = |line: &str| {
        if on_terminal {
            cli::status(line);
        }
    };
    let reports: Vec<soak::Report> = chosen
        .iter()
        .map(|target| soak::run(target, &config, &progress))
        .collect();
    cli::say(soak::table(&reports).trim_end());
    if reports.iter().all(|r| r.failures.is_empty()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(cli::EXIT_FAILURE)
    }
}
