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

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rayon::prelude::*;

use crate::decode::{DecodeError, Limits};
use crate::hash::{HashValue, Kind, Pdq, Variant};
use crate::hasher::{hash_bytes, read_at_most, HashOptions, Hashes, ImageHashes, Kinds};
use crate::index::{DihedralHit, Index, IndexError};

/// Per-kind match thresholds (largest Hamming distance that counts as a match).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// PDQ: Meta's recommended 31 (of 256 bits).
    pub pdq: u32,
    /// pHash (of 64 bits); see `docs/thresholds.md` for how the default was measured.
    pub phash: u32,
}

impl Thresholds {
    /// The threshold for `kind` (0 for digests: exact match).
    pub fn of(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Pdq => self.pdq,
            Kind::Phash => self.phash,
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Match thresholds per kind.
    pub thresholds: Thresholds,
    /// PDQ hashes with a lower quality are not matched perceptually (flat or tiny images
    /// give unreliable hashes); the verdict says so in `low_quality`.
    pub min_quality: u8,
    /// Query all 8 dihedral variants of each perceptual hash (finds rotated and mirrored copies).
    pub dihedral: bool,
    /// Kinds to compute; `None` means every kind the index holds entries of.
    pub kinds: Option<Kinds>,
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
    /// Also hash and query the image extended at its edges ([`crate::extend`]): a guess
    /// at the framing of the original a cropped copy was cut from.
    pub extend: bool,
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
    pub require: Kinds,
}

/// The default corroboration thresholds ([`Config::corroborate`]): pHash 12 and PDQ 64,
/// chosen from the corpus measurements in `docs/thresholds.md`.
pub const DEFAULT_CORROBORATE: Thresholds = Thresholds { pdq: 64, phash: 12 };

impl Default for Config {
    fn default() -> Config {
        Config {
            thresholds: Thresholds::default(),
            min_quality: DEFAULT_MIN_QUALITY,
            dihedral: true,
            kinds: None,
            limits: Limits::default(),
            max_bytes: 256 << 20,
            border: true,
            verify_on_load: true,
            extend: true,
            corroborate: Some(DEFAULT_CORROBORATE),
            require: Kinds::NONE,
        }
    }
}

/// One list entry that an input matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The hash kind that matched.
    pub kind: Kind,
    /// Hamming distance (0 for digests).
    pub distance: u32,
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
    /// The match came from the input extended at its edges (a guess at the framing of
    /// the original a cropped copy was cut from).
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
}

/// The outcome of checking one input.
#[derive(Debug)]
pub struct Verdict {
    /// Matches, sorted by kind, distance, list and id.
    pub matches: Vec<Match>,
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
        "{0}: the index file was modified in place instead of replaced by rename: the index in use \
         may give wrong answers; restart, and replace index files by rename (as `mediamatch import` does)"
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

fn open_index(path: &Path, verify: bool) -> Result<MatcherIndex, CheckError> {
    let mapped = Index::open(path).map_err(CheckError::IndexUnavailable)?;
    // Re-wrap the validated mapping; `from_bytes` only re-reads the header and layout.
    let index =
        Index::from_bytes(IndexData::Mapped(mapped.into_data())).map_err(CheckError::IndexUnavailable)?;
    if verify {
        index.verify().map_err(CheckError::IndexUnavailable)?;
    }
    Ok(index)
}

/// Checks inputs against an index. See the [module docs](self).
pub struct Matcher {
    index: ArcSwap<MatcherIndex>,
    path: Option<PathBuf>,
    /// What the file at `path` was when the index in use was opened.
    opened: std::sync::Mutex<Option<FileIdentity>>,
    config: Config,
}

impl Matcher {
    /// Opens (memory-maps) the index at `path`.
    pub fn open(path: impl AsRef<Path>, config: Config) -> Result<Matcher, CheckError> {
        let path = path.as_ref().to_path_buf();
        let index = open_index(&path, config.verify_on_load)?;
        let opened = std::sync::Mutex::new(FileIdentity::of(&path));
        Ok(Matcher { index: ArcSwap::from_pointee(index), path: Some(path), opened, config })
    }

