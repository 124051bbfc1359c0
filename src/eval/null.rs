//! The null model's measurement: histograms of the Hamming distances between hashes of
//! unrelated images (derived from different photos, [`super::negatives`]).
//!
//! Every pair of derived images whose source photos differ is compared once: pHash
//! (distance 0..=64) for every pair; PDQ (0..=256) and the joint (pHash, PDQ) distance for
//! the pairs where both PDQ hashes have at least the minimum quality. The counts are also
//! kept per source photo (each pair counts for both of its photos), which is what the
//! tail fit ([`super::tail`]) needs to bound the dependence between pairs that share a photo.
//!
//! Speed: one `popcount` per pHash pair and four per PDQ pair, rows of the pair matrix
//! spread over rayon's threads with one set of histograms per worker.

use rayon::prelude::*;

use super::negatives::Derived;

/// Bits of a pHash: its distances are `0..=PHASH_BITS`.
pub const PHASH_BITS: usize = 64;

/// Bits of a PDQ hash: its distances are `0..=PDQ_BITS`.
pub const PDQ_BITS: usize = 256;

/// Pairs at most this far apart in pHash are listed in [`NullCounts::closest`].
pub const CLOSE_PHASH: u32 = 2;

/// Pairs of good PDQ hashes at most this far apart are listed in [`NullCounts::closest`].
pub const CLOSE_PDQ: u32 = 48;

/// At most this many closest pairs are kept.
pub const CLOSE_KEPT: usize = 100;

/// One of the closest unrelated pairs, for looking at what makes them close.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClosePair {
    /// pHash distance.
    pub phash: u32,
    /// PDQ distance, when both PDQ hashes are good.
    pub pdq: Option<u32>,
    /// The first image: (source photo, index among its derived images).
    pub a: (u32, u32),
    /// The second image, from another photo.
    pub b: (u32, u32),
}

/// Columns of a row of [`NullCounts::joint`] (PDQ distances 0..=256).
const JOINT_COLS: usize = PDQ_BITS + 1;

/// The distance counts over all pairs of images from different photos.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NullCounts {
    /// Number of source photos (the largest `source` plus 1).
    pub sources: usize,
    /// Number of derived images compared.
    pub images: usize,
    /// Number of them whose PDQ hash has at least the minimum quality.
    pub pdq_images: usize,
    /// `joint[a * 257 + b]`: pairs, both PDQ hashes good, at pHash distance `a` and PDQ
    /// distance `b`.
    pub joint: Vec<u64>,
    /// pHash distances of the pairs where at least one PDQ hash is below the minimum quality.
    pub phash_rest: Vec<u64>,
    /// Per source photo, the pHash distances of all the pairs it is part of (65 each).
    pub phash_by_source: Vec<Vec<u64>>,
    /// Per source photo, the PDQ distances of the pairs (both good) it is part of (257 each).
    pub pdq_by_source: Vec<Vec<u64>>,
    /// The closest pairs (pHash at most [`CLOSE_PHASH`] or PDQ at most [`CLOSE_PDQ`]),
    /// closest pHash first, at most [`CLOSE_KEPT`].
    pub closest: Vec<ClosePair>,
}

impl NullCounts {
    /// The pHash histogram over all cross-photo pairs (65 entries).
    pub fn phash(&self) -> Vec<u64> {
        let mut h = self.phash_rest.clone();
        for (a, row) in self.joint.chunks(JOINT_COLS).enumerate() {
            h[a] += row.iter().sum::<u64>();
        }
        h
    }

    /// The PDQ histogram over the cross-photo pairs of good PDQ hashes (257 entries).
    pub fn pdq(&self) -> Vec<u64> {
        let mut h = vec![0; JOINT_COLS];
        for row in self.joint.chunks(JOINT_COLS) {
            for (b, n) in row.iter().enumerate() {
                h[b] += n;
            }
        }
        h
    }

    /// The joint count at pHash distance `a` and PDQ distance `b`.
    pub fn joint_at(&self, a: usize, b: usize) -> u64 {
        self.joint[a * JOINT_COLS + b]
    }

