//! The evaluation runner behind `mediamatch eval`: how well do the hashes find
//! transformed copies of known photos, and how often do they match the wrong thing?
//!
//! The work is split in two so that one pass over the photos serves every threshold:
//!
//! 1. [`measure`] declares every `known_every`-th photo (by position, sorted by name)
//!    known, puts its PDQ, pHash and MD5 (of the original bytes, as a list provider would
//!    compute them) into an in-memory index as list `known` with the file name as id,
//!    then checks every photo, untransformed and after each [`Transform`], with a
//!    [`Matcher`] whose radii are wide ([`WIDE`]). For each check it records, per known
//!    entry found within the wide radii, the smallest PDQ and pHash distance (over the
//!    dihedral variants and the border-trimmed content, as the matcher reports them),
//!    whether the MD5 matched, and whether PDQ was skipped for low quality. These are
//!    the [`Measurements`].
//! 2. [`report`] turns measurements into figures at chosen thresholds and fusion policy,
//!    plus a sweep over thresholds: no image is touched again.
//!
//! A check *matches* an entry at thresholds `(pdq, phash)` when its MD5 matched, or its
//! perceptual distances pass the fusion policy ([`fused`]): with no required kinds, PDQ
//! within `pdq` or pHash within `phash`; otherwise every required kind within its
//! threshold. A known photo's copy is *found* when it matches its own entry; a
//! *wrong-id match* is a known photo's copy matching another known entry; a *false
//! match* is an unknown photo (or a copy of it) matching any entry.

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::catalog::{Catalog, Entry, ListInfo};
use crate::decode::{self, DecodeError};
use crate::eval::transform::Transform;
use crate::hash::{HashValue, Kind};
use crate::hasher::{hash_bytes, HashOptions, Kinds};
use crate::index::{build, BuildOptions, Index, IndexError};
use crate::matcher::{Config, IndexData, Matcher, Source, Thresholds};

/// The radii the checks are queried with, wide enough for the sweeps: PDQ 96 of 256
/// bits, pHash 24 of 64. Distances beyond them are recorded as "not found".
pub const WIDE: Thresholds = Thresholds { pdq: 96, phash: 24 };

/// The name of the list the known photos are put on.
pub const KNOWN_LIST: &str = "known";

/// One input photo: its file name (the entry id when it is known) and its bytes.
#[derive(Clone, Debug)]
pub struct Photo {
    /// The file name, unique among the photos.
    pub name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// How [`measure`] runs.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// Every photo whose position (among the decodable photos) is a multiple of this is
    /// known; 2 declares half of them known. At least 1.
    pub known_every: usize,
    /// The transforms to apply (the untransformed original is always checked too).
    pub transforms: Vec<Transform>,
    /// Use only the first this many decodable photos.
    pub limit: Option<usize>,
    /// The matcher's configuration: `min_quality`, `dihedral`, `border` and `limits` are
    /// used as given; the thresholds are replaced by `wide`, `require` by none and the
    /// kinds by PDQ, pHash and MD5, since [`report`] applies thresholds and fusion.
    pub config: Config,
    /// The radii the checks are queried with; the largest thresholds [`report`] can judge.
    pub wide: Thresholds,
}

impl Default for EvalOptions {
    fn default() -> EvalOptions {
        EvalOptions {
            known_every: 2,
            transforms: Transform::ALL.to_vec(),
            limit: None,
            config: Config::default(),
            wide: WIDE,
        }
    }
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// `known_every` was 0.
    #[error("known_every must be at least 1")]
    KnownEveryZero,
    /// Two photos have the same name (names are the entry ids).
    #[error("two photos are named {0:?}; photo names must be unique")]
    DuplicateName(String),
    /// None of the inputs decoded as an image.
    #[error("no decodable photos among {0} file(s)")]
    NoPhotos(usize),
    /// No photo was declared known (fewer photos than the known_every step needs).
    #[error("no photo is known")]
    NoKnown,
    /// Building or opening the in-memory index failed.
    #[error("building the index of known photos: {0}")]
    Index(#[source] IndexError),
}

/// What was checked: the photo as it is, or a transformed copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Case {
    /// The original file's bytes.
    Original,
    /// The bytes of [`Transform::apply`].
    Transformed(Transform),
}

