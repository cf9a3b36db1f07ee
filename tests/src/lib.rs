//! Helpers for the workspace-level tests in `tests/tests/`.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// The workspace root, where README.md, the justfile and docs/ live.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}