    /// Uses an index already in memory (e.g. built from list files); `reload` is then a no-op.
    pub fn from_index(index: MatcherIndex, config: Config) -> Matcher {
        Matcher {
            index: ArcSwap::from_pointee(index),
            path: None,
            opened: std::sync::Mutex::new(None),
            config,
        }
    }

    /// Re-opens the index file and swaps it in atomically. On error the old index stays in use.
    ///
    /// A file that was modified in place since it was opened (the same file with a new size
    /// or modification time, e.g. `cp new.idx live.idx`) is refused with
    /// [`CheckError::IndexModifiedInPlace`]: readers cannot stop such a writer, but they can
    /// say so instead of swapping in a mapping that the next write will break again.
    pub fn reload(&self) -> Result<(), CheckError> {
        if let Some(path) = &self.path {
            let mut opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
            let now = FileIdentity::of(path);
            if let (Some(was), Some(now)) = (&*opened, &now) {
                if was.modified_in_place(now) {
                    return Err(CheckError::IndexModifiedInPlace(path.clone()));
                }
            }
            let index = open_index(path, self.config.verify_on_load)?;
            self.index.store(Arc::new(index));
            *opened = now;
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
        let index = self.index.load_full();
        let collected = self.collect(&index, bytes, Mode::Verdict)?;
        verdict(&index, &self.config, collected)
    }

    /// The size check, hashing and queries shared by [`Matcher::check_bytes`] and
    /// [`Matcher::near`]; an input that did not decode and matched no digest is an error.
    fn collect(&self, index: &MatcherIndex, bytes: &[u8], mode: Mode) -> Result<Collected, CheckError> {
        if bytes.len() as u64 > self.config.max_bytes {
            return Err(CheckError::TooLarge(format!(
                "{} bytes, over the limit of {}",
                bytes.len(),
                self.config.max_bytes
            )));
        }
        let mut collected = collect(index, &self.config, bytes, mode)?;
        let nearby = &mut collected.nearby;
        if let Some(Err(_)) = &nearby.hashes.image {
            if nearby.hits.is_empty() {
                let Some(Err(e)) = nearby.hashes.image.take() else { unreachable!("matched above") };
                return Err(classify(e));
            }
        }
        Ok(collected)
    }

    /// Reads a whole file (up to `max_bytes`) and checks it.
    pub fn check_path(&self, path: impl AsRef<Path>) -> Result<Verdict, CheckError> {
        let file = std::fs::File::open(path).map_err(CheckError::Io)?;
        self.check_reader(file)
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

    /// Every entry within the configured thresholds of any hash set of one input (the
    /// image as given, the trimmed content, the extended images, each with its dihedral
    /// variants when configured), per hash set, with no fusion, corroboration or policy
    /// applied. For evaluation tools (`mediamatch eval`) that apply thresholds and rules
    /// themselves; upload handlers want [`Matcher::check_bytes`].
    pub fn near(&self, bytes: &[u8]) -> Result<Nearby, CheckError> {
        Ok(self.collect(&self.index.load(), bytes, Mode::Raw)?.nearby)
    }
}

/// Which hash set of an input a hit came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// The image as given (or its bytes, for digests).
    Given,
    /// The content inside a trimmed border.
    Trimmed,
    /// The image extended at its edges: a guess, so its hits count only through
    /// corroboration.
    Extended,
    /// A later frame of an animation (its number; see [`crate::decode::decode_frames`]).
    Frame(u32),
}

impl Source {
    /// The frame of the input this hash set comes from (0 for all but [`Source::Frame`]).
    pub fn frame(self) -> u32 {
        match self {
            Source::Frame(n) => n,
            _ => 0,
        }
    }
}

/// One entry near one hash set of an input, before thresholds and fusion are applied
/// ([`Matcher::near`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Near {
    /// The entry's kind.
    pub kind: Kind,
    /// The entry number, for [`Index::entry`].
    pub entry: u32,
    /// The smallest distance over the variants of this hash set.
    pub distance: u32,
    /// The dihedral variant that gave it (`Orig` for digests and plain queries).
    pub variant: Variant,
    /// The hash set.
    pub source: Source,
    /// The hit counts only by corroboration.
    pub corroborated: bool,
}

/// What [`Matcher::near`] found: every entry within the configured thresholds of any of
/// an input's hash sets.
#[derive(Debug)]
pub struct Nearby {
    /// The hashes computed.
    pub hashes: Hashes,
    /// The PDQ quality of the image as given was below `min_quality` (its PDQ not queried).
    pub low_quality: bool,
    /// The hits, per hash set (an entry near several sets appears once per set).
    pub hits: Vec<Near>,
}

/// One PDQ hash of an input to compare with corroborating entries: the hash, its dihedral
/// variant, the hash set it came from.
type PdqQuery = (Pdq, Variant, Source);

/// What [`collect`] found for one input, with what [`verdict`] needs to resolve it.
struct Collected {
    nearby: Nearby,
    /// Every usable PDQ hash of the input, to compare with corroborating entries.
    pdq_queries: Vec<PdqQuery>,
    /// The corroboration thresholds in force ([`corroboration`]).
    corroborate: Option<Thresholds>,
}

/// How [`collect`] queries the derived hash sets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// For a verdict: extended sets only feed corroboration.
    Verdict,
    /// For [`Matcher::near`]: every set queried alike, at the configured thresholds.
    Raw,
}

