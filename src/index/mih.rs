//! Multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with
//! Multi-Index Hashing", CVPR 2012), exact.
//!
//! A hash of `B` bits is cut into `m` substrings. If two hashes are within distance `r`,
//! their substring distances add up to at most `r`, so they cannot all exceed `r / m`.
//! Sharper (the paper's Proposition 1): writing `r = q·m + a` with `0 <= a < m`, at least one
//! of the first `a + 1` substrings is within `q`, or one of the others is within `q - 1`
//! (otherwise the sum would be at least `(a + 1)(q + 1) + (m - a - 1) q = r + 1`). So a
//! query looks up, in each substring's table, every bucket within that radius of its own
//! substring, and checks each candidate's full distance. Nothing within `r` is missed and
//! nothing beyond `r` is returned.
//!
//! A table maps a substring value to the positions of the values having it: `2^bits + 1`
//! bucket offsets and the positions grouped by bucket. The values are sorted, so the table
//! of the first (most significant) substring is the values array itself and stores only
//! offsets.
//!
//! A candidate found in more than one table is reported by the first table that finds it:
//! a later table skips it if an earlier table's substring is within that table's radius.
//!
//! The number of buckets to probe and the candidates in them are counted before any
//! candidate is read (`MihTables::candidates`); when that costs more than a scan (large
//! radius, clustered data, see `plan`) the search answers
//! `Probe::ScanCheaper` and the caller scans instead.
//!
//! `MihTables` is the typed view over a kind's tables: build, verify, search; `Table`
//! is one table's place in the file, checked on open by `Table::validate`.

use std::ops::Range;

use rayon::prelude::*;

use crate::index::format::MAX_MIH_BITS;
use crate::index::plan::{scan_cost, Probe, CANDIDATE_COST, PROBE_COST};
use crate::index::values::{distance, read_words, Found, Query, Values};
use crate::index::wire::{put_u32, u32_at};
use crate::index::IndexError;

/// One substring: `bits` bits starting `start` bits from the most significant end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub start: u32,
    pub bits: u32,
}

impl Spec {
    /// The section parameter encoding the spec.
    pub fn param(self) -> u64 {
        (u64::from(self.start) << 8) | u64::from(self.bits)
    }

    /// The spec of a section parameter.
    pub fn from_param(p: u64) -> Option<Spec> {
        let bits = u32::try_from(p & 0xff).ok()?;
        let start = u32::try_from(p >> 8).ok()?;
        (1..=MAX_MIH_BITS).contains(&bits).then_some(Spec { start, bits })
    }
}

/// The substrings for `n` values of `width` bits: `substrings` of them if given, otherwise
/// about `log2(n)` bits each so that a bucket holds about one value.
pub(crate) fn plan(width: u32, n: usize, substrings: Option<u8>) -> Vec<Spec> {
    // A bucket array has 2^bits entries: keep it near the entry count whatever is asked.
    let log2 = usize::BITS - n.max(1).leading_zeros() - 1;
    let max_bits = (log2 + 2).clamp(8, 24);
    let min_m = width.div_ceil(max_bits);
    let m = match substrings {
        Some(m) => u32::from(m).clamp(min_m, width),
        None => width.div_ceil(log2.clamp(8, 24)),
    };
    let (base, extra) = (width / m, width % m);
    let mut start = 0;
    (0..m)
        .map(|j| {
            let bits = base + u32::from(j < extra);
            let spec = Spec { start, bits };
            start += bits;
            spec
        })
        .collect()
}

/// The substring `spec` of a value (bit 0 = most significant bit of word 0).
#[inline]
pub(crate) fn substring(w: &[u64; 4], words: usize, spec: Spec) -> u32 {
    let i = (spec.start / 64) as usize;
    let o = spec.start % 64;
    let hi = if i < words { w[i] << o } else { 0 };
    let lo = if o > 0 && i + 1 < words { w[i + 1] >> (64 - o) } else { 0 };
    ((hi | lo) >> (64 - spec.bits)) as u32
}