impl Case {
    /// `original` or the transform's name.
    pub fn name(self) -> &'static str {
        match self {
            Case::Original => "original",
            Case::Transformed(t) => t.name(),
        }
    }
}

/// A photo that took part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoInfo {
    /// The file name.
    pub name: String,
    /// Whether its hashes are in the index.
    pub known: bool,
}

/// An input that was left out, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file name.
    pub name: String,
    /// Why it was left out (the decoder's error).
    pub error: String,
}

/// The distances of one check to one known entry, within the wide radii.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryDistances {
    /// The known photo, as a position in [`Measurements::photos`].
    pub photo: u32,
    /// The smallest PDQ distance, if within the wide PDQ radius (and PDQ was matched).
    pub pdq: Option<u32>,
    /// The smallest PDQ distance came from the border-trimmed content.
    pub pdq_trimmed: bool,
    /// The smallest pHash distance, if within the wide pHash radius.
    pub phash: Option<u32>,
    /// The smallest pHash distance came from the border-trimmed content.
    pub phash_trimmed: bool,
    /// The smallest pHash distance in the stored orientation (the image as given or its
    /// trimmed content, not turned), if within the wide radius: what corroboration uses.
    pub phash_stored: Option<u32>,
    /// The smallest PDQ distance from an edge-extended image, if within the wide radius
    /// (not in `pdq`: extended images only corroborate).
    pub pdq_extended: Option<u32>,
    /// The smallest pHash distance from an edge-extended image, if within the wide radius.
    pub phash_extended: Option<u32>,
    /// The MD5 matched.
    pub md5: bool,
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    /// The photo, as a position in [`Measurements::photos`].
    pub photo: u32,
    /// What was checked.
    pub case: Case,
    /// Why the transform or the check failed; the other fields are empty then.
    pub error: Option<String>,
    /// The PDQ quality was below the minimum, so PDQ was not matched.
    pub low_quality: bool,
    /// Every known entry found within the wide radii.
    pub entries: Vec<EntryDistances>,
    /// Seconds spent in [`Matcher::check_bytes`] (not in the transform).
    pub check_s: f64,
}

/// Everything [`measure`] observed; [`report`] derives the figures from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurements {
    /// The photos checked, sorted by name.
    pub photos: Vec<PhotoInfo>,
    /// Inputs that did not decode.
    pub skipped: Vec<Skipped>,
    /// The cases checked for every photo, in order (the original first).
    pub cases: Vec<Case>,
    /// One result per photo and case.
    pub results: Vec<CaseResult>,
    /// The matcher settings the checks ran with (thresholds = the wide radii).
    pub config: Config,
    /// The known-photo step.
    pub known_every: usize,
    /// Wall-clock seconds of the checking pass (transforms and checks).
    pub elapsed_s: f64,
}

