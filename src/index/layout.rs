//! Opening an index: the header and section table parsed and checked, and the sections
//! assigned to the global tables and to each kind's values and search structure.
//!
//! [`Layout::read`] does every check that takes constant time per section (record sizes,
//! counts, table sizes, section order and bounds) plus the whole BK-tree shape (so a
//! traversal can never loop); what it returns holds only ranges that lie inside the file.
//! [`KindSection::values`] and [`KindSection::structure`] turn a kind's ranges back into
//! the typed views that search and verify it.

use std::ops::Range;

use crate::hash::Kind;
use crate::index::bktree::BkTree;
use crate::index::format::{self, Header, SectionRecord, FORMAT_VERSION, HEADER_LEN, SECTION_RECORD_LEN};
use crate::index::mih::{self, MihTables};
use crate::index::tmk;
use crate::index::values::Values;
use crate::index::wire::{record, to_usize};
use crate::index::IndexError;

/// One checked record of the section table.
#[derive(Clone, Debug)]
pub(crate) struct Section {
    pub tag: u32,
    pub kind: u8,
    pub param: u64,
    pub range: Range<usize>,
}

/// The search structure of a kind's section, as ranges of the file.
#[derive(Clone, Debug)]
pub(crate) enum Search {
    Scan,
    Mih(Vec<mih::Table>),
    BkTree { nodes: Range<usize>, count: usize },
    Digest,
}

/// A kind's part of the file: its entries, values and search structure.
#[derive(Clone, Debug)]
pub(crate) struct KindSection {
    pub kind: Kind,
    /// The entry number of the kind's first entry.
    pub first: u32,
    /// The number of entries of the kind.
    pub n: u32,
    pub values: Range<usize>,
    pub search: Search,
    pub structure_bytes: u64,
    /// The TMK sections of the `tmk` kind (`None` for every other kind).
    pub tmk: Option<crate::index::tmk::TmkSections>,
}

/// A kind's search structure as a typed view over the file.
pub(crate) enum SearchView<'a> {
    Scan,
    Digest,
    Mih(MihTables<'a>),
    BkTree(BkTree<'a>),
}

impl KindSection {
    /// The values of the kind in `data` (the file this layout was read from).
    pub fn values<'a>(&self, data: &'a [u8]) -> Values<'a> {
        Values::new(data.get(self.values.clone()).unwrap_or(&[]), self.kind)
    }

    /// The search structure of the kind in `data` (the file this layout was read from).
    pub fn structure<'a>(&'a self, data: &'a [u8]) -> SearchView<'a> {
        let values = self.values(data);
        match &self.search {
            Search::Scan => SearchView::Scan,
            Search::Digest => SearchView::Digest,
            Search::Mih(tables) => SearchView::Mih(MihTables::new(data, tables, values)),
            Search::BkTree { nodes, count } => {
                SearchView::BkTree(BkTree::new(data.get(nodes.clone()).unwrap_or(&[]), *count, values))
            }
        }
    }
}

/// Where everything is in a checked file.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub strings: Range<usize>,
    pub lists: Range<usize>,
    pub sets: Range<usize>,
    pub members: Range<usize>,
    pub entries: Range<usize>,
    /// Empty in a version 1 file, which has no items section.
    pub items: Range<usize>,
    pub n_entries: u32,
    pub kinds: Vec<KindSection>,
    /// The format version of the file.
    pub version: u32,
}

