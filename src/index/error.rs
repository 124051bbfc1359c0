//! [`IndexError`]: why an index could not be built, opened, read, written or locked, and
//! the advice a version mismatch gives.

use std::path::PathBuf;

use crate::index::format;

/// Why an index could not be built, opened or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The bytes do not start with the index magic.
    #[error("not a mediamatch index (bad magic)")]
    BadMagic,
    /// The file was written by a different version of the format. The message says what
    /// to do: run `mediamatch upgrade INDEX` for a version in
    /// [`format::UPGRADABLE_VERSIONS`], rebuild the index from its lists for any other.
    #[error("index format version {found}, this mediamatch reads version {expected}: {}", version_advice(*.found))]
    Version {
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// [`LegacyIndex`](crate::index::LegacyIndex) was given a file of the current version:
    /// there is nothing to upgrade.
    #[error("index is already format version {version}: nothing to upgrade")]
    AlreadyCurrent {
        /// The version in the file.
        version: u32,
    },
    /// The file is shorter than it says, or a record is shorter than its fields.
    #[error("index is truncated: {what} needs {need} bytes, have {have}")]
    Truncated {
        /// What was being read: a part of the file or a record's field.
        what: &'static str,
        /// Bytes needed.
        need: u64,
        /// Bytes present.
        have: u64,
    },
    /// A part of the file is inconsistent.
    #[error("index is damaged: {what}: {detail}")]
    Corrupt {
        /// The part of the file.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The checksum does not match the contents.
    #[error("index is damaged: checksum mismatch")]
    Checksum,
    /// More entries or lists than the format can hold.
    #[error("too many {what} (at most {max})")]
    TooLarge {
        /// What overflowed.
        what: &'static str,
        /// The limit.
        max: u64,
    },
    /// The catalog handed to the builder is inconsistent.
    #[error("invalid catalog: {0}")]
    BadCatalog(String),
    /// An entry or list number beyond the index.
    #[error("no {what} number {number} in the index")]
    OutOfRange {
        /// `entry` or `list`.
        what: &'static str,
        /// The number asked for.
        number: u32,
    },
    /// Another writer holds the index's lock and the caller asked not to wait
    /// ([`WriteLock::try_acquire`](crate::index::WriteLock::try_acquire)).
    #[error("another import is updating {} (lock {} held); try again later", .index.display(), .lock.display())]
    Locked {
        /// The index file.
        index: PathBuf,
        /// Its lock file.
        lock: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// What to do about a file of format version `found`.
fn version_advice(found: u32) -> &'static str {
    if format::UPGRADABLE_VERSIONS.contains(&found) {
        "run `mediamatch upgrade INDEX` to carry it forward to the current version"
    } else {
        "rebuild the index with `mediamatch build`"
    }
}

impl IndexError {
    pub(crate) fn corrupt(what: &'static str, detail: String) -> IndexError {
        IndexError::Corrupt { what, detail }
    }
}
