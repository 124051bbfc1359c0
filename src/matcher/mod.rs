//! The library face for upload handlers and scans: bytes in, verdict out.
//!
//! A [`Matcher`] owns an index (memory-mapped from a file, or built in memory from lists)
//! and a [`Config`]. [`Matcher::check_bytes`] hashes one input the way the index needs
//! (digests of the bytes; pHash and PDQ of the decoded pixels, with all 8 dihedral
//! variants, of the content inside a border when there is one, and of the image extended
//! at its edges), looks every hash up within its threshold and returns a [`Verdict`].
//! Besides a match of one kind within its threshold, a list item whose pHash and PDQ
//! entries are both within the wider [`Config::corroborate`] thresholds matches: that is
//! how cropped copies are found (`docs/thresholds.md`).
//!
//! `Matcher` is `Send + Sync`: share one behind an `Arc` between request threads. It holds
//! no global state and starts no threads; [`Matcher::check_batch`] uses the caller's rayon
//! pool. [`Matcher::reload`] swaps in a new index file atomically (after `mediamatch import`
//! renamed it into place): checks already running finish on the old index, new checks use
//! the new one, and the old mapping is released when its last check ends.
//!
//! A check has two steps: collecting candidates (`collect`: hashing the input and querying
//! every hash set) and the one matching [`rule`], which decides which candidates match.
//! `mediamatch eval` measures candidates the same way and asks the same rule.
//!
//! Videos (with [`Config::video`]) and animations are also matched by vPDQ against the
//! index's `vpdq` entries: whole videos, by HMA's rule on the shares of matched frames
//! ([`video`]).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rayon::prelude::*;

use crate::decode::{DecodeError, Limits};
use crate::hash::KindSet;
use crate::hash::{HashValue, Kind, Variant};
use crate::hashing::{read_at_most, Hashes};
use crate::index::{Index, IndexError};
use crate::significance::{IndexSizes, Significance, DEFAULT_MAX_EVALUE};

pub(crate) mod collect;
pub mod rule;
pub mod tmk;
pub mod video;

use collect::{kinds_for, Collected, Hit, Reach};
pub use rule::Rule;
pub use tmk::{TmkRule, TmkScores};
pub use video::{VideoShares, VpdqRule};

/// Per-kind match thresholds (largest Hamming distance that counts as a match). In a
/// [`Config`] they are caps: the E-value test ([`Config::max_evalue`]) may lower them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// PDQ: Meta's recommended 31 (of 256 bits).
    pub pdq: u32,
    /// pHash (of 64 bits); see `docs/thresholds.md` for how the default was measured.
    pub phash: u32,
}

impl Thresholds {
    /// The threshold for `kind` (0 for digests: exact match; vPDQ frames: HMA's frame
    /// distance [`crate::video::vpdq::DISTANCE_THRESHOLD`], see [`Config::vpdq`]).
    pub fn of(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Pdq => self.pdq,
            Kind::Phash => self.phash,
            Kind::Vpdq => crate::video::vpdq::DISTANCE_THRESHOLD,
            _ => 0,
        }
    }
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds { pdq: DEFAULT_PDQ_THRESHOLD, phash: DEFAULT_PHASH_THRESHOLD }
    }
}

/// Meta's recommended PDQ match threshold.
pub const DEFAULT_PDQ_THRESHOLD: u32 = 31;
/// The default pHash threshold, chosen from the corpus measurements in `docs/thresholds.md`.
pub const DEFAULT_PHASH_THRESHOLD: u32 = 8;
/// Meta's recommended minimum PDQ quality for matching.
pub const DEFAULT_MIN_QUALITY: u8 = 50;

