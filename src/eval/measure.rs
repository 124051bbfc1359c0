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
use crate::matcher::rule::{Candidates, Outcome, Rule};
use crate::matcher::{Config, IndexData, Matcher, Thresholds};
use crate::significance::{IndexSizes, Significance};

mod check;
use check::Checker;

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
    /// Every distractor item found within the radii (empty without [`Extra`] entries):
    /// here [`EntryDistances::photo`] is the item's number (see [`Extra::items`]).
    pub distractors: Vec<EntryDistances>,
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
    /// The sizes of the index the checks ran against (known photos and [`Extra`] entries).
    pub sizes: IndexSizes,
    /// Seconds spent building that index.
    pub build_s: f64,
    /// The known-photo step.
    pub known_every: usize,
    /// Wall-clock seconds of the checking pass (transforms and checks).
    pub elapsed_s: f64,
}

/// Entries added to the known photos' index for one run (the distractors), and which of
/// them [`Prepared::measure`] tracks as items.
#[derive(Clone, Debug, Default)]
pub struct Extra {
    /// The name of the list the entries are put on.
    pub list: String,
    /// The entries (their `lists` are replaced by the extra list).
    pub entries: Vec<Entry>,
    /// Ids of the tracked items and their numbers (`0..items.len()`): a hit on an entry
    /// with one of these ids is recorded in [`CaseResult::distractors`] as that item; a
    /// hit on an entry with an empty id as item `items.len() + ` its entry number, so
    /// every such entry is an item of its own.
    pub items: HashMap<String, u32>,
}

/// The photos of an evaluation, sorted, decoded and declared known or not, with the
/// known photos' entries hashed: what every run of checks starts from.
#[derive(Clone, Debug)]
pub struct Prepared {
    photos: Vec<Photo>,
    infos: Vec<PhotoInfo>,
    skipped: Vec<Skipped>,
    known: Vec<Entry>,
}

/// Checks every photo and case against an index of the known photos; see the [module
/// docs](self). Runs on the current rayon pool.
pub fn measure(photos: Vec<Photo>, options: &EvalOptions) -> Result<Measurements, EvalError> {
    prepare(photos, options)?.measure(options, Extra::default())
}

/// Sorts and decodes `photos`, declares every `known_every`-th known and hashes the known
/// ones as a list provider would.
pub fn prepare(photos: Vec<Photo>, options: &EvalOptions) -> Result<Prepared, EvalError> {
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
    let known = known_entries(&kept, &infos, options)?;
    Ok(Prepared { photos: kept, infos, skipped, known })
}

impl Prepared {
    /// The photos that decoded, sorted by name (positions as in [`Measurements::photos`]).
    pub fn photos(&self) -> &[Photo] {
        &self.photos
    }

    /// Which photos are known.
    pub fn infos(&self) -> &[PhotoInfo] {
        &self.infos
    }

    /// Checks every photo and case against an index of the known photos and the `extra`
    /// entries (dropped once the checks are done).
    pub fn measure(&self, options: &EvalOptions, extra: Extra) -> Result<Measurements, EvalError> {
        let built = Instant::now();
        let matcher = self.matcher(options, extra.entries, &extra.list)?;
        let build_s = built.elapsed().as_secs_f64();
        let sizes = IndexSizes::of_index(&*matcher.index()).map_err(EvalError::Index)?;
        let mut cases = vec![Case::Original];
        cases.extend(options.transforms.iter().map(|t| Case::Transformed(*t)));
        let checker = Checker {
            matcher: &matcher,
            ids: self.infos.iter().enumerate().map(|(i, p)| (p.name.as_str(), i as u32)).collect(),
            items: &extra.items,
            cases: &cases,
            options,
        };
        let start = Instant::now();
        let results: Vec<CaseResult> = self
            .photos
            .par_iter()
            .enumerate()
            .flat_map_iter(|(i, p)| checker.check_photo(i as u32, p))
            .collect();
        let elapsed_s = start.elapsed().as_secs_f64();
        Ok(Measurements {
            photos: self.infos.clone(),
            skipped: self.skipped.clone(),
            cases,
            results,
            config: matcher.config().clone(),
            sizes,
            build_s,
            known_every: options.known_every,
            elapsed_s,
        })
    }

    /// The matcher over an index of the known photos' entries and `extra` on list `list`.
    fn matcher(&self, options: &EvalOptions, extra: Vec<Entry>, list: &str) -> Result<Matcher, EvalError> {
        let mut lists = vec![ListInfo { name: KNOWN_LIST.to_string(), ..ListInfo::default() }];
        if !extra.is_empty() {
            lists.push(ListInfo { name: list.to_string(), ..ListInfo::default() });
        }
        let mut entries = self.known.clone();
        entries.extend(extra.into_iter().map(|e| Entry { lists: vec![1], ..e }));
        let catalog = Catalog { lists, entries, signatures: Default::default() };
        let bytes = build(&catalog, &BuildOptions::default()).map_err(EvalError::Index)?;
        drop(catalog);
        let index = Index::from_bytes(IndexData::Owned(bytes)).map_err(EvalError::Index)?;
        let config = Config {
            thresholds: options.wide,
            require: KindSet::NONE,
            corroborate: None,
            kinds: Some(eval_kinds()),
            ..options.config.clone()
        };
        Ok(Matcher::from_index(index, config))
    }
}

/// The kinds an evaluation hashes and matches.
fn eval_kinds() -> KindSet {
    KindSet::NONE.with(Kind::Pdq).with(Kind::Phash).with(Kind::Md5)
}

/// The known photos' PDQ, pHash and MD5 entries on the list [`KNOWN_LIST`].
fn known_entries(
    photos: &[Photo],
    infos: &[PhotoInfo],
    options: &EvalOptions,
) -> Result<Vec<Entry>, EvalError> {
    // The known side is hashed as a list provider would: the original, nothing derived.
    let hash_options = HashOptions {
        kinds: eval_kinds(),
        dihedral: false,
        // Every pixel, whatever the checked side's decode: lists come from exact hashes.
        limits: crate::decode::Limits { jpeg_min_side: None, ..options.config.limits },
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
    Ok(entries.into_iter().flatten().collect())
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
