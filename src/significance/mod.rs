//! Significance: how surprising a match is, given the index's size and the upload's
//! queries (E-values).
//!
//! A fixed Hamming threshold is not a fixed risk. The chance that *some* unrelated entry
//! lies within it grows with the number of entries and with the number of hashes one
//! upload queries (8 dihedral variants, the border-trimmed content, the edge-extended
//! guesses, later frames). Like BLAST, mediamatch reports for every match its
//! **E-value**: the expected number of entries of unrelated images that would come this
//! close, or closer, by chance in a search of this size:
//!
//! ```text
//! E = comparisons x tail(d)
//! comparisons = (entries of the kind in the index) x (hashes of that kind the upload queried)
//! ```
//!
//! where `tail(d)` is the [null model](null)'s conservative bound on `P(distance <= d)` for an
//! unrelated pair. A match found by corroboration (an item's pHash and PDQ entries both
//! close, neither alone within its threshold) uses the joint tail instead:
//!
//! ```text
//! E = (item pairs: pHash entry x PDQ entry of one id) x (pHash hashes x PDQ hashes queried)
//!     x joint(pHash distance, PDQ distance)
//! ```
//!
//! Digests use `tail(0) = 2^-bits`: the chance of an accidental collision.
//!
//! The expected count `E` bounds the probability of at least one chance hit,
//! `1 - (1 - tail)^comparisons` ([`pvalue`]), and equals it closely when small, so a
//! policy that asks for `E <= 1e-6` ([`DEFAULT_MAX_EVALUE`]) accepts about one chance
//! match per million uploads, whatever the index size. Example: with the built-in model,
//! an index of 10 million pHash entries and an upload that queried 16 pHashes (8 variants
//! of the image and of its trimmed content) make 1.6e8 comparisons; a pHash match at
//! distance 8 then has an E-value of 1.6e8 x tail(8), far above 1e-6, so it is reported
//! as *weak*, not as a match, while one at distance 0 is still a match (see
//! `docs/null-model.md` for the table's values and [`Significance::threshold`] for the
//! effective threshold at any size).
//!
//! ```
//! use mediamatch::significance::{IndexSizes, QueryCounts, Significance, DEFAULT_MAX_EVALUE};
//! use mediamatch::Kind;
//!
//! let upload = QueryCounts { pdq: 16, phash: 16, digest: 1, vpdq: 0 };
//! let small = Significance::of(IndexSizes::default().with(Kind::Phash, 1_000), upload);
//! let large = Significance::of(IndexSizes::default().with(Kind::Phash, 10_000_000), upload);
//! // Ten thousand times the entries: ten thousand times the chance hits at any distance.
//! let ratio = large.evalue(Kind::Phash, 6) / small.evalue(Kind::Phash, 6);
//! assert!((ratio - 10_000.0).abs() < 1e-6);
//! // So the largest pHash distance that stays significant shrinks (or stays) as the index grows.
//! let at = |s: &Significance| s.threshold(Kind::Phash, 8, DEFAULT_MAX_EVALUE);
//! assert!(at(&large) <= at(&small));
//! ```

pub mod null;

pub use null::{NullModel, NullModelError};

use crate::hash::Kind;
use crate::index::{Index, IndexError};

/// The default largest E-value a perceptual match may have to count
/// ([`crate::matcher::Config::max_evalue`]): about one chance match per million uploads.
pub const DEFAULT_MAX_EVALUE: f64 = 1e-6;

/// How many entries an index holds that a check is compared with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexSizes {
    /// Entries per kind, in [`Kind::ALL`] order.
    pub entries: [u64; Kind::ALL.len()],
    /// Pairs of one pHash entry and one PDQ entry with the same non-empty id: the chances
    /// an index gives corroboration.
    pub item_pairs: u64,
}