/// How a [`Matcher`] checks inputs. `Default` gives the documented defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Match thresholds per kind: caps, which the E-value test may lower
    /// ([`Config::max_evalue`]). PDQ's cap is Meta's 31.
    pub thresholds: Thresholds,
    /// The largest E-value a perceptual match may have ([`crate::significance`]): the
    /// expected number of unrelated entries this close by chance, given the index's size
    /// and the hashes this input queried. A candidate within its threshold but over this
    /// limit is *weak* ([`Verdict::weak`]), not a match. Default
    /// [`DEFAULT_MAX_EVALUE`] (1e-6); digests
    /// are exact and not limited; `f64::INFINITY` turns the test off.
    pub max_evalue: f64,
    /// PDQ hashes with a lower quality are not matched perceptually (flat or tiny images
    /// give unreliable hashes); the verdict says so in `low_quality`.
    pub min_quality: u8,
    /// Query all 8 dihedral variants of each perceptual hash (finds rotated and mirrored copies).
    pub dihedral: bool,
    /// Kinds to compute; `None` means every kind the index holds entries of.
    pub kinds: Option<KindSet>,
    /// Decoder limits (width, height, pixels, allocation).
    pub limits: Limits,
    /// Largest input accepted, in bytes.
    pub max_bytes: u64,
    /// Also hash and query the content inside a uniform border (letterbox, pillarbox,
    /// screenshot frame) when one is found; a match on either counts.
    pub border: bool,
    /// Recompute the index file's checksum and re-check every structure when opening or
    /// reloading it ([`Index::verify`]), so a damaged or tampered file is refused instead of
    /// silently missing matches. Costs about a second per million PDQ entries.
    pub verify_on_load: bool,
    /// Also hash and query the image extended at its edges ([`crate::image::extend`]): a guess
    /// at the framing of the original a cropped copy was cut from.
    pub extend: bool,
    /// Also hash and query the image turned back by a few degrees ([`crate::image::rotate`]):
    /// a guess at the original of a slightly turned copy. Like the edge extension, its hits
    /// count only through corroboration.
    pub rotate: bool,
    /// Corroboration: an item (same list, same non-empty id) whose pHash *and* PDQ entries
    /// are both within these wider thresholds matches, although neither kind alone is
    /// within [`Config::thresholds`]. The pHash side is read in the stored orientation (of
    /// the image as given, its trimmed content and its edge-extended guesses); the PDQ side
    /// over every computed variant. Two independent hashes agreeing that closely does
    /// not happen between unrelated photos of the corpus (`docs/thresholds.md`), while
    /// cropped or watermarked copies often land there. `None` turns it off; it is off
    /// whenever [`Config::require`] is not empty (the strict policy uses only the main
    /// thresholds) and for inputs whose PDQ quality is below `min_quality`.
    pub corroborate: Option<Thresholds>,
    /// Fusion policy: perceptual kinds that must all match the same item (list and id)
    /// for a perceptual match to count. Empty (the default) means any one kind suffices.
    /// Digest matches always count.
    pub require: KindSet,
    /// Check the sampled frames of video files against the index's photo entries (PDQ and
    /// pHash), as the later frames of an animation are; needs `ffmpeg`. A file is decoded
    /// from its path ([`Matcher::check_path`]); bytes in memory ([`Matcher::check_bytes`])
    /// through an anonymous memory file ([`crate::video::ffmpeg::MemoryFile`], Linux).
    /// `None` (the default) leaves videos to their digests.
    /// With `vpdq` entries in the index, the sampled frames are also the video's vPDQ,
    /// matched by [`Config::vpdq`].
    pub video: Option<crate::video::FrameSampling>,
    /// HMA's vPDQ rule for videos and animations against the index's `vpdq` entries
    /// ([`video`]).
    pub vpdq: VpdqRule,
    /// The two-level TMK+PDQF rule for videos (with [`Config::video`]) against the
    /// index's `tmk` entries ([`tmk`]).
    pub tmk: TmkRule,
}

/// The default corroboration thresholds ([`Config::corroborate`]): pHash 12 and PDQ 64,
/// chosen from the corpus measurements in `docs/thresholds.md`.
pub const DEFAULT_CORROBORATE: Thresholds = Thresholds { pdq: 64, phash: 12 };

