//! [`Info`] and [`KindInfo`]: what `mediamatch info` prints about an index, and
//! [`Index::info`] that gathers it.

use crate::catalog::ListInfo;
use crate::hash::Kind;
use crate::index::layout::Search;
use crate::index::{Index, IndexError, FORMAT_VERSION};

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

impl<D: AsRef<[u8]>> Index<D> {
    /// KindSet, counts, structures, sizes, format version and lists.
    pub fn info(&self) -> Result<Info, IndexError> {
        let kinds = self
            .layout
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
            .collect();
        let l = &self.layout;
        Ok(Info {
            format_version: FORMAT_VERSION,
            file_bytes: self.data.as_ref().len() as u64,
            entries: u64::from(l.n_entries),
            string_bytes: l.strings.len() as u64,
            table_bytes: (l.entries.len() + l.items.len() + l.lists.len() + l.sets.len() + l.members.len())
                as u64,
            kinds,
            lists: (0..self.list_count()).map(|i| self.list(i)).collect::<Result<_, _>>()?,
        })
    }
}
