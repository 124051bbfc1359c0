//! Applying parsed lists to a [`Catalog`]: deltas, tombstones, replacement, provenance.
//!
//! An entry is identified by its hash value and id. For the list NAME, [`apply`] does:
//!
//! * **Delta** ([`Mode::Delta`], the default): a live record whose (value, id) is not on
//!   the list is added (to the existing entry if another list has it, else as a new
//!   entry); one already on it has its label updated if it differs; a deleted record
//!   removes (value, id) from the list, and a deleted record with an empty id removes
//!   every entry with that value; a [`Tombstone`] removes every entry with its id.
//!   Entries the file does not mention stay.
//! * **Replace** ([`Mode::Replace`]): the list becomes exactly the file's live records;
//!   entries on the list that the file does not hold live are removed.
//!
//! Within the files of one import, events take effect in order (file by file, line by
//! line): the last word on a (value, id) wins, and a tombstone removes the records of
//! its id that came before it, not those after it. Removing an entry from one list keeps
//! it on the others; an entry left on no list is dropped.
//!
//! An entry has one label for all its lists: a record's label replaces it, except that
//! an empty label does not erase the label of an entry that other lists also hold.
//!
//! [`ImportCounts`] count distinct (value, id) keys: `added` to the list, `updated`
//! (label changed), `removed` from the list, `unchanged` (in the file and on the list
//! already, same label), plus the files' `rejected` and `skipped` records. Deleted
//! records and tombstones naming nothing on the list count nowhere.
//!
//! Provenance: the list's `source` (file names joined by `, `, a name repeated in a row
//! given once), `source_sha256` (their
//! SHA-256s joined by `,`), `imported_at` and `counts` describe the last import; its
//! `version` grows by one only when the import changed the list's entries (or created
//! the list). Importing the same file twice therefore leaves entries and version alone.
//!
//! The work is a sort of the records plus one merge with the catalog's entries, which
//! are kept sorted by (value, id): O(n log n) for n records, no per-record search.

use std::cmp::Ordering;
use std::collections::HashMap;

use rayon::slice::ParallelSliceMut;

use super::{ListFile, Tombstone};
use crate::catalog::{Catalog, Entry, ImportCounts, ListInfo};
use crate::hash::HashValue;

/// Delta or replacement (`--replace`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Add, update, and remove what the file marks deleted.
    #[default]
    Delta,
    /// The list becomes exactly the file's live records.
    Replace,
}

/// How to apply.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyOptions {
    /// Delta or replacement.
    pub mode: Mode,
    /// The import time (seconds since the Unix epoch), kept as provenance.
    pub imported_at: u64,
}

/// What [`apply`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The list's position in [`Catalog::lists`].
    pub list: u32,
    /// The counts (also stored in the list's [`ListInfo::counts`]).
    pub counts: ImportCounts,
    /// The list's version after the import.
    pub version: u64,
    /// Whether the list's entries changed (or the list was created).
    pub changed: bool,
}

/// A replacement refused by [`check_shrink`]: it would empty or mostly empty a list, as
/// a broken feed does (an HTML error page saved as the list, an empty download).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ShrinkError {
    /// The files hold no valid line at all, and the list has entries.
    #[error(
        "the files hold no valid line ({rejected} rejected): replacing list {list:?} with them would remove all {before} of its entries"
    )]
    NoValidLine {
        /// The list.
        list: String,
        /// Its entries before the import.
        before: u64,
        /// The files' rejected lines.
        rejected: u64,
    },
    /// The replacement would remove more than the allowed share of the list.
    #[error(
        "replacing list {list:?} would remove {removed} of its {before} entries ({percent:.1}%, over the limit of {limit}%; {rejected} line(s) rejected)"
    )]
    TooMuch {
        /// The list.
        list: String,
        /// Entries the replacement would remove.
        removed: u64,
        /// The list's entries before the import.
        before: u64,
        /// `removed` as a percentage of `before`.
        percent: f64,
        /// The allowed percentage.
        limit: f64,
        /// The files' rejected lines.
        rejected: u64,
    },
}

/// The number of entries on the list `name` (0 if there is no such list).
pub fn list_len(catalog: &Catalog, name: &str) -> u64 {
    let Some(li) = catalog.list_index(name) else { return 0 };
    catalog.entries.iter().filter(|e| e.lists.contains(&li)).count() as u64
}

