//! An index file's lifecycle: mapping it ([`Index::open`], the one `unsafe`), the bytes a
//! long-lived reader holds ([`IndexData`]), replacing it ([`write_atomic`]), the writers'
//! lock ([`WriteLock`]) and the temporary files a killed writer leaves behind
//! ([`WriteLock::remove_stale_temps`]).
//!
//! An index file is never modified in place. A writer takes the lock (`INDEX.lock`
//! beside the index), writes the new bytes to a temporary file in the same directory
//! (`.INDEX.tmp-PID-N`), syncs it, renames it over the index and syncs the directory, so
//! a reader (or a crash) sees the old file or the new one, never a mix, and a process
//! that mapped the old file keeps it. The temporary names are made and recognised here
//! only.
//!
//! ```
//! use mediamatch::catalog::Catalog;
//! use mediamatch::index::{build, write_atomic, BuildOptions, Index, WriteLock};
//!
//! let dir = std::env::temp_dir().join(format!("mediamatch-store-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("known.mmi");
//! {
//!     let lock = WriteLock::acquire(&path)?;
//!     lock.remove_stale_temps();
//!     // A second writer asking not to wait is told the index is busy.
//!     assert!(WriteLock::try_acquire(&path).is_err());
//!     write_atomic(&path, &build(&Catalog::default(), &BuildOptions::default())?)?;
//! }
//! assert!(Index::open(&path)?.is_empty());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::index::manifest::{is_manifest, Manifest};
use crate::index::{format, Index, IndexError, Segment};

/// The bytes behind a long-lived index (a matcher's): a read-only file mapping, or a
/// buffer built in memory (e.g. from list files by `mediamatch scan --list`).
#[derive(Debug)]
pub enum IndexData {
    /// A memory-mapped index file.
    Mapped(memmap2::Mmap),
    /// An index held in memory.
    Owned(Vec<u8>),
}

impl AsRef<[u8]> for IndexData {
    fn as_ref(&self) -> &[u8] {
        match self {
            IndexData::Mapped(m) => m,
            IndexData::Owned(v) => v,
        }
    }
}

/// Maps the file at `path` read-only (a path that is not a regular file is refused at
/// once, without blocking).
pub(crate) fn map_file(path: &Path) -> Result<memmap2::Mmap, IndexError> {
    let file = crate::regular::open_regular(path).map_err(|e| open_error(path, e))?;
    map_open(&file, path)
}

/// Maps `file`, opened from `path`, read-only.
#[allow(unsafe_code)]
fn map_open(file: &File, path: &Path) -> Result<memmap2::Mmap, IndexError> {
    // SAFETY: the mapping is read-only and mediamatch never modifies an index file in
    // place: manifests and segments are only ever replaced by writing a new file and
    // renaming it over the old one (`write_atomic`), and segments are never replaced at
    // all, which leaves this mapping on the old inode. Another program truncating or
    // writing the file in place while it is mapped would break this contract; the index
    // documentation says not to.
    unsafe { memmap2::Mmap::map(file) }.map_err(|e| open_error(path, e))
}

fn open_error(path: &Path, source: std::io::Error) -> IndexError {
    IndexError::Io { what: format!("opening index {}", path.display()), source }
}

/// The directory of the segment files of the index at `path`: `INDEX.segments` beside it.
pub fn segments_dir(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".segments");
    PathBuf::from(name)
}

/// How many times [`Index::open`] starts again when a segment the manifest names is gone
/// (a writer replaced the manifest and removed the file between the two reads).
const OPEN_ATTEMPTS: u32 = 20;

impl Index<memmap2::Mmap> {
    /// Opens the index at `path`: a manifest and the segments it names (see
    /// [`manifest`](mod@super::manifest)), or a single index file.
    ///
    /// Takes milliseconds whatever the size: segments are mapped, and their pages read when
    /// queries touch them, shared through the page cache by every process mapping them. The
    /// manifest is read and its checksum checked in full; each segment's header and layout
    /// are checked, and its length and header checksum compared with the manifest's. A path
    /// that is not a regular file (a FIFO, a device) is refused at once, without blocking.
    pub fn open(path: impl AsRef<Path>) -> Result<Index<memmap2::Mmap>, IndexError> {
        Ok(Index::open_with_manifest(path)?.0)
    }

