//! The image files a hashing bench reads (shared by `hashing.rs` and `stages.rs` with
//! `#[path]`, since each bench is a crate of its own).

use std::path::{Path, PathBuf};

/// The JPEG and PNG files directly in `dir`, sorted by path, with their bytes (unreadable
/// ones left out; a missing `dir` gives none).
pub fn images_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "jpeg" | "png")));
    files.sort();
    files.into_iter().filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b))).collect()
}
