//! The TMK+PDQF part of a segment: each distinct signature once, beside the `tmk` kind's
//! digest values, and the search by the reference's two-level score.
//!
//! A `tmk` entry's value is the SHA-256 of its signature's `.tmk` bytes, so exact lookups,
//! withdrawals and deltas work on it like on any digest. Two more sections of the `tmk`
//! kind hold the signatures, one record per distinct value, in value order:
//!
//! | tag | name | param | contents |
//! | --- | --- | --- | --- |
//! | 19 | TMK signatures | number of distinct values `D` | `D` records of 24 bytes (first value position `u32`, number of equal values `u32`, offset `u64` from the section's start, length `u64`), then the `.tmk` bytes of each signature, each 8-byte aligned |
//! | 20 | TMK averages | `D` | the 256 `f32` pure-average features of each signature (1,024 bytes each), for the level-1 scan |
//!
//! Opening checks the record and average counts against the section lengths; a query
//! checks every record it reads (positions and bytes inside their sections); `verify`
//! checks all of it: records in value order covering every value exactly once, each
//! signature parsing and hashing to its value, and its averages equal to the copy.
//!
//! A query's level-1 score is computed against every average (a scan: 1 KiB per distinct
//! video, contiguous), exactly as [`crate::video::tmk::level1`] computes it; only the
//! signatures at or above the level-1 threshold are parsed and scored at level 2, with the
//! indexed signature as the reference's `a` (its normaliser). The search is exact with
//! respect to the two-level rule: it returns every entry whose scores pass both
//! thresholds, and no other.

use std::ops::Range;

use crate::catalog::Signatures;
use crate::hash::{HashValue, Kind, Sha256};
use crate::index::values::Values;
use crate::index::wire::{put_u32, put_u64, read_u32, read_u64, record, to_usize};
use crate::index::IndexError;
use crate::video::tmk::{self, Signature, PDQF_DIMENSION};

/// Length of one signature record.
pub(crate) const RECORD_LEN: usize = 24;
/// Length of one signature's averages in the averages section.
pub(crate) const AVERAGE_LEN: usize = 4 * PDQF_DIMENSION;

/// One entry whose signature passes both thresholds against a query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TmkHit {
    /// The entry number, for [`crate::index::Index::entry`].
    pub entry: u32,
    /// The level-1 score (cosine of the pure averages).
    pub level1: f32,
    /// The level-2 score (the temporal match kernel), with the indexed signature as `a`.
    pub level2: f32,
}

/// The two ranges of a segment's TMK sections, checked to hold `count` records.
#[derive(Clone, Debug)]
pub(crate) struct TmkSections {
    pub signatures: Range<usize>,
    pub averages: Range<usize>,
    pub count: usize,
}

/// One record of the signatures section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SignatureRecord {
    pos: u32,
    dup: u32,
    offset: u64,
    len: u64,
}

impl SignatureRecord {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.pos);
        put_u32(out, self.dup);
        put_u64(out, self.offset);
        put_u64(out, self.len);
    }

    fn decode(rec: &[u8]) -> Result<SignatureRecord, IndexError> {
        Ok(SignatureRecord {
            pos: read_u32(rec, 0, "TMK record position")?,
            dup: read_u32(rec, 4, "TMK record count")?,
            offset: read_u64(rec, 8, "TMK record offset")?,
            len: read_u64(rec, 16, "TMK record length")?,
        })
    }
}

/// The two sections for the sorted `tmk` values `values` (equal values adjacent), with each
/// signature from `signatures`: `(param, signatures section, averages section)`. Fails when
/// a value has no signature.
pub(crate) fn build(
    values: &[&HashValue],
    signatures: &Signatures,
) -> Result<(u64, Vec<u8>, Vec<u8>), IndexError> {
    let mut runs: Vec<(Sha256, u32, u32)> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let HashValue::Tmk(d) = v else {
            return Err(IndexError::BadCatalog(format!("{v} among the tmk values")));
        };
        match runs.last_mut() {
            Some((last, _, dup)) if last == d => *dup += 1,
            _ => runs.push((*d, i as u32, 1)),
        }
    }
    let mut records = Vec::with_capacity(runs.len() * RECORD_LEN);
    let mut blobs: Vec<u8> = Vec::new();
    let mut averages = Vec::with_capacity(runs.len() * AVERAGE_LEN);
    let head = runs.len() * RECORD_LEN;
    for (digest, pos, dup) in &runs {
        let bytes = signatures.get(digest).ok_or_else(|| {
            IndexError::BadCatalog(format!("tmk entry {digest} has no signature in the catalog"))
        })?;
        let sig = Signature::read(bytes)
            .map_err(|e| IndexError::BadCatalog(format!("tmk signature {digest}: {e}")))?;
        let offset = (head + blobs.len()) as u64;
        SignatureRecord { pos: *pos, dup: *dup, offset, len: bytes.len() as u64 }.encode(&mut records);
        blobs.extend_from_slice(bytes);
        blobs.resize(blobs.len().next_multiple_of(8), 0);
        sig.pure_average().iter().for_each(|v| averages.extend_from_slice(&v.to_le_bytes()));
    }
    records.extend_from_slice(&blobs);
    Ok((runs.len() as u64, records, averages))
}

