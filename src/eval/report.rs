//! Reports: the figures of a [`Measurements`] at one setting of thresholds and fusion
//! policy, judged by the matcher's [rule](crate::matcher::rule).
//!
//! A check *matches* an entry when the rule says so for its distances to that entry
//! ([`EntryDistances::judge`]): an MD5 match, a perceptual match passing the fusion
//! policy, or corroboration. A known photo's copy is *found* when it matches its own
//! entry; a *wrong-id match* is a known photo's copy matching another known entry; a
//! *false match* is an unknown photo (or a copy of it) matching any entry.

use std::collections::HashMap;

use serde::{Serialize, Serializer};

use super::measure::{Case, CaseResult, EntryDistances, Measurements, Skipped};
use super::sweep::{corroboration_row, corroboration_sweep, sweep_table, CorroborationRow, SweepTable};
use super::targets::{targets, Target};
use crate::hash::Kind;
use crate::hash::KindSet;
use crate::matcher::rule::Rule;
use crate::matcher::Thresholds;
use crate::significance::Significance;

/// What [`report`] judges one at a time: one kind alone, or the rule's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Judge {
    /// PDQ alone within its threshold.
    Pdq,
    /// pHash alone within its threshold.
    Phash,
    /// MD5.
    Md5,
    /// The rule's verdict (fusion policy and corroboration).
    Any,
}

impl Judge {
    /// The judge of one perceptual kind alone.
    pub(super) fn alone(kind: Kind) -> Judge {
        if kind == Kind::Pdq {
            Judge::Pdq
        } else {
            Judge::Phash
        }
    }

    fn hit(self, e: &EntryDistances, rule: &Rule) -> bool {
        let o = e.judge(rule);
        match self {
            Judge::Pdq => o.pdq,
            Judge::Phash => o.phash,
            Judge::Md5 => o.digest,
            Judge::Any => o.is_match(),
        }
    }
}

impl CaseResult {
    /// Whether the check found its own photo's entry.
    pub(super) fn found(&self, judge: Judge, rule: &Rule) -> bool {
        self.own().is_some_and(|e| judge.hit(e, &self.rule(rule)))
    }

    /// Whether it matched an entry other than its own photo's.
    pub(super) fn bad(&self, judge: Judge, rule: &Rule) -> bool {
        let rule = self.rule(rule);
        self.others().any(|e| judge.hit(e, &rule))
    }
}

/// One value per perceptual kind, by name: `{"pdq": ..., "phash": ...}` in JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PerKind<T> {
    /// PDQ's.
    pub pdq: T,
    /// pHash's.
    pub phash: T,
}

impl<T> PerKind<T> {
    /// One value per kind, made by `f`.
    pub fn by(mut f: impl FnMut(Kind) -> T) -> PerKind<T> {
        PerKind { pdq: f(Kind::Pdq), phash: f(Kind::Phash) }
    }

    /// The kinds and their values, PDQ first.
    pub fn iter(&self) -> impl Iterator<Item = (Kind, &T)> {
        [(Kind::Pdq, &self.pdq), (Kind::Phash, &self.phash)].into_iter()
    }
}

/// Serializes a kind as its name (`pdq`, `phash`).
pub(super) fn kind_name<S: Serializer>(kind: &Kind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.name())
}

/// Found among total, as a fraction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Recall {
    /// Known photos' copies found.
    pub found: u32,
    /// Known photos' copies checked.
    pub total: u32,
    /// `found / total`; `None` when nothing was checked.
    pub recall: Option<f64>,
}

impl Recall {
    pub(super) fn of(found: u32, total: u32) -> Recall {
        Recall { found, total, recall: (total > 0).then(|| f64::from(found) / f64::from(total)) }
    }
}

/// Recall and the distribution of true-copy distances of one perceptual kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct KindStats {
    /// Known photos' copies found at the threshold.
    pub found: u32,
    /// Known photos' copies checked.
    pub total: u32,
    /// `found / total`.
    pub recall: Option<f64>,
    /// Median distance of a copy to its own entry (nearest rank) over the checks where the
    /// kind was matched (PDQ: not low quality); `None` means beyond the wide radius.
    pub p50: Option<u32>,
    /// 90th percentile.
    pub p90: Option<u32>,
    /// 99th percentile.
    pub p99: Option<u32>,
    /// Largest distance.
    pub max: Option<u32>,
    /// Copies (of those in the percentiles) whose own entry was not within the wide radius.
    pub beyond: u32,
}