/// Checks a replacement before it is written: refuses one whose `sources` hold no valid
/// record or tombstone while the list had entries, and one whose `outcome` removed more
/// than `max_percent` % of the `before` entries the list had ([`list_len`] before
/// [`apply`]). A list that was empty can always be filled.
pub fn check_shrink(
    list: &str,
    before: u64,
    sources: &[ListFile],
    outcome: &Outcome,
    max_percent: f64,
) -> Result<(), ShrinkError> {
    if before == 0 {
        return Ok(());
    }
    let rejected = outcome.counts.rejected;
    let valid = sources.iter().any(|s| !s.list.records.is_empty() || !s.list.tombstones.is_empty());
    if !valid {
        return Err(ShrinkError::NoValidLine { list: list.to_string(), before, rejected });
    }
    let removed = outcome.counts.removed;
    let percent = removed as f64 * 100.0 / before as f64;
    if percent > max_percent {
        return Err(ShrinkError::TooMuch {
            list: list.to_string(),
            removed,
            before,
            percent,
            limit: max_percent,
            rejected,
        });
    }
    Ok(())
}

/// When an event happened: file, line, tombstones after records on the same line, then
/// the record's position.
type Order = (u32, u64, u8, u32);

/// Applies `sources` (in order, as one import) to the list `name` of `catalog`, creating
/// the list if needed. See the module docs for the rules.
///
/// The caller decides about rejects first: with `--strict`, a source with rejects should
/// not be applied at all.
pub fn apply(catalog: &mut Catalog, name: &str, sources: &[ListFile], opts: &ApplyOptions) -> Outcome {
    let (li, created) = match catalog.list_index(name) {
        Some(i) => (i, false),
        None => {
            catalog.lists.push(ListInfo { name: name.to_string(), ..ListInfo::default() });
            ((catalog.lists.len() - 1) as u32, true)
        }
    };
    normalize(&mut catalog.entries);

    // Every record, sorted by key and then by time. A 9-byte prefix of the value is
    // copied into the sort array so that most comparisons stay in it; within a file,
    // record order is line order.
    let rec = |(s, i): (u32, u32)| &sources[s as usize].list.records[i as usize];
    let mut sorted: Vec<(u8, u64, u32, u32)> =
        Vec::with_capacity(sources.iter().map(|s| s.list.records.len()).sum());
    for (s, src) in sources.iter().enumerate() {
        sorted.extend(src.list.records.iter().enumerate().map(|(i, r)| {
            let (k, p) = prefix(&r.value);
            (k, p, s as u32, i as u32)
        }));
    }
    sorted.par_sort_unstable_by(|a, b| {
        (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| {
            let (ra, rb) = (rec((a.2, a.3)), rec((b.2, b.3)));
            (ra.value, &ra.id).cmp(&(rb.value, &rb.id)).then((a.2, a.3).cmp(&(b.2, b.3)))
        })
    });
    let events: Vec<(u32, u32)> = sorted.into_iter().map(|(_, _, s, i)| (s, i)).collect();
    let order = |e: (u32, u32)| -> Order { (e.0, rec(e).line, 0, e.1) };

    // Withdrawals that are not about one (value, id): by id, and by value alone.
    let mut id_tombs: HashMap<&str, Order> = HashMap::new();
    for (s, src) in sources.iter().enumerate() {
        for Tombstone { id, line } in &src.list.tombstones {
            let o = (s as u32, *line, 1, 0);
            let slot = id_tombs.entry(id.as_str()).or_insert(o);
            *slot = (*slot).max(o);
        }
    }
    let mut value_tombs: HashMap<HashValue, Order> = HashMap::new();
    for &e in &events {
        let r = rec(e);
        if r.deleted && r.id.is_empty() {
            let slot = value_tombs.entry(r.value).or_insert(order(e));
            *slot = (*slot).max(order(e));
        }
    }

    // The final word of the files on each key.
    let mut keys: Vec<FileKey<'_>> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let first = rec(events[i]);
        let mut j = i + 1;
        while j < events.len() && rec(events[j]).value == first.value && rec(events[j]).id == first.id {
            j += 1;
        }
        let last = events[j - 1];
        let r = rec(last);
        let at = order(last);
        let later = |t: Option<&Order>| t.is_some_and(|t| *t > at);
        let withdrawn =
            (!r.id.is_empty() && later(id_tombs.get(r.id.as_str()))) || later(value_tombs.get(&r.value));
        keys.push(FileKey { value: r.value, id: &r.id, label: &r.label, live: !r.deleted && !withdrawn });
        i = j;
    }

    let mut counts = ImportCounts {
        rejected: sources.iter().map(|s| s.list.rejects.len() as u64).sum(),
        skipped: sources.iter().map(|s| s.list.skipped_total()).sum(),
        ..ImportCounts::default()
    };
    let old = std::mem::take(&mut catalog.entries);
    let mut out: Vec<Entry> = Vec::with_capacity(old.len() + keys.iter().filter(|k| k.live).count());
    let mut old = old.into_iter().peekable();
    let mut new = keys.iter().peekable();
    loop {
        let ord = match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(e), Some(k)) => (e.value, e.id.as_str()).cmp(&(k.value, k.id)),
        };
        match ord {
            Ordering::Less => {
                let Some(mut e) = old.next() else { break };
                if let Ok(pos) = e.lists.binary_search(&li) {
                    let withdrawn = opts.mode == Mode::Replace
                        || (!e.id.is_empty() && id_tombs.contains_key(e.id.as_str()))
                        || value_tombs.contains_key(&e.value);
                    if withdrawn {
                        e.lists.remove(pos);
                        counts.removed += 1;
                    }
                }
                if !e.lists.is_empty() {
                    out.push(e);
                }
            }
            Ordering::Greater => {
                let Some(k) = new.next() else { break };
                if k.live {
                    out.push(Entry {
                        value: k.value,
                        id: k.id.to_string(),
                        label: k.label.to_string(),
                        lists: vec![li],
                    });
                    counts.added += 1;
                }
            }
            Ordering::Equal => {
                let (Some(mut e), Some(k)) = (old.next(), new.next()) else { break };
                let pos = e.lists.binary_search(&li);
                match (pos, k.live) {
                    (Ok(_), true) => {
                        let others = e.lists.len() > 1;
                        if merge_label(&mut e.label, k.label, others) {
                            counts.updated += 1;
                        } else {
                            counts.unchanged += 1;
                        }
                    }
                    (Err(at), true) => {
                        merge_label(&mut e.label, k.label, true);
                        e.lists.insert(at, li);
                        counts.added += 1;
                    }
                    (Ok(at), false) => {
                        e.lists.remove(at);
                        counts.removed += 1;
                    }
                    (Err(_), false) => {}
                }
                if !e.lists.is_empty() {
                    out.push(e);
                }
            }
        }
    }
    catalog.entries = out;
    if sources.iter().any(|s| !s.list.signatures.is_empty()) {
        for s in sources {
            catalog.signatures.extend_from(&s.list.signatures);
        }
        catalog.signatures.retain_used(&catalog.entries);
    }

    let changed = created || counts.added + counts.updated + counts.removed > 0;
    let info = &mut catalog.lists[li as usize];
    let mut names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    // Pages of one API share a name (`ncmec hash-sharing API`): given once.
    names.dedup();
    info.source = names.join(", ");
    info.source_sha256 = sources.iter().map(|s| s.sha256.as_str()).collect::<Vec<_>>().join(",");
    info.imported_at = opts.imported_at;
    info.counts = counts;
    if changed {
        info.version += 1;
    }
    Outcome { list: li, counts, version: info.version, changed }
}

