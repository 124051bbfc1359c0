//! Sweeps: the figures of a [`Measurements`] over a range of thresholds (per kind) and of
//! corroboration settings, each row judged by the matcher's rule at that row's thresholds.

use serde::Serialize;

use super::measure::{CaseResult, Measurements};
use super::report::{kind_name, Judge, Recall};
use crate::hash::Kind;
use crate::matcher::rule::Rule;
use crate::matcher::Thresholds;

/// One threshold of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepRow {
    /// The threshold of the swept kind.
    pub threshold: u32,
    /// Recall of the swept kind alone over every known check (all cases).
    pub recall: Recall,
    /// Recall of the fused verdict, the other kind at its configured threshold.
    pub any_recall: Recall,
    /// Recall of the swept kind alone per case, in [`SweepTable::transforms`] order.
    pub per_transform: Vec<Option<f64>>,
    /// Wrong-id matches of the swept kind alone.
    pub wrong_id: u32,
    /// False matches of the swept kind alone.
    pub false_matches: u32,
    /// Wrong-id matches of the fused verdict.
    pub any_wrong_id: u32,
    /// False matches of the fused verdict.
    pub any_false_matches: u32,
    /// Unrelated comparisons (see [`Nearest::pairs`](super::Nearest::pairs)) within the threshold.
    pub unrelated_pairs: u64,
}

/// A threshold sweep of one kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepTable {
    /// The swept kind.
    #[serde(serialize_with = "kind_name")]
    pub kind: Kind,
    /// The other kind's threshold, used for the fused columns.
    pub other_threshold: u32,
    /// The cases, in the order of [`SweepRow::per_transform`].
    pub transforms: Vec<String>,
    /// Unrelated comparisons made (the denominator of the false-match rate per comparison).
    pub pairs: u64,
    /// One row per threshold.
    pub rows: Vec<SweepRow>,
}

/// One setting of the corroboration thresholds, at the report's main thresholds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CorroborationRow {
    /// Corroboration PDQ threshold.
    pub pdq: u32,
    /// Corroboration pHash threshold.
    pub phash: u32,
    /// Fused recall over all known checks.
    pub recall: Recall,
    /// Fused recall per case, in the order of [`Report::transforms`](super::Report::transforms).
    pub per_transform: Vec<Option<f64>>,
    /// Known checks found only by corroboration.
    pub via_corroboration: u32,
    /// Known photos' checks that matched another known photo's entry (fused).
    pub wrong_id: u32,
    /// Unknown photos' checks that matched any entry (fused).
    pub false_matches: u32,
}

/// The corroboration thresholds [`report()`](super::report()) sweeps (those within the wide radii): pHash
/// 8 to 16 by 2, PDQ 32 to 96 by 8; the empty setting (no corroboration) first.
pub fn corroboration_sweep(wide: Thresholds) -> Vec<Option<Thresholds>> {
    let mut v = vec![None];
    for phash in (8..=16).step_by(2).filter(|t| *t <= wide.phash) {
        for pdq in (32..=96).step_by(8).filter(|t| *t <= wide.pdq) {
            v.push(Some(Thresholds { pdq, phash }));
        }
    }
    v
}

/// The PDQ thresholds of the sweep: 0 to 64 in steps of 2, and Meta's 31 (those within `wide`).
pub fn pdq_sweep(wide: u32) -> Vec<u32> {
    let mut v: Vec<u32> = (0..=32).map(|i| i * 2).chain([31]).filter(|t| *t <= wide).collect();
    v.sort_unstable();
    v
}

/// The pHash thresholds of the sweep: 0 to 24 (those within `wide`).
pub fn phash_sweep(wide: u32) -> Vec<u32> {
    (0..=24).filter(|t| *t <= wide).collect()
}

/// The recall of `judge` under `rule` over the checks `rs`.
fn recall(rs: &mut dyn Iterator<Item = &&CaseResult>, judge: Judge, rule: &Rule) -> Recall {
    let (mut found, mut total) = (0, 0);
    for r in rs {
        total += 1;
        found += u32::from(r.found(judge, rule));
    }
    Recall::of(found, total)
}

/// One row of the corroboration sweep: the report's thresholds, default policy, and the
/// corroboration of `rule` (none for the first row).
pub(super) fn corroboration_row(
    m: &Measurements,
    ok: &[&CaseResult],
    known: &dyn Fn(&CaseResult) -> bool,
    rule: Rule,
) -> CorroborationRow {
    let (k, u): (Vec<&CaseResult>, Vec<&CaseResult>) = ok.iter().copied().partition(|r| known(r));
    let c = rule.corroborate().unwrap_or(Thresholds { pdq: 0, phash: 0 });
    CorroborationRow {
        pdq: c.pdq,
        phash: c.phash,
        recall: recall(&mut k.iter(), Judge::Any, &rule),
        per_transform: m
            .cases
            .iter()
            .map(|c| recall(&mut k.iter().filter(|r| r.case == *c), Judge::Any, &rule).recall)
            .collect(),
        via_corroboration: k
            .iter()
            .filter(|r| r.own().is_some_and(|e| e.judge(&r.rule(&rule)).corroborated))
            .count() as u32,
        wrong_id: k.iter().filter(|r| r.bad(Judge::Any, &rule)).count() as u32,
        false_matches: u.iter().filter(|r| r.bad(Judge::Any, &rule)).count() as u32,
    }
}

/// The sweep of `kind`'s threshold, the other kind at `rule`'s; `pairs` is the number of
/// unrelated comparisons made.
pub(super) fn sweep_table(
    m: &Measurements,
    ok: &[&CaseResult],
    known: &dyn Fn(&CaseResult) -> bool,
    kind: Kind,
    rule: &Rule,
    pairs: u64,
) -> SweepTable {
    let wide = m.config.thresholds;
    let t = rule.thresholds();
    let (other, values) = match kind {
        Kind::Pdq => (t.phash, pdq_sweep(wide.pdq)),
        _ => (t.pdq, phash_sweep(wide.phash)),
    };
    let at = |v: u32| match kind {
        Kind::Pdq => Thresholds { pdq: v, phash: t.phash },
        _ => Thresholds { pdq: t.pdq, phash: v },
    };
    let judge = Judge::alone(kind);
    let (k, u): (Vec<&CaseResult>, Vec<&CaseResult>) = ok.iter().copied().partition(|r| known(r));
    let rows = values
        .into_iter()
        .map(|v| {
            let rv = rule.at(at(v));
            let per_transform = m
                .cases
                .iter()
                .map(|c| recall(&mut k.iter().filter(|r| r.case == *c), judge, &rv).recall)
                .collect();
            SweepRow {
                threshold: v,
                recall: recall(&mut k.iter(), judge, &rv),
                any_recall: recall(&mut k.iter(), Judge::Any, &rv),
                per_transform,
                wrong_id: k.iter().filter(|r| r.bad(judge, &rv)).count() as u32,
                false_matches: u.iter().filter(|r| r.bad(judge, &rv)).count() as u32,
                any_wrong_id: k.iter().filter(|r| r.bad(Judge::Any, &rv)).count() as u32,
                any_false_matches: u.iter().filter(|r| r.bad(Judge::Any, &rv)).count() as u32,
                unrelated_pairs: u
                    .iter()
                    .flat_map(|r| r.entries.iter())
                    .filter(|e| e.distance(kind).is_some_and(|d| d <= v))
                    .count() as u64,
            }
        })
        .collect();
    SweepTable {
        kind,
        other_threshold: other,
        transforms: m.cases.iter().map(|c| c.name().to_string()).collect(),
        pairs,
        rows,
    }
}