impl IndexSizes {
    /// The sizes of `index`: entries per kind and item pairs ([`Index::item_pairs`]).
    pub fn of_index<D: AsRef<[u8]>>(index: &Index<D>) -> Result<IndexSizes, IndexError> {
        let mut sizes = IndexSizes { item_pairs: index.item_pairs()?, ..IndexSizes::default() };
        for kind in Kind::ALL {
            sizes = sizes.with(kind, u64::from(index.kind_len(kind)));
        }
        Ok(sizes)
    }

    /// The number of entries of `kind`.
    pub fn of(&self, kind: Kind) -> u64 {
        self.entries[kind_slot(kind)]
    }

    /// The same sizes with `n` entries of `kind`.
    pub fn with(mut self, kind: Kind, n: u64) -> IndexSizes {
        self.entries[kind_slot(kind)] = n;
        self
    }
}

/// How many hashes one check queried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryCounts {
    /// PDQ hashes compared with the PDQ entries (every dihedral variant of every usable
    /// hash set).
    pub pdq: u32,
    /// pHash hashes compared with the pHash entries (every variant of every hash set that
    /// can count alone, and the stored orientation of the extended guesses).
    pub phash: u32,
    /// Digest hashes per digest kind (1 for a file's bytes).
    pub digest: u32,
    /// A video's vPDQ frames compared with the vPDQ entries (its distinct frames of
    /// quality 50 or more; 0 for anything else).
    pub vpdq: u32,
}

impl QueryCounts {
    /// What a still image with a border queries under the default configuration: 8
    /// dihedral variants each of the image and of its trimmed content, and the four
    /// query-side guesses (two edge extensions, two turned back by 3 degrees) in their
    /// stored orientation (pHash 8 + 8 + 4, PDQ 8 + 8 + 4). `mediamatch info` states its
    /// effective thresholds for this upload.
    pub const BORDERED_IMAGE: QueryCounts = QueryCounts { pdq: 20, phash: 20, digest: 1, vpdq: 0 };

    /// The number of hashes of `kind`.
    pub fn of(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Pdq => self.pdq,
            Kind::Phash => self.phash,
            Kind::Vpdq => self.vpdq,
            _ => self.digest,
        }
    }
}

/// The comparisons one check makes, per kind and for corroboration: see the [module
/// docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SearchSpace {
    /// Entries times queried hashes, per kind in [`Kind::ALL`] order.
    pub comparisons: [f64; Kind::ALL.len()],
    /// Item pairs times (pHash hashes x PDQ hashes queried).
    pub joint: f64,
}

impl SearchSpace {
    /// The comparisons a check with `queries` makes against an index of `sizes`.
    pub fn new(sizes: IndexSizes, queries: QueryCounts) -> SearchSpace {
        let mut comparisons = [0.0; Kind::ALL.len()];
        for kind in Kind::ALL {
            comparisons[kind_slot(kind)] = sizes.of(kind) as f64 * f64::from(queries.of(kind));
        }
        let query_pairs = f64::from(queries.phash) * f64::from(queries.pdq);
        SearchSpace { comparisons, joint: sizes.item_pairs as f64 * query_pairs }
    }

    /// The comparisons of `kind`.
    pub fn of(&self, kind: Kind) -> f64 {
        self.comparisons[kind_slot(kind)]
    }
}

/// E-values of one check: a null model and the check's search space.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Significance {
    model: &'static NullModel,
    space: SearchSpace,
}

impl Significance {
    /// E-values for `space` under the built-in null model.
    pub fn new(space: SearchSpace) -> Significance {
        Significance::with_model(NullModel::builtin(), space)
    }

    /// E-values of a check that made `queries` against an index of `sizes`.
    pub fn of(sizes: IndexSizes, queries: QueryCounts) -> Significance {
        Significance::new(SearchSpace::new(sizes, queries))
    }

    /// A search of nothing: every E-value is 0, so a rule's caps are its thresholds (for
    /// what does not depend on a check, such as the radii to query).
    pub fn none() -> Significance {
        Significance::new(SearchSpace::default())
    }