    /// [`Index::open`], also giving the manifest it read (`None` for a single file), whose
    /// segments are the index's in order. A writer holding the [`WriteLock`] uses it to
    /// write the next manifest.
    pub fn open_with_manifest(
        path: impl AsRef<Path>,
    ) -> Result<(Index<memmap2::Mmap>, Option<Manifest>), IndexError> {
        let path = path.as_ref();
        let mut attempt = 0;
        loop {
            let mut file = crate::regular::open_regular(path).map_err(|e| open_error(path, e))?;
            let Some(manifest) = manifest_of(&mut file, path)? else {
                // A single index file: the one opened, so no replacement can slip between.
                return Ok((Index::from_bytes(map_open(&file, path)?)?, None));
            };
            // Only a segment gone after its manifest was read is retried: a writer replaced
            // the manifest and removed the file between the two reads.
            match open_segments(path, &manifest) {
                Err(IndexError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && attempt + 1 < OPEN_ATTEMPTS =>
                {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5 << attempt.min(6)));
                }
                other => return other.map(|index| (index, Some(manifest))),
            }
        }
    }
}

/// Reads the manifest at `path`, or `None` if the file there is not a manifest.
pub fn read_manifest(path: &Path) -> Result<Option<Manifest>, IndexError> {
    let mut file = crate::regular::open_regular(path).map_err(|e| open_error(path, e))?;
    manifest_of(&mut file, path)
}

/// The manifest `file` (opened from `path`) holds, or `None` if it is not one.
fn manifest_of(file: &mut File, path: &Path) -> Result<Option<Manifest>, IndexError> {
    use std::io::Read;
    let io = |source| IndexError::Io { what: format!("reading index {}", path.display()), source };
    let mut head = Vec::with_capacity(8);
    file.take(8).read_to_end(&mut head).map_err(io)?;
    if !is_manifest(&head) {
        return Ok(None);
    }
    file.read_to_end(&mut head).map_err(io)?;
    Manifest::decode(&head).map(Some)
}

/// Maps the segments `manifest` (read from `path`) names.
fn open_segments(path: &Path, manifest: &Manifest) -> Result<Index<memmap2::Mmap>, IndexError> {
    let dir = segments_dir(path);
    let data = manifest.segments.iter().map(|s| map_file(&dir.join(&s.file))).collect::<Result<_, _>>()?;
    Index::from_manifest(manifest, data)
}

impl<D: AsRef<[u8]>> Index<D> {
    /// The index a decoded `manifest` describes, from the bytes of its segments in the
    /// manifest's order (what [`Index::open`] maps from `INDEX.segments/`). Each segment is
    /// checked as [`Index::from_bytes`] checks a file, and must be the one the manifest pins
    /// (length, header checksum, entry count); tombstones and list numbers are checked
    /// against the segments.
    pub fn from_manifest(manifest: &Manifest, data: Vec<D>) -> Result<Index<D>, IndexError> {
        if data.len() != manifest.segments.len() {
            return Err(IndexError::corrupt(
                "manifest",
                format!("names {} segments, {} given", manifest.segments.len(), data.len()),
            ));
        }
        let mut segments = Vec::with_capacity(data.len());
        for (s, d) in manifest.segments.iter().zip(data) {
            let segment = Segment::from_bytes(d)?;
            let bytes = segment.as_bytes();
            let pinned = bytes.len() as u64 == s.file_len
                && bytes[format::CHECKSUM_OFFSET..format::CHECKSUM_OFFSET + 32] == s.checksum
                && segment.len() == s.entries;
            if !pinned {
                return Err(IndexError::corrupt(
                    "segment",
                    format!(
                        "{} is not the segment the manifest names (length, checksum or entries differ)",
                        s.file
                    ),
                ));
            }
            segments.push((segment, s.tombstones.clone()));
        }
        Index::from_segments(segments, manifest.lists.clone())
    }
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The prefix of the temporary files of the index named `name`: `.NAME.tmp-`.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.tmp-")
}

/// The temporary file name of attempt `attempt` by process `pid` to replace the index
/// named `name`: `.NAME.tmp-PID-N`.
pub(crate) fn temp_name(name: &str, pid: u32, attempt: u32) -> String {
    format!("{}{pid}-{attempt}", temp_prefix(name))
}

/// Whether `file` is a temporary file of [`temp_name`] for the index named `name`.
fn is_temp_of(file: &str, name: &str) -> bool {
    file.strip_prefix(&temp_prefix(name)).is_some_and(|rest| {
        let mut parts = rest.split('-');
        let numeric =
            |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        numeric(parts.next()) && numeric(parts.next()) && parts.next().is_none()
    })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, renamed over `path`, then the directory flushed, so a reader (or a crash) sees the
/// old file or the new one, never a mix; processes that mapped the old file keep it.
///
/// Two writers of one index must not run at once: hold its [`WriteLock`] around the read
/// of the old contents and this write.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), IndexError> {
    let path = path.as_ref();
    let io = |what: &str, source| IndexError::Io { what: format!("{what} {}", path.display()), source };
    let dir = dir_of(path);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let tmp = dir.join(temp_name(&name, std::process::id(), attempt));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(io("creating a temporary file beside", e)),
        }
    };
    let result =
        file.write_all(bytes).and_then(|_| file.sync_all()).and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("writing", e));
    }
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io("flushing the directory of", e))?;
    Ok(())
}

