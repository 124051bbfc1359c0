//! Applying parsed lists to an opened [`Index`] as an [`Update`]: only the entries the
//! files touch are read, the rules of [`delta::apply`] decide, and the
//! difference is what a commit writes (a new segment and tombstones), so an import costs
//! the delta, not the index.
//!
//! The entries an import can change are found by lookups: for each record, the live
//! entries with its value (and its id, or any id for a deletion by value); for each
//! [`Tombstone`](super::Tombstone), the entries with its id; with [`Mode::Replace`],
//! every entry on the list. They form a small [`Catalog`] to which [`delta::apply`] is
//! applied unchanged; entries it leaves exactly as they were stay where they are, the
//! others are removed (tombstoned) and their new versions added.
//!
//! ```
//! use mediamatch::catalog::Catalog;
//! use mediamatch::index::{build, BuildOptions, Index};
//! use mediamatch::lists::{self, delta, update, ParseOptions};
//!
//! let first = lists::ListFile::from_bytes("a.txt", b"md5:d41d8cd98f00b204e9800998ecf8427e\n", &ParseOptions::default())?;
//! let mut catalog = Catalog::default();
//! let opts = delta::ApplyOptions::default();
//! delta::apply(&mut catalog, "local", std::slice::from_ref(&first), &opts);
//! let index = Index::from_bytes(build(&catalog, &BuildOptions::default())?)?;
//!
//! let next = lists::ListFile::from_bytes("b.txt", b"md5:0cc175b9c0f1b6a831c399e269772661\n", &ParseOptions::default())?;
//! let planned = update::plan(&index, "local", std::slice::from_ref(&next), &opts)?;
//! assert_eq!(planned.outcome.counts.added, 1);
//! // One entry to add, none to remove: the first entry stays in its segment.
//! assert_eq!((planned.update.add.len(), planned.update.remove.len()), (1, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeSet, HashMap};

use super::delta::{self, list_len, ApplyOptions, Mode, Outcome};
use super::ListFile;
use crate::catalog::{Catalog, Entry};
use crate::hash::HashValue;
use crate::index::commit::Update;
use crate::index::{Index, IndexError};

/// What [`plan`] found.
#[derive(Clone, Debug)]
pub struct Planned {
    /// What [`delta::apply`] reports (counts, version, whether anything changed).
    pub outcome: Outcome,
    /// What to commit.
    pub update: Update,
    /// Entries on the list before (for [`delta::check_shrink`]); counted only with
    /// [`Mode::Replace`], which reads the whole list anyway, else 0.
    pub list_len_before: u64,
    /// Live entries of the index after the update.
    pub entries_after: u64,
}

/// Applies `sources` to the list `name` of `index`, as [`delta::apply`] would to the
/// index's whole catalog, and gives the difference as an [`Update`].
pub fn plan<D: AsRef<[u8]>>(
    index: &Index<D>,
    name: &str,
    sources: &[ListFile],
    opts: &ApplyOptions,
) -> Result<Planned, IndexError> {
    let mut touched: BTreeSet<u32> = BTreeSet::new();
    let mut by_value: HashMap<HashValue, Vec<u32>> = HashMap::new();
    for src in sources {
        for r in &src.list.records {
            let hits = match by_value.get(&r.value) {
                Some(h) => h,
                None => {
                    let h: Vec<u32> = index.search(&r.value, 0)?.into_iter().map(|h| h.entry).collect();
                    by_value.entry(r.value).or_insert(h)
                }
            };
            for &e in hits {
                if (r.deleted && r.id.is_empty()) || index.entry(e)?.id == r.id {
                    touched.insert(e);
                }
            }
        }
    }
    // Id deletions: one walk of the items for all of them.
    let ids: std::collections::HashSet<&str> = sources
        .iter()
        .flat_map(|s| &s.list.tombstones)
        .map(|t| t.id.as_str())
        .filter(|id| !id.is_empty())
        .collect();
    if !ids.is_empty() {
        touched.extend(index.with_ids(&ids)?);
    }
    let list = index.lists().iter().position(|l| l.name == name).map(|l| l as u32);
    if let (Mode::Replace, Some(list)) = (opts.mode, list) {
        for r in index.live_entries() {
            let (e, entry) = r?;
            if entry.lists.contains(&list) {
                touched.insert(e);
            }
        }
    }
    let before: Vec<(u32, Entry)> =
        touched.iter().map(|&e| Ok((e, index.entry(e)?.to_entry()))).collect::<Result<_, IndexError>>()?;
    let mut catalog = Catalog {
        lists: index.lists().to_vec(),
        entries: before.iter().map(|(_, e)| e.clone()).collect(),
        signatures: Default::default(),
    };
    let list_len_before = if opts.mode == Mode::Replace { list_len(&catalog, name) } else { 0 };
    let outcome = delta::apply(&mut catalog, name, sources, opts);

    // Entries the apply left exactly as they were stay; the rest is removed and re-added.
    let mut old: HashMap<(HashValue, &str), Vec<&(u32, Entry)>> = HashMap::new();
    for b in &before {
        old.entry((b.1.value, b.1.id.as_str())).or_default().push(b);
    }
    let mut kept: BTreeSet<u32> = BTreeSet::new();
    let mut add = Vec::new();
    for e in catalog.entries {
        match old.get(&(e.value, e.id.as_str())).map(Vec::as_slice) {
            Some([(n, was)]) if *was == e => {
                kept.insert(*n);
            }
            _ => add.push(e),
        }
    }
    let remove: Vec<u32> = touched.difference(&kept).copied().collect();
    // The signatures of the added tmk entries: the files' (`apply` kept those it used),
    // else the index's (an entry re-added with a new label or list).
    let mut signatures = std::mem::take(&mut catalog.signatures);
    for e in &add {
        if let HashValue::Tmk(d) = e.value {
            if signatures.get(&d).is_none() {
                let bytes = index.signature(&d)?.ok_or_else(|| {
                    IndexError::BadCatalog(format!("tmk entry {d} has no signature in the index"))
                })?;
                signatures.insert_checked(d, bytes.into());
            }
        }
    }
    signatures.retain_used(&add);
    let entries_after = u64::from(index.len()) - remove.len() as u64 + add.len() as u64;
    Ok(Planned {
        outcome,
        update: Update { add, remove, lists: catalog.lists, signatures },
        list_len_before,
        entries_after,
    })
}