impl Config {
    /// The matching rule of this configuration for a check of the given significance:
    /// thresholds, fusion policy, corroboration, E-value limit.
    pub fn rule(&self, significance: Significance) -> Rule {
        Rule::new(self.thresholds, self.require, self.corroborate, self.max_evalue, significance)
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            thresholds: Thresholds::default(),
            max_evalue: DEFAULT_MAX_EVALUE,
            min_quality: DEFAULT_MIN_QUALITY,
            dihedral: true,
            kinds: None,
            limits: Limits::default(),
            max_bytes: 256 << 20,
            border: true,
            verify_on_load: true,
            extend: true,
            rotate: true,
            corroborate: Some(DEFAULT_CORROBORATE),
            require: KindSet::NONE,
            video: None,
            vpdq: VpdqRule::default(),
            tmk: TmkRule::default(),
        }
    }
}

/// One list entry that an input matched (or, in [`Verdict::weak`], came close to).
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    /// The hash kind that matched.
    pub kind: Kind,
    /// Hamming distance (0 for digests).
    pub distance: u32,
    /// The E-value: how many unrelated entries would come this close by chance in this
    /// search (this index's entries of the kind times the hashes the input queried; for a
    /// corroborated match, the item pairs and the joint tail). See [`crate::significance`].
    pub evalue: f64,
    /// The dihedral variant of the input that gave the smallest distance (perceptual kinds).
    pub variant: Option<Variant>,
    /// The list holding the entry (an entry on several lists gives one match per list).
    pub list: String,
    /// The list provider's id of the entry.
    pub id: String,
    /// The entry's label or classification.
    pub label: String,
    /// The entry's hash.
    pub hash: HashValue,
    /// The match came from the content inside a border that was trimmed off the input.
    pub trimmed: bool,
    /// The match came from a query-only guess: the input extended at its edges (the framing
    /// of the original a cropped copy was cut from) or turned back by a few degrees.
    pub extended: bool,
    /// The match counts only by corroboration: pHash and PDQ both agree on this item within
    /// the wider [`Config::corroborate`] thresholds, and no kind alone is within its
    /// main threshold (`distance` may exceed [`Config::thresholds`]).
    pub corroborated: bool,
    /// Every kind that matched the same item (same list and id) for this input, in
    /// canonical order: the agreement reviewers can rank by (fused verdict).
    pub kinds: Vec<Kind>,
    /// The frame of an animated input the match came from, when it is not frame 0 (the
    /// image the references hash); see [`crate::decode::decode_frames`] for the numbering.
    pub frame: Option<u32>,
    /// For a vPDQ match: the shares of matched frames HMA's rule decides on (`frame` is
    /// then the query's frame in the closest pair, `distance` that pair's distance).
    pub video: Option<VideoShares>,
    /// For a TMK+PDQF match: the two scores the rule decided on (`distance` and `evalue`
    /// are then 0).
    pub tmk: Option<TmkScores>,
}

/// The outcome of checking one input.
#[derive(Debug)]
pub struct Verdict {
    /// Matches, sorted by kind, distance, list and id.
    pub matches: Vec<Match>,
    /// Weak candidates: entries within a kind's threshold cap (or items within the
    /// corroboration thresholds) whose E-value is over [`Config::max_evalue`], so they are
    /// not matches; for analysts. Sorted like `matches`; none of them is among `matches`.
    pub weak: Vec<Match>,
    /// The hashes computed (digests always; perceptual hashes when the input decoded).
    pub hashes: Hashes,
    /// The PDQ quality was below `min_quality`, so PDQ was not matched.
    pub low_quality: bool,
}

impl Verdict {
    /// Whether anything matched.
    pub fn is_match(&self) -> bool {
        !self.matches.is_empty()
    }

    /// The PDQ quality, when PDQ was computed.
    pub fn pdq_quality(&self) -> Option<u8> {
        self.hashes.image.as_ref()?.as_ref().ok()?.pdq.map(|p| p.quality)
    }