/// The figures of one case (or of all cases together).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransformReport {
    /// `original`, a transform's name, or `all`.
    pub transform: String,
    /// Checks of known photos (without errors).
    pub known: u32,
    /// Checks of unknown photos (without errors).
    pub unknown: u32,
    /// PDQ alone.
    pub pdq: KindStats,
    /// pHash alone.
    pub phash: KindStats,
    /// MD5 alone (exact bytes).
    pub md5: Recall,
    /// The fused verdict (MD5, or PDQ/pHash under the fusion policy).
    pub any: Recall,
    /// Copies found (fused) only because the border-trimmed content was also hashed: every
    /// kind that matched got its smallest distance from the trimmed content.
    pub via_trimmed: u32,
    /// Copies found (fused) only because the edge-extended images were also hashed.
    pub via_extended: u32,
    /// Copies found only by corroboration (both kinds within the corroboration
    /// thresholds, neither within its own).
    pub via_corroboration: u32,
    /// Checks whose PDQ quality was under the minimum (PDQ not matched).
    pub low_quality: u32,
    /// Known photos' copies that matched another known photo's entry (fused).
    pub wrong_id: u32,
    /// Unknown photos' checks that matched any entry (fused).
    pub false_matches: u32,
    /// Seconds spent inside the matcher for these checks, summed over threads.
    pub check_s: f64,
}

/// A match that should not have happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadMatch {
    /// The photo checked.
    pub photo: String,
    /// The case checked.
    pub transform: String,
    /// The entry id it matched.
    pub id: String,
    /// PDQ distance to that entry, if within the wide radius.
    pub pdq: Option<u32>,
    /// pHash distance to that entry, if within the wide radius.
    pub phash: Option<u32>,
    /// The MD5 matched.
    pub md5: bool,
}

/// The nearest unrelated distance of one kind: min over unknown photos' checks against
/// every known entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Nearest {
    /// The kind.
    #[serde(serialize_with = "kind_name")]
    pub kind: Kind,
    /// Over the untransformed unknown photos; `None` when beyond the wide radius.
    pub original: Option<u32>,
    /// Over the transformed copies of unknown photos; `None` when beyond the wide radius.
    pub transformed: Option<u32>,
    /// Unknown-check × known-entry comparisons made (each the minimum over the dihedral
    /// variants and trimmed content, as queried).
    pub pairs: u64,
}

/// One of the closest pairs of different photos: a photo's check (or a copy's) and
/// another photo's entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClosePair {
    /// The photo checked.
    pub photo: String,
    /// Whether that photo is known (a match would be wrong-id) or not (a false match).
    pub known: bool,
    /// The entry id (another photo).
    pub id: String,
    /// The smallest distance of this kind over the photo's cases.
    pub distance: u32,
    /// The case that gave it (the first in case order on a tie).
    pub transform: String,
}

/// How many closest pairs [`Report::closest_pairs`] lists per kind.
pub const CLOSEST_PAIRS: usize = 10;

/// The settings a report was computed at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// PDQ threshold.
    pub pdq: u32,
    /// pHash threshold.
    pub phash: u32,
    /// Fusion policy: required kinds (empty = any).
    pub require: Vec<&'static str>,
    /// PDQ minimum quality.
    pub min_quality: u8,
    /// Dihedral queries.
    pub dihedral: bool,
    /// Border removal.
    pub border: bool,
    /// Edge extension (hashing a guess at a cropped copy's original framing).
    pub extend: bool,
    /// Corroboration thresholds, when corroboration was applied.
    pub corroborate: Option<CorroborationSetting>,
    /// The query radius for PDQ (largest judgeable threshold).
    pub wide_pdq: u32,
    /// The query radius for pHash.
    pub wide_phash: u32,
    /// Every this-many-th photo is known.
    pub known_every: usize,
}

/// The corroboration thresholds of [`Settings::corroborate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CorroborationSetting {
    /// Corroboration PDQ threshold.
    pub pdq: u32,
    /// Corroboration pHash threshold.
    pub phash: u32,
}