/// The exclusive lock of an index's writers: an advisory lock on the file `INDEX.lock`
/// beside the index. Every writer (`mediamatch import`, `build`, `upgrade`, or a library
/// user replacing the file) holds it from before it reads the old contents until after
/// [`write_atomic`] renamed the new ones into place, so two writers never interleave.
/// Readers take no lock.
///
/// The lock is released when the value is dropped, and also when the process dies (the
/// kernel drops it with the descriptor). The lock file itself stays.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
    index: PathBuf,
    lock: PathBuf,
}

impl WriteLock {
    /// Takes the lock of the index file `index`, waiting for another writer to finish.
    pub fn acquire(index: impl AsRef<Path>) -> Result<WriteLock, IndexError> {
        let (file, index, lock) = WriteLock::open(index.as_ref())?;
        file.lock()
            .map_err(|source| IndexError::Io { what: format!("locking {}", lock.display()), source })?;
        Ok(WriteLock { _file: file, index, lock })
    }

    /// Takes the lock of the index file `index` if no other writer holds it, and fails
    /// with [`IndexError::Locked`] at once if one does.
    pub fn try_acquire(index: impl AsRef<Path>) -> Result<WriteLock, IndexError> {
        let (file, index, lock) = WriteLock::open(index.as_ref())?;
        match file.try_lock() {
            Ok(()) => Ok(WriteLock { _file: file, index, lock }),
            Err(std::fs::TryLockError::WouldBlock) => Err(IndexError::Locked { index, lock }),
            Err(std::fs::TryLockError::Error(source)) => {
                Err(IndexError::Io { what: format!("locking {}", lock.display()), source })
            }
        }
    }

    /// Opens (creating) the lock file of `index`.
    fn open(index: &Path) -> Result<(File, PathBuf, PathBuf), IndexError> {
        let mut name = index.as_os_str().to_owned();
        name.push(".lock");
        let lock = PathBuf::from(name);
        let file =
            File::options().create(true).truncate(false).write(true).open(&lock).map_err(|source| {
                IndexError::Io { what: format!("opening lock file {}", lock.display()), source }
            })?;
        Ok((file, index.to_path_buf(), lock))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.lock
    }

    /// Removes the temporary files that [`write_atomic`] left beside the index when a
    /// writer was killed before its rename (`.NAME.tmp-PID-N`). Under the lock no other
    /// writer of the index can be running, so none of them belongs to a live writer.
    /// Failures are ignored (a leftover costs disk space, not correctness).
    pub fn remove_stale_temps(&self) {
        let Some(name) = self.index.file_name() else { return };
        let name = name.to_string_lossy();
        let Ok(entries) = std::fs::read_dir(dir_of(&self.index)) else { return };
        for entry in entries.flatten() {
            let stale = entry.file_name().to_str().is_some_and(|n| is_temp_of(n, &name));
            if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_made_and_recognised_in_one_place() {
        let made = temp_name("known.mmi", 4242, 3);
        assert_eq!(made, ".known.mmi.tmp-4242-3");
        assert!(is_temp_of(&made, "known.mmi"));
        for other in
            [".known.mmi.tmp-42", ".known.mmi.tmp-42-x", ".known.mmi.tmp--1", ".other.tmp-1-2", "known.mmi"]
        {
            assert!(!is_temp_of(other, "known.mmi"), "{other}");
        }
        assert!(!is_temp_of(&temp_name("known.mmi", 1, 2), "known"));
    }

    #[test]
    fn the_lock_excludes_a_second_writer_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("i.mmi");
        let held = WriteLock::acquire(&index).unwrap();
        assert_eq!(held.path(), dir.path().join("i.mmi.lock"));
        match WriteLock::try_acquire(&index) {
            Err(IndexError::Locked { index: i, lock }) => {
                assert_eq!((i, lock), (index.clone(), dir.path().join("i.mmi.lock")));
            }
            other => panic!("{other:?}"),
        }
        drop(held);
        let again = WriteLock::try_acquire(&index).unwrap();
        std::fs::write(dir.path().join(temp_name("i.mmi", 7, 0)), b"left over").unwrap();
        std::fs::write(dir.path().join(".i.mmi.tmp-keep"), b"not ours").unwrap();
        again.remove_stale_temps();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [".i.mmi.tmp-keep", "i.mmi.lock"]);
    }
}
