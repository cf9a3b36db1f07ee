//! The ladders the book shows: one per chapter, captured from a real run by
//! `just trace-book` and committed under `docs/src/traces/`, text and SVG.
//! The crate's tests run each scene again and compare shapes, so a picture
//! cannot drift from the code it shows.

use std::fs;
use std::path::Path;

use crate::ladder::Options;
use crate::scene::{self, CHAPTERS};

/// Where the book keeps its ladders, from the workspace root.
pub const DIR: &str = "docs/src/traces";

/// The committed text ladder of chapter `name`, as the book shows it.
pub fn committed(name: &str) -> Option<&'static str> {
    Some(match name {
        "tcp" => include_str!("../../../docs/src/traces/tcp.txt"),
        "tcp-serial" => include_str!("../../../docs/src/traces/tcp-serial.txt"),
        "udp" => include_str!("../../../docs/src/traces/udp.txt"),
        "proto" => include_str!("../../../docs/src/traces/proto.txt"),
        "pool" => include_str!("../../../docs/src/traces/pool.txt"),
        "timeout" => include_str!("../../../docs/src/traces/timeout.txt"),
        "http" => include_str!("../../../docs/src/traces/http.txt"),
        "proxy" => include_str!("../../../docs/src/traces/proxy.txt"),
        _ => return None,
    })
}

/// Runs every chapter's scene with a capture and writes `NAME.txt` and
/// `NAME.svg` into `dir`; returns one line per chapter written.
pub fn write_book(dir: &Path) -> Result<Vec<String>, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for chapter in CHAPTERS {
        let traced = crate::capture_chapter(chapter, 5).map_err(|e| e.to_string())?;
        if crate::dropped(&traced) > 0 {
            return Err(format!("{}: lo is too busy to capture whole", chapter.name));
        }
        traced
            .outcome
            .as_ref()
            .map_err(|e| format!("{}: {e}", chapter.name))?;
        let ladder = crate::ladder_of(&traced, Options::default())
            .ok_or_else(|| format!("{}: nothing was captured", chapter.name))?;
        let shape = crate::Shape::parse(&ladder.text())?;
        crate::check_claims(chapter, &shape).map_err(|e| format!("{}: {e}", chapter.name))?;
        for (extension, contents) in [("txt", ladder.text()), ("svg", ladder.svg())] {
            let path = dir.join(format!("{}.{extension}", chapter.name));
            fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        written.push(format!(
            "{}: {} packets, {} rows",
            chapter.name,
            ladder.packets(),
            ladder.rows.len()
        ));
    }
    Ok(written)
}

/// With no permission to capture: runs `chapter`'s exchange anyway and
/// returns what its programs printed, then the book's ladder of it, and
/// whether the exchange went as the chapter says.
pub fn without_capture(chapter: &scene::Chapter) -> (Vec<String>, Result<(), String>) {
    let traced = match scene::run(chapter, false) {
        Ok(traced) => traced,
        Err(e) => return (Vec::new(), Err(e.to_string())),
    };
    let mut lines: Vec<String> = traced.notes.into_iter().map(|note| note.text).collect();
    lines.push(String::new());
    lines.push("What a capture shows (the book's ladder, from an earlier run as root):".into());
    lines.extend(
        committed(chapter.name)
            .unwrap_or("")
            .lines()
            .map(str::to_string),
    );
    let outcome = traced
        .outcome
        .map_err(|e| format!("the exchange went wrong: {e}"));
    (lines, outcome)
}
