//! The distractor benchmark: recall and false matches when the index holds, besides the
//! known photos, `N` entries of unrelated content, as a real list of millions does.
//!
//! The distractors of a run at `N` entries are
//!
//! - *items derived from real photos* ([`derive_items`]): crops, scales and dihedral
//!   variants of the distractor photos ([`negatives::derive`](super::negatives::derive),
//!   seed [`ITEM_SEED`]), each one list item of a pHash entry and (when its PDQ quality is
//!   at least the minimum) a PDQ entry with the same id `d<source>-<index>`, on list
//!   [`DISTRACTOR_LIST`]; as many as fit in `N` entries, up to the number asked for;
//! - *uniformly random entries* to reach `N` entries in all, half pHash and half PDQ
//!   (seed [`RANDOM_SEED`]), with empty ids so they form no items.
//!
//! The known photos' entries come on top. Each run builds its own index in memory
//! ([`Prepared::measure`]), checks every photo and case against it out to the rule's caps
//! only (not the wide radii of the sweeps) and is judged by the matcher's rule
//! ([`CaseResult::rule`]) entry by entry and item by item, corroboration included.
//!
//! A check of photo `P` that matches an item derived from `P` itself found a crop of the
//! same photo: *related*, not false. A match on any other distractor (an item derived
//! from another photo, or a random entry) is a *false match*, for a known photo's copy as
//! well as an unknown one's; so is any match of an unknown photo's check.

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::measure::{CaseResult, EvalError, EvalOptions, Extra, Measurements, Photo, Prepared};
use super::negatives::{derive, SplitMix64};
use super::report::{settings, BadMatch, Judge, Recall, Settings};
use super::targets::{distractor_targets, DistractorTarget};
use crate::catalog::Entry;
use crate::decode;
use crate::hash::{HashValue, Kind, KindSet, Pdq, Phash};
use crate::matcher::rule::Rule;
use crate::matcher::{Config, Thresholds};
use crate::significance::{IndexSizes, QueryCounts, Significance};

/// The list the distractors are put on.
pub const DISTRACTOR_LIST: &str = "distractors";

/// The seed of the derived items (the null model uses another).
pub const ITEM_SEED: u64 = 0x6469_7374_7261_6374;

/// The seed of the random entries.
pub const RANDOM_SEED: u64 = 0x7261_6e64_6f6d_3031;

/// How many real-image-derived items a run holds by default (fewer when `N` is smaller).
pub const DEFAULT_ITEMS: u64 = 50_000;

/// The index size the report projects to from the null model.
pub const PROJECTED_ENTRIES: u64 = 100_000_000;

/// One distractor item derived from a photo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Its id, `d<source>-<index>`.
    pub id: String,
    /// The position of its source among the distractor photos.
    pub source: u32,
    /// The evaluated photo (position in [`Measurements::photos`]) with the same bytes as
    /// the source, if any: a match of that photo's checks on this item is related.
    pub related: Option<u32>,
    /// Its pHash.
    pub phash: Phash,
    /// Its PDQ hash, when its quality is at least the minimum.
    pub pdq: Option<Pdq>,
}

impl Item {
    /// The number of entries it puts into an index.
    pub fn entries(&self) -> u64 {
        1 + u64::from(self.pdq.is_some())
    }
}

/// Derives `count` items from `photos` (round robin over the photos, so a prefix covers
/// them all evenly). `related[i]` is the evaluated photo photo `i` is (if any); photos
/// that do not decode give no items. Deterministic; runs on the current rayon pool.
pub fn derive_items(photos: &[Photo], related: &[Option<u32>], count: u64, config: &Config) -> Vec<Item> {
    let decoded: Vec<(u32, crate::image::pixels::Image)> = photos
        .par_iter()
        .enumerate()
        .filter_map(|(i, p)| decode::decode(&p.bytes, &config.limits).ok().map(|d| (i as u32, d.image)))
        .collect();
    if decoded.is_empty() || count == 0 {
        return Vec::new();
    }
    let n = decoded.len() as u64;
    // Image 0 is the photo itself; the items are crops (1 ..= per_photo).
    let per_photo = u32::try_from(count.div_ceil(n)).unwrap_or(u32::MAX - 1);
    let images: Vec<_> = decoded.iter().map(|(_, img)| img.clone()).collect();
    let mut derived: Vec<_> = derive(&images, per_photo + 1, ITEM_SEED)
        .into_iter()
        .filter(|d| d.index >= 1 && u64::from(d.index - 1) * n + u64::from(d.source) < count)
        .collect();
    derived.sort_by_key(|d| (d.index, d.source));
    derived
        .into_iter()
        .map(|d| {
            let source = decoded[d.source as usize].0;
            Item {
                id: format!("d{source}-{}", d.index),
                source,
                related: related.get(source as usize).copied().flatten(),
                phash: d.phash,
                pdq: (d.pdq.quality >= config.min_quality).then_some(d.pdq.hash),
            }
        })
        .collect()
}

