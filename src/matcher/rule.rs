//! The one matching rule: which candidate distances make a match.
//!
//! Pure: no index, no hashing, no I/O. [`Rule`] holds the threshold caps per kind, the
//! fusion policy ([`Config::require`]), the corroboration thresholds
//! ([`Config::corroborate`]) and the largest E-value a perceptual match may have
//! ([`Config::max_evalue`]) with the [`Significance`] of the check at hand: the caps
//! shrink to the *effective thresholds* at which a chance hit stays improbable in a
//! search of this size ([`crate::significance`]). Its predicates decide
//!
//! - which hits count alone ([`Rule::counts_alone`]): a hit of the image as given, its
//!   trimmed content or a later frame, within its kind's effective threshold (digests:
//!   distance 0). Hits of an edge-extended image are guesses and never count alone;
//! - which hits are *weak* ([`Rule::is_weak`]): within the cap but not significant, so
//!   they are reported to analysts who ask, never as matches;
//! - which pHash hits may count through corroboration ([`Rule::needs_corroboration`]) and
//!   whether a PDQ entry of the same item corroborates them ([`Rule::corroborates`]: both
//!   within the corroboration thresholds and the pair's joint E-value small enough);
//! - which perceptual matches the fusion policy admits ([`Rule::admits`]).
//!
//! The matcher applies these predicates hit by hit; `mediamatch eval` (and every threshold
//! of its sweeps) applies them through [`Rule::judge`] to the nearest distances of one
//! item. Both read the same code, so they cannot disagree on what matches.

use crate::hash::Kind;
use crate::hash::KindSet;
use crate::significance::Significance;

#[cfg(doc)]
use super::Config;
use super::{Origin, Thresholds};

/// The rule in force for one check: thresholds, fusion policy, corroboration, significance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    caps: Thresholds,
    require: KindSet,
    corroborate: Option<Thresholds>,
    max_evalue: f64,
    significance: Significance,
    /// The effective thresholds: per perceptual kind the largest distance up to its cap
    /// whose E-value is at most `max_evalue` (`None`: not even 0).
    pdq: Option<u32>,
    phash: Option<u32>,
}

/// The nearest candidates of one item (list and id) for one input, as [`Rule::judge`]
/// reads them; `None` means no candidate of that kind within the query radius.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Candidates {
    /// A digest of the input's bytes matched an entry of the item.
    pub digest: bool,
    /// The smallest PDQ distance from a hash set that can count alone (the image as
    /// given, its trimmed content, a later frame; dihedral variants included).
    pub pdq: Option<u32>,
    /// The smallest pHash distance from a hash set that can count alone.
    pub phash: Option<u32>,
    /// The smallest PDQ distance over every hash set, edge-extended images included: the
    /// corroborating side.
    pub pdq_any: Option<u32>,
    /// The smallest pHash distance in the stored orientation over every hash set,
    /// edge-extended images included: the side that needs corroboration.
    pub phash_stored: Option<u32>,
}

/// What [`Rule::judge`] decided for one item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// A digest matched.
    pub digest: bool,
    /// PDQ alone is within its effective threshold (whatever the fusion policy).
    pub pdq: bool,
    /// pHash alone is within its effective threshold (whatever the fusion policy).
    pub phash: bool,
    /// The perceptual kinds within their thresholds pass the fusion policy.
    pub fused: bool,
    /// The item matches only by corroboration: no digest and no kind alone within its
    /// threshold, but pHash and PDQ both within the corroboration thresholds, with a
    /// joint E-value small enough.
    pub corroborated: bool,
    /// The item does not match, but a candidate was within a cap (or both within the
    /// corroboration thresholds) and failed only the E-value test.
    pub weak: bool,
}

impl Outcome {
    /// Whether the item matches: a digest, a fused perceptual match, or corroboration.
    pub fn is_match(&self) -> bool {
        self.digest || self.fused || self.corroborated
    }
}

impl Rule {
    /// The rule with threshold caps `caps`, fusion policy `require` (perceptual kinds that
    /// must all match the same item; empty means any one suffices), corroboration
    /// thresholds (which apply only when `require` is empty), and the largest E-value
    /// `max_evalue` a perceptual match may have under `significance`.
    pub fn new(
        caps: Thresholds,
        require: KindSet,
        corroborate: Option<Thresholds>,
        max_evalue: f64,
        significance: Significance,
    ) -> Rule {
        let corroborate = corroborate.filter(|_| require.is_empty());
        Rule { caps, require, corroborate, max_evalue, significance, pdq: None, phash: None }.effective()
    }

