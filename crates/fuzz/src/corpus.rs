//! The corpus on disk: `crates/fuzz/corpus/TARGET/`, one input per file.
//!
//! Seeds (valid inputs, named for what they are) and kept crashes
//! (`crash-` and a hash of the bytes, so the same crash is saved once) live
//! side by side; both are inputs the target must survive.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Where the corpus directories are: beside this crate's `Cargo.toml`.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The corpus directory of the target called `target`.
pub fn dir(target: &str) -> PathBuf {
    root().join(target)
}

/// Every file of `target`'s corpus, with its path, sorted by name so that
/// a seed picks the same file on every machine.
pub fn load(target: &str) -> io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut paths: Vec<PathBuf> = match fs::read_dir(dir(target)) {
        Ok(entries) => entries
            .map(|entry| entry.map(|e| e.path()))
            .collect::<io::Result<_>>()?,
        // No directory yet: no seeds, the target starts from random bytes.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    paths.retain(|path| path.is_file());
    paths.sort();
    paths
        .into_iter()
        .map(|path| fs::read(&path).map(|bytes| (path, bytes)))
        .collect()
}

/// Saves an input that crashed `target` as `crash-HASH` in its corpus, and
/// returns the path.
pub fn save_crash(target: &str, input: &[u8]) -> io::Result<PathBuf> {
    let dir = dir(target);
    fs::create_dir_all(&dir)?;
    let path = dir.join(format!("crash-{:016x}", fnv1a(input)));
    fs::write(&path, input)?;
    Ok(path)
}

/// FNV-1a, 64 bits: a stable name for a byte string (std's hasher is
/// seeded differently in every process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
