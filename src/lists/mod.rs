//! Hash-list formats.
//!
//! (Skeleton: the lists helper fills this in.)

/// Why a hash list could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// The list file could not be read.
    #[error("cannot read list: {0}")]
    Io(#[from] std::io::Error),
}
