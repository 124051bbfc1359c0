//! Index files of older format versions, read only to carry them forward.
//!
//! [`Index`] opens files of the current [`FORMAT_VERSION`] only, so a matcher never runs on
//! a file that lacks a section the queries rely on (version 1 has no items section, which
//! [`Index::same_id`] reads). An older file may still be the only copy of months of delta
//! imports, whose list files are gone; [`LegacyIndex`] reads such a file (a version in
//! [`format::UPGRADABLE_VERSIONS`]) with the same checks as [`Index`], gives its catalog and
//! build options, and [`LegacyIndex::upgrade`] turns it into current-version bytes.
//!
//! ```
//! use mediamatch::index::{LegacyIndex, IndexError};
//! use mediamatch::index::{build, BuildOptions};
//! use mediamatch::catalog::Catalog;
//!
//! // A current file is not an upgrade's business.
//! let current = build(&Catalog::default(), &BuildOptions::default())?;
//! assert!(matches!(LegacyIndex::from_bytes(current), Err(IndexError::AlreadyCurrent { .. })));
//! # Ok::<(), IndexError>(())
//! ```

use std::path::Path;

use super::{build, format, BuildOptions, Index, IndexError, Segment, FORMAT_VERSION};
use crate::catalog::Catalog;

/// An index file of an older format version, opened for its catalog only: it answers no
/// queries. [`LegacyIndex::upgrade`] gives the same catalog as a current-version index.
#[derive(Clone, Debug)]
pub struct LegacyIndex<D> {
    /// The file, checked like a current one but without the sections its version lacks.
    /// Never handed out: its search methods assume the current layout.
    index: Segment<D>,
}

impl LegacyIndex<Vec<u8>> {
    /// Reads the whole index file at `path` into memory and checks its header and layout
    /// (as [`LegacyIndex::from_bytes`]). An upgrade reads every byte anyway, once. A path
    /// that is not a regular file (a FIFO, a device) is refused at once, without blocking.
    pub fn open(path: impl AsRef<Path>) -> Result<LegacyIndex<Vec<u8>>, IndexError> {
        use std::io::Read;
        let path = path.as_ref();
        let io = |source| IndexError::Io { what: format!("reading index {}", path.display()), source };
        let mut bytes = Vec::new();
        crate::regular::open_regular(path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(io)?;
        LegacyIndex::from_bytes(bytes)
    }
}

impl<D: AsRef<[u8]>> LegacyIndex<D> {
    /// Checks the header and layout of `data`, an index of a version in
    /// [`format::UPGRADABLE_VERSIONS`], as strictly as [`Index::from_bytes`] checks a
    /// current one. A current file gives [`IndexError::AlreadyCurrent`]; any other version
    /// [`IndexError::Version`].
    pub fn from_bytes(data: D) -> Result<LegacyIndex<D>, IndexError> {
        let version = format::version(data.as_ref())?;
        if version == FORMAT_VERSION {
            return Err(IndexError::AlreadyCurrent { version });
        }
        Ok(LegacyIndex { index: Segment::with_versions(data, format::UPGRADABLE_VERSIONS)? })
    }

    /// The format version of the file.
    pub fn format_version(&self) -> u32 {
        self.index.format_version()
    }

    /// Number of entries of all kinds.
    pub fn len(&self) -> u32 {
        self.index.len()
    }

    /// Whether the index has no entries.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Checks the whole file as [`Index::verify`] does for its version: the checksum,
    /// every entry, string and list set, the sort order of the values and every search
    /// structure.
    pub fn verify(&self) -> Result<(), IndexError>
    where
        D: Sync,
    {
        self.index.verify()
    }

    /// The lists (with provenance and counts) and entries of the file.
    pub fn catalog(&self) -> Result<Catalog, IndexError> {
        self.index.catalog()
    }

    /// The options that rebuild the catalog with the same kind of search structures, as
    /// [`Index::build_options`] gives them.
    pub fn build_options(&self) -> BuildOptions {
        self.index.build_options()
    }

    /// The current-version index of this file: verifies the file in full, builds its
    /// catalog with its [`build_options`](LegacyIndex::build_options) (so the bytes equal
    /// [`build`] of that catalog), then opens and verifies the result and checks that it
    /// holds the same lists and entries, so nothing is lost on the way.
    pub fn upgrade(&self) -> Result<Vec<u8>, IndexError>
    where
        D: Sync,
    {
        self.verify()?;
        let mut catalog = self.catalog()?;
        let bytes = build(&catalog, &self.build_options())?;
        let upgraded = Index::from_bytes(bytes.as_slice())?;
        upgraded.verify()?;
        let mut again = upgraded.catalog()?;
        // The builder orders entries canonically; compare them as sets.
        catalog.entries.sort_unstable();
        again.entries.sort_unstable();
        if again != catalog {
            return Err(IndexError::BadCatalog(
                "the upgraded index does not hold the same lists and entries".to_string(),
            ));
        }
        drop(upgraded);
        Ok(bytes)
    }
}