    fn effective(self) -> Rule {
        let at = |kind| self.significance.threshold(kind, self.caps.of(kind), self.max_evalue);
        Rule { pdq: at(Kind::Pdq), phash: at(Kind::Phash), ..self }
    }

    /// The same rule at other threshold caps (a sweep's row).
    pub fn at(self, caps: Thresholds) -> Rule {
        Rule { caps, ..self }.effective()
    }

    /// The same rule for another check's search space.
    pub fn within(self, significance: Significance) -> Rule {
        Rule { significance, ..self }.effective()
    }

    /// The rule for an input hashed with `kinds`: corroboration needs both PDQ and pHash.
    pub fn for_kinds(self, kinds: KindSet) -> Rule {
        let both = kinds.contains(Kind::Pdq) && kinds.contains(Kind::Phash);
        Rule { corroborate: self.corroborate.filter(|_| both), ..self }
    }

    /// The threshold caps.
    pub fn thresholds(&self) -> Thresholds {
        self.caps
    }

    /// The effective threshold of a perceptual `kind` at this search size (`None` when no
    /// distance is significant enough; digests: `Some(0)`; vPDQ frames: under HMA's frame
    /// distance, see [`Rule::threshold`]).
    pub fn effective_threshold(&self, kind: Kind) -> Option<u32> {
        match kind {
            Kind::Pdq => self.pdq,
            Kind::Phash => self.phash,
            Kind::Vpdq => self.threshold(Kind::Vpdq, crate::video::vpdq::DISTANCE_THRESHOLD),
            _ => Some(0),
        }
    }

    /// The largest distance up to `cap` at which a hit of `kind` is significant in this
    /// check (`None`: not even 0).
    pub fn threshold(&self, kind: Kind, cap: u32) -> Option<u32> {
        self.significance.threshold(kind, cap, self.max_evalue)
    }

    /// The fusion policy.
    pub fn require(&self) -> KindSet {
        self.require
    }

    /// The corroboration thresholds in force (`None` when off or under a strict policy).
    pub fn corroborate(&self) -> Option<Thresholds> {
        self.corroborate
    }

    /// The largest E-value a perceptual match may have.
    pub fn max_evalue(&self) -> f64 {
        self.max_evalue
    }

    /// The E-value of a hit of `kind` at `distance` in this check.
    pub fn evalue(&self, kind: Kind, distance: u32) -> f64 {
        self.significance.evalue(kind, distance)
    }

    /// The E-value of an item corroborated at pHash distance `phash` and PDQ `pdq`.
    pub fn joint_evalue(&self, phash: u32, pdq: u32) -> f64 {
        self.significance.joint_evalue(phash, pdq)
    }

    /// Whether a hit of `kind` at `distance` from the hash set `origin` counts alone.
    pub fn counts_alone(&self, kind: Kind, distance: u32, origin: Origin) -> bool {
        origin != Origin::Extended && self.effective_threshold(kind).is_some_and(|t| distance <= t)
    }

    /// Whether a hit is *weak*: of a perceptual kind, from a hash set that could count
    /// alone, within its kind's cap, but over the E-value limit.
    pub fn is_weak(&self, kind: Kind, distance: u32, origin: Origin) -> bool {
        kind.is_perceptual()
            && origin != Origin::Extended
            && distance <= self.caps.of(kind)
            && !self.counts_alone(kind, distance, origin)
    }

    /// Whether a hit that does not count alone may still count through corroboration: a
    /// pHash hit (beyond its threshold, or of an extended image) within the corroboration
    /// pHash threshold.
    pub fn needs_corroboration(&self, kind: Kind, distance: u32, origin: Origin) -> bool {
        kind == Kind::Phash
            && !self.counts_alone(kind, distance, origin)
            && self.corroborate.is_some_and(|c| distance <= c.phash)
    }

    /// Whether a pHash distance and a PDQ distance to entries of the same item are both
    /// within the corroboration thresholds (significant or not).
    pub fn within_corroboration(&self, phash: u32, pdq: u32) -> bool {
        self.corroborate.is_some_and(|c| phash <= c.phash && pdq <= c.pdq)
    }

