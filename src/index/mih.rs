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
//! candidate is read (`MihTables::candidates_many`); when that costs more than a scan (large
//! radius, clustered data, see `plan`) the search answers
//! `Probe::ScanCheaper` and the caller scans instead.
//!
//! `MihTables` is the typed view over a kind's tables: build, verify, search; `Table`
//! is one table's place in the file, checked on open by `Table::validate`.

use std::ops::Range;

use multiversion::multiversion;
use rayon::prelude::*;

use crate::index::fingerprint::{Challenge, Fingerprint};
use crate::index::format::MAX_MIH_BITS;
use crate::index::plan::{scan_cost, Probe, CANDIDATE_COST, CHECKED_CANDIDATE_COST, PROBE_COST};
use crate::index::values::{distance, read_words, Found, Query, Values};
use crate::index::wire::{put_u32, u32_at};
use crate::index::IndexError;

/// The flag of a section parameter whose table stores check words (see [`Spec::checked`]).
/// Substring widths are at most [`MAX_MIH_BITS`], so the bit is free in older files,
/// which never set it.
const CHECKED_FLAG: u64 = 0x80;

/// Queries whose buckets are located and prefetched together before any is read: enough
/// to keep the memory system busy, few enough that the prefetched lines stay in cache.
const GROUP: usize = 8;

/// One substring: `bits` bits starting `start` bits from the most significant end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub start: u32,
    pub bits: u32,
    /// Whether the table stores, next to each position, the value's [`check_word`]
    /// (64-bit kinds, every substring but the first, whose table is the values).
    pub checked: bool,
}

impl Spec {
    /// The section parameter encoding the spec.
    pub fn param(self) -> u64 {
        (u64::from(self.start) << 8) | u64::from(self.bits) | if self.checked { CHECKED_FLAG } else { 0 }
    }

    /// The spec of a section parameter.
    pub fn from_param(p: u64) -> Option<Spec> {
        let bits = u32::try_from(p & 0x7f).ok()?;
        let start = u32::try_from(p >> 8).ok()?;
        let checked = p & CHECKED_FLAG != 0;
        (1..=MAX_MIH_BITS).contains(&bits).then_some(Spec { start, bits, checked })
    }
}

/// The substrings for `n` values of `width` bits: `substrings` of them if given, otherwise
/// about `log2(n)` bits each so that a bucket holds about one value. The tables of a
/// 64-bit kind store check words (all but the first, which is the values array).
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
            let spec = Spec { start, bits, checked: width == 64 && start != 0 };
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