/// The kinds to compute for `index` under `config`.
fn kinds_for(index: &MatcherIndex, config: &Config) -> Kinds {
    config.kinds.unwrap_or_else(|| Kind::ALL.into_iter().filter(|k| index.kind_len(*k) > 0).collect())
}

/// The corroboration thresholds in force: both kinds computed and the default policy.
fn corroboration(config: &Config, kinds: Kinds) -> Option<Thresholds> {
    config
        .corroborate
        .filter(|_| config.require.is_empty() && kinds.contains(Kind::Pdq) && kinds.contains(Kind::Phash))
}

/// Hashes `bytes` and queries every hash set; see [`Mode`].
fn collect(index: &MatcherIndex, config: &Config, bytes: &[u8], mode: Mode) -> Result<Collected, CheckError> {
    let kinds = kinds_for(index, config);
    let corroborate = corroboration(config, kinds);
    // Extended images are only worth hashing when something can use their hits.
    let extend = config.extend && (mode == Mode::Raw || corroborate.is_some());
    let options = HashOptions {
        kinds,
        dihedral: config.dihedral,
        limits: config.limits,
        border: config.border,
        extend,
        // Frames beyond the first are checked as images, up to `limits.max_frames`.
        frames: config.limits.max_frames > 0,
    };
    let hashes = hash_bytes(bytes, &options);
    let mut hits: Vec<Near> = Vec::new();
    let unavailable = CheckError::IndexUnavailable;
    for digest in [
        hashes.md5.map(HashValue::Md5),
        hashes.sha1.map(HashValue::Sha1),
        hashes.sha256.map(HashValue::Sha256),
    ]
    .into_iter()
    .flatten()
    {
        for hit in index.search(&digest, 0).map_err(unavailable)? {
            hits.push(Near {
                kind: digest.kind(),
                entry: hit.entry,
                distance: 0,
                variant: Variant::Orig,
                source: Source::Given,
                corroborated: false,
            });
        }
    }
    let mut low_quality = false;
    let mut pdq_queries = Vec::new();
    if let Some(Ok(img)) = &hashes.image {
        for (set, source) in hash_sets(img) {
            let usable_pdq = set.pdq.is_some_and(|p| p.quality >= config.min_quality);
            if source == Source::Given {
                low_quality = set.pdq.is_some() && !usable_pdq;
            }
            if usable_pdq {
                pdq_queries.extend(pdq_variants(set, config.dihedral).map(|(h, v)| (h, v, source)));
            }
            let derived = mode == Mode::Verdict && source == Source::Extended;
            if usable_pdq && !derived {
                let radius = config.thresholds.pdq;
                let found = match &set.pdq_dihedral {
                    Some(v) if config.dihedral => index.search_dihedral_pdq(v, radius),
                    _ => orig_hits(set.pdq.map(|p| index.search(&HashValue::Pdq(p.hash), radius))),
                };
                push_hits(&mut hits, Kind::Pdq, source, found.map_err(unavailable)?);
            }
            if let Some(p) = set.phash {
                let radius = config.thresholds.phash;
                // Corroboration reaches further, in the stored orientation only: each
                // dihedral variant searched to 12 would cost more than the rest of the
                // check on an index of millions, and crops are seldom also turned.
                // The radius of a query of the stored orientation alone, besides (for the
                // image as given and the trimmed content) the dihedral query at `radius`.
                let stored = match (mode, corroborate) {
                    (Mode::Raw, _) => derived.then_some(radius),
                    (Mode::Verdict, Some(c)) => (derived || c.phash > radius).then_some(c.phash),
                    (Mode::Verdict, None) if derived => continue,
                    (Mode::Verdict, None) => None,
                };
                if !derived {
                    let found = match &set.phash_dihedral {
                        Some(v) if config.dihedral => index.search_dihedral_phash(v, radius),
                        _ => orig_hits(Some(index.search(&HashValue::Phash(p), radius))),
                    };
                    push_hits(&mut hits, Kind::Phash, source, found.map_err(unavailable)?);
                }
                if let Some(stored) = stored {
                    let found = orig_hits(Some(index.search(&HashValue::Phash(p), stored)));
                    push_hits(&mut hits, Kind::Phash, source, found.map_err(unavailable)?);
                }
            }
        }
    }
    Ok(Collected { nearby: Nearby { hashes, low_quality, hits }, pdq_queries, corroborate })
}