    /// Why the input could not be decoded, if it could not (digests may still have matched).
    pub fn decode_error(&self) -> Option<&DecodeError> {
        self.hashes.image.as_ref()?.as_ref().err()
    }
}

/// Why an input could not be checked. Each variant maps to one HTTP answer in an upload
/// handler: [`CheckError::NotAnImage`] and [`CheckError::Corrupt`] → 400/415,
/// [`CheckError::TooLarge`] → 413, [`CheckError::IndexUnavailable`],
/// [`CheckError::IndexModifiedInPlace`] and [`CheckError::Io`] → 500/503.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The bytes are not an image mediamatch can decode, and no digest matched.
    #[error("not an image: {0}")]
    NotAnImage(#[source] DecodeError),
    /// The input is larger than the configured limits (bytes, width, height, pixels,
    /// allocation), or decoding it would go past the decode limits (JPEG scans, time budget).
    #[error("too large: {0}")]
    TooLarge(String),
    /// The bytes look like an image but are corrupt or truncated, and no digest matched.
    #[error("corrupt image: {0}")]
    Corrupt(#[source] DecodeError),
    /// The index could not be opened or read.
    #[error("index unavailable: {0}")]
    IndexUnavailable(#[source] IndexError),
    /// The input could not be read.
    #[error("read error: {0}")]
    Io(#[source] std::io::Error),
    /// On reload, the index file turned out to have been modified in place (same file, new
    /// size or modification time) rather than replaced by rename. The mapping in use may then
    /// read the new bytes or fault, so its answers cannot be trusted: the reload is refused
    /// and the process should be restarted. Replace index files by rename (`mediamatch
    /// import` and `build` do).
    #[error(
        "{0}: a file of the index in use was modified in place instead of replaced by rename: the \
         index in use may give wrong answers; restart, and replace index files by rename (as \
         `mediamatch import` does)"
    )]
    IndexModifiedInPlace(PathBuf),
}

pub use crate::index::store::IndexData;

/// Which file a path named, and its size and modification time, when an index was opened.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileIdentity {
    /// The identity of the file at `path` now (`None` when it cannot be read, or off Unix).
    fn of(path: &Path) -> Option<FileIdentity> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(path).ok()?;
            Some(FileIdentity { device: m.dev(), inode: m.ino(), len: m.len(), modified: m.modified().ok() })
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    /// The same file (device and inode) with another size or modification time: written in
    /// place. A file replaced by rename is another inode, which is what a reload is for.
    fn modified_in_place(&self, now: &FileIdentity) -> bool {
        (self.device, self.inode) == (now.device, now.inode)
            && (self.len != now.len || self.modified != now.modified)
    }
}

/// An index as a matcher holds it.
pub type MatcherIndex = Index<IndexData>;

/// The files an opened index maps, each with its identity when it was opened: the one
/// index file, or a manifest's segment files (the manifest itself is read, not mapped, so
/// rewriting it in place cannot break the index in use).
type MappedFiles = Vec<(PathBuf, Option<FileIdentity>)>;

fn open_index(path: &Path, verify: bool) -> Result<(MatcherIndex, MappedFiles), CheckError> {
    let (index, manifest) = Index::open_with_manifest(path).map_err(CheckError::IndexUnavailable)?;
    let files: Vec<PathBuf> = match &manifest {
        None => vec![path.to_path_buf()],
        Some(m) => {
            let dir = crate::index::segments_dir(path);
            m.segments.iter().map(|s| dir.join(&s.file)).collect()
        }
    };
    let mapped = files
        .into_iter()
        .map(|f| {
            let id = FileIdentity::of(&f);
            (f, id)
        })
        .collect();
    // The validated mappings, re-wrapped as the matcher's storage type.
    let index = index.map_data(IndexData::Mapped);
    if verify {
        index.verify().map_err(CheckError::IndexUnavailable)?;
    }
    // Counted once here, not on the first upload's time.
    index.item_pairs().map_err(CheckError::IndexUnavailable)?;
    Ok((index, mapped))
}