/// The checked header and section table of `b`, a file of one of `versions`.
fn read_header(b: &[u8], versions: &[u32]) -> Result<(u32, Vec<Section>), IndexError> {
    let header = Header::decode(b)?;
    let version = header.version;
    if !versions.contains(&version) {
        return Err(IndexError::Version { found: version, expected: FORMAT_VERSION });
    }
    if header.header_len as usize != HEADER_LEN {
        return Err(IndexError::corrupt(
            "header length",
            format!("{}, expected {HEADER_LEN}", header.header_len),
        ));
    }
    if header.file_len != b.len() as u64 {
        return Err(IndexError::Truncated { what: "file", need: header.file_len, have: b.len() as u64 });
    }
    let count = header.section_count as usize;
    if header.reserved != 0 {
        return Err(IndexError::corrupt("header", "reserved field is not zero".to_string()));
    }
    let table_end = count
        .checked_mul(SECTION_RECORD_LEN)
        .and_then(|t| t.checked_add(HEADER_LEN))
        .filter(|&end| end <= b.len())
        .ok_or_else(|| IndexError::corrupt("section table", format!("{count} sections overrun the file")))?;
    let table = &b[HEADER_LEN..table_end];
    let mut sections = Vec::new();
    let mut prev_end = table_end;
    for i in 0..count {
        let rec = SectionRecord::decode(record(table, i, SECTION_RECORD_LEN, "section table")?)?;
        if rec.reserved != [0, 0, 0] {
            return Err(IndexError::corrupt("section table", format!("record {i}: reserved bytes not zero")));
        }
        let offset = to_usize(rec.offset, "section offset")?;
        let len = to_usize(rec.len, "section length")?;
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= b.len())
            .ok_or_else(|| IndexError::corrupt("section table", format!("record {i} overruns the file")))?;
        if offset < prev_end || offset % 8 != 0 {
            return Err(IndexError::corrupt(
                "section table",
                format!("record {i}: sections must follow each other in order, 8-byte aligned"),
            ));
        }
        prev_end = end;
        if rec.kind != 0 && Kind::from_code(rec.kind).is_none() {
            return Err(IndexError::corrupt(
                "section table",
                format!("record {i}: unknown kind code {}", rec.kind),
            ));
        }
        sections.push(Section { tag: rec.tag, kind: rec.kind, param: rec.param, range: offset..end });
    }
    Ok((version, sections))
}

/// The number of records of `size` bytes in `r`, or an error if it is not a whole number.
fn count(r: &Range<usize>, size: usize, what: &'static str) -> Result<usize, IndexError> {
    if !r.len().is_multiple_of(size) {
        return Err(IndexError::corrupt(what, format!("length {} is not a multiple of {size}", r.len())));
    }
    Ok(r.len() / size)
}

impl Layout {
    /// The checked layout of `b`, a file of one of `versions`. Version 1 is version 2
    /// without the items section: there a tag 6 is an unknown section, and `items` is
    /// left empty.
    pub fn read(b: &[u8], versions: &[u32]) -> Result<Layout, IndexError> {
        let (version, sections) = read_header(b, versions)?;
        let has_items = version >= 2;
        let mut global: [Option<Range<usize>>; 6] = Default::default();
        let mut per_kind: Vec<(Kind, Vec<Section>)> = Vec::new();
        for s in sections {
            if s.kind == 0 {
                let slot = match s.tag {
                    format::TAG_STRINGS => 0,
                    format::TAG_LISTS => 1,
                    format::TAG_LIST_SETS => 2,
                    format::TAG_LIST_MEMBERS => 3,
                    format::TAG_ENTRIES => 4,
                    format::TAG_ITEMS if has_items => 5,
                    t => {
                        return Err(IndexError::corrupt(
                            "section table",
                            format!("unknown global section {t}"),
                        ))
                    }
                };
                if global[slot].replace(s.range).is_some() {
                    return Err(IndexError::corrupt("section table", format!("section {} twice", s.tag)));
                }
            } else {
                let kind = Kind::from_code(s.kind)
                    .ok_or_else(|| IndexError::corrupt("section table", "kind".into()))?;
                match per_kind.last_mut() {
                    Some((k, v)) if *k == kind => v.push(s),
                    Some((k, _)) if *k > kind => {
                        return Err(IndexError::corrupt("section table", "kinds out of order".to_string()))
                    }
                    _ => per_kind.push((kind, vec![s])),
                }
            }
        }
        let missing = || IndexError::corrupt("section table", "a global section is missing".to_string());
        let [Some(strings), Some(lists), Some(sets), Some(members), Some(entries), items] = global else {
            return Err(missing());
        };
        let items = match (items, has_items) {
            (Some(items), true) => items,
            (None, false) => 0..0,
            _ => return Err(missing()),
        };
        count(&lists, format::LIST_RECORD_LEN, "lists")?;
        count(&sets, format::LIST_SET_RECORD_LEN, "list sets")?;
        count(&members, format::LIST_MEMBER_LEN, "list set members")?;
        let n_entries = count(&entries, format::ENTRY_RECORD_LEN, "entries")?;
        let n_entries =
            u32::try_from(n_entries).map_err(|_| IndexError::corrupt("entries", "too many".to_string()))?;
        if has_items && count(&items, format::ITEM_RECORD_LEN, "items")? != n_entries as usize {
            return Err(IndexError::corrupt(
                "items",
                format!("{} bytes for {n_entries} entries", items.len()),
            ));
        }
        let mut kinds = Vec::new();
        let mut next_first = 0u64;
        for (kind, sections) in per_kind {
            let sec = kind_section(b, kind, &sections, next_first, n_entries)?;
            next_first += u64::from(sec.n);
            kinds.push(sec);
        }
        if next_first != u64::from(n_entries) {
            return Err(IndexError::corrupt("entries", "entry count does not match the values".to_string()));
        }
        Ok(Layout { strings, lists, sets, members, entries, items, n_entries, kinds, version })
    }
}

