//! The one matching rule: which candidate distances make a match.
//!
//! Pure: no index, no hashing, no I/O. [`Rule`] holds the main thresholds per kind, the
//! fusion policy ([`Config::require`]) and the corroboration thresholds
//! ([`Config::corroborate`]); its predicates decide
//!
//! - which hits count alone ([`Rule::counts_alone`]): a hit of the image as given, its
//!   trimmed content or a later frame, within its kind's threshold (digests: distance 0).
//!   Hits of an edge-extended image are guesses and never count alone;
//! - which pHash hits may count through corroboration ([`Rule::needs_corroboration`]) and
//!   whether a PDQ entry of the same item corroborates them ([`Rule::corroborates`]);
//! - which perceptual matches the fusion policy admits ([`Rule::admits`]).
//!
//! The matcher applies these predicates hit by hit; `mediamatch eval` (and every threshold
//! of its sweeps) applies them through [`Rule::judge`] to the nearest distances of one
//! item. Both read the same code, so they cannot disagree on what matches.

use crate::hash::Kind;
use crate::hash::KindSet;

#[cfg(doc)]
use super::Config;
use super::{Origin, Thresholds};

/// The rule in force for one check: thresholds, fusion policy, corroboration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    thresholds: Thresholds,
    require: KindSet,
    corroborate: Option<Thresholds>,
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
    /// PDQ alone is within its threshold (whatever the fusion policy).
    pub pdq: bool,
    /// pHash alone is within its threshold (whatever the fusion policy).
    pub phash: bool,
    /// The perceptual kinds within their thresholds pass the fusion policy.
    pub fused: bool,
    /// The item matches only by corroboration: no digest and no kind alone within its
    /// threshold, but pHash and PDQ both within the corroboration thresholds.
    pub corroborated: bool,
}

impl Outcome {
    /// Whether the item matches: a digest, a fused perceptual match, or corroboration.
    pub fn is_match(&self) -> bool {
        self.digest || self.fused || self.corroborated
    }
}

impl Rule {
    /// The rule with main `thresholds`, fusion policy `require` (perceptual kinds that must
    /// all match the same item; empty means any one suffices) and corroboration
    /// thresholds, which apply only when `require` is empty.
    pub fn new(thresholds: Thresholds, require: KindSet, corroborate: Option<Thresholds>) -> Rule {
        Rule { thresholds, require, corroborate: corroborate.filter(|_| require.is_empty()) }
    }

    /// The same rule at other main thresholds (a sweep's row).
    pub fn at(self, thresholds: Thresholds) -> Rule {
        Rule { thresholds, ..self }
    }

    /// The rule for an input hashed with `kinds`: corroboration needs both PDQ and pHash.
    pub fn for_kinds(self, kinds: KindSet) -> Rule {
        let both = kinds.contains(Kind::Pdq) && kinds.contains(Kind::Phash);
        Rule { corroborate: self.corroborate.filter(|_| both), ..self }
    }

    /// The main thresholds.
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// The fusion policy.
    pub fn require(&self) -> KindSet {
        self.require
    }

    /// The corroboration thresholds in force (`None` when off or under a strict policy).
    pub fn corroborate(&self) -> Option<Thresholds> {
        self.corroborate
    }

    /// Whether a hit of `kind` at `distance` from the hash set `origin` counts alone.
    pub fn counts_alone(&self, kind: Kind, distance: u32, origin: Origin) -> bool {
        origin != Origin::Extended && distance <= self.thresholds.of(kind)
    }

    /// Whether a hit that does not count alone may still count through corroboration: a
    /// pHash hit (beyond its threshold, or of an extended image) within the corroboration
    /// pHash threshold.
    pub fn needs_corroboration(&self, kind: Kind, distance: u32, origin: Origin) -> bool {
        kind == Kind::Phash
            && !self.counts_alone(kind, distance, origin)
            && self.corroborate.is_some_and(|c| distance <= c.phash)
    }

    /// Whether a pHash distance and a PDQ distance to entries of the same item corroborate
    /// each other (both within the corroboration thresholds).
    pub fn corroborates(&self, phash: u32, pdq: u32) -> bool {
        self.corroborate.is_some_and(|c| phash <= c.phash && pdq <= c.pdq)
    }

    /// Whether a match of `kind` counts under the fusion policy, given every kind that
    /// matched the same item: digests always; perceptual kinds when every required kind
    /// is among `item`.
    pub fn admits(&self, kind: Kind, item: KindSet) -> bool {
        !kind.is_perceptual() || self.require.iter().all(|k| item.contains(k))
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
        let corroborated = !c.digest
            && !pdq
            && !phash
            && match (c.phash_stored, c.pdq_any) {
                (Some(h), Some(q)) => self.corroborates(h, q),
                _ => false,
            };
        Outcome { digest: c.digest, pdq, phash, fused, corroborated }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let rule = Rule::new(MAIN, kinds(require), corroborate);
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
        let rule = Rule::new(MAIN, KindSet::NONE, WIDE);
        for (kind, d, origin, alone, needs) in rows {
            assert_eq!(rule.counts_alone(kind, d, origin), alone, "{kind:?} {d} {origin:?}");
            assert_eq!(rule.needs_corroboration(kind, d, origin), needs, "{kind:?} {d} {origin:?}");
        }
        let off = Rule::new(MAIN, KindSet::NONE, WIDE).for_kinds(kinds(&[Kind::Phash]));
        assert!(!off.needs_corroboration(Kind::Phash, 9, Given), "corroboration needs PDQ computed");
        assert_eq!(Rule::new(MAIN, kinds(&[Kind::Pdq]), WIDE).corroborate(), None);
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
                Rule::new(MAIN, require, None).admits(kind, item),
                admitted,
                "{require:?} {kind:?} {item:?}"
            );
        }
    }
}