/// Checks every photo and case against an index of the known photos; see the [module
/// docs](self). Runs on the current rayon pool.
pub fn measure(photos: Vec<Photo>, options: &EvalOptions) -> Result<Measurements, EvalError> {
    if options.known_every == 0 {
        return Err(EvalError::KnownEveryZero);
    }
    let mut photos = photos;
    photos.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = photos.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(EvalError::DuplicateName(w[0].name.clone()));
    }
    let limits = options.config.limits;
    let n_inputs = photos.len();
    let decodes: Vec<Option<DecodeError>> =
        photos.par_iter().map(|p| decode::decode(&p.bytes, &limits).err()).collect();
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for (p, err) in photos.into_iter().zip(decodes) {
        match err {
            Some(e) => skipped.push(Skipped { name: p.name, error: e.to_string() }),
            None => kept.push(p),
        }
    }
    if let Some(limit) = options.limit {
        kept.truncate(limit);
    }
    if kept.is_empty() {
        return Err(EvalError::NoPhotos(n_inputs));
    }
    let infos: Vec<PhotoInfo> = kept
        .iter()
        .enumerate()
        .map(|(i, p)| PhotoInfo { name: p.name.clone(), known: i % options.known_every == 0 })
        .collect();

    let matcher = known_matcher(&kept, &infos, options)?;
    let ids: HashMap<&str, u32> =
        infos.iter().enumerate().map(|(i, p)| (p.name.as_str(), i as u32)).collect();
    let mut cases = vec![Case::Original];
    cases.extend(options.transforms.iter().map(|t| Case::Transformed(*t)));

    let start = Instant::now();
    let results: Vec<CaseResult> = kept
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, p)| check_photo(&matcher, &ids, i as u32, p, &cases, options))
        .collect();
    let elapsed_s = start.elapsed().as_secs_f64();
    Ok(Measurements {
        photos: infos,
        skipped,
        cases,
        results,
        config: matcher.config().clone(),
        known_every: options.known_every,
        elapsed_s,
    })
}

/// The matcher over an index of the known photos' PDQ, pHash and MD5.
fn known_matcher(photos: &[Photo], infos: &[PhotoInfo], options: &EvalOptions) -> Result<Matcher, EvalError> {
    let kinds = Kinds::NONE.with(Kind::Pdq).with(Kind::Phash).with(Kind::Md5);
    // The known side is hashed as a list provider would: the original, nothing derived.
    let hash_options = HashOptions {
        kinds,
        dihedral: false,
        limits: options.config.limits,
        border: false,
        extend: false,
        frames: false,
    };
    let known: Vec<(&Photo, &PhotoInfo)> = photos.iter().zip(infos).filter(|(_, i)| i.known).collect();
    if known.is_empty() {
        return Err(EvalError::NoKnown);
    }
    let entries: Vec<Vec<Entry>> = known
        .par_iter()
        .map(|(p, _)| {
            let h = hash_bytes(&p.bytes, &hash_options);
            let mut values = Vec::new();
            if let Some(Ok(img)) = &h.image {
                values.extend(img.pdq.map(|q| HashValue::Pdq(q.hash)));
                values.extend(img.phash.map(HashValue::Phash));
            }
            values.extend(h.md5.map(HashValue::Md5));
            values
                .into_iter()
                .map(|value| Entry { value, id: p.name.clone(), label: String::new(), lists: vec![0] })
                .collect()
        })
        .collect();
    let catalog = Catalog {
        lists: vec![ListInfo { name: KNOWN_LIST.to_string(), ..ListInfo::default() }],
        entries: entries.into_iter().flatten().collect(),
    };
    let bytes = build(&catalog, &BuildOptions::default()).map_err(EvalError::Index)?;
    let index = Index::from_bytes(IndexData::Owned(bytes)).map_err(EvalError::Index)?;
    let config = Config {
        thresholds: options.wide,
        require: Kinds::NONE,
        corroborate: None,
        kinds: Some(kinds),
        ..options.config.clone()
    };
    Ok(Matcher::from_index(index, config))
}