/// Checks inputs against an index. See the [module docs](self).
pub struct Matcher {
    index: ArcSwap<MatcherIndex>,
    path: Option<PathBuf>,
    /// The files the index in use maps, as they were when it was opened.
    opened: std::sync::Mutex<MappedFiles>,
    config: Config,
}

impl Matcher {
    /// Opens (memory-maps) the index at `path`.
    pub fn open(path: impl AsRef<Path>, config: Config) -> Result<Matcher, CheckError> {
        let path = path.as_ref().to_path_buf();
        let (index, mapped) = open_index(&path, config.verify_on_load)?;
        let opened = std::sync::Mutex::new(mapped);
        Ok(Matcher { index: ArcSwap::from_pointee(index), path: Some(path), opened, config })
    }

    /// Uses an index already in memory (e.g. built from list files); `reload` is then a no-op.
    pub fn from_index(index: MatcherIndex, config: Config) -> Matcher {
        Matcher {
            index: ArcSwap::from_pointee(index),
            path: None,
            opened: std::sync::Mutex::new(Vec::new()),
            config,
        }
    }

    /// Re-opens the index file and swaps it in atomically. On error the old index stays in use.
    ///
    /// A file the index in use maps (the single index file, or a segment file) that was
    /// modified in place since it was opened (the same file with a new size or
    /// modification time, e.g. `cp new.idx live.idx`) is refused with
    /// [`CheckError::IndexModifiedInPlace`]: readers cannot stop such a writer, but they can
    /// say so instead of swapping in a mapping that the next write will break again.
    pub fn reload(&self) -> Result<(), CheckError> {
        if let Some(path) = &self.path {
            let mut opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
            for (file, was) in opened.iter() {
                if let (Some(was), Some(now)) = (was, FileIdentity::of(file)) {
                    if was.modified_in_place(&now) {
                        return Err(CheckError::IndexModifiedInPlace(file.clone()));
                    }
                }
            }
            let (index, mapped) = open_index(path, self.config.verify_on_load)?;
            self.index.store(Arc::new(index));
            *opened = mapped;
        }
        Ok(())
    }

    /// The index in use now (a cheap snapshot that stays valid across reloads).
    pub fn index(&self) -> Arc<MatcherIndex> {
        self.index.load_full()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Checks one input held in memory.
    pub fn check_bytes(&self, bytes: &[u8]) -> Result<Verdict, CheckError> {
        self.check(bytes, None)
    }

    /// Checks `bytes`, read from `path` when they came from a file (a video's frames are
    /// decoded from the file).
    fn check(&self, bytes: &[u8], path: Option<&Path>) -> Result<Verdict, CheckError> {
        let index = self.index.load_full();
        let kinds = kinds_for(&index, &self.config);
        let corroborate = self.config.rule(Significance::none()).for_kinds(kinds).corroborate();
        let collected =
            self.collect(&index, kinds, bytes, path, &Reach::verdict(&self.config, corroborate))?;
        let sizes = IndexSizes::of_index(&index).map_err(CheckError::IndexUnavailable)?;
        let rule = self.config.rule(Significance::of(sizes, collected.queries)).for_kinds(kinds);
        verdict(&index, rule, &self.config.vpdq, collected)
    }

    /// The size check, hashing and queries of one input (for [`Matcher::check_bytes`] and
    /// the measurements of `mediamatch eval`); an input that did not decode and matched no
    /// digest is an error.
    pub(crate) fn collect(
        &self,
        index: &MatcherIndex,
        kinds: KindSet,
        bytes: &[u8],
        path: Option<&Path>,
        reach: &Reach,
    ) -> Result<Collected, CheckError> {
        if bytes.len() as u64 > self.config.max_bytes {
            return Err(CheckError::TooLarge(format!(
                "{} bytes, over the limit of {}",
                bytes.len(),
                self.config.max_bytes
            )));
        }
        let mut collected = collect::collect(index, &self.config, kinds, bytes, path, reach)?;
        if let Some(Err(_)) = &collected.hashes.image {
            if collected.hits.is_empty() {
                let Some(Err(e)) = collected.hashes.image.take() else { unreachable!("matched above") };
                return Err(classify(e));
            }
        }
        Ok(collected)
    }

    /// Reads a whole file (up to `max_bytes`) and checks it; with [`Config::video`], a
    /// video's sampled frames too.
    pub fn check_path(&self, path: impl AsRef<Path>) -> Result<Verdict, CheckError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(CheckError::Io)?;
        let bytes = read_at_most(file, self.config.max_bytes).map_err(CheckError::Io)?;
        self.check_file_bytes(&bytes, path)
    }