/// The variant and the first 8 bytes of a value, ordered as [`HashValue`]'s `Ord`.
fn prefix(v: &HashValue) -> (u8, u64) {
    let head = |b: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[..8]);
        u64::from_be_bytes(w)
    };
    match v {
        HashValue::Pdq(h) => (0, h.words[0]),
        HashValue::Phash(h) => (1, h.0),
        HashValue::Md5(h) => (2, head(&h.0)),
        HashValue::Sha1(h) => (3, head(&h.0)),
        HashValue::Sha256(h) => (4, head(&h.0)),
        HashValue::Vpdq(h) => (5, h.words[0]),
        HashValue::Tmk(h) => (6, head(&h.0)),
    }
}

/// The files' final word on one (value, id).
struct FileKey<'a> {
    value: HashValue,
    id: &'a str,
    label: &'a str,
    live: bool,
}

/// Sets `label` from a record's; an empty one keeps the label of an entry other lists
/// hold. Returns whether the label changed.
pub(crate) fn merge_label(label: &mut String, new: &str, on_other_lists: bool) -> bool {
    if (new.is_empty() && on_other_lists) || label == new {
        return false;
    }
    new.clone_into(label);
    true
}

/// Sorts entries by (value, id) and merges duplicates (which a well-formed catalog does
/// not have), so that [`apply`] can merge. Cheap when already sorted.
fn normalize(entries: &mut Vec<Entry>) {
    for e in entries.iter_mut() {
        if !e.lists.windows(2).all(|w| w[0] < w[1]) {
            e.lists.sort_unstable();
            e.lists.dedup();
        }
    }
    let sorted = entries.windows(2).all(|w| (w[0].value, w[0].id.as_str()) < (w[1].value, w[1].id.as_str()));
    if sorted {
        return;
    }
    entries.sort_by(|a, b| (a.value, a.id.as_str()).cmp(&(b.value, b.id.as_str())));
    entries.dedup_by(|later, kept| {
        if later.value != kept.value || later.id != kept.id {
            return false;
        }
        kept.lists.append(&mut later.lists);
        kept.lists.sort_unstable();
        kept.lists.dedup();
        if kept.label.is_empty() {
            std::mem::swap(&mut kept.label, &mut later.label);
        }
        true
    });
}
