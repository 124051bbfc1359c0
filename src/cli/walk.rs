//! Turning command-line paths into a stream of files.

use std::path::{Path, PathBuf};

/// One item of a walk: a file to process, or a path that could not be walked.
#[derive(Debug)]
pub(crate) enum Item {
    /// A regular file (or a symlink to one, when following links).
    File(PathBuf),
    /// A path that could not be listed or read (loop, permission, vanished).
    Error(PathBuf, String),
}

/// How to walk.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WalkOptions {
    /// Follow symbolic links (loops are detected and reported).
    pub(crate) follow: bool,
}

/// Walks `roots` in order; directories are recursed in file-name order so runs are
/// reproducible. Hidden files are included: content decides what a file is.
pub(crate) fn walk<'a>(roots: &'a [PathBuf], opts: WalkOptions) -> impl Iterator<Item = Item> + 'a {
    roots.iter().flat_map(move |root| walk_one(root, opts))
}

fn walk_one(root: &Path, opts: WalkOptions) -> impl Iterator<Item = Item> {
    walkdir::WalkDir::new(root)
        .follow_links(opts.follow)
        .follow_root_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|entry| match entry {
            Ok(e) if e.file_type().is_file() => Some(Item::File(e.into_path())),
            Ok(e) if e.file_type().is_symlink() && e.depth() > 0 => None,
            Ok(e) if e.file_type().is_dir() => None,
            // FIFOs, sockets and devices are never opened (a FIFO would block the read). Inside
            // a tree they are skipped silently, as ripgrep does; one named as a PATH is reported.
            Ok(e) if e.depth() > 0 => None,
            Ok(e) => Some(Item::Error(e.into_path(), "not a regular file".into())),
            Err(err) => {
                let path = err.path().map(Path::to_path_buf).unwrap_or_default();
                let msg = if err.loop_ancestor().is_some() {
                    "symbolic link loop".to_string()
                } else if let Some(io) = err.io_error() {
                    io.to_string()
                } else {
                    err.to_string()
                };
                Some(Item::Error(path, msg))
            }
        })
}

/// Reads a whole file, refusing one over `max` bytes before reading it (and one that grows
/// over it while being read). The bytes are only held in memory by the caller.
pub(crate) fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    if len > max {
        return Err(format!("file is {len} bytes, over the limit of {max} (--max-filesize)"));
    }
    let bytes = mediamatch::hasher::read_at_most(file, max).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("file grew over the limit of {max} bytes while being read"));
    }
    Ok(bytes)
}
