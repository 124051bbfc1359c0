//! The logical content of an index: hash lists and their entries.
//!
//! A [`Catalog`] is what an index file stores, in a form that is easy to change:
//! the list importer applies deltas to a catalog, the index builder turns a catalog
//! into bytes, and an opened index gives its catalog back. The search structures are
//! derived from it and are not part of it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::hash::{HashValue, Sha256};

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
    /// The TMK+PDQF signatures that the [`HashValue::Tmk`] entries name (extra ones are
    /// ignored by the builder; a missing one is an error).
    pub signatures: Signatures,
}

impl Catalog {
    /// The position of the list called `name`.
    pub fn list_index(&self, name: &str) -> Option<u32> {
        self.lists.iter().position(|l| l.name == name).map(|i| i as u32)
    }
}

/// TMK+PDQF signatures in their canonical `.tmk` bytes, by their SHA-256: the value of a
/// [`HashValue::Tmk`] entry names its signature, and the index stores each distinct
/// signature once beside its entries. The bytes are shared ([`Arc`]): a signature is
/// 263,344 bytes, and lists, catalogs and updates hand the same one along.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signatures(BTreeMap<Sha256, Arc<[u8]>>);

impl Signatures {
    /// Adds canonical `.tmk` bytes (as [`crate::video::tmk::Signature::write`] gives them)
    /// and returns their SHA-256, the value of the entries that name them.
    pub fn insert(&mut self, bytes: Arc<[u8]>) -> Sha256 {
        let digest = digest_of(&bytes);
        self.0.entry(digest).or_insert(bytes);
        digest
    }

    /// Adds `bytes` under `digest`, which the caller has checked.
    pub(crate) fn insert_checked(&mut self, digest: Sha256, bytes: Arc<[u8]>) {
        self.0.entry(digest).or_insert(bytes);
    }

    /// The signature named `digest`.
    pub fn get(&self, digest: &Sha256) -> Option<&Arc<[u8]>> {
        self.0.get(digest)
    }

    /// Adds every signature of `other` (sharing their bytes).
    pub fn extend_from(&mut self, other: &Signatures) {
        for (d, b) in &other.0 {
            self.0.entry(*d).or_insert_with(|| b.clone());
        }
    }

    /// Keeps only the signatures that a TMK entry of `entries` names.
    pub fn retain_used(&mut self, entries: &[Entry]) {
        if self.0.is_empty() {
            return;
        }
        let used: std::collections::HashSet<Sha256> = entries
            .iter()
            .filter_map(|e| match e.value {
                HashValue::Tmk(d) => Some(d),
                _ => None,
            })
            .collect();
        self.0.retain(|d, _| used.contains(d));
    }

    /// How many signatures there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The signatures in digest order.
    pub fn iter(&self) -> impl Iterator<Item = (&Sha256, &Arc<[u8]>)> {
        self.0.iter()
    }
}

/// The SHA-256 of `bytes`.
pub(crate) fn digest_of(bytes: &[u8]) -> Sha256 {
    use sha2::Digest;
    Sha256(sha2::Sha256::digest(bytes).into())
}