    /// Whether a pHash distance and a PDQ distance to entries of the same item corroborate
    /// each other: both within the corroboration thresholds, and their joint E-value at
    /// most the limit.
    pub fn corroborates(&self, phash: u32, pdq: u32) -> bool {
        self.within_corroboration(phash, pdq) && self.joint_evalue(phash, pdq) <= self.max_evalue
    }

    /// Whether a match of `kind` counts under the fusion policy, given every kind that
    /// matched the same item: digests always; perceptual kinds when every required kind
    /// is among `item`.
    pub fn admits(&self, kind: Kind, item: KindSet) -> bool {
        !kind.is_image() || self.require.iter().all(|k| item.contains(k))
    }

    /// Applies the rule to one item's nearest candidates.
    pub fn judge(&self, c: &Candidates) -> Outcome {
        let alone = |kind, d: Option<u32>| d.is_some_and(|d| self.counts_alone(kind, d, Origin::Given));
        let (pdq, phash) = (alone(Kind::Pdq, c.pdq), alone(Kind::Phash, c.phash));
        let mut item = KindSet::NONE;
        for (kind, ok) in [(Kind::Pdq, pdq), (Kind::Phash, phash)] {
            if ok {
                item.insert(kind);
            }
        }
        let fused = item.iter().any(|k| self.admits(k, item));
        let pair = match (c.phash_stored, c.pdq_any) {
            (Some(h), Some(q)) => Some((h, q)),
            _ => None,
        };
        let corroborated = !c.digest && !pdq && !phash && pair.is_some_and(|(h, q)| self.corroborates(h, q));
        let weak_alone = |kind, d: Option<u32>| d.is_some_and(|d| self.is_weak(kind, d, Origin::Given));
        let weak_pair = !pdq && !phash && pair.is_some_and(|(h, q)| self.within_corroboration(h, q));
        let mut outcome = Outcome { digest: c.digest, pdq, phash, fused, corroborated, weak: false };
        outcome.weak = !outcome.is_match()
            && (weak_alone(Kind::Pdq, c.pdq) || weak_alone(Kind::Phash, c.phash) || weak_pair);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::significance::{IndexSizes, QueryCounts, SearchSpace, DEFAULT_MAX_EVALUE};

    /// A check that searched nothing: every E-value is 0, the caps are the thresholds.
    fn plain(caps: Thresholds, require: KindSet, corroborate: Option<Thresholds>) -> Rule {
        Rule::new(caps, require, corroborate, DEFAULT_MAX_EVALUE, Significance::new(SearchSpace::default()))
    }

    /// The significance of a check of 16 hashes per kind against `n` entries of each kind
    /// and `n` item pairs.
    fn searched(n: u64) -> Significance {
        let sizes =
            IndexSizes { item_pairs: n, ..IndexSizes::default() }.with(Kind::Pdq, n).with(Kind::Phash, n);
        Significance::new(SearchSpace::new(sizes, QueryCounts { pdq: 16, phash: 16, digest: 1, vpdq: 0 }))
    }

    const MAIN: Thresholds = Thresholds { pdq: 31, phash: 8 };
    const WIDE: Option<Thresholds> = Some(Thresholds { pdq: 64, phash: 12 });

    fn kinds(names: &[Kind]) -> KindSet {
        names.iter().fold(KindSet::NONE, |k, n| k.with(*n))
    }

    /// One scenario: an item's nearest distances `(digest, pdq, phash, pdq_any,
    /// phash_stored)`, the policy, corroboration, and the expected `(pdq, phash, fused,
    /// corroborated, is_match)`.
    #[rustfmt::skip]
    type Row = (&'static str, (bool, Option<u32>, Option<u32>, Option<u32>, Option<u32>), &'static [Kind], Option<Thresholds>, (bool, bool, bool, bool, bool));

    #[rustfmt::skip]
    const ROWS: &[Row] = &[
        ("nothing near", (false, None, None, None, None), &[], WIDE, (false, false, false, false, false)),
        ("digest alone", (true, None, None, None, None), &[], WIDE, (false, false, false, false, true)),
        ("digest under the strict policy", (true, None, None, None, None), &[Kind::Pdq, Kind::Phash], None, (false, false, false, false, true)),
        ("pdq at its threshold", (false, Some(31), None, Some(31), None), &[], WIDE, (true, false, true, false, true)),
        ("pdq one beyond", (false, Some(32), None, Some(32), None), &[], None, (false, false, false, false, false)),
        ("phash at its threshold", (false, None, Some(8), None, Some(8)), &[], WIDE, (false, true, true, false, true)),
        ("phash one beyond", (false, None, Some(9), None, Some(9)), &[], None, (false, false, false, false, false)),
        ("require both, one within", (false, Some(10), Some(20), Some(10), Some(20)), &[Kind::Pdq, Kind::Phash], WIDE, (true, false, false, false, false)),
        ("require both, both within", (false, Some(10), Some(5), Some(10), Some(5)), &[Kind::Pdq, Kind::Phash], WIDE, (true, true, true, false, true)),
        ("require pdq, phash within", (false, Some(40), Some(5), Some(40), Some(5)), &[Kind::Pdq], WIDE, (false, true, false, false, false)),
        ("require pdq, pdq within", (false, Some(30), None, Some(30), None), &[Kind::Pdq], WIDE, (true, false, true, false, true)),
        ("corroborated at both limits", (false, Some(64), Some(12), Some(64), Some(12)), &[], WIDE, (false, false, false, true, true)),
        ("corroboration: pdq one beyond", (false, Some(65), Some(12), Some(65), Some(12)), &[], WIDE, (false, false, false, false, false)),
        ("corroboration: phash one beyond", (false, Some(40), Some(13), Some(40), Some(13)), &[], WIDE, (false, false, false, false, false)),
        ("corroboration needs pdq", (false, None, Some(10), None, Some(10)), &[], WIDE, (false, false, false, false, false)),
        ("corroboration off", (false, Some(40), Some(10), Some(40), Some(10)), &[], None, (false, false, false, false, false)),
        ("corroboration off under a strict policy", (false, Some(40), Some(10), Some(40), Some(10)), &[Kind::Pdq, Kind::Phash], WIDE, (false, false, false, false, false)),
        ("extended images only corroborate", (false, None, None, Some(20), Some(5)), &[], WIDE, (false, false, false, true, true)),
        ("extended images alone without corroboration", (false, None, None, Some(20), Some(5)), &[], None, (false, false, false, false, false)),
        ("corroboration reads the stored orientation", (false, Some(40), Some(10), Some(40), Some(20)), &[], WIDE, (false, false, false, false, false)),
        ("a direct match is not corroborated", (false, Some(20), Some(10), Some(20), Some(10)), &[], WIDE, (true, false, true, false, true)),
        ("a digest match is not corroborated", (true, Some(40), Some(10), Some(40), Some(10)), &[], WIDE, (false, false, false, false, true)),
    ];

    #[test]
    fn judge_table() {
        for &(name, (digest, pdq, phash, pdq_any, phash_stored), require, corroborate, expected) in ROWS {
            let rule = plain(MAIN, kinds(require), corroborate);
            let got = rule.judge(&Candidates { digest, pdq, phash, pdq_any, phash_stored });
            let got = (got.pdq, got.phash, got.fused, got.corroborated, got.is_match());
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn hit_predicates_table() {
        use Origin::{Extended, Frame, Given, Trimmed};
        // (kind, distance, origin, counts alone, needs corroboration) under MAIN and WIDE.
        let rows = [
            (Kind::Pdq, 31, Given, true, false),
            (Kind::Pdq, 32, Trimmed, false, false),
            (Kind::Pdq, 10, Extended, false, false),
            (Kind::Phash, 8, Frame(3), true, false),
            (Kind::Phash, 9, Given, false, true),
            (Kind::Phash, 12, Trimmed, false, true),
            (Kind::Phash, 13, Given, false, false),
            (Kind::Phash, 0, Extended, false, true),
            (Kind::Md5, 0, Given, true, false),
        ];
        let rule = plain(MAIN, KindSet::NONE, WIDE);
        for (kind, d, origin, alone, needs) in rows {
            assert_eq!(rule.counts_alone(kind, d, origin), alone, "{kind:?} {d} {origin:?}");
            assert_eq!(rule.needs_corroboration(kind, d, origin), needs, "{kind:?} {d} {origin:?}");
        }
        let off = plain(MAIN, KindSet::NONE, WIDE).for_kinds(kinds(&[Kind::Phash]));
        assert!(!off.needs_corroboration(Kind::Phash, 9, Given), "corroboration needs PDQ computed");
        assert_eq!(plain(MAIN, kinds(&[Kind::Pdq]), WIDE).corroborate(), None);
    }

    #[test]
    fn admits_table() {
        let both = kinds(&[Kind::Pdq, Kind::Phash]);
        // (require, kind, the item's kinds, admitted)
        let rows = [
            (KindSet::NONE, Kind::Pdq, kinds(&[Kind::Pdq]), true),
            (both, Kind::Pdq, kinds(&[Kind::Pdq]), false),
            (both, Kind::Phash, both, true),
            (both, Kind::Md5, kinds(&[Kind::Md5]), true),
            (kinds(&[Kind::Pdq]), Kind::Phash, both, true),
            (kinds(&[Kind::Pdq]), Kind::Phash, kinds(&[Kind::Phash, Kind::Md5]), false),
        ];
        for (require, kind, item, admitted) in rows {
            assert_eq!(
                plain(MAIN, require, None).admits(kind, item),
                admitted,
                "{require:?} {kind:?} {item:?}"
            );
        }
    }

    #[test]
    fn thresholds_shrink_as_the_search_grows() {
        let mut last = Some(MAIN.phash);
        for n in [1u64, 1_000, 100_000, 10_000_000, 1_000_000_000] {
            let rule = plain(MAIN, KindSet::NONE, WIDE).within(searched(n));
            let t = rule.effective_threshold(Kind::Phash);
            assert!(t <= last, "pHash threshold grew from {last:?} to {t:?} at {n} entries");
            last = t;
            for d in 0..=MAIN.phash {
                let significant = rule.evalue(Kind::Phash, d) <= DEFAULT_MAX_EVALUE;
                assert_eq!(rule.counts_alone(Kind::Phash, d, Origin::Given), significant, "{n} {d}");
                assert_eq!(rule.is_weak(Kind::Phash, d, Origin::Given), !significant, "{n} {d}");
            }
            assert!(!rule.is_weak(Kind::Phash, MAIN.phash + 1, Origin::Given), "beyond the cap is nothing");
            assert!(!rule.is_weak(Kind::Phash, 0, Origin::Extended), "guesses are never weak alone");
            assert!(rule.counts_alone(Kind::Md5, 0, Origin::Given), "digests count at any size");
        }
        assert!(last < Some(MAIN.phash), "a billion entries must shrink the pHash threshold");
    }

    /// The smallest power of ten of entries at which the pHash threshold is below its cap
    /// but still admits distance 0: a search where the E-value decides.
    fn deciding() -> (Significance, u32) {
        (0..12)
            .map(|e| searched(10u64.pow(e)))
            .find_map(|s| {
                let t = s.threshold(Kind::Phash, MAIN.phash, DEFAULT_MAX_EVALUE)?;
                (t < MAIN.phash).then_some((s, t))
            })
            .expect("some size makes pHash 8 insignificant")
    }

    #[test]
    fn judge_reports_weak_candidates() {
        let (sig, t) = deciding();
        let rule = plain(MAIN, KindSet::NONE, WIDE).within(sig);
        let at =
            |phash| Candidates { phash: Some(phash), phash_stored: Some(phash), ..Candidates::default() };
        let inside = rule.judge(&at(t));
        assert!(inside.is_match() && !inside.weak);
        let outside = rule.judge(&at(t + 1));
        assert!(!outside.is_match() && outside.weak, "within the cap, over the E-value limit");
        let beyond = rule.judge(&at(MAIN.phash + 2));
        assert!(!beyond.is_match() && !beyond.weak);
        let with_digest = rule.judge(&Candidates { digest: true, ..at(t + 1) });
        assert!(with_digest.is_match() && !with_digest.weak);
    }

    #[test]
    fn corroboration_needs_a_small_joint_evalue() {
        let pair =
            Candidates { pdq: None, phash: None, pdq_any: Some(64), phash_stored: Some(12), digest: false };
        assert!(plain(MAIN, KindSet::NONE, WIDE).judge(&pair).corroborated);
        // Enough item pairs make the same distances a chance event.
        let huge = (0..30)
            .map(|e| plain(MAIN, KindSet::NONE, WIDE).within(searched(1u64 << e)))
            .find(|r| r.joint_evalue(12, 64) > DEFAULT_MAX_EVALUE)
            .expect("2^29 item pairs make corroboration at (12, 64) a chance event");
        let got = huge.judge(&pair);
        assert!(!got.corroborated && got.weak);
        assert!(huge.within_corroboration(12, 64) && !huge.corroborates(12, 64));
        let loose = plain(MAIN, KindSet::NONE, WIDE).within(searched(1 << 29));
        assert!(loose.joint_evalue(12, 64) <= loose.joint_evalue(12, 66));
    }
}