/// Builds the table bytes of `spec` over the encoded `values`.
fn build_table(values: &[u8], words: usize, spec: Spec) -> Vec<u8> {
    let n = values.len() / (words * 8);
    let buckets = 1usize << spec.bits;
    let keys: Vec<u32> =
        (0..n).map(|p| read_words(values, p, words).map_or(0, |w| substring(&w, words, spec))).collect();
    let mut offsets = vec![0u32; buckets + 1];
    for &k in &keys {
        offsets[k as usize + 1] += 1;
    }
    for i in 0..buckets {
        offsets[i + 1] += offsets[i];
    }
    let implicit = spec.start == 0;
    let mut out = Vec::with_capacity((buckets + 1) * 4 + if implicit { 0 } else { n * 4 });
    offsets.iter().for_each(|&o| put_u32(&mut out, o));
    if !implicit {
        let mut next = offsets;
        let mut positions = vec![0u32; n];
        for (p, &k) in keys.iter().enumerate() {
            positions[next[k as usize] as usize] = p as u32;
            next[k as usize] += 1;
        }
        positions.iter().for_each(|&p| put_u32(&mut out, p));
    }
    out
}

/// A table as found in an opened index.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    pub spec: Spec,
    pub offsets: Range<usize>,
    /// `None` for the implicit table of the first substring.
    pub positions: Option<Range<usize>>,
}

impl Table {
    /// Checks a table section's length for `n` values and splits it.
    pub fn validate(spec: Spec, range: Range<usize>, n: usize) -> Result<Table, IndexError> {
        let offsets_len = ((1usize << spec.bits) + 1) * 4;
        let implicit = spec.start == 0;
        let want = offsets_len.checked_add(if implicit { 0 } else { n.saturating_mul(4) });
        if want != Some(range.len()) {
            return Err(IndexError::corrupt(
                "MIH table",
                format!("length {} does not fit its shape", range.len()),
            ));
        }
        let mid = range.start + offsets_len;
        Ok(Table { spec, offsets: range.start..mid, positions: (!implicit).then_some(mid..range.end) })
    }
}

/// Calls `f` on every `bits`-bit key within `radius` of `key`; stops when `f` returns false.
fn for_each_near(key: u32, from: u32, bits: u32, radius: u32, f: &mut dyn FnMut(u32) -> bool) -> bool {
    if !f(key) {
        return false;
    }
    if radius == 0 {
        return true;
    }
    for b in from..bits {
        if !for_each_near(key ^ (1 << b), b + 1, bits, radius - 1, f) {
            return false;
        }
    }
    true
}

/// Number of keys within `radius` of a `bits`-bit key (saturating).
fn ball(bits: u32, radius: u32) -> u64 {
    let mut total = 0u64;
    let mut c = 1u64;
    for i in 0..=radius.min(bits) {
        total = total.saturating_add(c);
        c = c.saturating_mul(u64::from(bits - i)) / u64::from(i + 1);
    }
    total
}

/// Search radius of table `j` of `m` for query radius `r` (`None`: skip the table).
fn table_radius(j: usize, m: usize, r: u32) -> Option<u32> {
    let m32 = m as u32;
    let (q, a) = (r / m32, r % m32);
    if (j as u32) <= a {
        Some(q)
    } else {
        q.checked_sub(1)
    }
}

/// The buckets a query reads, counted before any is read: `(table, first, end)` ranges of
/// the tables' positions, and what reading them costs (in `plan`'s units).
#[derive(Clone, Debug, Default)]
pub(crate) struct Candidates {
    pub cost: u64,
    ranges: Vec<(usize, u32, u32)>,
}

/// A kind's MIH tables over its values, in the file `data`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MihTables<'a> {
    data: &'a [u8],
    tables: &'a [Table],
    values: Values<'a>,
}

impl<'a> MihTables<'a> {
    /// The view of `tables` (checked by [`Table::validate`]) in `data`, over `values`.
    pub fn new(data: &'a [u8], tables: &'a [Table], values: Values<'a>) -> MihTables<'a> {
        MihTables { data, tables, values }
    }

    /// The tables for the encoded, sorted `values` of `width` bits and `words` words: the
    /// substrings [`plan`] picks and each table's bytes (built in parallel).
    pub fn build(values: &[u8], width: u32, words: usize, substrings: Option<u8>) -> Vec<(Spec, Vec<u8>)> {
        let n = values.len() / (words * 8);
        let specs = plan(width, n, substrings);
        let tables: Vec<Vec<u8>> = specs.par_iter().map(|&spec| build_table(values, words, spec)).collect();
        specs.into_iter().zip(tables).collect()
    }

    fn bytes(&self, r: &Range<usize>) -> &'a [u8] {
        // Ranges were checked against the data on open.
        self.data.get(r.clone()).unwrap_or(&[])
    }