/// Checks one photo in every case.
fn check_photo(
    matcher: &Matcher,
    ids: &HashMap<&str, u32>,
    photo: u32,
    p: &Photo,
    cases: &[Case],
    options: &EvalOptions,
) -> Vec<CaseResult> {
    let blank = |case: Case, error: String| CaseResult {
        photo,
        case,
        error: Some(error),
        low_quality: false,
        entries: Vec::new(),
        check_s: 0.0,
    };
    let image = match decode::decode(&p.bytes, &options.config.limits) {
        Ok(d) => d.image,
        Err(e) => return cases.iter().map(|c| blank(*c, format!("decoding: {e}"))).collect(),
    };
    let index = matcher.index();
    let mut out = Vec::with_capacity(cases.len());
    for &case in cases {
        let transformed;
        let bytes: &[u8] = match case {
            Case::Original => &p.bytes,
            Case::Transformed(t) => match t.apply(&image) {
                Ok(b) => {
                    transformed = b;
                    &transformed
                }
                Err(e) => {
                    out.push(blank(case, e.to_string()));
                    continue;
                }
            },
        };
        let start = Instant::now();
        let nearby = matcher.near(bytes);
        let check_s = start.elapsed().as_secs_f64();
        let nearby = match nearby {
            Ok(v) => v,
            Err(e) => {
                out.push(blank(case, e.to_string()));
                continue;
            }
        };
        let stored_phash = StoredPhash::of(&nearby.hashes);
        let mut by_entry: HashMap<u32, EntryDistances> = HashMap::new();
        for h in &nearby.hits {
            let Ok(entry) = index.entry(h.entry) else { continue };
            let Some(&known) = ids.get(entry.id) else { continue };
            let e = by_entry
                .entry(known)
                .or_insert_with(|| EntryDistances { photo: known, ..Default::default() });
            let d = Some(h.distance);
            let closer = |x: Option<u32>| x.is_none_or(|x| h.distance < x);
            let trimmed = h.source == Source::Trimmed;
            match (h.kind, h.source) {
                (Kind::Pdq, Source::Extended) if closer(e.pdq_extended) => e.pdq_extended = d,
                (Kind::Phash, Source::Extended) if closer(e.phash_extended) => e.phash_extended = d,
                (Kind::Pdq, Source::Given | Source::Trimmed) if closer(e.pdq) => {
                    e.pdq = d;
                    e.pdq_trimmed = trimmed;
                }
                (Kind::Phash, Source::Given | Source::Trimmed) => {
                    // Corroboration uses the stored orientation only (see `phash_stored`).
                    let set = match h.source {
                        Source::Trimmed => stored_phash.trimmed,
                        _ => stored_phash.given,
                    };
                    if let (Some(q), HashValue::Phash(v)) = (set, entry.value) {
                        let stored = Some(q.distance(&v));
                        if e.phash_stored.is_none_or(|x| stored < Some(x)) {
                            e.phash_stored = stored;
                        }
                    }
                    if closer(e.phash) {
                        e.phash = d;
                        e.phash_trimmed = trimmed;
                    }
                }
                (Kind::Md5, _) => e.md5 = true,
                _ => {}
            }
        }
        let low_quality = nearby.low_quality;
        let mut entries: Vec<EntryDistances> = by_entry.into_values().collect();
        entries.sort_by_key(|e| e.photo);
        out.push(CaseResult { photo, case, error: None, low_quality, entries, check_s });
    }
    out
}

/// The rule that turns per-kind distances into a verdict, beside the thresholds (which
/// the sweeps vary): the fusion policy and corroboration, as [`Config::require`] and
/// [`Config::corroborate`] apply them in the matcher.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fusion {
    /// Kinds that must all agree (empty: any one kind suffices).
    pub require: Kinds,
    /// Corroboration thresholds (used only when `require` is empty).
    pub corroborate: Option<Thresholds>,
}

/// The stored-orientation pHashes of a check's image as given and of its trimmed content.
#[derive(Clone, Copy, Default)]
struct StoredPhash {
    given: Option<crate::hash::Phash>,
    trimmed: Option<crate::hash::Phash>,
}

impl StoredPhash {
    fn of(hashes: &crate::hasher::Hashes) -> StoredPhash {
        match &hashes.image {
            Some(Ok(img)) => {
                StoredPhash { given: img.phash, trimmed: img.trimmed.as_ref().and_then(|t| t.hashes.phash) }
            }
            _ => StoredPhash::default(),
        }
    }
}

/// Whether perceptual agreement `pdq_ok`/`phash_ok` counts as a match under the fusion
/// policy `require`: with no required kinds either kind suffices; otherwise every
/// required kind must agree (the rule of [`Config::require`]).
pub fn fused(pdq_ok: bool, phash_ok: bool, require: Kinds) -> bool {
    let agree = |kind: Kind, ok: bool| ok || !require.contains(kind);
    if require.is_empty() {
        pdq_ok || phash_ok
    } else {
        agree(Kind::Pdq, pdq_ok) && agree(Kind::Phash, phash_ok)
    }
}

