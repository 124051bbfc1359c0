//! Measuring: one pass over the photos that records, per check and known entry, the
//! candidate distances the sweeps judge.
//!
//! [`measure`] declares every `known_every`-th photo (by position, sorted by name) known,
//! puts its PDQ, pHash and MD5 (of the original bytes, as a list provider would compute
//! them) into an in-memory index as list `known` with the file name as id, then checks
//! every photo, untransformed and after each [`Transform`], querying every hash set of
//! the input (the image as given, its trimmed content, its edge-extended guesses, with
//! their dihedral variants) out to wide radii ([`WIDE`]). For each check it records, per
//! known entry found within the wide radii, the smallest distances per kind and hash set
//! ([`EntryDistances`]), whether the MD5 matched, and whether PDQ was skipped for low
//! quality. No threshold is applied here: [`report`](mod@crate::eval::report) asks the matcher's
//! [rule](crate::matcher::rule) about these distances for each threshold it reports.

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::catalog::{Catalog, Entry, ListInfo};
use crate::decode::{self, DecodeError};
use crate::eval::transform::Transform;
use crate::hash::KindSet;
use crate::hash::{HashValue, Kind};
use crate::hashing::{hash_bytes, HashOptions};
use crate::index::{build, BuildOptions, Index, IndexError};
use crate::matcher::collect::Reach;
use crate::matcher::rule::{Candidates, Outcome, Rule};
use crate::matcher::{Config, IndexData, Matcher, Origin, Thresholds};
use crate::significance::{IndexSizes, Significance};

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
    /// kinds by PDQ, pHash and MD5, since [`report()`](super::report()) applies thresholds and fusion.
    pub config: Config,
    /// The radii the checks are queried with; the largest thresholds [`report()`](super::report()) can judge.
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
    /// The check's search size (the index's entries and the hashes it queried), for the
    /// E-values of the rule ([`CaseResult::rule`]).
    pub significance: Significance,
    /// Seconds spent hashing and querying the check (not in the transform).
    pub check_s: f64,
}

/// Everything [`measure`] observed; [`report()`](super::report()) derives the figures from it.
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
    let kinds = KindSet::NONE.with(Kind::Pdq).with(Kind::Phash).with(Kind::Md5);
    // The known side is hashed as a list provider would: the original, nothing derived.
    let hash_options = HashOptions {
        kinds,
        dihedral: false,
        limits: options.config.limits,
        border: false,
        extend: false,
        rotate: false,
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
        require: KindSet::NONE,
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
        significance: Significance::none(),
        check_s: 0.0,
    };
    let image = match decode::decode(&p.bytes, &options.config.limits) {
        Ok(d) => d.image,
        Err(e) => return cases.iter().map(|c| blank(*c, format!("decoding: {e}"))).collect(),
    };
    let index = matcher.index();
    let sizes = match IndexSizes::of_index(&*index) {
        Ok(s) => s,
        Err(e) => return cases.iter().map(|c| blank(*c, format!("index: {e}"))).collect(),
    };
    let kinds = crate::matcher::collect::kinds_for(&index, matcher.config());
    // Every hash set alike, extended images included: the rule decides what counts.
    let reach = Reach::every_set(matcher.config().thresholds);
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
        let collected = matcher.collect(&index, kinds, bytes, &reach);
        let check_s = start.elapsed().as_secs_f64();
        let collected = match collected {
            Ok(v) => v,
            Err(e) => {
                out.push(blank(case, e.to_string()));
                continue;
            }
        };
        let stored_phash = StoredPhash::of(&collected.hashes);
        let mut by_entry: HashMap<u32, EntryDistances> = HashMap::new();
        for h in &collected.hits {
            let Ok(entry) = index.entry(h.entry) else { continue };
            let Some(&known) = ids.get(entry.id) else { continue };
            let e = by_entry
                .entry(known)
                .or_insert_with(|| EntryDistances { photo: known, ..Default::default() });
            let d = Some(h.distance);
            let closer = |x: Option<u32>| x.is_none_or(|x| h.distance < x);
            let trimmed = h.origin == Origin::Trimmed;
            match (h.kind, h.origin) {
                (Kind::Pdq, Origin::Extended) if closer(e.pdq_extended) => e.pdq_extended = d,
                (Kind::Phash, Origin::Extended) if closer(e.phash_extended) => e.phash_extended = d,
                (Kind::Pdq, Origin::Given | Origin::Trimmed) if closer(e.pdq) => {
                    e.pdq = d;
                    e.pdq_trimmed = trimmed;
                }
                (Kind::Phash, Origin::Given | Origin::Trimmed) => {
                    // Corroboration uses the stored orientation only (see `phash_stored`).
                    let set = match h.origin {
                        Origin::Trimmed => stored_phash.trimmed,
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
        let low_quality = collected.low_quality;
        let significance = Significance::of(sizes, collected.queries);
        let mut entries: Vec<EntryDistances> = by_entry.into_values().collect();
        entries.sort_by_key(|e| e.photo);
        out.push(CaseResult { photo, case, error: None, low_quality, entries, significance, check_s });
    }
    out
}

/// The stored-orientation pHashes of a check's image as given and of its trimmed content.
#[derive(Clone, Copy, Default)]
struct StoredPhash {
    given: Option<crate::hash::Phash>,
    trimmed: Option<crate::hash::Phash>,
}

impl StoredPhash {
    fn of(hashes: &crate::hashing::Hashes) -> StoredPhash {
        match &hashes.image {
            Some(Ok(img)) => {
                StoredPhash { given: img.phash, trimmed: img.trimmed.as_ref().and_then(|t| t.hashes.phash) }
            }
            _ => StoredPhash::default(),
        }
    }
}

impl EntryDistances {
    /// The nearest candidates of this entry as the matching rule reads them: extended
    /// images only on the corroboration side, pHash there in the stored orientation.
    pub fn candidates(&self) -> Candidates {
        let min = |a: Option<u32>, b: Option<u32>| a.into_iter().chain(b).min();
        Candidates {
            digest: self.md5,
            pdq: self.pdq,
            phash: self.phash,
            pdq_any: min(self.pdq, self.pdq_extended),
            phash_stored: min(self.phash_stored, self.phash_extended),
        }
    }

    /// The smallest distance of a perceptual kind that can count alone (`None` beyond
    /// the wide radius, and for digests).
    pub fn distance(&self, kind: Kind) -> Option<u32> {
        match kind {
            Kind::Pdq => self.pdq,
            Kind::Phash => self.phash,
            _ => None,
        }
    }

    /// What `rule` decides for this entry.
    pub fn judge(&self, rule: &Rule) -> Outcome {
        rule.judge(&self.candidates())
    }
}

impl CaseResult {
    /// `rule` for this check's search size: its E-values and effective thresholds.
    pub fn rule(&self, rule: &Rule) -> Rule {
        rule.within(self.significance)
    }

    /// The distances to the checked photo's own entry, if it is known and was found.
    pub(super) fn own(&self) -> Option<&EntryDistances> {
        self.entries.iter().find(|e| e.photo == self.photo)
    }

    /// The distances to other photos' entries.
    pub(super) fn others(&self) -> impl Iterator<Item = &EntryDistances> {
        self.entries.iter().filter(move |e| e.photo != self.photo)
    }
}