    /// E-values for `space` under `model`.
    pub fn with_model(model: &'static NullModel, space: SearchSpace) -> Significance {
        Significance { model, space }
    }

    /// The E-value of a match of `kind` at `distance`.
    pub fn evalue(&self, kind: Kind, distance: u32) -> f64 {
        evalue(self.space.of(kind), self.model.tail(kind, distance))
    }

    /// The E-value of a corroborated item at pHash distance `phash` and PDQ distance `pdq`.
    pub fn joint_evalue(&self, phash: u32, pdq: u32) -> f64 {
        evalue(self.space.joint, self.model.joint(phash, pdq))
    }

    /// The largest pHash distance up to `phash_cap` at which an item corroborated at PDQ
    /// distance `pdq` has a joint E-value at most `max_evalue` (`None`: not even 0).
    pub fn joint_phash_threshold(&self, phash_cap: u32, pdq: u32, max_evalue: f64) -> Option<u32> {
        (0..=phash_cap).rev().find(|&a| self.joint_evalue(a, pdq) <= max_evalue)
    }

    /// The largest PDQ distance up to `pdq_cap` at which an item corroborated at pHash
    /// distance `phash` has a joint E-value at most `max_evalue` (`None`: not even 0).
    pub fn joint_pdq_threshold(&self, phash: u32, pdq_cap: u32, max_evalue: f64) -> Option<u32> {
        (0..=pdq_cap).rev().find(|&b| self.joint_evalue(phash, b) <= max_evalue)
    }

    /// The largest distance up to `cap` whose E-value is at most `max_evalue`: the
    /// effective threshold of `kind` at this search size (`None` when not even distance
    /// 0 is significant enough).
    pub fn threshold(&self, kind: Kind, cap: u32, max_evalue: f64) -> Option<u32> {
        (0..=cap).rev().find(|&d| self.evalue(kind, d) <= max_evalue)
    }
}

/// The expected number of chance hits among `comparisons` independent comparisons that
/// each hit with probability `tail`.
pub fn evalue(comparisons: f64, tail: f64) -> f64 {
    comparisons * tail
}

/// The probability of at least one chance hit among `comparisons` comparisons that each
/// hit with probability `tail`: `1 - (1 - tail)^comparisons`, computed without
/// cancellation. Never more than [`evalue`].
pub fn pvalue(comparisons: f64, tail: f64) -> f64 {
    if tail >= 1.0 {
        return if comparisons > 0.0 { 1.0 } else { 0.0 };
    }
    -f64::exp_m1(comparisons * f64::ln_1p(-tail))
}