/// The checked sections of one kind, whose first entry must be `first`.
fn kind_section(
    b: &[u8],
    kind: Kind,
    sections: &[Section],
    first: u64,
    n_entries: u32,
) -> Result<KindSection, IndexError> {
    let values = sections
        .iter()
        .find(|s| s.tag == format::TAG_VALUES)
        .ok_or_else(|| IndexError::corrupt("section table", format!("{kind} section without values")))?;
    let n = Values::validate(values.range.len(), kind)?;
    if values.param != first || n == 0 {
        return Err(IndexError::corrupt("values", format!("{kind} entries do not follow the previous kind")));
    }
    if first + n as u64 > u64::from(n_entries) {
        return Err(IndexError::corrupt("values", "more values than entries".to_string()));
    }
    let mut tables: Vec<mih::Table> = Vec::new();
    let mut bk = None;
    let mut structure_bytes = 0u64;
    let (mut tmk_signatures, mut tmk_averages) = (None, None);
    for s in sections {
        match s.tag {
            format::TAG_VALUES if s.range == values.range => {}
            format::TAG_MIH if kind.is_perceptual() => {
                let spec = mih::Spec::from_param(s.param)
                    .ok_or_else(|| IndexError::corrupt("MIH table", "bad substring".to_string()))?;
                let expected_start = tables.last().map_or(0, |t| t.spec.start + t.spec.bits);
                if spec.start != expected_start {
                    return Err(IndexError::corrupt("MIH table", "substrings do not tile the hash".into()));
                }
                tables.push(mih::Table::validate(spec, s.range.clone(), n, kind.byte_len() / 8)?);
            }
            format::TAG_BKTREE if kind.is_perceptual() && bk.is_none() => {
                let count = to_usize(s.param, "BK-tree node count")?;
                BkTree::validate(&b[s.range.clone()], count, n)?;
                bk = Some((s.range.clone(), count));
            }
            format::TAG_TMK_SIGNATURES if tmk::has_sections(kind) && tmk_signatures.is_none() => {
                tmk_signatures = Some((s.param, s.range.clone()));
            }
            format::TAG_TMK_AVERAGES if tmk::has_sections(kind) && tmk_averages.is_none() => {
                tmk_averages = Some((s.param, s.range.clone()));
            }
            t => return Err(IndexError::corrupt("section table", format!("unexpected {kind} section {t}"))),
        }
        if s.tag != format::TAG_VALUES {
            structure_bytes += s.range.len() as u64;
        }
    }
    let search = match (kind.is_perceptual(), tables.is_empty(), bk) {
        (false, _, _) => Search::Digest,
        (true, true, None) => Search::Scan,
        (true, true, Some((nodes, count))) => Search::BkTree { nodes, count },
        (true, false, None) => {
            let end = tables.last().map_or(0, |t| t.spec.start + t.spec.bits);
            if end != kind.bits() {
                return Err(IndexError::corrupt("MIH table", "substrings do not tile the hash".into()));
            }
            Search::Mih(tables)
        }
        (true, false, Some(_)) => {
            return Err(IndexError::corrupt("section table", "both MIH and BK-tree".to_string()))
        }
    };
    let tmk = match tmk::has_sections(kind) {
        true => Some(tmk::validate(tmk_signatures, tmk_averages, n)?),
        false => None,
    };
    Ok(KindSection {
        tmk,
        kind,
        // `first + n` is at most the entry count, a u32.
        first: first as u32,
        n: n as u32,
        values: values.range.clone(),
        search,
        structure_bytes,
    })
}