/// Checks the shapes of a `tmk` kind's two sections at open: both present with the same
/// count, at most one record per value, lengths that hold the records and the averages.
pub(crate) fn validate(
    signatures: Option<(u64, Range<usize>)>,
    averages: Option<(u64, Range<usize>)>,
    n_values: usize,
) -> Result<TmkSections, IndexError> {
    let bad = |detail: String| IndexError::corrupt("TMK sections", detail);
    let (Some((count, signatures)), Some((count2, averages))) = (signatures, averages) else {
        return Err(bad("a tmk kind needs both its signatures and its averages".to_string()));
    };
    let count = to_usize(count, "TMK signature count")?;
    if count2 != count as u64 || count == 0 || count > n_values {
        return Err(bad(format!("{count} signatures, {count2} averages, for {n_values} values")));
    }
    if count.checked_mul(RECORD_LEN).is_none_or(|l| l > signatures.len()) {
        return Err(bad(format!("{count} records overrun the signatures section")));
    }
    if count.checked_mul(AVERAGE_LEN) != Some(averages.len()) {
        return Err(bad(format!("averages section of {} bytes for {count} signatures", averages.len())));
    }
    Ok(TmkSections { signatures, averages, count })
}

impl TmkSections {
    /// Record `i`, checked against the section and the `n` values.
    fn record(&self, data: &[u8], i: usize, n: u32) -> Result<SignatureRecord, IndexError> {
        let section = &data[self.signatures.clone()];
        let r = SignatureRecord::decode(record(section, i, RECORD_LEN, "TMK record")?)?;
        let end_pos = u64::from(r.pos) + u64::from(r.dup);
        let in_bounds = r.offset.checked_add(r.len).is_some_and(|e| e <= section.len() as u64);
        if r.dup == 0 || end_pos > u64::from(n) || !in_bounds || r.offset < (self.count * RECORD_LEN) as u64 {
            return Err(IndexError::corrupt("TMK signatures", format!("record {i} out of bounds")));
        }
        Ok(r)
    }

