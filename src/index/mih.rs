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
//! candidate is read; when that costs more than a scan (large radius, clustered data) the
//! caller scans instead.

use std::ops::Range;

use crate::index::format::{u32_at, MAX_MIH_BITS};
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

/// Reads value `pos` (of `words` words) from the values section.
#[inline]
pub(crate) fn read_words(values: &[u8], pos: usize, words: usize) -> Option<[u64; 4]> {
    let mut w = [0u64; 4];
    let at = pos.checked_mul(words * 8)?;
    let b = values.get(at..at.checked_add(words * 8)?)?;
    for (slot, c) in w.iter_mut().zip(b.chunks_exact(8)) {
        let mut x = [0u8; 8];
        x.copy_from_slice(c);
        *slot = u64::from_le_bytes(x);
    }
    Some(w)
}

/// Hamming distance over the first `words` words.
#[inline]
pub(crate) fn distance(a: &[u64; 4], b: &[u64; 4], words: usize) -> u32 {
    a.iter().zip(b.iter()).take(words).map(|(x, y)| (x ^ y).count_ones()).sum()
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
pub(crate) fn build_table(values: &[u8], words: usize, spec: Spec) -> Vec<u8> {
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
    offsets.iter().for_each(|o| out.extend_from_slice(&o.to_le_bytes()));
    if !implicit {
        let mut next = offsets;
        let mut positions = vec![0u32; n];
        for (p, &k) in keys.iter().enumerate() {
            positions[next[k as usize] as usize] = p as u32;
            next[k as usize] += 1;
        }
        positions.iter().for_each(|p| out.extend_from_slice(&p.to_le_bytes()));
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

/// Checks a table section's length and splits it, for `n` values.
pub(crate) fn table_layout(spec: Spec, range: Range<usize>, n: usize) -> Result<Table, IndexError> {
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

/// Costs in units of half the time a scan takes per pHash value, calibrated on the
/// benchmark machine (AVX-512 popcount) at N = 1e6: a scan reads a pHash in about 1 ns and
/// a PDQ hash in about 1.5 ns; a bucket probe or a candidate is a random read (plus the
/// distance and the earlier-tables check for a candidate) of 60-100 ns. The first
/// calibration (probe 40, candidate 50, PDQ 3 per value) underestimated the MIH side by 1.6-4x,
/// so pHash at radius 12 and PDQ at radius 63 chose tables that ran at 0.1-0.7x a scan.
const PROBE_COST: u64 = 160;
const CANDIDATE_COST: u64 = 200;

/// What scanning all `n` values of `words` words for one query costs, in the same units.
pub(crate) fn scan_cost(n: usize, words: usize) -> u64 {
    (n as u64).saturating_mul(if words == 1 { 2 } else { 3 })
}

/// What one tiled scan of all `n` values for `k` queries costs: the first query pays a
/// full scan, each further one the share a tiled scan still spends per query (measured:
/// 8 pHash queries cost about 7 single scans, 8 PDQ queries about 5.5).
pub(crate) fn tiled_cost(n: usize, words: usize, k: usize) -> u64 {
    if k == 0 {
        return 0;
    }
    let one = scan_cost(n, words);
    let (num, den) = if words == 1 { (6, 7) } else { (5, 8) };
    one.saturating_add(one.saturating_mul(k as u64 - 1).saturating_mul(num) / den)
}

/// The buckets one query reads: `(table, first, end)` ranges of a table's positions.
pub(crate) type Ranges = Vec<(usize, u32, u32)>;

/// Counts the buckets and candidates a query would read, pushing their ranges; returns the
/// estimated cost, or `None` (ranges incomplete) as soon as it exceeds `budget`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn probe(
    data: &[u8],
    n: usize,
    words: usize,
    tables: &[Table],
    query: &[u64; 4],
    radius: u32,
    budget: u64,
    ranges: &mut Ranges,
) -> Result<Option<u64>, IndexError> {
    let m = tables.len();
    if m == 0 {
        return Ok(None);
    }
    let mut probes = 0u64;
    for (j, t) in tables.iter().enumerate() {
        if let Some(s) = table_radius(j, m, radius) {
            probes = probes.saturating_add(ball(t.spec.bits, s));
        }
    }
    let expected =
        probes.saturating_mul(PROBE_COST + CANDIDATE_COST * n as u64 / (1u64 << tables[0].spec.bits));
    if expected > budget {
        return Ok(None);
    }
    let mut cost = probes.saturating_mul(PROBE_COST);
    let mut bad = false;
    for (j, t) in tables.iter().enumerate() {
        let Some(s) = table_radius(j, m, radius) else { continue };
        let key = substring(query, words, t.spec);
        let offsets = &data[t.offsets.clone()];
        let over = !for_each_near(key, 0, t.spec.bits, s, &mut |k| {
            let at = k as usize * 4;
            match (u32_at(offsets, at), u32_at(offsets, at + 4)) {
                (Some(a), Some(b)) if a <= b && b as usize <= n => {
                    if a < b {
                        ranges.push((j, a, b));
                        cost = cost.saturating_add(u64::from(b - a) * CANDIDATE_COST);
                    }
                    cost <= budget
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
    Ok(Some(cost))
}

fn corrupt_offsets() -> IndexError {
    IndexError::corrupt("MIH table", "bucket offsets out of order or out of range".to_string())
}

/// Reads the candidates of the `ranges` that [`probe`] found for `query`; pushes
/// `(position, distance)` of those within `radius`, each once.
#[allow(clippy::too_many_arguments)]
pub(crate) fn collect(
    data: &[u8],
    values: &[u8],
    words: usize,
    tables: &[Table],
    query: &[u64; 4],
    radius: u32,
    ranges: &[(usize, u32, u32)],
    out: &mut Vec<(u32, u32)>,
) -> Result<(), IndexError> {
    let m = tables.len();
    for &(j, a, b) in ranges {
        let t = tables.get(j).ok_or_else(corrupt_offsets)?;
        for k in a..b {
            let pos = match &t.positions {
                None => k,
                Some(p) => u32_at(&data[p.clone()], k as usize * 4).ok_or_else(corrupt_offsets)?,
            };
            let v = read_words(values, pos as usize, words)
                .ok_or_else(|| IndexError::corrupt("MIH table", format!("position {pos} out of range")))?;
            let d = distance(&v, query, words);
            if d > radius {
                continue;
            }
            let seen = tables[..j].iter().enumerate().any(|(i, ti)| {
                table_radius(i, m, radius).is_some_and(|s| {
                    (substring(&v, words, ti.spec) ^ substring(query, words, ti.spec)).count_ones() <= s
                })
            });
            if !seen {
                out.push((pos, d));
            }
        }
    }
    Ok(())
}

/// The search; pushes `(position, distance)` of every value within `radius` of `query`.
/// Returns `Ok(false)` without results when `bounded` and a scan would be cheaper.
#[allow(clippy::too_many_arguments)]
pub(crate) fn search(
    data: &[u8],
    values: &[u8],
    words: usize,
    tables: &[Table],
    query: &[u64; 4],
    radius: u32,
    bounded: bool,
    out: &mut Vec<(u32, u32)>,
) -> Result<bool, IndexError> {
    let n = values.len() / (words * 8);
    let budget = if bounded { scan_cost(n, words) } else { u64::MAX };
    let mut ranges = Vec::new();
    if probe(data, n, words, tables, query, radius, budget, &mut ranges)?.is_none() {
        return Ok(false);
    }
    collect(data, values, words, tables, query, radius, &ranges, out)?;
    Ok(true)
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
