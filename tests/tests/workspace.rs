//! What crosses chapters: the tour, the justfile against the binaries, and
//! the promises README.md and .ci/run make.
#![allow(clippy::print_stderr, reason = "a skipped test says why")]

use std::collections::BTreeSet;
use std::fs;
use std::process::Command;

use tests::workspace_root;

fn read(path: &str) -> String {
    fs::read_to_string(workspace_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every binary of every crate: `src/bin/NAME.rs`, and `src/main.rs`, which
/// cargo names after the crate.
fn binaries() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for krate in fs::read_dir(workspace_root().join("crates")).unwrap() {
        let krate = krate.unwrap().path();
        if krate.join("src/main.rs").exists() {
            names.insert(krate.file_name().unwrap().to_string_lossy().into_owned());
        }
        let Ok(entries) = fs::read_dir(krate.join("src/bin")) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "rs") {
                names.insert(path.file_stem().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    names
}

/// The word after `flag` on a line, if the flag is there.
fn word_after<'a>(line: &'a str, flag: &str) -> Option<&'a str> {
    let mut words = line.split_whitespace();
    words.find(|word| *word == flag)?;
    words.next()
}

/// Recipe name -> the binary it runs, for recipes that `cargo run` one:
/// `--bin NAME`, or the package itself (`-p NAME`) when there is no --bin.
fn recipes_running_binaries() -> Vec<(String, String)> {
    let justfile = read("justfile");
    let mut recipes = Vec::new();
    let mut current = None;
    for line in justfile.lines() {
        if !line.starts_with([' ', '\t', '#', '['])
            && line.contains(':')
            && !line.starts_with("set ")
        {
            current = line.split([' ', ':']).next().map(str::to_string);
        } else if let (Some(recipe), true) = (&current, line.contains("cargo run"))
            && let Some(bin) = word_after(line, "--bin").or_else(|| word_after(line, "-p"))
            // `just check NAME` runs an exercise named by its argument.
            && !bin.starts_with('"')
        {
            recipes.push((recipe.clone(), bin.to_string()));
        }
    }
    recipes
}

#[test]
fn every_binary_has_a_recipe() {
    let recipes = recipes_running_binaries();
    for bin in binaries() {
        assert!(
            recipes.iter().any(|(_, runs)| *runs == bin),
            "binary {bin} has no justfile recipe that runs it"
        );
    }
}

#[test]
fn recipes_are_named_after_their_binaries() {
    // `employee` is the exception the proto chapter names: one binary,
    // three recipes (proto-demo, proto-encode, proto-decode); and
    // `trace-book` runs `trace` for every chapter.
    for (recipe, bin) in recipes_running_binaries() {
        let named = recipe == bin
            || (bin == "employee" && recipe.starts_with("proto-"))
            || (bin == "trace" && recipe == "trace-book");
        assert!(named, "recipe {recipe} runs {bin}: name them alike");
    }
}

#[test]
fn every_recipe_runs_a_binary_that_exists() {
    let binaries = binaries();
    let recipes = recipes_running_binaries();
    assert!(!recipes.is_empty(), "found no recipes in the justfile");
    for (recipe, bin) in recipes {
        assert!(
            binaries.contains(&bin),
            "recipe {recipe} runs --bin {bin}, which does not exist"
        );
    }
}

#[test]
fn justfile_parses_and_lists_its_recipes() {
    let Ok(out) = Command::new("just")
        .arg("--summary")
        .current_dir(workspace_root())
        .output()
    else {
        eprintln!("skipped: `just` is not installed (cargo install just --locked)");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    for recipe in [
        "tour",
        "test",
        "tcp-server",
        "tcp-client",
        "udp-server",
        "udp-client",
        "proto-demo",
    ] {
        assert!(
            summary.split_whitespace().any(|r| r == recipe),
            "no recipe {recipe}: {summary}"
        );
    }
}

#[test]
fn readme_quick_start_and_ci_run_the_same_test_command() {
    let readme = read("README.md");
    assert!(
        readme.contains("cargo run -p tour"),
        "README quick start lost the tour"
    );
    assert!(
        readme.contains("cargo test --workspace"),
        "README quick start lost the tests"
    );
    let ci = read(".ci/run");
    let last_command = ci
        .lines()
        .map(str::trim)
        .rfind(|line| line.starts_with("cargo "))
        .unwrap();
    assert_eq!(
        last_command, "cargo test --workspace",
        "CI must end with the README's test command"
    );
    assert!(
        read("justfile").contains("    @cargo test --workspace"),
        "`just test` must run the same"
    );
}

#[test]
fn tour_runs_every_chapter_and_all_pass() {
    let story = tour::Story::quiet();
    let outcomes = tour::run(&story);
    let transcript = story.transcript().join("\n");
    for outcome in &outcomes {
        assert!(
            outcome.result.is_ok(),
            "{}: {:?}\n{transcript}",
            outcome.name,
            outcome.result
        );
    }
    for chapter in tour::CHAPTERS {
        assert!(
            transcript.contains(&format!("(crates/{})", chapter.name)),
            "the tour never showed {}",
            chapter.name
        );
    }
    assert!(
        transcript.ends_with(&format!("all {} chapters ok", tour::CHAPTERS.len())),
        "{transcript}"
    );
}

#[test]
fn recipes_do_not_echo_their_commands() {
    // The book's transcripts show only what the programs print; a recipe
    // line without `@` would add the command itself above that.
    for line in read("justfile").lines() {
        let body = line.strip_prefix("    ").unwrap_or("");
        let in_script = body.is_empty() || !line.starts_with("    ");
        if !in_script && !body.starts_with('@') && !body.starts_with('#') {
            // Lines of a `#!` script recipe are a script, not echoed.
            assert!(
                is_script_line(line),
                "justfile line echoes itself (start it with @): {line}"
            );
        }
    }
}

/// Whether `line` belongs to a recipe that starts with a `#!` line.
fn is_script_line(line: &str) -> bool {
    let justfile = read("justfile");
    let mut in_script = false;
    for l in justfile.lines() {
        if !l.starts_with("    ") {
            in_script = false;
        } else if l.trim_start().starts_with("#!") {
            in_script = true;
        }
        if l == line {
            return in_script;
        }
    }
    false
}

#[test]
fn readme_and_book_name_the_rust_version_the_manifest_requires() {
    let manifest = read("Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|line| line.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"'))
        .expect("the root Cargo.toml sets rust-version");
    let promise = format!("Rust {version} or newer");
    for doc in ["README.md", "docs/src/introduction.md"] {
        let text = read(doc).replace('(', "").replace('\n', " ");
        assert!(
            text.contains(&promise),
            "{doc} must say \"{promise}\", as Cargo.toml's rust-version does"
        );
    }
}