/// The distractors of a run at `n` entries: the longest prefix of `items` that fits, then
/// random entries (half pHash, half PDQ) up to `n`.
pub fn extra_at(items: &[Item], n: u64) -> (Extra, usize) {
    let mut entries = Vec::new();
    let mut used = 0;
    let mut total = 0u64;
    let entry = |value, id: &str| Entry { value, id: id.to_string(), label: String::new(), lists: vec![1] };
    for item in items {
        if total + item.entries() > n {
            break;
        }
        total += item.entries();
        used += 1;
        entries.push(entry(HashValue::Phash(item.phash), &item.id));
        entries.extend(item.pdq.map(|q| entry(HashValue::Pdq(q), &item.id)));
    }
    let random = n - total;
    let mut rng = SplitMix64(RANDOM_SEED);
    for i in 0..random {
        let value = if i % 2 == 0 {
            HashValue::Phash(Phash(rng.next()))
        } else {
            let mut bytes = [0u8; 32];
            for chunk in bytes.chunks_mut(8) {
                chunk.copy_from_slice(&rng.next().to_le_bytes());
            }
            HashValue::Pdq(Pdq::from_bytes(bytes))
        };
        entries.push(entry(value, ""));
    }
    let ids = items[..used].iter().enumerate().map(|(i, it)| (it.id.clone(), i as u32)).collect();
    (Extra { list: DISTRACTOR_LIST.to_string(), entries, items: ids }, used)
}

/// What the benchmark judges at: the rule's caps, fusion policy and corroboration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judging {
    /// Threshold caps.
    pub thresholds: Thresholds,
    /// Fusion policy (empty = any kind).
    pub require: KindSet,
    /// Corroboration thresholds (only under an empty `require`).
    pub corroborate: Option<Thresholds>,
}

impl Judging {
    /// The radii to query: per kind the larger of the cap and the corroboration threshold.
    pub fn radii(&self) -> Thresholds {
        let c = self.corroborate.filter(|_| self.require.is_empty()).unwrap_or(self.thresholds);
        Thresholds { pdq: self.thresholds.pdq.max(c.pdq), phash: self.thresholds.phash.max(c.phash) }
    }

    fn rule(&self, max_evalue: f64) -> Rule {
        Rule::new(self.thresholds, self.require, self.corroborate, max_evalue, Significance::none())
    }
}

/// The figures of one case (or all cases) at one size.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DistractorCase {
    /// `original`, a transform's name, or `all`.
    pub transform: String,
    /// Checks of known photos.
    pub known: u32,
    /// Checks of unknown photos.
    pub unknown: u32,
    /// Fused recall of the known photos' copies.
    pub recall: Recall,
    /// Known photos' copies matching another known photo's entry.
    pub wrong_id: u32,
    /// Checks with a false match: unknown photos' checks matching anything, known
    /// photos' copies matching a distractor not derived from their own photo.
    pub false_matches: u32,
    /// Of which known photos' copies.
    pub false_known: u32,
    /// Checks unrelated to the distractors of other photos: every check.
    pub unrelated: u32,
    /// `false_matches / unrelated * 1e6`.
    pub false_per_million: Option<f64>,
    /// Candidates of unrelated entries or items that failed only the E-value test.
    pub weak: u64,
    /// Known copies whose own entry was only weak (recall the E-value test cost).
    pub weak_own: u32,
    /// Checks that matched an item derived from their own photo (related, not false).
    pub related: u32,
}