    /// The bytes of record `r`'s signature.
    fn bytes<'a>(&self, data: &'a [u8], r: &SignatureRecord) -> &'a [u8] {
        // `record` checked the range against the section.
        &data[self.signatures.clone()][r.offset as usize..(r.offset + r.len) as usize]
    }

    /// The averages of signature `i` (checked at open to exist).
    fn average(&self, data: &[u8], i: usize, out: &mut [f32; PDQF_DIMENSION]) {
        let at = self.averages.start + i * AVERAGE_LEN;
        for (o, b) in out.iter_mut().zip(data[at..at + AVERAGE_LEN].chunks_exact(4)) {
            *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }

    /// The signature bytes of the value `digest`, found by binary search of the values.
    pub fn signature<'a>(
        &self,
        data: &'a [u8],
        values: &Values<'_>,
        n: u32,
        digest: &Sha256,
    ) -> Result<Option<&'a [u8]>, IndexError> {
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let r = self.record(data, mid, n)?;
            let value = values.raw(r.pos as usize);
            match value.cmp(&digest.0[..]) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(self.bytes(data, &r))),
            }
        }
        Ok(None)
    }

    /// Every signature, by value.
    pub fn all(&self, data: &[u8], values: &Values<'_>, n: u32) -> Result<Signatures, IndexError> {
        let mut out = Signatures::default();
        for i in 0..self.count {
            let r = self.record(data, i, n)?;
            let value = values.raw(r.pos as usize);
            let digest = Sha256(value.try_into().map_err(|_| IndexError::corrupt("values", "tmk".into()))?);
            out.insert_checked(digest, self.bytes(data, &r).into());
        }
        Ok(out)
    }

    /// The value positions (local to the kind) of every signature passing both
    /// thresholds against `query`, with its scores. Signatures that cannot be scored
    /// against the query (another frame rate or other periods) pass neither.
    pub fn search(
        &self,
        data: &[u8],
        n: u32,
        query: &Signature,
        level1: f32,
        level2: f32,
    ) -> Result<Vec<(Range<u32>, f32, f32)>, IndexError> {
        let mut out = Vec::new();
        let mut average = [0f32; PDQF_DIMENSION];
        for i in 0..self.count {
            self.average(data, i, &mut average);
            let l1 = tmk::cosine(&average, query.pure_average());
            // NaN never passes.
            let passes = l1 >= level1;
            if !passes {
                continue;
            }
            let r = self.record(data, i, n)?;
            let known = Signature::read(self.bytes(data, &r))
                .map_err(|e| IndexError::corrupt("TMK signatures", format!("record {i}: {e}")))?;
            let Ok(l2) = tmk::level2(&known, query) else { continue };
            if l2 >= level2 {
                out.push((r.pos..r.pos + r.dup, l1, l2));
            }
        }
        Ok(out)
    }

    /// Checks everything: records in value order covering each of the `n` values once,
    /// each signature parsing, hashing to its value and having its averages copied.
    pub fn verify(&self, data: &[u8], values: &Values<'_>, n: u32) -> Result<(), IndexError> {
        let bad = |detail: String| IndexError::corrupt("TMK signatures", detail);
        let mut next = 0u32;
        let mut end = (self.count * RECORD_LEN) as u64;
        let mut average = [0f32; PDQF_DIMENSION];
        for i in 0..self.count {
            let r = self.record(data, i, n)?;
            if r.pos != next || r.offset != end.next_multiple_of(8) {
                return Err(bad(format!("record {i} is not where the previous one ends")));
            }
            let value = values.raw(r.pos as usize);
            if (1..r.dup).any(|k| values.raw((r.pos + k) as usize) != value)
                || (r.pos + r.dup < n && values.raw((r.pos + r.dup) as usize) == value)
            {
                return Err(bad(format!("record {i} does not cover one run of equal values")));
            }
            let bytes = self.bytes(data, &r);
            if crate::catalog::digest_of(bytes).0[..] != *value {
                return Err(bad(format!("signature {i} does not hash to its value")));
            }
            let sig = Signature::read(bytes).map_err(|e| bad(format!("signature {i}: {e}")))?;
            self.average(data, i, &mut average);
            if sig.pure_average().iter().zip(&average).any(|(a, b)| a.to_bits() != b.to_bits()) {
                return Err(IndexError::corrupt("TMK averages", format!("signature {i}'s differ")));
            }
            next = r.pos + r.dup;
            end = r.offset + r.len;
        }
        if next != n {
            return Err(bad(format!("the records cover {next} of {n} values")));
        }
        Ok(())
    }
}