fn push_hits(hits: &mut Vec<Near>, kind: Kind, source: Source, found: Vec<DihedralHit>) {
    hits.extend(found.into_iter().map(|h| Near {
        kind,
        entry: h.entry,
        distance: h.distance,
        variant: h.variant,
        source,
        corroborated: false,
    }));
}

/// Applies corroboration, thresholds and the fusion policy to the hits of one input.
fn verdict(index: &MatcherIndex, config: &Config, collected: Collected) -> Result<Verdict, CheckError> {
    let Collected { nearby: Nearby { hashes, low_quality, mut hits }, pdq_queries, corroborate } = collected;
    // Without corroboration no extended image was hashed (see `collect`).
    if let Some(wide) = corroborate {
        corroborate_phash(index, config.thresholds, wide, &pdq_queries, &mut hits)?;
    }
    let unavailable = CheckError::IndexUnavailable;
    // One hit per (kind, entry): a plain match before a corroborated one, then the
    // smallest distance, then the image as given before derived hash sets.
    hits.sort_by_key(|h| (h.kind, h.entry, h.corroborated, h.distance, h.source));
    hits.dedup_by_key(|h| (h.kind, h.entry));
    let mut matches = Vec::with_capacity(hits.len());
    for h in hits {
        let e = index.entry(h.entry).map_err(unavailable)?;
        for &list in &e.lists {
            matches.push(Match {
                kind: h.kind,
                distance: h.distance,
                variant: h.kind.is_perceptual().then_some(h.variant),
                list: index.list(list).map_err(unavailable)?.name,
                id: e.id.to_string(),
                label: e.label.to_string(),
                hash: e.value,
                trimmed: h.source == Source::Trimmed,
                extended: h.source == Source::Extended,
                corroborated: h.corroborated,
                kinds: Vec::new(),
                frame: Some(h.source.frame()).filter(|&f| f > 0),
            });
        }
    }
    fuse(&mut matches, config.require);
    matches.sort_by(|a, b| {
        (a.kind, a.distance, &a.list, &a.id, &a.label).cmp(&(b.kind, b.distance, &b.list, &b.id, &b.label))
    });
    Ok(Verdict { matches, hashes, low_quality })
}

/// The hash sets of one decoded input: the image as given, the content inside a trimmed
/// border, the edge-extended guesses, the later frames of an animation.
fn hash_sets(img: &ImageHashes) -> Vec<(&ImageHashes, Source)> {
    let mut sets = vec![(img, Source::Given)];
    sets.extend(img.trimmed.iter().map(|t| (&t.hashes, Source::Trimmed)));
    sets.extend(img.extended.iter().map(|e| (&e.hashes, Source::Extended)));
    sets.extend(img.frames.iter().map(|f| (&f.hashes, Source::Frame(f.frame))));
    sets
}