    /// Position `k` of table `t`.
    #[inline]
    fn position(&self, t: &Table, k: u32) -> Option<u32> {
        match &t.positions {
            None => Some(k),
            Some(p) => u32_at(self.bytes(p), k as usize * 4),
        }
    }

    /// Checks every bucket of every table: offsets that span the values in order, and each
    /// value in its substring's bucket, once.
    pub fn verify(&self) -> Result<(), IndexError> {
        let (n, words, kind) = (self.values.len(), self.values.words(), self.values.kind());
        for t in self.tables {
            let offsets = self.bytes(&t.offsets);
            let bad = |why: &str| {
                IndexError::corrupt("MIH table", format!("{kind} table at bit {}: {why}", t.spec.start))
            };
            let buckets = 1usize << t.spec.bits;
            if u32_at(offsets, 0) != Some(0) || u32_at(offsets, buckets * 4).map(|o| o as usize) != Some(n) {
                return Err(bad("offsets do not span the values"));
            }
            let mut seen = vec![false; n];
            for bucket in 0..buckets {
                let (a, z) = (u32_at(offsets, bucket * 4), u32_at(offsets, bucket * 4 + 4));
                let (Some(a), Some(z)) = (a, z) else { return Err(bad("truncated")) };
                if a > z || z as usize > n {
                    return Err(bad("offsets out of order"));
                }
                for k in a..z {
                    let pos = self.position(t, k).ok_or_else(|| bad("truncated"))?;
                    let v = self.values.words_at(pos as usize).ok_or_else(|| bad("position out of range"))?;
                    if substring(&v, words, t.spec) as usize != bucket || seen[pos as usize] {
                        return Err(bad("value in the wrong bucket or twice"));
                    }
                    seen[pos as usize] = true;
                }
            }
        }
        Ok(())
    }

    /// Counts the buckets and candidates `q` would read; `None` as soon as the cost exceeds
    /// `budget`.
    pub fn candidates(&self, q: &Query, budget: u64) -> Result<Option<Candidates>, IndexError> {
        let (n, words, tables) = (self.values.len(), self.values.words(), self.tables);
        let m = tables.len();
        if m == 0 {
            return Ok(None);
        }
        let mut probes = 0u64;
        for (j, t) in tables.iter().enumerate() {
            if let Some(s) = table_radius(j, m, q.radius) {
                probes = probes.saturating_add(ball(t.spec.bits, s));
            }
        }
        let expected =
            probes.saturating_mul(PROBE_COST + CANDIDATE_COST * n as u64 / (1u64 << tables[0].spec.bits));
        if expected > budget {
            return Ok(None);
        }
        let mut found = Candidates { cost: probes.saturating_mul(PROBE_COST), ranges: Vec::new() };
        let mut bad = false;
        for (j, t) in tables.iter().enumerate() {
            let Some(s) = table_radius(j, m, q.radius) else { continue };
            let key = substring(&q.words, words, t.spec);
            let offsets = self.bytes(&t.offsets);
            let over = !for_each_near(key, 0, t.spec.bits, s, &mut |k| {
                let at = k as usize * 4;
                match (u32_at(offsets, at), u32_at(offsets, at + 4)) {
                    (Some(a), Some(b)) if a <= b && b as usize <= n => {
                        if a < b {
                            found.ranges.push((j, a, b));
                            found.cost = found.cost.saturating_add(u64::from(b - a) * CANDIDATE_COST);
                        }
                        found.cost <= budget
                    }
                    _ => {
                        bad = true;
                        false
                    }
                }
            });
            if bad {
                return Err(corrupt_offsets());
            }
            if over {
                return Ok(None);
            }
        }
        Ok(Some(found))
    }