/// A check that could not be made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseError {
    /// The photo.
    pub photo: String,
    /// The case.
    pub transform: String,
    /// Why.
    pub error: String,
}

/// Everything `mediamatch eval` prints, at one setting of thresholds and fusion policy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The settings.
    pub settings: Settings,
    /// Photos checked.
    pub photos: u32,
    /// Of which known.
    pub known: u32,
    /// Of which unknown.
    pub unknown: u32,
    /// Inputs left out (not decodable).
    pub skipped: Vec<Skipped>,
    /// Checks made (photos × cases), errors included.
    pub checks: u64,
    /// Checks that failed.
    pub errors: Vec<CaseError>,
    /// Wall-clock seconds of the checking pass.
    pub elapsed_s: f64,
    /// Checks per wall-clock second (transforms included).
    pub checks_per_s: f64,
    /// Seconds spent inside the matcher, summed over threads.
    pub check_cpu_s: f64,
    /// Per case, in order (the original first).
    pub transforms: Vec<TransformReport>,
    /// All cases together.
    pub overall: TransformReport,
    /// Every wrong-id match (fused), in photo and case order.
    pub wrong_id_matches: Vec<BadMatch>,
    /// Every false match (fused), in photo and case order.
    pub false_matches: Vec<BadMatch>,
    /// Every known photo's check that did not find its own entry (fused), in photo and
    /// case order, with its distances to that entry (`id` is the photo's own).
    pub missed: Vec<BadMatch>,
    /// Nearest unrelated distance per perceptual kind.
    pub nearest_unrelated: PerKind<Nearest>,
    /// Per perceptual kind, the closest pairs of different photos
    /// (unknown or known photo against another photo's entry), closest first: where
    /// false and wrong-id matches would start.
    pub closest_pairs: PerKind<Vec<ClosePair>>,
    /// Threshold sweeps per perceptual kind.
    pub sweep: PerKind<SweepTable>,
    /// Corroboration sweep at the main thresholds (empty under a strict `require`); the
    /// first row, with both thresholds 0, is corroboration off.
    pub corroboration_sweep: Vec<CorroborationRow>,
    /// The recall targets ([`targets`]).
    pub targets: Vec<Target>,
}