impl EntryDistances {
    fn pdq_within(&self, t: u32) -> bool {
        self.pdq.is_some_and(|d| d <= t)
    }

    fn phash_within(&self, t: u32) -> bool {
        self.phash.is_some_and(|d| d <= t)
    }

    /// Whether this entry matches at `thresholds` under `require` (an MD5 match always counts).
    pub fn matches(&self, thresholds: Thresholds, fusion: Fusion) -> bool {
        self.md5
            || fused(self.pdq_within(thresholds.pdq), self.phash_within(thresholds.phash), fusion.require)
            || self.corroborated(thresholds, fusion)
    }

    /// Whether this entry matches only by corroboration: no kind alone within its
    /// threshold (from the image as given or its trimmed content), both kinds within the
    /// corroboration thresholds from any hash set, extended images included, pHash in the
    /// stored orientation (default policy only).
    pub fn corroborated(&self, thresholds: Thresholds, fusion: Fusion) -> bool {
        let Some(c) = fusion.corroborate.filter(|_| fusion.require.is_empty()) else { return false };
        let min = |a: Option<u32>, b: Option<u32>| a.into_iter().chain(b).min();
        let within = |d: Option<u32>, t: u32| d.is_some_and(|d| d <= t);
        !self.md5
            && !self.pdq_within(thresholds.pdq)
            && !self.phash_within(thresholds.phash)
            && within(min(self.pdq, self.pdq_extended), c.pdq)
            && within(min(self.phash_stored, self.phash_extended), c.phash)
    }
}

/// The kinds [`report`] judges one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Judge {
    Pdq,
    Phash,
    Md5,
    Any,
}

impl Judge {
    fn hit(self, e: &EntryDistances, t: Thresholds, fusion: Fusion) -> bool {
        match self {
            Judge::Pdq => e.pdq_within(t.pdq),
            Judge::Phash => e.phash_within(t.phash),
            Judge::Md5 => e.md5,
            Judge::Any => e.matches(t, fusion),
        }
    }
}

impl CaseResult {
    fn own(&self) -> Option<&EntryDistances> {
        self.entries.iter().find(|e| e.photo == self.photo)
    }

    fn others(&self) -> impl Iterator<Item = &EntryDistances> {
        self.entries.iter().filter(move |e| e.photo != self.photo)
    }

    fn found(&self, judge: Judge, t: Thresholds, fusion: Fusion) -> bool {
        self.own().is_some_and(|e| judge.hit(e, t, fusion))
    }

    /// Whether it matched an entry other than its own photo's.
    fn bad(&self, judge: Judge, t: Thresholds, fusion: Fusion) -> bool {
        self.others().any(|e| judge.hit(e, t, fusion))
    }
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
    fn of(found: u32, total: u32) -> Recall {
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
    /// `pdq` or `phash`.
    pub kind: &'static str,
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
    /// Unrelated comparisons (see [`Nearest::pairs`]) within the threshold.
    pub unrelated_pairs: u64,
}

/// A threshold sweep of one kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepTable {
    /// `pdq` or `phash`.
    pub kind: &'static str,
    /// The other kind's threshold, used for the fused columns.
    pub other_threshold: u32,
    /// The cases, in the order of [`SweepRow::per_transform`].
    pub transforms: Vec<String>,
    /// Unrelated comparisons made (the denominator of the false-match rate per comparison).
    pub pairs: u64,
    /// One row per threshold.
    pub rows: Vec<SweepRow>,
}

