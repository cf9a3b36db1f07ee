//! The book cannot drift from the code: every chapter listed in
//! `docs/src/SUMMARY.md` exists, and every `{{#include}}` (or
//! `{{#rustdoc_include}}`) in `docs/src` names a file that exists and, when
//! it names an anchor, a file that holds both `ANCHOR: name` and
//! `ANCHOR_END: name`.
//!
//! mdbook itself only logs a missing include and still exits 0, so this test
//! is what makes CI fail. It reads the Markdown directly and needs no mdbook.

use std::fs;
use std::path::{Path, PathBuf};

fn docs_src() -> PathBuf {
    tests::workspace_root().join("docs").join("src")
}

/// Every `.md` file under `dir`, sorted so failures come out in a stable order.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The link targets of SUMMARY.md: every `](target)` that is not a web link.
/// Draft chapters (`[Title]()`) have an empty target and are skipped: mdbook
/// shows them greyed out, without a page.
fn summary_links(summary: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = summary;
    while let Some(start) = rest.find("](") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].trim();
        // `chapter.md#section` links to a page; the page is what must exist.
        let file = target.split('#').next().unwrap_or_default();
        if !file.is_empty() && !file.contains("://") {
            links.push(file.to_string());
        }
        rest = &rest[end + 1..];
    }
    links
}

/// One `{{#include ...}}` found on a page.
#[derive(Debug)]
struct Include {
    /// The whole directive, to quote in a failure message.
    directive: String,
    /// The path as written, relative to the page.
    path: String,
    /// The anchor name, if the include names one (`file:anchor`). Line
    /// ranges (`file:3:10`, `file::5`) are not anchors.
    anchor: Option<String>,
}

/// The include directives on one page, as mdbook reads them:
/// `{{#include path}}`, `{{#include path:anchor}}`, and the same for
/// `{{#rustdoc_include}}`. An escaped `\{{#include ...}}` is text, not a
/// directive.
fn includes(page: &str) -> Vec<Include> {
    let mut found = Vec::new();
    let mut offset = 0;
    while let Some(start) = page[offset..].find("{{") {
        let start = offset + start;
        let Some(len) = page[start..].find("}}") else {
            break;
        };
        let end = start + len + 2;
        offset = end;
        if page[..start].ends_with('\\') {
            continue;
        }
        let directive = &page[start..end];
        // mdbook allows spaces between `{{` and `#`.
        let Some(body) = directive[2..directive.len() - 2]
            .trim_start()
            .strip_prefix('#')
        else {
            continue;
        };
        let Some((kind, argument)) = body.trim().split_once(char::is_whitespace) else {
            continue;
        };
        if kind != "include" && kind != "rustdoc_include" {
            continue;
        }
        let (path, selector) = match argument.trim().split_once(':') {
            Some((path, selector)) => (path, Some(selector)),
            None => (argument.trim(), None),
        };
        let anchor = selector
            .filter(|s| !s.is_empty() && !s.starts_with(|c: char| c.is_ascii_digit() || c == ':'))
            .map(str::to_string);
        found.push(Include {
            directive: directive.to_string(),
            path: path.to_string(),
            anchor,
        });
    }
    found
}

/// Does `source` hold the anchor markers mdbook looks for? mdbook matches
/// `ANCHOR: name` and `ANCHOR_END: name` anywhere on a line, so a `//`
/// comment, a `#` comment or an HTML comment all work.
fn has_marker(source: &str, marker: &str, name: &str) -> bool {
    source.lines().any(|line| {
        line.split_once(marker)
            .is_some_and(|(_, rest)| rest.trim() == name)
    })
}

#[test]
fn every_chapter_in_the_summary_exists() {
    let src = docs_src();
    let summary_path = src.join("SUMMARY.md");
    let summary = fs::read_to_string(&summary_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", summary_path.display()));
    let links = summary_links(&summary);
    assert!(!links.is_empty(), "docs/src/SUMMARY.md links no chapters");

    let missing: Vec<String> = links
        .iter()
        .filter(|link| !src.join(link).is_file())
        .map(|link| {
            format!("  docs/src/SUMMARY.md links `{link}`, but docs/src/{link} does not exist")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "chapters missing from the book:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_include_resolves_to_a_file_and_its_anchor() {
    let root = tests::workspace_root();
    let pages = markdown_files(&docs_src());
    assert!(!pages.is_empty(), "no Markdown pages under docs/src");

    let mut problems = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = fs::read_to_string(page)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", page.display()));
        let shown = page
            .strip_prefix(&root)
            .unwrap_or(page)
            .display()
            .to_string();
        let dir = page.parent().unwrap_or(Path::new("."));
        for include in includes(&text) {
            checked += 1;
            let target = dir.join(&include.path);
            let Ok(source) = fs::read_to_string(&target) else {
                problems.push(format!(
                    "  {shown}: {} names {}, which does not exist (paths are relative to the page)",
                    include.directive,
                    target.display()
                ));
                continue;
            };
            if let Some(anchor) = &include.anchor {
                for marker in ["ANCHOR:", "ANCHOR_END:"] {
                    if !has_marker(&source, marker, anchor) {
                        problems.push(format!(
                            "  {shown}: {} needs `{marker} {anchor}` in {}, which has none",
                            include.directive, include.path
                        ));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {checked} includes in docs/src do not resolve:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_include_parser_reads_what_mdbook_reads() {
    let page = r"
{{#include ../../crates/tcp/src/lib.rs:serve}}
{{ #include whole.rs }}
{{#rustdoc_include lib.rs:walk}}
{{#include lines.rs:3:10}}
{{#include upto.rs::5}}
\{{#include escaped.rs:nope}}
{{#title Not an include}}
";
    let found: Vec<(String, Option<String>)> = includes(page)
        .into_iter()
        .map(|i| (i.path, i.anchor))
        .collect();
    let expected = [
        ("../../crates/tcp/src/lib.rs", Some("serve")),
        ("whole.rs", None),
        ("lib.rs", Some("walk")),
        ("lines.rs", None),
        ("upto.rs", None),
    ]
    .map(|(p, a)| (p.to_string(), a.map(str::to_string)));
    assert_eq!(found, expected);

    assert_eq!(
        summary_links("[Intro](intro.md)\n- [A](a.md#top)\n- [Later]()\n[web](https://x.org)"),
        ["intro.md", "a.md"]
    );
    assert!(has_marker("// ANCHOR: serve\n", "ANCHOR:", "serve"));
    assert!(!has_marker("// ANCHOR: serve_all\n", "ANCHOR:", "serve"));
}
