//! [`Info`] and [`KindInfo`]: what `mediamatch info` prints about an index, and
//! [`Index::info`] that gathers it.

use crate::catalog::ListInfo;
use crate::hash::Kind;
use crate::index::layout::Search;
use crate::index::{Index, IndexError, Segment, FORMAT_VERSION};

/// A description of an index, for `mediamatch info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// The format version of the file.
    pub format_version: u32,
    /// The file's length in bytes.
    pub file_bytes: u64,
    /// Number of entries of all kinds.
    pub entries: u64,
    /// Bytes of the string table.
    pub string_bytes: u64,
    /// Bytes of the entries table, the items section, lists and list sets.
    pub table_bytes: u64,
    /// One per kind present, in [`Kind::ALL`] order.
    pub kinds: Vec<KindInfo>,
    /// The lists, with provenance.
    pub lists: Vec<ListInfo>,
    /// Number of segment files.
    pub segments: u64,
    /// Entries removed by tombstones, still in their segments until a merge.
    pub tombstones: u64,
}

/// One hash kind of an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindInfo {
    /// The kind.
    pub kind: Kind,
    /// Number of entries.
    pub entries: u64,
    /// The search structure, e.g. `mih 4x16`, `bk-tree 812 nodes`, `scan`, `sorted`.
    pub structure: String,
    /// Bytes of the hash values.
    pub value_bytes: u64,
    /// Bytes of the search structure beyond the values.
    pub structure_bytes: u64,
}

impl<D: AsRef<[u8]>> Segment<D> {
    /// The kinds of this segment, in [`Kind::ALL`] order.
    pub(crate) fn kind_infos(&self) -> Vec<KindInfo> {
        self.layout()
            .kinds
            .iter()
            .map(|s| KindInfo {
                kind: s.kind,
                entries: u64::from(s.n),
                structure: match &s.search {
                    Search::Scan => "scan".to_string(),
                    Search::Digest => "sorted".to_string(),
                    Search::BkTree { count, .. } => format!("bk-tree {count} nodes"),
                    Search::Mih(tables) => {
                        let bits: Vec<String> = tables.iter().map(|t| t.spec.bits.to_string()).collect();
                        format!("mih {} substrings of {} bits", tables.len(), bits.join("/"))
                    }
                },
                value_bytes: s.values.len() as u64,
                structure_bytes: s.structure_bytes,
            })
            .collect()
    }
}

impl<D: AsRef<[u8]>> Index<D> {
    /// Kinds, counts, structures, sizes, format version and lists, summed over the
    /// segments. A kind's `structure` is that of its largest segment; `entries` counts
    /// live entries.
    pub fn info(&self) -> Result<Info, IndexError> {
        let mut kinds: Vec<KindInfo> = Vec::new();
        let mut largest: Vec<u64> = Vec::new();
        let (mut file_bytes, mut string_bytes, mut table_bytes) = (0u64, 0u64, 0u64);
        for seg in self.segments() {
            let l = seg.layout();
            file_bytes += seg.as_bytes().len() as u64;
            string_bytes += l.strings.len() as u64;
            table_bytes +=
                (l.entries.len() + l.items.len() + l.lists.len() + l.sets.len() + l.members.len()) as u64;
            for k in seg.kind_infos() {
                match kinds.iter().position(|x| x.kind == k.kind) {
                    Some(i) => {
                        if k.entries > largest[i] {
                            largest[i] = k.entries;
                            kinds[i].structure = k.structure.clone();
                        }
                        kinds[i].value_bytes += k.value_bytes;
                        kinds[i].structure_bytes += k.structure_bytes;
                    }
                    None => {
                        largest.push(k.entries);
                        kinds.push(k);
                    }
                }
            }
        }
        kinds.sort_by_key(|k| k.kind);
        for k in &mut kinds {
            k.entries = u64::from(self.kind_len(k.kind));
        }
        Ok(Info {
            format_version: FORMAT_VERSION,
            file_bytes,
            entries: u64::from(self.len()),
            string_bytes,
            table_bytes,
            kinds,
            lists: self.lists().to_vec(),
            segments: self.segment_count() as u64,
            tombstones: self.tombstone_count(),
        })
    }
}