/// A recall target of issue 7 and whether it is met (fused verdict).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    /// What the target says.
    pub name: String,
    /// The cases it covers (those that were run).
    pub transforms: Vec<String>,
    /// The smallest recall that meets it.
    pub min_recall: f64,
    /// The case with the lowest recall.
    pub worst_transform: Option<String>,
    /// Its recall.
    pub worst_recall: Option<f64>,
    /// Whether every covered case reaches `min_recall` (false when none was run).
    pub met: bool,
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
    /// Fused recall per case, in the order of [`Report::transforms`].
    pub per_transform: Vec<Option<f64>>,
    /// Known checks found only by corroboration.
    pub via_corroboration: u32,
    /// Known photos' checks that matched another known photo's entry (fused).
    pub wrong_id: u32,
    /// Unknown photos' checks that matched any entry (fused).
    pub false_matches: u32,
}

/// The corroboration thresholds [`report`] sweeps (those within the wide radii): pHash
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
    /// Corroboration thresholds `(pdq, phash)`, when corroboration was applied.
    pub corroborate: Option<(u32, u32)>,
    /// The query radius for PDQ (largest judgeable threshold).
    pub wide_pdq: u32,
    /// The query radius for pHash.
    pub wide_phash: u32,
    /// Every this-many-th photo is known.
    pub known_every: usize,
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
    pub nearest_unrelated: Vec<Nearest>,
    /// Per perceptual kind (PDQ, then pHash), the closest pairs of different photos
    /// (unknown or known photo against another photo's entry), closest first: where
    /// false and wrong-id matches would start.
    pub closest_pairs: Vec<Vec<ClosePair>>,
    /// Threshold sweeps: PDQ then pHash.
    pub sweep: Vec<SweepTable>,
    /// Corroboration sweep at the main thresholds (empty under a strict `require`); the
    /// first row, with both thresholds 0, is corroboration off.
    pub corroboration_sweep: Vec<CorroborationRow>,
    /// Issue 7's recall targets.
    pub targets: Vec<Target>,
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