    /// Checks `bytes` that were read from the file at `path` (for callers that read files
    /// themselves, as `scan` does): like [`Matcher::check_bytes`], and with
    /// [`Config::video`] a video's sampled frames are decoded from `path`.
    pub fn check_file_bytes(&self, bytes: &[u8], path: &Path) -> Result<Verdict, CheckError> {
        self.check(bytes, Some(path))
    }

    /// Reads `reader` to its end (up to `max_bytes`) and checks the bytes.
    pub fn check_reader(&self, reader: impl Read) -> Result<Verdict, CheckError> {
        let bytes = read_at_most(reader, self.config.max_bytes).map_err(CheckError::Io)?;
        self.check_bytes(&bytes)
    }

    /// Checks many inputs in parallel on the current rayon pool; results in input order.
    pub fn check_batch<B: AsRef<[u8]> + Sync>(&self, inputs: &[B]) -> Vec<Result<Verdict, CheckError>> {
        inputs.par_iter().map(|b| self.check_bytes(b.as_ref())).collect()
    }
}

/// Which hash set of an input a hit came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// The image as given (or its bytes, for digests).
    Given,
    /// The content inside a trimmed border.
    Trimmed,
    /// The image extended at its edges or turned back by a few degrees: a guess, so its
    /// hits count only through corroboration.
    Extended,
    /// A later frame of an animation (its number; see [`crate::decode::decode_frames`]).
    Frame(u32),
}

impl Origin {
    /// The frame of the input this hash set comes from (0 for all but [`Origin::Frame`]).
    pub fn frame(self) -> u32 {
        match self {
            Origin::Frame(n) => n,
            _ => 0,
        }
    }
}

/// The hits of one input sorted into matches and weak candidates by the rule, each with
/// its E-value, one per (kind, entry).
struct Sorted {
    hits: Vec<(Hit, f64)>,
    weak: Vec<(Hit, f64)>,
}

/// Applies [`rule`] to the hits of one input: corroboration, thresholds, significance.
fn sort_hits(index: &MatcherIndex, rule: &Rule, collected: &Collected) -> Result<Sorted, CheckError> {
    let mut hits = Vec::with_capacity(collected.hits.len());
    let mut weak = Vec::new();
    for &h in &collected.hits {
        if rule.counts_alone(h.kind, h.distance, h.origin) {
            hits.push((h, rule.evalue(h.kind, h.distance)));
            continue;
        }
        if rule.is_weak(h.kind, h.distance, h.origin) {
            weak.push((h, rule.evalue(h.kind, h.distance)));
        }
        if rule.needs_corroboration(h.kind, h.distance, h.origin) {
            // Without usable PDQ hashes nothing can corroborate.
            let Some(pdq) = collect::nearest_same_item_pdq(index, &h, &collected.pdq_queries)? else {
                continue;
            };
            if !rule.within_corroboration(h.distance, pdq.distance) {
                continue;
            }
            let evalue = rule.joint_evalue(h.distance, pdq.distance);
            let to = if rule.corroborates(h.distance, pdq.distance) { &mut hits } else { &mut weak };
            to.push((Hit { corroborated: true, ..h }, evalue));
            to.push((pdq, evalue));
        }
    }
    for v in [&mut hits, &mut weak] {
        v.sort_by_key(|(h, _)| h.rank());
        v.dedup_by_key(|(h, _)| (h.kind, h.entry));
    }
    // An entry that matched is not also weak.
    weak.retain(|(w, _)| hits.binary_search_by_key(&(w.kind, w.entry), |(h, _)| (h.kind, h.entry)).is_err());
    Ok(Sorted { hits, weak })
}