/// The expected false matches per upload at the effective thresholds of an index size,
/// from the null model, for a bordered image's queries ([`QueryCounts::BORDERED_IMAGE`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Projection {
    /// Entries per perceptual kind.
    pub entries: u64,
    /// pHash + PDQ pairs of one item.
    pub item_pairs: u64,
    /// Effective PDQ threshold (`None`: not even 0 is significant).
    pub pdq: Option<u32>,
    /// Effective pHash threshold.
    pub phash: Option<u32>,
    /// Expected PDQ false matches per upload: comparisons x tail(threshold).
    pub evalue_pdq: f64,
    /// Expected pHash false matches per upload.
    pub evalue_phash: f64,
    /// Expected corroborated false matches per upload: the joint E-values summed over the
    /// corners of the accepted region (an upper bound).
    pub evalue_joint: f64,
    /// The sum: expected false matches per upload.
    pub per_upload: f64,
}

/// Projects the rule `judging` at `max_evalue` to an index of `sizes`; see [`Projection`].
pub fn projection(sizes: IndexSizes, judging: &Judging, max_evalue: f64) -> Projection {
    let sig = Significance::of(sizes, QueryCounts::BORDERED_IMAGE);
    let rule = judging.rule(max_evalue).within(sig);
    let at = |kind| {
        let t = rule.effective_threshold(kind);
        (t, t.map_or(0.0, |t| sig.evalue(kind, t)))
    };
    let ((pdq, evalue_pdq), (phash, evalue_phash)) = (at(Kind::Pdq), at(Kind::Phash));
    let mut evalue_joint = 0.0;
    if let Some(c) = rule.corroborate() {
        let a = |b: u32| sig.joint_phash_threshold(c.phash, b, max_evalue);
        for b in 0..=c.pdq {
            // A corner of the staircase: the accepted pHash distance drops after b.
            if let Some(x) = a(b) {
                if b == c.pdq || a(b + 1).is_none_or(|y| y < x) {
                    evalue_joint += sig.joint_evalue(x, b);
                }
            }
        }
    }
    Projection {
        entries: sizes.of(Kind::Phash).max(sizes.of(Kind::Pdq)),
        item_pairs: sizes.item_pairs,
        pdq,
        phash,
        evalue_pdq,
        evalue_phash,
        evalue_joint,
        per_upload: evalue_pdq + evalue_phash + evalue_joint,
    }
}

/// Index sizes of `entries` distractor entries, half pHash and half PDQ, every pHash in an
/// item with a PDQ (the most corroboration chances).
pub fn projected_sizes(entries: u64) -> IndexSizes {
    let half = entries / 2;
    IndexSizes { item_pairs: half, ..IndexSizes::default() }.with(Kind::Phash, half).with(Kind::Pdq, half)
}

/// One run: the index at one size and what the checks found in it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DistractorRun {
    /// Distractor entries asked for (`N`).
    pub entries: u64,
    /// Real-image-derived items among them.
    pub items: u32,
    /// Their entries.
    pub item_entries: u64,
    /// Random entries.
    pub random: u64,
    /// Index entries (known photos included): PDQ.
    pub index_pdq: u64,
    /// Index entries: pHash.
    pub index_phash: u64,
    /// Index item pairs (pHash and PDQ of one id).
    pub index_item_pairs: u64,
    /// Effective thresholds and the null model's expectation at this index size.
    pub projected: Projection,
    /// Seconds building the index.
    pub build_s: f64,
    /// Wall-clock seconds of the checks (transforms included).
    pub elapsed_s: f64,
    /// Seconds inside the matcher, summed over threads.
    pub check_cpu_s: f64,
    /// Per case, in order (the original first).
    pub transforms: Vec<DistractorCase>,
    /// All cases together.
    pub overall: DistractorCase,
    /// Every false match on a distractor and every unknown photo's match (up to
    /// [`LISTED`]), in photo and case order.
    pub false_matches: Vec<BadMatch>,
    /// Known copies matching another known photo's entry (up to [`LISTED`]).
    pub wrong_id_matches: Vec<BadMatch>,
}

/// How many bad matches a run lists.
pub const LISTED: usize = 200;