/// The figures of `m` at `thresholds` under the fusion policy `require`; see the
/// [module docs](self). Thresholds beyond the wide radii are judged as the wide radii.
///
/// `corroborate` applies as in [`crate::matcher::Config::corroborate`]: only when
/// `require` is empty.
pub fn report(
    m: &Measurements,
    thresholds: Thresholds,
    require: KindSet,
    corroborate: Option<Thresholds>,
) -> Report {
    let wide = m.config.thresholds;
    let t = Thresholds { pdq: thresholds.pdq.min(wide.pdq), phash: thresholds.phash.min(wide.phash) };
    let rule = Rule::new(t, require, corroborate, m.config.max_evalue, Significance::none());
    let ok: Vec<&CaseResult> = m.results.iter().filter(|r| r.error.is_none()).collect();
    let known = |r: &CaseResult| m.photos.get(r.photo as usize).is_some_and(|p| p.known);
    let name = |i: u32| m.photos.get(i as usize).map(|p| p.name.clone()).unwrap_or_default();

    let transforms: Vec<TransformReport> = m
        .cases
        .iter()
        .map(|c| {
            let rs: Vec<&CaseResult> = ok.iter().copied().filter(|r| r.case == *c).collect();
            case_report(c.name(), &rs, &known, &rule)
        })
        .collect();
    let overall = case_report("all", &ok, &known, &rule);

    let mut wrong_id_matches = Vec::new();
    let mut false_matches = Vec::new();
    let mut missed = Vec::new();
    for r in &ok {
        if known(r) && !r.found(Judge::Any, &rule) {
            let own = r.own().cloned().unwrap_or_default();
            missed.push(BadMatch {
                photo: name(r.photo),
                transform: r.case.name().to_string(),
                id: name(r.photo),
                pdq: own.pdq,
                phash: own.phash,
                md5: own.md5,
            });
        }
        let out = if known(r) { &mut wrong_id_matches } else { &mut false_matches };
        let case_rule = r.rule(&rule);
        for e in r.others().filter(|e| e.judge(&case_rule).is_match()) {
            out.push(BadMatch {
                photo: name(r.photo),
                transform: r.case.name().to_string(),
                id: name(e.photo),
                pdq: e.pdq,
                phash: e.phash,
                md5: e.md5,
            });
        }
    }

    let unknown_checks: Vec<&CaseResult> = ok.iter().copied().filter(|r| !known(r)).collect();
    let n_known = m.photos.iter().filter(|p| p.known).count() as u64;
    let nearest_unrelated = PerKind::by(|kind| {
        let min_of = |original: bool| {
            unknown_checks
                .iter()
                .filter(|r| (r.case == Case::Original) == original)
                .flat_map(|r| r.entries.iter().filter_map(|e| e.distance(kind)))
                .min()
        };
        // PDQ of a low-quality check was not matched: it made no comparison.
        let checks = unknown_checks.iter().filter(|r| !(kind == Kind::Pdq && r.low_quality)).count() as u64;
        Nearest { kind, original: min_of(true), transformed: min_of(false), pairs: checks * n_known }
    });
    let closest_pairs = PerKind::by(|kind| closest(m, &ok, kind, &name, &known));
    let sweep = PerKind::by(|kind| {
        let pairs =
            if kind == Kind::Pdq { nearest_unrelated.pdq.pairs } else { nearest_unrelated.phash.pairs };
        sweep_table(m, &ok, &known, kind, &rule, pairs)
    });
    let corroboration_sweep = if require.is_empty() {
        corroboration_sweep(wide)
            .into_iter()
            .map(|c| {
                corroboration_row(
                    m,
                    &ok,
                    &known,
                    Rule::new(t, KindSet::NONE, c, m.config.max_evalue, Significance::none()),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let targets = targets(&transforms);
    let errors = m
        .results
        .iter()
        .filter_map(|r| {
            r.error.as_ref().map(|e| CaseError {
                photo: name(r.photo),
                transform: r.case.name().to_string(),
                error: e.clone(),
            })
        })
        .collect();
    let checks = m.results.len() as u64;
    let n_photos = m.photos.len() as u32;
    Report {
        settings: settings(m, &rule),
        photos: n_photos,
        known: n_known as u32,
        unknown: n_photos - n_known as u32,
        skipped: m.skipped.clone(),
        checks,
        errors,
        elapsed_s: m.elapsed_s,
        checks_per_s: if m.elapsed_s > 0.0 { checks as f64 / m.elapsed_s } else { 0.0 },
        check_cpu_s: m.results.iter().map(|r| r.check_s).sum(),
        transforms,
        overall,
        wrong_id_matches,
        false_matches,
        missed,
        nearest_unrelated,
        closest_pairs,
        sweep,
        corroboration_sweep,
        targets,
    }
}

/// The settings of a report of `m` judged by `rule`.
pub(super) fn settings(m: &Measurements, rule: &Rule) -> Settings {
    let (t, wide) = (rule.thresholds(), m.config.thresholds);
    Settings {
        pdq: t.pdq,
        phash: t.phash,
        require: rule.require().iter().map(|k| k.name()).collect(),
        min_quality: m.config.min_quality,
        dihedral: m.config.dihedral,
        border: m.config.border,
        extend: m.config.extend,
        corroborate: rule.corroborate().map(|c| CorroborationSetting { pdq: c.pdq, phash: c.phash }),
        wide_pdq: wide.pdq,
        wide_phash: wide.phash,
        known_every: m.known_every,
    }
}

/// The [`CLOSEST_PAIRS`] closest (photo, other entry) pairs by one kind's distance.
fn closest(
    m: &Measurements,
    ok: &[&CaseResult],
    kind: Kind,
    name: &dyn Fn(u32) -> String,
    known: &dyn Fn(&CaseResult) -> bool,
) -> Vec<ClosePair> {
    let order: HashMap<Case, usize> = m.cases.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    // (photo, entry) -> (distance, case order, case, known)
    type Best = (u32, usize, Case, bool);
    let mut best: HashMap<(u32, u32), Best> = HashMap::new();
    for r in ok {
        let rank = order.get(&r.case).copied().unwrap_or(usize::MAX);
        for e in r.others() {
            let Some(d) = e.distance(kind) else { continue };
            let slot = best.entry((r.photo, e.photo)).or_insert((d, rank, r.case, known(r)));
            if (d, rank) < (slot.0, slot.1) {
                *slot = (d, rank, r.case, known(r));
            }
        }
    }
    let mut pairs: Vec<((u32, u32), Best)> = best.into_iter().collect();
    pairs.sort_by_key(|(k, v)| (v.0, *k));
    pairs
        .into_iter()
        .take(CLOSEST_PAIRS)
        .map(|((photo, entry), (distance, _, case, known))| ClosePair {
            photo: name(photo),
            known,
            id: name(entry),
            distance,
            transform: case.name().to_string(),
        })
        .collect()
}

fn case_report(
    name: &str,
    rs: &[&CaseResult],
    known: &dyn Fn(&CaseResult) -> bool,
    rule: &Rule,
) -> TransformReport {
    let k: Vec<&CaseResult> = rs.iter().copied().filter(|r| known(r)).collect();
    let count = |judge: Judge| k.iter().filter(|r| r.found(judge, rule)).count() as u32;
    let total = k.len() as u32;
    let stats = |judge: Judge, get: fn(&EntryDistances) -> Option<u32>| {
        // PDQ of a low-quality check was not matched: it has no distance to judge.
        let measured = |r: &&&CaseResult| judge != Judge::Pdq || !r.low_quality;
        let mut d: Vec<Option<u32>> = k.iter().filter(measured).map(|r| r.own().and_then(get)).collect();
        // `None` (beyond the radius) sorts after every distance.
        d.sort_by_key(|x| (x.is_none(), *x));
        let found = count(judge);
        KindStats {
            found,
            total,
            recall: Recall::of(found, total).recall,
            p50: percentile(&d, 50),
            p90: percentile(&d, 90),
            p99: percentile(&d, 99),
            max: d.last().copied().flatten(),
            beyond: d.iter().filter(|x| x.is_none()).count() as u32,
        }
    };
    // Found only through a derived hash set: every kind that passed its threshold got its
    // smallest distance from that set (a corroborated match counts both kinds).
    let via = |from: fn(&EntryDistances) -> (bool, bool)| {
        k.iter()
            .filter(|r| {
                r.own().is_some_and(|e| {
                    let o = e.judge(&r.rule(rule));
                    let p = o.corroborated || o.pdq;
                    let h = o.corroborated || o.phash;
                    let (pf, hf) = from(e);
                    !e.md5 && o.is_match() && (!p || pf) && (!h || hf)
                })
            })
            .count() as u32
    };
    let via_trimmed = via(|e| (e.pdq_trimmed, e.phash_trimmed));
    // Found by corroboration that needed an extended image's distance.
    let without_extended =
        |e: &EntryDistances| EntryDistances { pdq_extended: None, phash_extended: None, ..e.clone() };
    let via_extended = k
        .iter()
        .filter(|r| {
            let rule = r.rule(rule);
            r.own().is_some_and(|e| e.judge(&rule).is_match() && !without_extended(e).judge(&rule).is_match())
        })
        .count() as u32;
    let via_corroboration =
        k.iter().filter(|r| r.own().is_some_and(|e| e.judge(&r.rule(rule)).corroborated)).count() as u32;
    TransformReport {
        transform: name.to_string(),
        known: total,
        unknown: (rs.len() - k.len()) as u32,
        pdq: stats(Judge::Pdq, |e| e.pdq),
        phash: stats(Judge::Phash, |e| e.phash),
        md5: Recall::of(count(Judge::Md5), total),
        any: Recall::of(count(Judge::Any), total),
        via_trimmed,
        via_extended,
        via_corroboration,
        low_quality: rs.iter().filter(|r| r.low_quality).count() as u32,
        wrong_id: k.iter().filter(|r| r.bad(Judge::Any, rule)).count() as u32,
        false_matches: rs.iter().filter(|r| !known(r) && r.bad(Judge::Any, rule)).count() as u32,
        check_s: rs.iter().map(|r| r.check_s).sum(),
    }
}

/// The nearest-rank percentile of sorted values (`None` = beyond the radius, sorted last).
fn percentile(sorted: &[Option<u32>], p: usize) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}
