//! The known-hash index.
//!
//! (Skeleton: the index helper fills this in.)

/// Why an index could not be built, opened or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The bytes do not start with the index magic.
    #[error("not a mediamatch index (bad magic)")]
    BadMagic,
}