/// Everything the benchmark reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DistractorReport {
    /// The settings the runs were judged at (the wide radii are the query radii).
    pub settings: Settings,
    /// Photos checked.
    pub photos: u32,
    /// Of which known.
    pub known: u32,
    /// Distractor photos the items were derived from.
    pub distractor_photos: u32,
    /// Items derived (the largest run's need).
    pub items_derived: u32,
    /// Seconds deriving them.
    pub derive_s: f64,
    /// One run per size, in the order asked.
    pub distractors: Vec<DistractorRun>,
    /// The null model's projection to [`PROJECTED_ENTRIES`] entries ([`projected_sizes`]).
    pub projection: Projection,
    /// The targets of the benchmark.
    pub targets: Vec<DistractorTarget>,
    /// What the report leaves out.
    pub note: String,
}

/// What the benchmark runs: sizes, items, and the rule.
#[derive(Clone, Debug, PartialEq)]
pub struct DistractorOptions {
    /// The sizes `N` (distractor entries), one run each.
    pub sizes: Vec<u64>,
    /// Real-image-derived items per run (at most what fits in `N` entries).
    pub items: u64,
    /// The rule judged.
    pub judging: Judging,
}

/// Runs the benchmark: derives the items from `distractor_photos` (those whose bytes equal
/// an evaluated photo's are related to it), then for each size builds the index, checks
/// every photo and case and judges them, handing each run to `done` as it ends.
/// `options.wide` should be [`Judging::radii`].
pub fn run(
    prepared: &Prepared,
    distractor_photos: &[Photo],
    options: &EvalOptions,
    bench: &DistractorOptions,
    done: &dyn Fn(&DistractorRun),
) -> Result<DistractorReport, EvalError> {
    let by_bytes: HashMap<&[u8], u32> =
        prepared.photos().iter().enumerate().map(|(i, p)| (p.bytes.as_slice(), i as u32)).collect();
    let related: Vec<Option<u32>> =
        distractor_photos.iter().map(|p| by_bytes.get(p.bytes.as_slice()).copied()).collect();
    let most = bench.sizes.iter().copied().max().unwrap_or(0);
    let start = Instant::now();
    let items = derive_items(distractor_photos, &related, bench.items.min(most), &options.config);
    let derive_s = start.elapsed().as_secs_f64();
    let max_evalue = options.config.max_evalue;
    let mut runs = Vec::new();
    let mut last = None;
    for &n in &bench.sizes {
        let (extra, used) = extra_at(&items, n);
        let m = prepared.measure(options, extra)?;
        let run = judge_run(&m, &items[..used], n, &bench.judging);
        done(&run);
        runs.push(run);
        last = Some(m);
    }
    let infos = prepared.infos();
    let settings = match &last {
        Some(m) => settings(m, &bench.judging.rule(max_evalue)),
        None => return Err(EvalError::NoKnown),
    };
    let targets = distractor_targets(&runs);
    Ok(DistractorReport {
        settings,
        photos: infos.len() as u32,
        known: infos.iter().filter(|p| p.known).count() as u32,
        distractor_photos: distractor_photos.len() as u32,
        items_derived: items.len() as u32,
        derive_s,
        distractors: runs,
        projection: projection(projected_sizes(PROJECTED_ENTRIES), &bench.judging, max_evalue),
        targets,
        note: "with distractors the checks query only out to the caps, so the threshold sweeps are left out"
            .to_string(),
    })
}

/// The figures of one run.
pub fn judge_run(m: &Measurements, items: &[Item], n: u64, judging: &Judging) -> DistractorRun {
    let rule = judging.rule(m.config.max_evalue);
    let ok: Vec<&CaseResult> = m.results.iter().filter(|r| r.error.is_none()).collect();
    let judge = Judgement { m, items, rule };
    let transforms =
        m.cases.iter().map(|c| judge.case(c.name(), ok.iter().copied().filter(|r| r.case == *c))).collect();
    let overall = judge.case("all", ok.iter().copied());
    let (mut false_matches, mut wrong_id_matches) = (Vec::new(), Vec::new());
    for r in &ok {
        let known = judge.known(r);
        let (wrong, falses) = judge.bad(r);
        let out = if known { &mut wrong_id_matches } else { &mut false_matches };
        out.extend(wrong);
        false_matches.extend(falses);
    }
    false_matches.truncate(LISTED);
    wrong_id_matches.truncate(LISTED);
    let item_entries = items.iter().map(Item::entries).sum();
    DistractorRun {
        entries: n,
        items: items.len() as u32,
        item_entries,
        random: n - item_entries,
        index_pdq: m.sizes.of(Kind::Pdq),
        index_phash: m.sizes.of(Kind::Phash),
        index_item_pairs: m.sizes.item_pairs,
        projected: projection(m.sizes, judging, m.config.max_evalue),
        build_s: m.build_s,
        elapsed_s: m.elapsed_s,
        check_cpu_s: ok.iter().map(|r| r.check_s).sum(),
        transforms,
        overall,
        false_matches,
        wrong_id_matches,
    }
}