    fn empty(sources: usize) -> NullCounts {
        NullCounts {
            sources,
            images: 0,
            pdq_images: 0,
            joint: vec![0; (PHASH_BITS + 1) * JOINT_COLS],
            phash_rest: vec![0; PHASH_BITS + 1],
            phash_by_source: vec![vec![0; PHASH_BITS + 1]; sources],
            pdq_by_source: vec![vec![0; JOINT_COLS]; sources],
            closest: Vec::new(),
        }
    }

    fn add(mut self, other: NullCounts) -> NullCounts {
        let sum = |a: &mut Vec<u64>, b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        sum(&mut self.joint, &other.joint);
        sum(&mut self.phash_rest, &other.phash_rest);
        for (a, b) in self.phash_by_source.iter_mut().zip(&other.phash_by_source) {
            sum(a, b);
        }
        for (a, b) in self.pdq_by_source.iter_mut().zip(&other.pdq_by_source) {
            sum(a, b);
        }
        self.closest.extend(other.closest);
        self.closest.sort_unstable();
        self.closest.truncate(CLOSE_KEPT);
        self
    }
}

/// The hashes in the form the pair loop reads.
struct Row {
    source: u32,
    index: u32,
    phash: u64,
    pdq: [u64; 4],
    good: bool,
}

/// Counts the distances of every pair of `images` with different `source`s. PDQ counts
/// only pairs whose two qualities are at least `min_quality`.
pub fn count(images: &[Derived], min_quality: u8) -> NullCounts {
    let mut rows: Vec<Row> = images
        .iter()
        .map(|d| Row {
            source: d.source,
            index: d.index,
            phash: d.phash.0,
            pdq: d.pdq.hash.words,
            good: d.pdq.quality >= min_quality,
        })
        .collect();
    rows.sort_by_key(|r| (r.source, r.index));
    let sources = rows.last().map_or(0, |r| r.source as usize + 1);
    // `first_other[i]`: the first row after `i` from another photo (rows are sorted by source).
    let mut first_other = vec![rows.len(); rows.len()];
    for i in (0..rows.len().saturating_sub(1)).rev() {
        first_other[i] = if rows[i + 1].source != rows[i].source { i + 1 } else { first_other[i + 1] };
    }
    let mut total = (0..rows.len())
        .into_par_iter()
        .fold(
            || NullCounts::empty(sources),
            |mut acc, i| {
                count_row(&rows, i, first_other[i], &mut acc);
                acc
            },
        )
        .reduce(|| NullCounts::empty(sources), NullCounts::add);
    total.closest.sort_unstable();
    total.closest.truncate(CLOSE_KEPT);
    total.images = rows.len();
    total.pdq_images = rows.iter().filter(|r| r.good).count();
    total
}

