//! The manifest of a segmented index: which segment files make up the index, which of
//! their entries later imports removed (tombstones), and the lists with their provenance.
//!
//! A segmented index at `INDEX` is the manifest file `INDEX` plus immutable segment files
//! (each an index file of its own, see [`format`](mod@super::format)) in the directory
//! `INDEX.segments/` beside it. A writer never changes a segment: an import writes the
//! entries it adds as a new segment and names the entries it removes as tombstones, then
//! replaces the manifest atomically ([`write_atomic`](super::write_atomic)). A reader
//! opens the manifest, then maps the segments it names. The manifest pins each segment by
//! its length and its header checksum (the SHA-256 of the segment), so a segment file
//! replaced or truncated behind the manifest's back is refused on open, and
//! [`Index::verify`](super::Index::verify) recomputes the checksums in full.
//!
//! ```text
//! header (64 bytes)
//!   0  magic        8 bytes  "MMMANIF\0"
//!   8  version      u32      FORMAT_VERSION (the index format the segments have)
//!  12  reserved     u32      0
//!  16  file_len     u64      length of the manifest in bytes
//!  24  generation   u64      grows by one with every manifest written
//!  32  checksum     32 bytes SHA-256 of the whole manifest with these 32 bytes zeroed
//! body
//!      list_count   u32, segment_count u32
//!      lists        per list: name, source, source_sha256 (each: u32 length + UTF-8),
//!                   imported_at u64, version u64, then added, updated, removed,
//!                   unchanged, rejected, skipped (u64 each)
//!      segments     per segment, oldest first: file name (u32 length + ASCII), file_len
//!                   u64, checksum 32 bytes (the segment's header checksum), entries u32,
//!                   tombstones u32
//!      tombstones   per segment in the same order, its tombstones' local entry numbers,
//!                   u32 each, strictly ascending, below its entry count
//! ```
//!
//! Everything is little-endian; nothing may follow the tombstones. A segment's file name is
//! 1-64 characters of `[A-Za-z0-9._-]`, not starting with a dot, so a manifest can only name
//! files inside the segments directory.

use crate::catalog::{ImportCounts, ListInfo};
use crate::index::format::FORMAT_VERSION;
use crate::index::IndexError;

/// The magic bytes a manifest starts with.
pub const MANIFEST_MAGIC: [u8; 8] = *b"MMMANIF\0";
/// Length of the manifest header.
const HEADER_LEN: usize = 64;
/// Offset of the checksum in the header.
const CHECKSUM_OFFSET: usize = 32;
/// Longest segment file name.
const MAX_NAME: usize = 64;

/// One segment as the manifest names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentRef {
    /// The file name inside the segments directory.
    pub file: String,
    /// The file's length in bytes.
    pub file_len: u64,
    /// The segment's header checksum (SHA-256 of the file with the field zeroed).
    pub checksum: [u8; 32],
    /// The number of entries in the segment (live or not).
    pub entries: u32,
    /// Local numbers of the segment's entries removed by later imports, ascending.
    pub tombstones: Vec<u32>,
}

/// The decoded manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Grows by one with every manifest written.
    pub generation: u64,
    /// The lists, with provenance; the segments' entries use these numbers.
    pub lists: Vec<ListInfo>,
    /// The segments, oldest first.
    pub segments: Vec<SegmentRef>,
}

/// Whether `head` (the first bytes of a file) is the start of a manifest.
pub fn is_manifest(head: &[u8]) -> bool {
    head.len() >= 8 && head[..8] == MANIFEST_MAGIC
}

/// Whether `name` is a valid segment file name.
pub fn valid_file_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