fn kind_slot(kind: Kind) -> usize {
    Kind::ALL.iter().position(|&k| k == kind).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sizes(phash: u64, pdq: u64, pairs: u64) -> IndexSizes {
        IndexSizes { item_pairs: pairs, ..IndexSizes::default() }
            .with(Kind::Phash, phash)
            .with(Kind::Pdq, pdq)
    }

    fn queries(phash: u32, pdq: u32) -> QueryCounts {
        QueryCounts { phash, pdq, digest: 1, vpdq: 0 }
    }

    proptest! {
        #[test]
        fn monotone_in_distance(n in 1u64..100_000_000, q in 1u32..64, d in 0u32..64) {
            let s = Significance::new(SearchSpace::new(sizes(n, n, n), queries(q, q)));
            for kind in [Kind::Phash, Kind::Pdq] {
                prop_assert!(s.evalue(kind, d) <= s.evalue(kind, d + 1));
            }
            prop_assert!(s.joint_evalue(d.min(30), d) <= s.joint_evalue(d.min(30) + 1, d));
            prop_assert!(s.joint_evalue(d.min(30), d) <= s.joint_evalue(d.min(30), d + 2));
        }

        #[test]
        fn linear_in_entries_and_queries(n in 1u64..10_000_000, k in 2u64..100, q in 1u32..32, d in 0u32..40) {
            let one = Significance::new(SearchSpace::new(sizes(n, n, n), queries(q, q)));
            let many = Significance::new(SearchSpace::new(sizes(n * k, n * k, n * k), queries(q, q)));
            let more_queries = Significance::new(SearchSpace::new(sizes(n, n, n), queries(q * 2, q * 2)));
            for kind in [Kind::Phash, Kind::Pdq] {
                let (a, b) = (one.evalue(kind, d), many.evalue(kind, d));
                prop_assert!((b - a * k as f64).abs() <= 1e-9 * b.abs());
                let c = more_queries.evalue(kind, d);
                prop_assert!((c - 2.0 * a).abs() <= 1e-9 * c.abs());
            }
            let (a, b) = (one.joint_evalue(12, d), many.joint_evalue(12, d));
            prop_assert!((b - a * k as f64).abs() <= 1e-9 * b.abs());
            // The joint search grows with both kinds' queries.
            let c = more_queries.joint_evalue(12, d);
            prop_assert!((c - 4.0 * a).abs() <= 1e-9 * c.abs());
        }

        #[test]
        fn pvalue_is_bounded_by_evalue(n in 0.0f64..1e12, p in 0.0f64..1.0) {
            let (pv, ev) = (pvalue(n, p), evalue(n, p));
            prop_assert!((0.0..=1.0).contains(&pv));
            prop_assert!(pv <= ev * (1.0 + 1e-12) + 1e-300);
            if ev < 1e-3 {
                // For rare events the two agree: 1 - (1-p)^n = np (1 - O(np)).
                prop_assert!(pv >= ev * (1.0 - ev) * (1.0 - 1e-9));
            }
        }

        #[test]
        fn threshold_is_the_largest_significant_distance(n in 1u64..100_000_000, q in 1u32..32, cap in 0u32..40) {
            let s = Significance::new(SearchSpace::new(sizes(n, n, 0), queries(q, q)));
            for kind in [Kind::Phash, Kind::Pdq] {
                match s.threshold(kind, cap, DEFAULT_MAX_EVALUE) {
                    Some(t) => {
                        prop_assert!(t <= cap && s.evalue(kind, t) <= DEFAULT_MAX_EVALUE);
                        prop_assert!(t == cap || s.evalue(kind, t + 1) > DEFAULT_MAX_EVALUE);
                    }
                    None => prop_assert!(s.evalue(kind, 0) > DEFAULT_MAX_EVALUE),
                }
            }
        }
    }

    #[test]
    fn pvalue_matches_the_closed_form() {
        // Three comparisons at 1/2: 1 - 1/8.
        assert!((pvalue(3.0, 0.5) - 0.875).abs() < 1e-15);
        assert_eq!(pvalue(5.0, 1.0), 1.0);
        assert_eq!(pvalue(0.0, 0.3), 0.0);
        // Tiny probabilities keep their precision (a naive 1 - (1-p)^n gives 0).
        let p = pvalue(1e7, 1e-20);
        assert!((p - 1e-13).abs() < 1e-20, "{p}");
    }

    #[test]
    fn an_empty_index_makes_nothing_surprising_impossible() {
        let s = Significance::new(SearchSpace::new(IndexSizes::default(), queries(8, 8)));
        assert_eq!(s.evalue(Kind::Phash, 64), 0.0);
        assert_eq!(s.threshold(Kind::Phash, 8, DEFAULT_MAX_EVALUE), Some(8));
    }

    #[test]
    fn digests_stay_significant_at_any_size() {
        let space = SearchSpace::new(IndexSizes::default().with(Kind::Md5, 1 << 40), queries(1, 1));
        assert!(Significance::new(space).evalue(Kind::Md5, 0) < 1e-20);
    }
}