/// Judges the checks of one run.
struct Judgement<'a> {
    m: &'a Measurements,
    items: &'a [Item],
    rule: Rule,
}

impl Judgement<'_> {
    fn known(&self, r: &CaseResult) -> bool {
        self.m.photos.get(r.photo as usize).is_some_and(|p| p.known)
    }

    fn name(&self, photo: u32) -> String {
        self.m.photos.get(photo as usize).map(|p| p.name.clone()).unwrap_or_default()
    }

    /// Whether distractor `item` (number as in [`CaseResult::distractors`]) was derived
    /// from the check's own photo.
    fn related(&self, r: &CaseResult, item: u32) -> bool {
        self.items.get(item as usize).is_some_and(|it| it.related == Some(r.photo))
    }

    /// The check's matches on other known photos' entries (wrong-id for a known photo,
    /// false for an unknown one) and on unrelated distractors (false).
    fn bad(&self, r: &CaseResult) -> (Vec<BadMatch>, Vec<BadMatch>) {
        let rule = r.rule(&self.rule);
        let bad = |id: String, e: &super::EntryDistances| BadMatch {
            photo: self.name(r.photo),
            transform: r.case.name().to_string(),
            id,
            pdq: e.pdq,
            phash: e.phash,
            md5: e.md5,
        };
        let wrong =
            r.others().filter(|e| e.judge(&rule).is_match()).map(|e| bad(self.name(e.photo), e)).collect();
        let falses = r
            .distractors
            .iter()
            .filter(|e| !self.related(r, e.photo) && e.judge(&rule).is_match())
            .map(|e| {
                let id = self.items.get(e.photo as usize).map_or_else(
                    || format!("random {} entry", if e.pdq.is_some() { "pdq" } else { "phash" }),
                    |it| it.id.clone(),
                );
                bad(id, e)
            })
            .collect();
        (wrong, falses)
    }

    fn case<'r>(&self, name: &str, rs: impl Iterator<Item = &'r CaseResult>) -> DistractorCase {
        let mut c = DistractorCase { transform: name.to_string(), ..DistractorCase::default() };
        let (mut found, mut false_unknown) = (0, 0);
        for r in rs {
            let rule = r.rule(&self.rule);
            let known = self.known(r);
            let on_distractor =
                r.distractors.iter().any(|e| !self.related(r, e.photo) && e.judge(&rule).is_match());
            let on_known = r.bad(Judge::Any, &self.rule);
            c.unrelated += 1;
            c.related += u32::from(
                r.distractors.iter().any(|e| self.related(r, e.photo) && e.judge(&rule).is_match()),
            );
            let unrelated = r.others().chain(r.distractors.iter().filter(|e| !self.related(r, e.photo)));
            c.weak += unrelated.filter(|e| e.judge(&rule).weak).count() as u64;
            if known {
                c.known += 1;
                let own = r.own().map(|e| e.judge(&rule));
                found += u32::from(own.is_some_and(|o| o.is_match()));
                c.weak_own += u32::from(own.is_some_and(|o| o.weak));
                c.wrong_id += u32::from(on_known);
                c.false_known += u32::from(on_distractor);
            } else {
                c.unknown += 1;
                false_unknown += u32::from(on_known || on_distractor);
            }
        }
        c.recall = Recall::of(found, c.known);
        c.false_matches = false_unknown + c.false_known;
        c.false_per_million =
            (c.unrelated > 0).then(|| f64::from(c.false_matches) / f64::from(c.unrelated) * 1e6);
        c
    }
}