fn checksum(b: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(&b[..CHECKSUM_OFFSET]);
    h.update([0u8; 32]);
    h.update(&b[CHECKSUM_OFFSET + 32..]);
    h.finalize().into()
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The format version a manifest's first bytes name, or `None` if `head` is not the start
/// of a manifest (too short, or another magic).
pub fn version(head: &[u8]) -> Option<u32> {
    (is_manifest(head) && head.len() >= 12)
        .then(|| u32::from_le_bytes([head[8], head[9], head[10], head[11]]))
}

/// Fills in the length and checksum fields of manifest bytes `b` (at least a header
/// long), as [`Manifest::encode`] does: for tools and tests that write manifests field by
/// field. Does nothing to shorter input.
pub fn seal(b: &mut [u8]) {
    if b.len() < HEADER_LEN {
        return;
    }
    let len = b.len() as u64;
    b[16..24].copy_from_slice(&len.to_le_bytes());
    let sum = checksum(b);
    b[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 32].copy_from_slice(&sum);
}

impl Manifest {
    /// The manifest's bytes, checksum filled in. Fails if a segment's file name is not
    /// valid or its tombstones are not ascending and below its entry count.
    pub fn encode(&self) -> Result<Vec<u8>, IndexError> {
        let mut out = Vec::new();
        out.extend_from_slice(&MANIFEST_MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&[0u8; 32]);
        let count = |n: usize, what| {
            u32::try_from(n).map_err(|_| IndexError::TooLarge { what, max: u32::MAX.into() })
        };
        out.extend_from_slice(&count(self.lists.len(), "lists")?.to_le_bytes());
        out.extend_from_slice(&count(self.segments.len(), "segments")?.to_le_bytes());
        for l in &self.lists {
            put_str(&mut out, &l.name);
            put_str(&mut out, &l.source);
            put_str(&mut out, &l.source_sha256);
            let c = l.counts;
            for v in
                [l.imported_at, l.version, c.added, c.updated, c.removed, c.unchanged, c.rejected, c.skipped]
            {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        for s in &self.segments {
            if !valid_file_name(&s.file) {
                return Err(IndexError::BadCatalog(format!("bad segment file name {:?}", s.file)));
            }
            if s.tombstones.windows(2).any(|w| w[0] >= w[1])
                || s.tombstones.last().is_some_and(|&t| t >= s.entries)
            {
                return Err(IndexError::BadCatalog(format!(
                    "tombstones of {} out of order or range",
                    s.file
                )));
            }
            put_str(&mut out, &s.file);
            out.extend_from_slice(&s.file_len.to_le_bytes());
            out.extend_from_slice(&s.checksum);
            out.extend_from_slice(&s.entries.to_le_bytes());
            out.extend_from_slice(&count(s.tombstones.len(), "tombstones")?.to_le_bytes());
        }
        for s in &self.segments {
            s.tombstones.iter().for_each(|t| out.extend_from_slice(&t.to_le_bytes()));
        }
        seal(&mut out);
        Ok(out)
    }

    /// Decodes and checks a manifest: magic, version, length, checksum, and every field
    /// (names, counts, tombstones in order and in range). Any damage is an error.
    pub fn decode(b: &[u8]) -> Result<Manifest, IndexError> {
        if !is_manifest(b) {
            return Err(IndexError::BadMagic);
        }
        if b.len() < HEADER_LEN {
            return Err(IndexError::Truncated {
                what: "manifest",
                need: HEADER_LEN as u64,
                have: b.len() as u64,
            });
        }
        let mut r = Reader { b, at: 8 };
        let version = r.u32("manifest version")?;
        if version != FORMAT_VERSION {
            return Err(IndexError::Version { found: version, expected: FORMAT_VERSION });
        }
        if r.u32("manifest header")? != 0 {
            return Err(IndexError::corrupt("manifest", "reserved field is not zero".to_string()));
        }
        let file_len = r.u64("manifest length")?;
        if file_len != b.len() as u64 {
            return Err(IndexError::Truncated { what: "manifest", need: file_len, have: b.len() as u64 });
        }
        if checksum(b) != b[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 32] {
            return Err(IndexError::Checksum);
        }
        let generation = r.u64("manifest generation")?;
        r.at = HEADER_LEN;
        let n_lists = r.u32("list count")? as usize;
        let n_segments = r.u32("segment count")? as usize;
        let mut lists = Vec::new();
        for _ in 0..n_lists {
            let name = r.string("list name")?;
            let source = r.string("list source")?;
            let source_sha256 = r.string("list source sha256")?;
            let mut v = [0u64; 8];
            for slot in &mut v {
                *slot = r.u64("list record")?;
            }
            let [imported_at, version, added, updated, removed, unchanged, rejected, skipped] = v;
            let counts = ImportCounts { added, updated, removed, unchanged, rejected, skipped };
            lists.push(ListInfo { name, source, source_sha256, imported_at, version, counts });
        }
        let mut segments = Vec::new();
        let mut dead_counts = Vec::new();
        for _ in 0..n_segments {
            let file = r.string("segment file name")?;
            if !valid_file_name(&file) {
                return Err(IndexError::corrupt("manifest", format!("bad segment file name {file:?}")));
            }
            let file_len = r.u64("segment length")?;
            let mut checksum = [0u8; 32];
            checksum.copy_from_slice(r.take(32, "segment checksum")?);
            let entries = r.u32("segment entries")?;
            let dead = r.u32("segment tombstones")?;
            if dead > entries {
                return Err(IndexError::corrupt("manifest", format!("{file}: more tombstones than entries")));
            }
            dead_counts.push(dead as usize);
            segments.push(SegmentRef { file, file_len, checksum, entries, tombstones: Vec::new() });
        }
        for (s, n) in segments.iter_mut().zip(dead_counts) {
            let raw = r.take(
                n.checked_mul(4).ok_or_else(|| IndexError::corrupt("manifest", "tombstones".into()))?,
                "tombstones",
            )?;
            let dead: Vec<u32> =
                raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            if dead.windows(2).any(|w| w[0] >= w[1]) || dead.last().is_some_and(|&t| t >= s.entries) {
                return Err(IndexError::corrupt(
                    "manifest",
                    format!("{}: tombstones out of order or range", s.file),
                ));
            }
            s.tombstones = dead;
        }
        if r.at != b.len() {
            return Err(IndexError::corrupt("manifest", "bytes after the tombstones".to_string()));
        }
        let mut names: Vec<&str> = segments.iter().map(|s| s.file.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(IndexError::corrupt("manifest", "a segment is named twice".to_string()));
        }
        Ok(Manifest { generation, lists, segments })
    }
}

/// Checked reads from the manifest bytes.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], IndexError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or(IndexError::Truncated {
            what,
            need: (self.at as u64).saturating_add(n as u64),
            have: self.b.len() as u64,
        })?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, IndexError> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, IndexError> {
        let s = self.take(8, what)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        Ok(u64::from_le_bytes(w))
    }

    fn string(&mut self, what: &'static str) -> Result<String, IndexError> {
        let n = self.u32(what)? as usize;
        let s = self.take(n, what)?;
        String::from_utf8(s.to_vec()).map_err(|_| IndexError::corrupt(what, "not UTF-8".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            generation: 7,
            lists: vec![ListInfo {
                name: "ncmec".into(),
                source: "a.xml, b.xml".into(),
                source_sha256: "ab,cd".into(),
                imported_at: 1_700_000_000,
                version: 3,
                counts: ImportCounts {
                    added: 1,
                    updated: 2,
                    removed: 3,
                    unchanged: 4,
                    rejected: 5,
                    skipped: 6,
                },
            }],
            segments: vec![
                SegmentRef {
                    file: "g1.seg".into(),
                    file_len: 4096,
                    checksum: [9; 32],
                    entries: 10,
                    tombstones: vec![0, 4, 9],
                },
                SegmentRef {
                    file: "g7.seg".into(),
                    file_len: 512,
                    checksum: [1; 32],
                    entries: 2,
                    tombstones: vec![],
                },
            ],
        }
    }

    #[test]
    fn round_trips() {
        let m = sample();
        let bytes = m.encode().unwrap();
        assert!(is_manifest(&bytes));
        assert_eq!(Manifest::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn every_byte_flip_and_truncation_is_refused() {
        let bytes = sample().encode().unwrap();
        for at in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = bytes.clone();
                bad[at] ^= bit;
                assert!(Manifest::decode(&bad).is_err(), "flip of bit {bit:#x} at {at} accepted");
            }
        }
        for len in 0..bytes.len() {
            assert!(Manifest::decode(&bytes[..len]).is_err(), "truncation to {len} accepted");
        }
    }

    #[test]
    fn names_outside_the_directory_are_refused() {
        for bad in ["", "../x", "a/b", ".hidden", "x y", &"a".repeat(65)] {
            assert!(!valid_file_name(bad), "{bad:?}");
            let mut m = sample();
            m.segments[0].file = bad.to_string();
            assert!(m.encode().is_err(), "{bad:?}");
        }
        assert!(valid_file_name("g00000042-1.seg"));
    }

    #[test]
    fn bad_tombstones_are_refused() {
        for dead in [vec![3, 3], vec![4, 2], vec![10]] {
            let mut m = sample();
            m.segments[0].tombstones = dead.clone();
            assert!(m.encode().is_err(), "{dead:?}");
        }
    }
}
