//! Temporary files beside an index: the sorted runs and spools of a streaming build, and
//! the file a build writes before renaming it into place.
//!
//! Every one is named like [`write_atomic`](super::write_atomic)'s temporary file,
//! `.NAME.tmp-PID-N` beside the file being written, so a writer killed before it cleaned up
//! leaves only names that the next writer removes under the index's lock
//! ([`WriteLock::remove_stale_temps`](super::WriteLock::remove_stale_temps) beside a single
//! file, the removal of unnamed files in a segments directory). A [`TempFile`] is removed
//! when dropped, on success and on every error path, unless [`TempFile::persist`] renamed
//! it; no manifest ever names one.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::index::store::{dir_of, temp_name};
use crate::index::IndexError;

/// Numbers already taken by this process (runs of one build share a prefix).
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A temporary file, removed on drop unless persisted.
#[derive(Debug)]
pub(crate) struct TempFile {
    /// `None` once persisted.
    path: Option<PathBuf>,
    file: File,
}

impl TempFile {
    /// Creates a new, empty temporary file (read and write) beside `target`.
    pub fn beside(target: &Path) -> Result<TempFile, IndexError> {
        let dir = dir_of(target);
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for _ in 0..1000 {
            let attempt = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(temp_name(&name, std::process::id(), attempt));
            match std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
                Ok(file) => return Ok(TempFile { path: Some(path), file }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_error(target, "creating a temporary file beside", e)),
            }
        }
        Err(io_error(
            target,
            "creating a temporary file beside",
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "no free temporary name"),
        ))
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The file's path (empty once persisted).
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// A second handle on the file, with its own position, for reading it back.
    pub fn reopen(&self) -> Result<File, IndexError> {
        File::open(self.path()).map_err(|e| io_error(self.path(), "reopening", e))
    }

    /// Flushes the file to disk, renames it to `to` and flushes the directory: the atomic
    /// replacement of [`write_atomic`](super::write_atomic).
    pub fn persist(mut self, to: &Path) -> Result<(), IndexError> {
        self.file.sync_all().map_err(|e| io_error(to, "writing", e))?;
        let from = self.path.take().unwrap_or_default();
        if let Err(e) = std::fs::rename(&from, to) {
            let _ = std::fs::remove_file(&from);
            return Err(io_error(to, "writing", e));
        }
        #[cfg(unix)]
        File::open(dir_of(to))
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(to, "flushing the directory of", e))?;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// An I/O error about `path`.
pub(crate) fn io_error(path: &Path, what: &str, source: std::io::Error) -> IndexError {
    IndexError::Io { what: format!("{what} {}", path.display()), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temp_file_is_removed_unless_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("i.mmi");
        let t = TempFile::beside(&target).unwrap();
        let name = t.path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(".i.mmi.tmp-"), "{name}");
        assert!(t.path().exists());
        let path = t.path().to_path_buf();
        drop(t);
        assert!(!path.exists());
        let t = TempFile::beside(&target).unwrap();
        std::io::Write::write_all(&mut t.file(), b"x").unwrap();
        t.persist(&target).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["i.mmi"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"x");
    }
}