/// The PDQ hashes of one hash set to compare with: all 8 dihedral variants, or the hash
/// of the image as stored.
fn pdq_variants(set: &ImageHashes, dihedral: bool) -> impl Iterator<Item = (Pdq, Variant)> {
    let all: Vec<(Pdq, Variant)> = match (&set.pdq_dihedral, set.pdq) {
        (Some(v), _) if dihedral => v.iter().copied().zip(Variant::ALL).collect(),
        (_, Some(p)) => vec![(p.hash, Variant::Orig)],
        _ => Vec::new(),
    };
    all.into_iter()
}

/// Resolves the pHash hits that need corroboration: those beyond the main pHash threshold
/// (searched out to the corroboration radius) and every hit of an extended image. Each
/// counts, as a corroborated match together with the PDQ entry that corroborates it, when
/// an entry of the same item (same list, same non-empty id) holds a PDQ hash within the
/// corroboration PDQ threshold of one of `pdq_queries`; otherwise it is dropped.
fn corroborate_phash(
    index: &MatcherIndex,
    main: Thresholds,
    wide: Thresholds,
    pdq_queries: &[PdqQuery],
    hits: &mut Vec<Near>,
) -> Result<(), CheckError> {
    let unavailable = CheckError::IndexUnavailable;
    let (candidates, kept): (Vec<Near>, Vec<Near>) = hits
        .drain(..)
        .partition(|h| h.source == Source::Extended || (h.kind == Kind::Phash && h.distance > main.phash));
    *hits = kept;
    if pdq_queries.is_empty() {
        return Ok(());
    }
    for mut c in candidates {
        if c.kind != Kind::Phash || c.distance > wide.phash {
            continue;
        }
        let entry = index.entry(c.entry).map_err(unavailable)?;
        if entry.id.is_empty() {
            continue;
        }
        let mut best: Option<Near> = None;
        for other in index.same_id(c.entry).map_err(unavailable)? {
            let o = index.entry(other).map_err(unavailable)?;
            let HashValue::Pdq(value) = o.value else { continue };
            if !o.lists.iter().any(|l| entry.lists.contains(l)) {
                continue;
            }
            // Both hashes must come from the same frame.
            for &(q, variant, source) in pdq_queries.iter().filter(|q| q.2.frame() == c.source.frame()) {
                let distance = q.distance(&value);
                if distance <= wide.pdq && best.is_none_or(|b| distance < b.distance) {
                    best = Some(Near {
                        kind: Kind::Pdq,
                        entry: other,
                        distance,
                        variant,
                        source,
                        corroborated: true,
                    });
                }
            }
        }
        if let Some(pdq) = best {
            c.corroborated = true;
            hits.push(c);
            hits.push(pdq);
        }
    }
    Ok(())
}

/// Fills in [`Match::kinds`] (which kinds agree on each item) and applies the `require`
/// policy: a perceptual match counts only if every required kind matched its item.
///
/// Matches agree when they are on the same list with the same non-empty id. Entries without
/// an id (StopNCII records have none) cannot be tied to each other, so such a match only
/// agrees with itself.
fn fuse(matches: &mut Vec<Match>, require: Kinds) {
    let item = |m: &Match| -> (String, String, Option<HashValue>) {
        (m.list.clone(), m.id.clone(), m.id.is_empty().then_some(m.hash))
    };
    let mut agree: std::collections::HashMap<_, Kinds> = std::collections::HashMap::new();
    for m in matches.iter() {
        agree.entry(item(m)).or_default().insert(m.kind);
    }
    for m in matches.iter_mut() {
        m.kinds = agree[&item(m)].iter().collect();
    }
    if !require.is_empty() {
        matches.retain(|m| !m.kind.is_perceptual() || require.iter().all(|k| m.kinds.contains(&k)));
    }
}

/// Plain hits as dihedral hits of the stored image (none when there was no hash to query).
fn orig_hits(
    hits: Option<Result<Vec<crate::index::Hit>, IndexError>>,
) -> Result<Vec<DihedralHit>, IndexError> {
    let Some(hits) = hits else { return Ok(Vec::new()) };
    hits.map(|v| {
        v.into_iter()
            .map(|h| DihedralHit { entry: h.entry, distance: h.distance, variant: Variant::Orig })
            .collect()
    })
}

/// Maps a decoder error to what an upload handler needs to know.
fn classify(e: DecodeError) -> CheckError {
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