/// Whether `kind` carries TMK sections.
pub(crate) fn has_sections(kind: Kind) -> bool {
    kind == Kind::Tmk
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::catalog::{Catalog, Entry, ListInfo, Signatures};
    use crate::hash::HashValue;
    use crate::index::{build, BuildOptions, Index, IndexError, Segment};
    use crate::video::tmk::{self, Signature, PDQF_DIMENSION};
    use crate::video::tmk_hash::TmkBuilder;

    /// A signature of `frames` frames drifting from a random start: `seed`s close together
    /// give related videos only when `base` is shared.
    /// A xorshift generator of floats in [-0.5, 0.5).
    fn floats(seed: u64) -> impl FnMut() -> f32 {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        }
    }

    /// A signature of `frames` frames drifting from a start drawn from `base`, with noise
    /// drawn from `noise`: signatures sharing `base` are related videos.
    fn signature(base: u64, noise: u64, frames: usize) -> Signature {
        let (mut next, mut wobble) = (floats(base), floats(noise ^ 0x5555));
        let mut b = TmkBuilder::new();
        let mut feature = [0f32; PDQF_DIMENSION];
        feature.iter_mut().for_each(|f| *f = next());
        for _ in 0..frames {
            feature.iter_mut().for_each(|f| *f += 0.2 * next() + 0.05 * wobble());
            b.add_frame(&feature);
        }
        b.finish().unwrap()
    }

    fn catalog(sigs: &[(&str, &Signature)]) -> Catalog {
        let mut signatures = Signatures::default();
        let mut entries = Vec::new();
        for (id, s) in sigs {
            let d = signatures.insert(Arc::from(s.write()));
            entries.push(Entry {
                value: HashValue::Tmk(d),
                id: id.to_string(),
                label: String::new(),
                lists: vec![0],
            });
        }
        Catalog { lists: vec![ListInfo { name: "l".into(), ..Default::default() }], entries, signatures }
    }

    #[test]
    fn search_returns_exactly_the_entries_passing_both_scores() {
        let known: Vec<Signature> = (0..5).map(|i| signature(i / 2, i, 40 + i as usize)).collect();
        let ids = ["a", "b", "c", "d", "e"];
        let mut pairs: Vec<(&str, &Signature)> = ids.iter().copied().zip(known.iter()).collect();
        // The same signature under a second id: both entries are returned.
        pairs.push(("a-again", &known[0]));
        let cat = catalog(&pairs);
        let index = Index::from_bytes(build(&cat, &BuildOptions::default()).unwrap()).unwrap();
        index.verify().unwrap();
        for (q, query) in
            [signature(0, 99, 45), signature(1, 98, 41), signature(7, 97, 30)].iter().enumerate()
        {
            for (c1, c2) in [(0.7, 0.7), (-1.0, 0.0), (0.9, 0.9), (0.99, 0.0)] {
                let mut got: Vec<String> = index
                    .search_tmk(query, c1, c2)
                    .unwrap()
                    .iter()
                    .map(|h| index.entry(h.entry).unwrap().id.to_string())
                    .collect();
                got.sort();
                let mut want: Vec<String> = pairs
                    .iter()
                    .filter(|(_, s)| tmk::level1(s, query) >= c1 && tmk::level2(s, query).unwrap() >= c2)
                    .map(|(id, _)| id.to_string())
                    .collect();
                want.sort();
                assert_eq!(got, want, "query {q} at {c1}/{c2}");
            }
        }
        // The scores are the reference's, bit for bit.
        let hits = index.search_tmk(&known[2], -1.0, 0.0).unwrap();
        assert_eq!(hits.len(), pairs.len());
        for h in hits {
            let e = index.entry(h.entry).unwrap();
            let HashValue::Tmk(d) = e.value else { panic!() };
            let s = Signature::read(index.signature(&d).unwrap().unwrap()).unwrap();
            assert_eq!(h.level1.to_bits(), tmk::level1(&s, &known[2]).to_bits());
            assert_eq!(h.level2.to_bits(), tmk::level2(&s, &known[2]).unwrap().to_bits());
        }
        // The catalog gives the signatures back, so a rebuild is the same file.
        let again = index.catalog().unwrap();
        assert_eq!(again.signatures.len(), 5);
        assert_eq!(
            build(&again, &BuildOptions::default()).unwrap(),
            build(&cat, &BuildOptions::default()).unwrap()
        );
    }

    #[test]
    fn the_streaming_writer_gives_the_in_memory_builders_bytes() {
        let known: Vec<Signature> = (0..3).map(|i| signature(i, i, 12)).collect();
        let cat = catalog(&[("a", &known[0]), ("b", &known[1]), ("c", &known[2]), ("a2", &known[0])]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.mmi");
        let stream = crate::index::StreamOptions { memory: 1 << 10 };
        crate::index::build_file(cat.clone(), &BuildOptions::default(), &stream, &path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), build(&cat, &BuildOptions::default()).unwrap());
    }

    #[test]
    fn an_entry_without_its_signature_is_not_built() {
        let s = signature(1, 1, 10);
        let mut cat = catalog(&[("a", &s)]);
        cat.signatures = Signatures::default();
        assert!(matches!(build(&cat, &BuildOptions::default()), Err(IndexError::BadCatalog(_))));
    }

    #[test]
    fn damaged_tmk_sections_are_refused() {
        let (a, b) = (signature(1, 1, 20), signature(2, 2, 20));
        let bytes = build(&catalog(&[("a", &a), ("b", &b)]), &BuildOptions::default()).unwrap();
        let seg = Segment::from_bytes(bytes.clone()).unwrap();
        let sec = seg.section(crate::hash::Kind::Tmk).unwrap();
        let t = sec.tmk.clone().unwrap();
        // A flip in a record, in a signature's bytes and in an average.
        let at = [
            t.signatures.start + 3,
            t.signatures.start + 2 * super::RECORD_LEN + 1000,
            t.averages.start + 17,
        ];
        for &i in &at {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            // Refused by the checksum, and (with it recomputed) by the structure checks.
            let seg = Segment::from_bytes(bad.clone());
            assert!(seg.is_err() || seg.unwrap().verify().is_err(), "flip at {i}");
            let sum = crate::index::format::checksum(&bad);
            bad[crate::index::format::CHECKSUM_OFFSET..crate::index::format::CHECKSUM_OFFSET + 32]
                .copy_from_slice(&sum);
            match Segment::from_bytes(bad) {
                Err(_) => {}
                Ok(seg) => assert!(seg.verify().is_err(), "flip at {i} with a fresh checksum"),
            }
        }
    }
}