/// The verdict on one input's hits under `rule`.
fn verdict(
    index: &MatcherIndex,
    rule: Rule,
    vpdq_rule: &VpdqRule,
    collected: Collected,
) -> Result<Verdict, CheckError> {
    let Sorted { hits, weak } = sort_hits(index, &rule, &collected)?;
    let (video_matches, video_weak) = video::verdicts(index, &rule, vpdq_rule, &collected)?;
    let mut matches = records(index, &hits)?;
    matches.extend(video_matches);
    matches.extend(tmk::verdicts(index, &collected)?);
    fuse(&mut matches, rule);
    let mut weak = records(index, &weak)?;
    weak.extend(video_weak);
    for w in &mut weak {
        w.kinds = vec![w.kind];
    }
    for v in [&mut matches, &mut weak] {
        v.sort_by(|a, b| {
            (a.kind, a.distance, &a.list, &a.id, &a.label)
                .cmp(&(b.kind, b.distance, &b.list, &b.id, &b.label))
        });
    }
    Ok(Verdict { matches, weak, hashes: collected.hashes, low_quality: collected.low_quality })
}

/// One [`Match`] per list holding each hit's entry.
fn records(index: &MatcherIndex, hits: &[(Hit, f64)]) -> Result<Vec<Match>, CheckError> {
    let unavailable = CheckError::IndexUnavailable;
    let mut matches = Vec::with_capacity(hits.len());
    for &(h, evalue) in hits {
        let e = index.entry(h.entry).map_err(unavailable)?;
        for &list in &e.lists {
            matches.push(Match {
                kind: h.kind,
                distance: h.distance,
                evalue,
                variant: h.kind.is_perceptual().then_some(h.variant),
                list: index.list(list).map_err(unavailable)?.name,
                id: e.id.to_string(),
                label: e.label.to_string(),
                hash: e.value,
                trimmed: h.origin == Origin::Trimmed,
                extended: h.origin == Origin::Extended,
                corroborated: h.corroborated,
                kinds: Vec::new(),
                frame: Some(h.origin.frame()).filter(|&f| f > 0),
                video: None,
                tmk: None,
            });
        }
    }
    Ok(matches)
}

/// Fills in [`Match::kinds`] (which kinds agree on each item) and keeps the matches the
/// fusion policy admits ([`Rule::admits`]).
///
/// Matches agree when they are on the same list with the same non-empty id. Entries without
/// an id (StopNCII records have none) cannot be tied to each other, so such a match only
/// agrees with itself.
fn fuse(matches: &mut Vec<Match>, rule: Rule) {
    let item = |m: &Match| -> (String, String, Option<HashValue>) {
        (m.list.clone(), m.id.clone(), m.id.is_empty().then_some(m.hash))
    };
    let mut agree: std::collections::HashMap<_, KindSet> = std::collections::HashMap::new();
    for m in matches.iter() {
        agree.entry(item(m)).or_default().insert(m.kind);
    }
    for m in matches.iter_mut() {
        m.kinds = agree[&item(m)].iter().collect();
    }
    matches.retain(|m| rule.admits(m.kind, agree[&item(m)]));
}

/// Maps a decoder error to what an upload handler needs to know.
/// The check error of a decode error (the size and time limits are [`CheckError::TooLarge`]).
pub(crate) fn classify(e: DecodeError) -> CheckError {
    match e {
        DecodeError::Empty | DecodeError::NotAnImage => CheckError::NotAnImage(e),
        DecodeError::TooLarge { .. }
        | DecodeError::TooManyBytes { .. }
        | DecodeError::DecoderLimit { .. }
        | DecodeError::TooManyScans { .. }
        | DecodeError::TimeBudget { .. } => CheckError::TooLarge(e.to_string()),
        _ => CheckError::Corrupt(e),
    }
}
