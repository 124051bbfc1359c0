//! The logical content of an index: hash lists and their entries.
//!
//! A [`Catalog`] is what an index file stores, in a form that is easy to change:
//! the list importer applies deltas to a catalog, the index builder turns a catalog
//! into bytes, and an opened index gives its catalog back. The search structures are
//! derived from it and are not part of it.

use crate::hash::HashValue;

/// Provenance and counts of one hash list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListInfo {
    /// The list's name, unique in a catalog (e.g. `ncmec`, `stopncii`, `local`).
    pub name: String,
    /// File name(s) of the last import's source.
    pub source: String,
    /// SHA-256 (hex) of the last imported source bytes.
    pub source_sha256: String,
    /// When the last import happened, in seconds since the Unix epoch.
    pub imported_at: u64,
    /// Grows by one with each import that changed the list.
    pub version: u64,
    /// Counts of the last import.
    pub counts: ImportCounts,
}

/// What one import did to one list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Entries added to the list.
    pub added: u64,
    /// Entries whose metadata changed.
    pub updated: u64,
    /// Entries removed from the list (tombstones, or absent with `--replace`).
    pub removed: u64,
    /// Entries present and unchanged.
    pub unchanged: u64,
    /// Lines rejected as malformed.
    pub rejected: u64,
    /// Records of kinds mediamatch cannot compute (PhotoDNA, ...), skipped.
    pub skipped: u64,
}

/// One known hash with its metadata.
///
/// An entry is identified by its hash value and external id: two entries with the same
/// hash and different ids are two entries (both are reported on a match). One entry can
/// be on several lists.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// The hash.
    pub value: HashValue,
    /// The list provider's id for the item (may be empty).
    pub id: String,
    /// A label or classification (may be empty).
    pub label: String,
    /// Indices into [`Catalog::lists`] of the lists holding this entry, sorted, not empty.
    pub lists: Vec<u32>,
}

/// Lists and entries: everything an index file knows apart from its search structures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    /// The lists, addressed by position.
    pub lists: Vec<ListInfo>,
    /// The entries.
    pub entries: Vec<Entry>,
}

impl Catalog {
    /// The position of the list called `name`.
    pub fn list_index(&self, name: &str) -> Option<u32> {
        self.lists.iter().position(|l| l.name == name).map(|i| i as u32)
    }
}