/// The figures of `m` at `thresholds` under the fusion policy `require`; see the
/// [module docs](self). Thresholds beyond the wide radii are judged as the wide radii.
///
/// `corroborate` applies as in [`Config::corroborate`]: only when `require` is empty.
pub fn report(
    m: &Measurements,
    thresholds: Thresholds,
    require: Kinds,
    corroborate: Option<Thresholds>,
) -> Report {
    let fusion = Fusion { require, corroborate: corroborate.filter(|_| require.is_empty()) };
    let wide = m.config.thresholds;
    let t = Thresholds { pdq: thresholds.pdq.min(wide.pdq), phash: thresholds.phash.min(wide.phash) };
    let ok: Vec<&CaseResult> = m.results.iter().filter(|r| r.error.is_none()).collect();
    let known = |r: &CaseResult| m.photos.get(r.photo as usize).is_some_and(|p| p.known);
    let name = |i: u32| m.photos.get(i as usize).map(|p| p.name.clone()).unwrap_or_default();

    let transforms: Vec<TransformReport> = m
        .cases
        .iter()
        .map(|c| {
            let rs: Vec<&CaseResult> = ok.iter().copied().filter(|r| r.case == *c).collect();
            case_report(c.name(), &rs, &known, t, fusion)
        })
        .collect();
    let overall = case_report("all", &ok, &known, t, fusion);

    let mut wrong_id_matches = Vec::new();
    let mut false_matches = Vec::new();
    let mut missed = Vec::new();
    for r in &ok {
        if known(r) && !r.found(Judge::Any, t, fusion) {
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
        for e in r.others().filter(|e| e.matches(t, fusion)) {
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
    let nearest = |kind: &'static str, get: fn(&EntryDistances) -> Option<u32>, pdq: bool| {
        let min_of = |original: bool| {
            unknown_checks
                .iter()
                .filter(|r| (r.case == Case::Original) == original)
                .flat_map(|r| r.entries.iter().filter_map(get))
                .min()
        };
        let checks = unknown_checks.iter().filter(|r| !(pdq && r.low_quality)).count() as u64;
        Nearest { kind, original: min_of(true), transformed: min_of(false), pairs: checks * n_known }
    };
    let nearest_unrelated = vec![nearest("pdq", |e| e.pdq, true), nearest("phash", |e| e.phash, false)];

    let closest_pairs =
        vec![closest(m, &ok, |e| e.pdq, &name, &known), closest(m, &ok, |e| e.phash, &name, &known)];

    let sweep = vec![
        sweep_table(m, &ok, &known, Judge::Pdq, t, fusion, nearest_unrelated[0].pairs),
        sweep_table(m, &ok, &known, Judge::Phash, t, fusion, nearest_unrelated[1].pairs),
    ];
    let corroboration_sweep = if require.is_empty() {
        corroboration_sweep(wide).into_iter().map(|c| corroboration_row(m, &ok, &known, t, c)).collect()
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
        settings: Settings {
            pdq: t.pdq,
            phash: t.phash,
            require: require.iter().map(|k| k.name()).collect(),
            min_quality: m.config.min_quality,
            dihedral: m.config.dihedral,
            border: m.config.border,
            extend: m.config.extend,
            corroborate: fusion.corroborate.map(|c| (c.pdq, c.phash)),
            wide_pdq: wide.pdq,
            wide_phash: wide.phash,
            known_every: m.known_every,
        },
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

fn corroboration_row(
    m: &Measurements,
    ok: &[&CaseResult],
    known: &dyn Fn(&CaseResult) -> bool,
    t: Thresholds,
    corroborate: Option<Thresholds>,
) -> CorroborationRow {
    let fusion = Fusion { require: Kinds::NONE, corroborate };
    let (k, u): (Vec<&CaseResult>, Vec<&CaseResult>) = ok.iter().copied().partition(|r| known(r));
    let recall_of = |rs: &mut dyn Iterator<Item = &&CaseResult>| {
        let (mut found, mut total) = (0, 0);
        for r in rs {
            total += 1;
            found += u32::from(r.found(Judge::Any, t, fusion));
        }
        Recall::of(found, total)
    };
    let c = corroborate.unwrap_or(Thresholds { pdq: 0, phash: 0 });
    CorroborationRow {
        pdq: c.pdq,
        phash: c.phash,
        recall: recall_of(&mut k.iter()),
        per_transform: m
            .cases
            .iter()
            .map(|c| recall_of(&mut k.iter().filter(|r| r.case == *c)).recall)
            .collect(),
        via_corroboration: k.iter().filter(|r| r.own().is_some_and(|e| e.corroborated(t, fusion))).count()
            as u32,
        wrong_id: k.iter().filter(|r| r.bad(Judge::Any, t, fusion)).count() as u32,
        false_matches: u.iter().filter(|r| r.bad(Judge::Any, t, fusion)).count() as u32,
    }
}

/// The [`CLOSEST_PAIRS`] closest (photo, other entry) pairs by one kind's distance.
fn closest(
    m: &Measurements,
    ok: &[&CaseResult],
    get: fn(&EntryDistances) -> Option<u32>,
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
            let Some(d) = get(e) else { continue };
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
    t: Thresholds,
    fusion: Fusion,
) -> TransformReport {
    let k: Vec<&CaseResult> = rs.iter().copied().filter(|r| known(r)).collect();
    let count = |judge: Judge| k.iter().filter(|r| r.found(judge, t, fusion)).count() as u32;
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
                    let c = e.corroborated(t, fusion);
                    let p = c || e.pdq_within(t.pdq);
                    let h = c || e.phash_within(t.phash);
                    let (pf, hf) = from(e);
                    !e.md5 && e.matches(t, fusion) && (!p || pf) && (!h || hf)
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
        .filter(|r| r.own().is_some_and(|e| e.matches(t, fusion) && !without_extended(e).matches(t, fusion)))
        .count() as u32;
    let via_corroboration =
        k.iter().filter(|r| r.own().is_some_and(|e| e.corroborated(t, fusion))).count() as u32;
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
        wrong_id: k.iter().filter(|r| r.bad(Judge::Any, t, fusion)).count() as u32,
        false_matches: rs.iter().filter(|r| !known(r) && r.bad(Judge::Any, t, fusion)).count() as u32,
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

fn sweep_table(
    m: &Measurements,
    ok: &[&CaseResult],
    known: &dyn Fn(&CaseResult) -> bool,
    judge: Judge,
    t: Thresholds,
    fusion: Fusion,
    pairs: u64,
) -> SweepTable {
    let wide = m.config.thresholds;
    let (kind, other, values) = match judge {
        Judge::Pdq => ("pdq", t.phash, pdq_sweep(wide.pdq)),
        _ => ("phash", t.pdq, phash_sweep(wide.phash)),
    };
    let at = |v: u32| match judge {
        Judge::Pdq => Thresholds { pdq: v, phash: t.phash },
        _ => Thresholds { pdq: t.pdq, phash: v },
    };
    let (k, u): (Vec<&CaseResult>, Vec<&CaseResult>) = ok.iter().copied().partition(|r| known(r));
    let rows = values
        .into_iter()
        .map(|v| {
            let tv = at(v);
            let recall_of = |rs: &mut dyn Iterator<Item = &&CaseResult>, j: Judge| {
                let (mut found, mut total) = (0, 0);
                for r in rs {
                    total += 1;
                    found += u32::from(r.found(j, tv, fusion));
                }
                Recall::of(found, total)
            };
            let per_transform = m
                .cases
                .iter()
                .map(|c| recall_of(&mut k.iter().filter(|r| r.case == *c), judge).recall)
                .collect();
            let get = |e: &EntryDistances| match judge {
                Judge::Pdq => e.pdq,
                _ => e.phash,
            };
            SweepRow {
                threshold: v,
                recall: recall_of(&mut k.iter(), judge),
                any_recall: recall_of(&mut k.iter(), Judge::Any),
                per_transform,
                wrong_id: k.iter().filter(|r| r.bad(judge, tv, fusion)).count() as u32,
                false_matches: u.iter().filter(|r| r.bad(judge, tv, fusion)).count() as u32,
                any_wrong_id: k.iter().filter(|r| r.bad(Judge::Any, tv, fusion)).count() as u32,
                any_false_matches: u.iter().filter(|r| r.bad(Judge::Any, tv, fusion)).count() as u32,
                unrelated_pairs: u
                    .iter()
                    .flat_map(|r| r.entries.iter())
                    .filter(|e| get(e).is_some_and(|d| d <= v))
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

/// Issue 7's recall targets, judged on the fused recall of the cases that were run.
fn targets(rows: &[TransformReport]) -> Vec<Target> {
    use Transform as T;
    let exact = [T::Rotate90, T::Rotate180, T::Rotate270, T::Mirror, T::Flip, T::ExifRotated];
    let framed = [T::Pad10, T::Screenshot];
    let excluded = [T::Crop10, T::Rotate3];
    let rest: Vec<T> = T::ALL
        .into_iter()
        .filter(|t| !exact.contains(t) && !framed.contains(t) && !excluded.contains(t))
        .collect();
    let target = |name: &str, set: &[T], min_recall: f64| {
        let covered: Vec<&TransformReport> =
            rows.iter().filter(|r| set.iter().any(|t| t.name() == r.transform)).collect();
        let worst = covered
            .iter()
            .filter_map(|r| r.any.recall.map(|x| (r.transform.clone(), x)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        Target {
            name: name.to_string(),
            transforms: covered.iter().map(|r| r.transform.clone()).collect(),
            min_recall,
            met: !covered.is_empty()
                && covered.iter().all(|r| r.any.recall.is_some_and(|x| x >= min_recall - 1e-12)),
            worst_transform: worst.as_ref().map(|w| w.0.clone()),
            worst_recall: worst.map(|w| w.1),
        }
    };
    vec![
        target("recall >= 99% on every transform except crop-10, rotate-3, pad-10, screenshot", &rest, 0.99),
        target("recall >= 95% on pad-10 and screenshot", &framed, 0.95),
        target("recall 100% on rotations by 90/180/270, mirror, flip, exif-rotated", &exact, 1.0),
    ]
}