    /// Reads the `candidates` that [`MihTables::candidates`] found for `q`; pushes those
    /// within the radius, each once.
    pub fn collect(
        &self,
        q: &Query,
        candidates: &Candidates,
        out: &mut Vec<Found>,
    ) -> Result<(), IndexError> {
        let (words, tables) = (self.values.words(), self.tables);
        let m = tables.len();
        for &(j, a, b) in &candidates.ranges {
            let t = tables.get(j).ok_or_else(corrupt_offsets)?;
            for k in a..b {
                let pos = self.position(t, k).ok_or_else(corrupt_offsets)?;
                let v = self.values.words_at(pos as usize).ok_or_else(|| {
                    IndexError::corrupt("MIH table", format!("position {pos} out of range"))
                })?;
                let d = distance(&v, &q.words, words);
                if d > q.radius {
                    continue;
                }
                let seen = tables[..j].iter().enumerate().any(|(i, ti)| {
                    table_radius(i, m, q.radius).is_some_and(|s| {
                        (substring(&v, words, ti.spec) ^ substring(&q.words, words, ti.spec)).count_ones()
                            <= s
                    })
                });
                if !seen {
                    out.push((pos, d));
                }
            }
        }
        Ok(())
    }

    /// Every value within the radius of `q`, or `Probe::ScanCheaper` when `bounded` and
    /// the tables would cost more than a scan.
    pub fn search(&self, q: &Query, bounded: bool) -> Result<Probe, IndexError> {
        let budget = if bounded { scan_cost(self.values.len(), self.values.words()) } else { u64::MAX };
        let Some(candidates) = self.candidates(q, budget)? else { return Ok(Probe::ScanCheaper) };
        let mut out = Vec::new();
        self.collect(q, &candidates, &mut out)?;
        Ok(Probe::Hits(out))
    }
}

fn corrupt_offsets() -> IndexError {
    IndexError::corrupt("MIH table", "bucket offsets out of order or out of range".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_tiles_the_width() {
        for (w, n, s) in [(64, 10, None), (64, 10_000_000, None), (256, 1_000_000, None), (256, 5, Some(16))]
        {
            let p = plan(w, n, s);
            assert_eq!(p.iter().map(|s| s.bits).sum::<u32>(), w);
            assert_eq!(p[0].start, 0);
            assert!(p.iter().all(|s| s.bits <= 24));
        }
        assert_eq!(plan(256, 1_000_000, Some(16)).len(), 16);
        assert_eq!(plan(256, 5, Some(16)).len(), 32, "8-bit tables at most for 5 values");
    }

    #[test]
    fn ball_counts_neighbours() {
        assert_eq!(ball(16, 0), 1);
        assert_eq!(ball(16, 1), 17);
        assert_eq!(ball(16, 2), 1 + 16 + 120);
        let mut count = 0;
        for_each_near(5, 0, 16, 2, &mut |_| {
            count += 1;
            true
        });
        assert_eq!(count, 137);
    }

    #[test]
    fn substring_crosses_words() {
        let w = [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 0, 0];
        assert_eq!(substring(&w, 4, Spec { start: 0, bits: 16 }), 0x0123);
        assert_eq!(substring(&w, 4, Spec { start: 56, bits: 16 }), 0xeffe);
        assert_eq!(substring(&w, 1, Spec { start: 48, bits: 16 }), 0xcdef);
    }

    #[test]
    fn radii_follow_the_pigeonhole_bound() {
        // r = 8, m = 3: q = 2, a = 2: all three within 2.
        assert_eq!((0..3).map(|j| table_radius(j, 3, 8)).collect::<Vec<_>>(), [Some(2); 3]);
        // r = 8, m = 4: the first within 2, the others within 1.
        assert_eq!(
            (0..4).map(|j| table_radius(j, 4, 8)).collect::<Vec<_>>(),
            [Some(2), Some(1), Some(1), Some(1)]
        );
        // r = 2, m = 4: the first three within 0, the last not at all.
        assert_eq!(
            (0..4).map(|j| table_radius(j, 4, 2)).collect::<Vec<_>>(),
            [Some(0), Some(0), Some(0), None]
        );
    }
}