/// The check word of a 64-bit value `v` in the table of `spec`: the 32 most significant
/// bits of `v` once the substring is cut out (the bits before it, then the bits after it
/// moved up). They are bits of `v` outside the substring, so for a candidate in a bucket at
/// distance `dk` from the query's substring, `popcount(check ^ query_check) + dk` never
/// exceeds the full distance: a candidate over the radius by that sum alone is out without
/// reading its value.
#[inline]
pub(crate) fn check_word(v: u64, spec: Spec) -> u32 {
    let (s, e) = (spec.start, spec.start + spec.bits);
    let hi = if s == 0 { 0 } else { v & !(u64::MAX >> s) };
    let lo = if e >= 64 { 0 } else { (v & (u64::MAX >> e)) << spec.bits };
    ((hi | lo) >> 32) as u32
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
    let per_value = if implicit {
        0
    } else if spec.checked {
        8
    } else {
        4
    };
    let mut out = Vec::with_capacity((buckets + 1) * 4 + n * per_value);
    offsets.iter().for_each(|&o| put_u32(&mut out, o));
    if !implicit {
        let mut next = offsets;
        let mut positions = vec![0u32; n];
        for (p, &k) in keys.iter().enumerate() {
            positions[next[k as usize] as usize] = p as u32;
            next[k as usize] += 1;
        }
        if spec.checked {
            // Positions ascend within a bucket, so do the values, and (their substrings
            // being equal) so do the check words: each bucket's words are sorted.
            for &p in &positions {
                let v = read_words(values, p as usize, words).map_or(0, |w| w[0]);
                put_u32(&mut out, check_word(v, spec));
            }
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
    /// The check words, grouped by bucket like the positions (checked tables only).
    pub checks: Option<Range<usize>>,
    /// `None` for the implicit table of the first substring.
    pub positions: Option<Range<usize>>,
}

impl Table {
    /// Checks a table section's length for `n` values of `words` words and splits it.
    pub fn validate(spec: Spec, range: Range<usize>, n: usize, words: usize) -> Result<Table, IndexError> {
        let offsets_len = ((1usize << spec.bits) + 1) * 4;
        let implicit = spec.start == 0;
        if spec.checked && (implicit || words != 1) {
            return Err(IndexError::corrupt(
                "MIH table",
                "check words only on the later tables of a 64-bit kind".to_string(),
            ));
        }
        let per_value = if implicit {
            0
        } else if spec.checked {
            8
        } else {
            4
        };
        let want = n.checked_mul(per_value).and_then(|v| v.checked_add(offsets_len));
        if want != Some(range.len()) {
            return Err(IndexError::corrupt(
                "MIH table",
                format!("length {} does not fit its shape", range.len()),
            ));
        }
        let mid = range.start + offsets_len;
        let (checks, positions) = match (implicit, spec.checked) {
            (true, _) => (None, None),
            (false, false) => (None, Some(mid..range.end)),
            (false, true) => (Some(mid..mid + n * 4), Some(mid + n * 4..range.end)),
        };
        Ok(Table { spec, offsets: range.start..mid, checks, positions })
    }

    /// What reading one candidate of this table costs: a random read of the value for a
    /// table of positions, a contiguous one (the values themselves, or a check word) else.
    fn candidate_cost(&self) -> u64 {
        if self.positions.is_none() || self.checks.is_some() {
            CHECKED_CANDIDATE_COST
        } else {
            CANDIDATE_COST
        }
    }
}

/// Hints the CPU to fetch the cache line holding `bytes[at]` (nothing if out of range).
///
/// The one `unsafe` of the search: `_mm_prefetch` is only a hint. It never faults, whatever
/// the address, reads nothing the program can observe and writes nothing; the pointer here
/// is moreover inside `bytes`. On other architectures it does nothing.
#[inline(always)]
fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(p) = bytes.get(at) {
        #[allow(unsafe_code)]
        // SAFETY: a prefetch has no architectural effect and cannot fault (Intel SDM,
        // PREFETCHh: "does not affect program behavior"); SSE is part of x86_64.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                (p as *const u8).cast::<i8>(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}

/// Calls `f(key, d)` on every `bits`-bit key at distance `d <= radius` of `key` (`depth`
/// being the distance of `key` itself); stops when `f` returns false.
fn for_each_near(
    key: u32,
    from: u32,
    bits: u32,
    radius: u32,
    depth: u32,
    f: &mut dyn FnMut(u32, u32) -> bool,
) -> bool {
    if !f(key, depth) {
        return false;
    }
    if radius == 0 {
        return true;
    }
    for b in from..bits {
        if !for_each_near(key ^ (1 << b), b + 1, bits, radius - 1, depth + 1, f) {
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

/// A non-empty bucket a query reads: entries `a..b` of table `table`, whose key is at
/// distance `dk` from the query's substring.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    table: u32,
    dk: u32,
    a: u32,
    b: u32,
}

/// The buckets a query reads, located before any candidate is read, and what reading them
/// costs (in `plan`'s units).
#[derive(Clone, Debug, Default)]
pub(crate) struct Candidates {
    pub cost: u64,
    buckets: Vec<Bucket>,
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

    /// Checks every bucket of every table: offsets that span the values in order, each
    /// value in its substring's bucket, once, and each check word that of its value.
    ///
    /// The implicit table is checked entry by entry (its values are read in order). A table
    /// of positions is checked by [fingerprint](crate::index::fingerprint): the (bucket,
    /// position, check word) tuples it stores against those its values imply, both sides
    /// read in order, instead of a random read of the value of every stored position; a
    /// table whose fingerprints differ is then checked entry by entry, so that the error
    /// names what is wrong.
    pub fn verify(&self) -> Result<(), IndexError> {
        let challenge = Challenge::random();
        let explicit: Vec<usize> =
            (0..self.tables.len()).filter(|&j| self.tables[j].positions.is_some()).collect();
        for t in self.tables.iter().filter(|t| t.positions.is_none()) {
            self.verify_exactly(t)?;
        }
        let stored: Vec<Fingerprint> = explicit
            .par_iter()
            .map(|&j| self.stored_fingerprint(&self.tables[j], &challenge))
            .collect::<Result<_, _>>()?;
        let implied = self.implied_fingerprints(&explicit, &challenge);
        for ((&j, s), i) in explicit.iter().zip(&stored).zip(&implied) {
            if s != i {
                let t = &self.tables[j];
                self.verify_exactly(t)?;
                return Err(self.bad(t, "its entries are not those of its values"));
            }
        }
        Ok(())
    }

    fn bad(&self, t: &Table, why: &str) -> IndexError {
        IndexError::corrupt(
            "MIH table",
            format!("{} table at bit {}: {why}", self.values.kind(), t.spec.start),
        )
    }

    /// Offset `bucket` of `t`, and the next one, checked to be in order and within the values.
    fn bucket_range(&self, t: &Table, offsets: &[u8], bucket: usize) -> Result<(u32, u32), IndexError> {
        let (a, z) = (u32_at(offsets, bucket * 4), u32_at(offsets, bucket * 4 + 4));
        let (Some(a), Some(z)) = (a, z) else { return Err(self.bad(t, "truncated")) };
        if a > z || z as usize > self.values.len() {
            return Err(self.bad(t, "offsets out of order"));
        }
        Ok((a, z))
    }

    /// The offsets of `t` start at 0 and end at the number of values.
    fn check_span(&self, t: &Table, offsets: &[u8]) -> Result<(), IndexError> {
        let buckets = 1usize << t.spec.bits;
        if u32_at(offsets, 0) != Some(0)
            || u32_at(offsets, buckets * 4).map(|o| o as usize) != Some(self.values.len())
        {
            return Err(self.bad(t, "offsets do not span the values"));
        }
        Ok(())
    }

    /// The fingerprint of the tuples `t` stores, its offsets checked on the way.
    fn stored_fingerprint(&self, t: &Table, challenge: &Challenge) -> Result<Fingerprint, IndexError> {
        let offsets = self.bytes(&t.offsets);
        self.check_span(t, offsets)?;
        let positions = t.positions.as_ref().map_or(&[][..], |p| self.bytes(p));
        let checks = t.checks.as_ref().map(|c| self.bytes(c));
        let mut fp = Fingerprint::default();
        for bucket in 0..1usize << t.spec.bits {
            let (a, z) = self.bucket_range(t, offsets, bucket)?;
            for k in a as usize..z as usize {
                let pos = u32_at(positions, k * 4).ok_or_else(|| self.bad(t, "truncated"))?;
                let check = match checks {
                    Some(c) => u32_at(c, k * 4).ok_or_else(|| self.bad(t, "truncated"))?,
                    None => 0,
                };
                fp.push(challenge.factor(bucket as u32, challenge.scaled_b(pos), check));
            }
        }
        Ok(fp)
    }

    /// The fingerprints of the tuples the values imply for each of the `tables`, from one
    /// pass over the values (in parallel chunks).
    fn implied_fingerprints(&self, tables: &[usize], challenge: &Challenge) -> Vec<Fingerprint> {
        const CHUNK: usize = 1 << 16;
        let (n, words) = (self.values.len(), self.values.words());
        let none = || vec![Fingerprint::default(); tables.len()];
        (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut fps = none();
                for pos in c * CHUNK..n.min((c + 1) * CHUNK) {
                    let v = self.values.words_at(pos).unwrap_or_default();
                    let yb = challenge.scaled_b(pos as u32);
                    for (fp, &j) in fps.iter_mut().zip(tables) {
                        let t = &self.tables[j];
                        let check = if t.checks.is_some() { check_word(v[0], t.spec) } else { 0 };
                        fp.push(challenge.factor(substring(&v, words, t.spec), yb, check));
                    }
                }
                fps
            })
            .reduce(none, |a, b| a.into_iter().zip(b).map(|(x, y)| x.combine(y)).collect())
    }

    /// Checks `t` entry by entry: the value of every stored position (a random read each).
    fn verify_exactly(&self, t: &Table) -> Result<(), IndexError> {
        let (n, words) = (self.values.len(), self.values.words());
        let offsets = self.bytes(&t.offsets);
        let checks = t.checks.as_ref().map(|c| self.bytes(c));
        self.check_span(t, offsets)?;
        let mut seen = vec![false; n];
        for bucket in 0..1usize << t.spec.bits {
            let (a, z) = self.bucket_range(t, offsets, bucket)?;
            for k in a..z {
                let pos = self.position(t, k).ok_or_else(|| self.bad(t, "truncated"))?;
                let v =
                    self.values.words_at(pos as usize).ok_or_else(|| self.bad(t, "position out of range"))?;
                if substring(&v, words, t.spec) as usize != bucket || seen[pos as usize] {
                    return Err(self.bad(t, "value in the wrong bucket or twice"));
                }
                if let Some(c) = checks {
                    if u32_at(c, k as usize * 4) != Some(check_word(v[0], t.spec)) {
                        return Err(self.bad(t, "check word does not match its value"));
                    }
                }
                seen[pos as usize] = true;
            }
        }
        Ok(())
    }

    /// What `q` is expected to cost before any bucket is read: the probes and the average
    /// bucket's candidates. Returns `(probes, expected cost)`.
    fn expected(&self, q: &Query) -> (u64, u64) {
        let (n, m) = (self.values.len() as u64, self.tables.len());
        let (mut probes, mut cost) = (0u64, 0u64);
        for (j, t) in self.tables.iter().enumerate() {
            if let Some(s) = table_radius(j, m, q.radius) {
                let p = ball(t.spec.bits, s);
                probes = probes.saturating_add(p);
                let per = PROBE_COST + t.candidate_cost() * n / (1u64 << t.spec.bits);
                cost = cost.saturating_add(p.saturating_mul(per));
            }
        }
        (probes, cost)
    }

    /// Locates the buckets and counts the candidates each of `qs` would read (`None` for a
    /// query whose cost exceeds `budget`), staged so that the cache misses of all
    /// of them overlap: every bucket's offsets are located and prefetched first, then read,
    /// and each non-empty bucket's first candidate prefetched for [`MihTables::collect`].
    pub fn candidates_many(&self, qs: &[Query], budget: u64) -> Vec<Result<Option<Candidates>, IndexError>> {
        let (n, words, tables) = (self.values.len(), self.values.words(), self.tables);
        let m = tables.len();
        // Stage 1: every key to probe, its offsets prefetched.
        let mut probes: Vec<Vec<(u32, u32, u32)>> = Vec::with_capacity(qs.len());
        let mut costs: Vec<Option<u64>> = Vec::with_capacity(qs.len());
        for q in qs {
            let (count, expected) = self.expected(q);
            if m == 0 || expected > budget {
                probes.push(Vec::new());
                costs.push(None);
                continue;
            }
            let mut keys = Vec::with_capacity(count.min(1 << 20) as usize);
            for (j, t) in tables.iter().enumerate() {
                let Some(s) = table_radius(j, m, q.radius) else { continue };
                let key = substring(&q.words, words, t.spec);
                let offsets = self.bytes(&t.offsets);
                for_each_near(key, 0, t.spec.bits, s, 0, &mut |k, d| {
                    prefetch(offsets, k as usize * 4);
                    keys.push((j as u32, k, d));
                    true
                });
            }
            probes.push(keys);
            costs.push(Some(count.saturating_mul(PROBE_COST)));
        }
        // Stage 2: the offsets read, each bucket's candidates prefetched.
        let mut out = Vec::with_capacity(qs.len());
        for (keys, cost) in probes.into_iter().zip(costs) {
            let Some(mut cost) = cost else {
                out.push(Ok(None));
                continue;
            };
            let mut buckets = Vec::new();
            let mut result = Ok(());
            for (j, k, dk) in keys {
                let t = &tables[j as usize];
                let offsets = self.bytes(&t.offsets);
                let at = k as usize * 4;
                let (a, b) = match (u32_at(offsets, at), u32_at(offsets, at + 4)) {
                    (Some(a), Some(b)) if a <= b && b as usize <= n => (a, b),
                    _ => {
                        result = Err(corrupt_offsets());
                        break;
                    }
                };
                if a == b {
                    continue;
                }
                match (&t.checks, &t.positions) {
                    (Some(c), _) => prefetch(self.bytes(c), a as usize * 4),
                    (None, Some(p)) => prefetch(self.bytes(p), a as usize * 4),
                    (None, None) => prefetch(self.values.bytes(), a as usize * words * 8),
                }
                buckets.push(Bucket { table: j, dk, a, b });
                cost = cost.saturating_add(u64::from(b - a) * t.candidate_cost());
                if cost > budget {
                    break;
                }
            }
            out.push(match result {
                Err(e) => Err(e),
                Ok(()) if cost > budget => Ok(None),
                Ok(()) => Ok(Some(Candidates { cost, buckets })),
            });
        }
        out
    }

    /// Reads the `candidates` that [`MihTables::candidates_many`] found for `q`; pushes those
    /// within the radius, each once.
    pub fn collect(
        &self,
        q: &Query,
        candidates: &Candidates,
        out: &mut Vec<Found>,
    ) -> Result<(), IndexError> {
        collect_kernel(self, q, candidates, out)
    }

    /// Every value within the radius of `q`, or `Probe::ScanCheaper` when `bounded` and
    /// the tables would cost more than a scan.
    pub fn search(&self, q: &Query, bounded: bool) -> Result<Probe, IndexError> {
        self.search_many(std::slice::from_ref(q), bounded).pop().unwrap_or(Ok(Probe::ScanCheaper))
    }

    /// [`MihTables::search`] for each of `qs`, in groups whose bucket reads overlap (see
    /// [`MihTables::candidates_many`]).
    pub fn search_many(&self, qs: &[Query], bounded: bool) -> Vec<Result<Probe, IndexError>> {
        let budget = if bounded { scan_cost(self.values.len(), self.values.words()) } else { u64::MAX };
        let mut results = Vec::with_capacity(qs.len());
        for group in qs.chunks(GROUP) {
            for (q, c) in group.iter().zip(self.candidates_many(group, budget)) {
                results.push(c.and_then(|c| match c {
                    None => Ok(Probe::ScanCheaper),
                    Some(c) => {
                        let mut found = Vec::new();
                        self.collect(q, &c, &mut found)?;
                        Ok(Probe::Hits(found))
                    }
                }));
            }
        }
        results
    }
}

/// [`MihTables::collect`], compiled for the CPU's popcount (the check-word filter and the
/// distances are one `popcnt` each where the CPU has it).
#[multiversion(targets("x86_64+avx2+popcnt", "x86_64+popcnt", "aarch64+neon"))]
fn collect_kernel<'a>(
    mt: &MihTables<'a>,
    q: &Query,
    candidates: &Candidates,
    out: &mut Vec<Found>,
) -> Result<(), IndexError> {
    let (words, tables) = (mt.values.words(), mt.tables);
    let m = tables.len();
    let out_of_range = |pos: u32| IndexError::corrupt("MIH table", format!("position {pos} out of range"));
    let mut report = |j: usize, pos: u32| -> Result<(), IndexError> {
        let v = mt.values.words_at(pos as usize).ok_or_else(|| out_of_range(pos))?;
        let d = distance(&v, &q.words, words);
        if d > q.radius {
            return Ok(());
        }
        let seen = tables[..j].iter().enumerate().any(|(i, ti)| {
            table_radius(i, m, q.radius).is_some_and(|s| {
                (substring(&v, words, ti.spec) ^ substring(&q.words, words, ti.spec)).count_ones() <= s
            })
        });
        if !seen {
            out.push((pos, d));
        }
        Ok(())
    };
    // The candidates of tables without check words (all of PDQ's), in bucket order: each is
    // a random read into the values array, so they are verified in one pass that prefetches
    // the value `AHEAD` candidates on, and the reads' misses overlap instead of queueing.
    let mut pending: Vec<(u32, u32)> = Vec::new();
    let flush = |pending: &mut Vec<(u32, u32)>,
                 report: &mut dyn FnMut(usize, u32) -> Result<(), IndexError>| {
        let (bytes, len) = (mt.values.bytes(), words * 8);
        for &(_, first) in pending.iter().take(AHEAD) {
            prefetch(bytes, first as usize * len);
            prefetch(bytes, first as usize * len + len - 1);
        }
        for i in 0..pending.len() {
            if let Some(&(_, ahead)) = pending.get(i + AHEAD) {
                let at = ahead as usize * len;
                prefetch(bytes, at);
                prefetch(bytes, at + len - 1);
            }
            let (j, pos) = pending[i];
            report(j as usize, pos)?;
        }
        pending.clear();
        Ok(())
    };
    for bucket in &candidates.buckets {
        let j = bucket.table as usize;
        let t = tables.get(j).ok_or_else(corrupt_offsets)?;
        match (&t.checks, &t.positions) {
            (Some(c), Some(p)) => {
                // Hits keep bucket order: the unchecked candidates before this bucket first.
                flush(&mut pending, &mut report)?;
                // Only the candidates whose check word leaves them within the radius
                // read their position and value.
                let limit = q.radius.saturating_sub(bucket.dk);
                let qc = check_word(q.words[0], t.spec);
                let (a, b) = (bucket.a as usize * 4, bucket.b as usize * 4);
                let checks = mt.bytes(c).get(a..b).ok_or_else(corrupt_offsets)?;
                let positions = mt.bytes(p).get(a..b).ok_or_else(corrupt_offsets)?;
                for (cw, pw) in checks.chunks_exact(4).zip(positions.chunks_exact(4)) {
                    let cw = u32::from_le_bytes([cw[0], cw[1], cw[2], cw[3]]);
                    if (cw ^ qc).count_ones() <= limit {
                        report(j, u32::from_le_bytes([pw[0], pw[1], pw[2], pw[3]]))?;
                    }
                }
            }
            _ => {
                for k in bucket.a..bucket.b {
                    pending.push((j as u32, mt.position(t, k).ok_or_else(corrupt_offsets)?));
                }
            }
        }
    }
    flush(&mut pending, &mut report)
}

/// How many candidates ahead [`collect_kernel`] prefetches values: enough to cover a
/// memory latency with a few verifications each, few enough to stay in L1.
const AHEAD: usize = 16;

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
        let mut at = [0u32; 3];
        for_each_near(5, 0, 16, 2, 0, &mut |k, d| {
            count += 1;
            assert_eq!((k ^ 5).count_ones(), d);
            at[d as usize] += 1;
            true
        });
        assert_eq!(count, 137);
        assert_eq!(at, [1, 16, 120]);
    }

    #[test]
    fn substring_crosses_words() {
        let w = [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 0, 0];
        assert_eq!(substring(&w, 4, Spec { start: 0, bits: 16, checked: false }), 0x0123);
        assert_eq!(substring(&w, 4, Spec { start: 56, bits: 16, checked: false }), 0xeffe);
        assert_eq!(substring(&w, 1, Spec { start: 48, bits: 16, checked: false }), 0xcdef);
    }

    #[test]
    fn check_word_is_the_hash_without_its_substring() {
        let v = 0x0123_4567_89ab_cdefu64;
        // Substring bits 8..30 cut out: bits 0..8, then bits 30..54 moved up.
        let spec = Spec { start: 8, bits: 22, checked: true };
        let want = ((v >> 56) << 24) | ((v >> 10) & 0xff_ffff);
        assert_eq!(check_word(v, spec), want as u32);
        // The last substring: the check word is the top 32 bits.
        assert_eq!(check_word(v, Spec { start: 43, bits: 21, checked: true }), 0x0123_4567);
        // Bits flipped inside the substring (0x3f << 40) leave the check word alone; of
        // those outside, the ones it holds show (the most significant bit) and the last
        // ten do not.
        let w = v ^ 0x8000_0000_0000_0101 ^ (0x3f << 40);
        assert_eq!((check_word(v, spec) ^ check_word(w, spec)).count_ones(), 1);
        assert_eq!(check_word(v ^ (0x3f << 40), spec), check_word(v, spec));
        assert_eq!(Spec::from_param(spec.param()), Some(spec));
        assert_eq!(Spec::from_param(Spec { checked: false, ..spec }.param()).map(|s| s.checked), Some(false));
    }

    #[test]
    fn plan_checks_the_later_tables_of_64_bit_kinds_only() {
        let p = plan(64, 10_000_000, None);
        assert_eq!(p.iter().map(|s| s.checked).collect::<Vec<_>>(), [false, true, true]);
        assert!(plan(256, 1_000_000, None).iter().all(|s| !s.checked));
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

    /// Every byte of every table of positions (offsets, check words, positions) flipped
    /// (the file's checksum would refuse the file first; this is the structure check a
    /// file with a recomputed checksum meets): the fingerprint check, and the exact check it
    /// falls back to, must refuse each one.
    #[test]
    fn verify_refuses_every_flip_of_a_table_of_positions() {
        use crate::catalog::{Catalog, Entry, ListInfo};
        use crate::hash::{HashValue, Kind, Pdq, Phash};
        use crate::index::layout::SearchView;
        use crate::index::{build, BuildOptions, Segment, Structure};

        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut values: Vec<HashValue> = (0..700).map(|_| HashValue::Phash(Phash(next()))).collect();
        values.extend((0..300).map(|_| HashValue::Pdq(Pdq { words: [next(), next(), next(), next()] })));
        let entry = |value| Entry { value, id: String::new(), label: String::new(), lists: vec![0] };
        let catalog = Catalog {
            lists: vec![ListInfo { name: "l".into(), ..ListInfo::default() }],
            entries: values.into_iter().map(entry).collect(),
            signatures: Default::default(),
        };
        let options = BuildOptions {
            pdq: Structure::Mih { substrings: Some(32) },
            phash: Structure::Mih { substrings: Some(8) },
        };
        let bytes = build(&catalog, &options).unwrap();
        let seg = Segment::from_bytes(bytes.clone()).unwrap();
        seg.verify().unwrap();
        let mut bad = bytes.clone();
        let mut flips = 0;
        for kind in [Kind::Phash, Kind::Pdq] {
            let sec = seg.section(kind).unwrap();
            let SearchView::Mih(mt) = sec.structure(&bytes) else { panic!("{kind}: no MIH") };
            let mut ranges = Vec::new();
            for t in mt.tables.iter().filter(|t| t.positions.is_some()) {
                ranges.extend(
                    [Some(t.offsets.clone()), t.checks.clone(), t.positions.clone()].into_iter().flatten(),
                );
            }
            for i in ranges.into_iter().flatten() {
                bad[i] ^= 0x01;
                let SearchView::Mih(damaged) = sec.structure(&bad) else { unreachable!() };
                assert!(damaged.verify().is_err(), "{kind}: a flip at byte {i} passed verify");
                bad[i] ^= 0x01;
                flips += 1;
            }
        }
        assert!(flips > 10_000, "the tables are not empty ({flips} bytes)");
    }
}