/// Adds the pairs of row `i` with rows `from..` (all from other photos).
fn count_row(rows: &[Row], i: usize, from: usize, acc: &mut NullCounts) {
    let a = &rows[i];
    let mut ph = [0u64; PHASH_BITS + 1];
    let mut pq = [0u64; JOINT_COLS];
    for b in &rows[from..] {
        let dh = (a.phash ^ b.phash).count_ones() as usize;
        ph[dh] += 1;
        acc.phash_by_source[b.source as usize][dh] += 1;
        let mut close_pdq = None;
        if a.good && b.good {
            let dq = a.pdq.iter().zip(&b.pdq).map(|(x, y)| (x ^ y).count_ones()).sum::<u32>();
            let q = dq as usize;
            pq[q] += 1;
            acc.pdq_by_source[b.source as usize][q] += 1;
            acc.joint[dh * JOINT_COLS + q] += 1;
            close_pdq = Some(dq);
        } else {
            acc.phash_rest[dh] += 1;
        }
        if dh as u32 <= CLOSE_PHASH || close_pdq.is_some_and(|q| q <= CLOSE_PDQ) {
            let pair = ClosePair {
                phash: dh as u32,
                pdq: close_pdq,
                a: (a.source, a.index),
                b: (b.source, b.index),
            };
            acc.closest.push(pair);
            if acc.closest.len() > 4 * CLOSE_KEPT {
                acc.closest.sort_unstable();
                acc.closest.truncate(CLOSE_KEPT);
            }
        }
    }
    let s = a.source as usize;
    acc.phash_by_source[s].iter_mut().zip(ph).for_each(|(x, y)| *x += y);
    acc.pdq_by_source[s].iter_mut().zip(pq).for_each(|(x, y)| *x += y);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::negatives::Derivation;
    use crate::hash::pdq::PdqHash;
    use crate::hash::{Pdq, Phash, Variant};

    fn item(source: u32, phash: u64, pdq: [u64; 4], quality: u8) -> Derived {
        let derivation = Derivation {
            x: 0,
            y: 0,
            width: 1,
            height: 1,
            out_width: 1,
            out_height: 1,
            variant: Variant::Orig,
        };
        Derived {
            source,
            index: 0,
            derivation,
            phash: Phash(phash),
            pdq: PdqHash { hash: Pdq { words: pdq }, quality },
        }
    }

    #[test]
    fn only_pairs_across_sources_are_counted() {
        // Two images of photo 0 (identical hashes) and one of photo 1 (pHash 3 bits away,
        // PDQ 5 bits away); given out of order.
        let images = [item(1, 0b111, [0b11111, 0, 0, 0], 80), item(0, 0, [0; 4], 80), item(0, 0, [0; 4], 80)];
        let c = count(&images, 50);
        let ph = c.phash();
        assert_eq!(ph.iter().sum::<u64>(), 2, "the same-photo pair is not counted");
        assert_eq!(ph[3], 2);
        assert_eq!(ph[0], 0);
        assert_eq!(c.pdq()[5], 2);
        assert_eq!(c.joint_at(3, 5), 2);
        assert_eq!(c.phash_by_source[0][3], 2);
        assert_eq!(c.phash_by_source[1][3], 2);
        assert_eq!((c.sources, c.images, c.pdq_images), (2, 3, 3));
        // Listed as close by PDQ (5 <= 48), not by pHash (3 > 2).
        let close = ClosePair { phash: 3, pdq: Some(5), a: (0, 0), b: (1, 0) };
        assert_eq!(c.closest, [close, close]);
    }

    #[test]
    fn low_quality_pdq_counts_for_phash_only() {
        let images = [item(0, 0, [0; 4], 49), item(1, 1, [1, 0, 0, 0], 50), item(2, 3, [3, 0, 0, 0], 50)];
        let c = count(&images, 50);
        assert_eq!(c.phash().iter().sum::<u64>(), 3);
        assert_eq!(c.pdq().iter().sum::<u64>(), 1, "only the pair of the two good hashes");
        assert_eq!(c.joint_at(1, 1), 1);
        assert_eq!(c.phash_rest[1] + c.phash_rest[2], 2);
        assert_eq!(c.pdq_images, 2);
        // Every pair is within pHash 2; the low-quality one has no PDQ distance.
        assert_eq!(c.closest.len(), 3);
        assert_eq!(c.closest[0], ClosePair { phash: 1, pdq: None, a: (0, 0), b: (1, 0) });
        assert_eq!(c.closest[1], ClosePair { phash: 1, pdq: Some(1), a: (1, 0), b: (2, 0) });
    }

    #[test]
    fn uniform_random_hashes_follow_the_binomial() {
        // 1,500 random hashes, each its own photo: ~1.1M pairs; pHash distances of
        // independent uniform hashes are Binomial(64, 1/2): mean 32, variance 16.
        let mut s = 0x1234_5678_u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let images: Vec<Derived> =
            (0..1500).map(|i| item(i, next(), [next(), next(), next(), next()], 100)).collect();
        let c = count(&images, 50);
        let n = 1500.0 * 1499.0 / 2.0;
        let mean = |h: &[u64]| h.iter().enumerate().map(|(d, &k)| d as f64 * k as f64).sum::<f64>() / n;
        let var = |h: &[u64], m: f64| {
            h.iter().enumerate().map(|(d, &k)| (d as f64 - m).powi(2) * k as f64).sum::<f64>() / n
        };
        let (ph, pq) = (c.phash(), c.pdq());
        let (mh, mq) = (mean(&ph), mean(&pq));
        assert!((mh - 32.0).abs() < 0.1, "{mh}");
        assert!((mq - 128.0).abs() < 0.2, "{mq}");
        assert!((var(&ph, mh) - 16.0).abs() < 1.0, "{}", var(&ph, mh));
        assert!((var(&pq, mq) - 64.0).abs() < 4.0, "{}", var(&pq, mq));
    }
}
