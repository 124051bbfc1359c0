//! The library's error type.

use std::path::PathBuf;

use crate::decode::DecodeError;
use crate::hash::ParseHashError;
use crate::index::IndexError;
use crate::lists::ListError;

/// Any error the library reports. Each variant wraps the typed error of the module
/// that raised it, so callers can match on the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input could not be decoded as an image.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A hash string could not be parsed.
    #[error(transparent)]
    ParseHash(#[from] ParseHashError),
    /// An index could not be built, opened or read.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A hash list could not be read.
    #[error(transparent)]
    List(#[from] ListError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
