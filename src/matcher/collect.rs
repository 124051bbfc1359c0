//! Collecting candidates: hashing one input and looking every hash set up in the index.
//!
//! [`collect`] hashes an input (the image as given, its trimmed content, its edge-extended
//! guesses, later frames) and queries each hash set (dihedral variants when configured)
//! out to the radii of a [`Reach`]. It decides nothing: the [rule](super::rule) says which
//! of the hits it returns count. [`nearest_same_item_pdq`] finds the PDQ entry of an item
//! closest to the input, the other side of corroboration.

use crate::hash::KindSet;
use crate::hash::{HashValue, Kind, Pdq, Variant};
use crate::hashing::{hash_bytes, hash_video, HashOptions, Hashes, ImageHashes};
use crate::index::{DihedralHit, Hit as IndexHit, IndexError};
use crate::significance::QueryCounts;

use super::{CheckError, Config, MatcherIndex, Origin, Thresholds};

/// How far [`collect`] queries each hash set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reach {
    /// The radii of the (dihedral, when configured) queries of each hash set.
    pub(crate) radii: Thresholds,
    /// The radius of an extra pHash query in the stored orientation (corroboration), made
    /// when it is wider than `radii.phash`.
    pub(crate) stored_phash: Option<u32>,
    /// Query the edge-extended images like every other hash set (`mediamatch eval`
    /// measures them). Otherwise only their stored-orientation pHash is queried, out to
    /// `stored_phash`, since their hits count only through corroboration.
    pub(crate) query_extended: bool,
}

impl Reach {
    /// What a verdict needs under `config` with the corroboration thresholds `corroborate`.
    pub(crate) fn verdict(config: &Config, corroborate: Option<Thresholds>) -> Reach {
        Reach { radii: config.thresholds, stored_phash: corroborate.map(|c| c.phash), query_extended: false }
    }

    /// Every hash set queried alike out to `radii` (for the measurements of `eval`).
    #[cfg(feature = "eval")]
    pub(crate) fn every_set(radii: Thresholds) -> Reach {
        Reach { radii, stored_phash: None, query_extended: true }
    }
}

/// One index entry near one hash set of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    /// The entry's kind.
    pub(crate) kind: Kind,
    /// The entry number.
    pub(crate) entry: u32,
    /// The smallest distance over the variants queried.
    pub(crate) distance: u32,
    /// The dihedral variant that gave it (`Orig` for digests and plain queries).
    pub(crate) variant: Variant,
    /// The hash set.
    pub(crate) origin: Origin,
    /// The hit counts only by corroboration.
    pub(crate) corroborated: bool,
}

impl Hit {
    /// The hit's key for keeping one hit per (kind, entry): a plain hit before a
    /// corroborated one, then the smallest distance, then the image as given first.
    pub(crate) fn rank(&self) -> (Kind, u32, bool, u32, Origin) {
        (self.kind, self.entry, self.corroborated, self.distance, self.origin)
    }
}

/// One PDQ hash of an input to compare with corroborating entries: the hash, its dihedral
/// variant, the hash set it came from.
pub(crate) type PdqQuery = (Pdq, Variant, Origin);

/// What [`collect`] found for one input.
#[derive(Debug)]
pub(crate) struct Collected {
    /// The hashes computed.
    pub(crate) hashes: Hashes,
    /// The PDQ quality of the image as given was below `min_quality` (its PDQ not queried).
    pub(crate) low_quality: bool,
    /// The hits, per hash set (an entry near several sets appears once per set).
    pub(crate) hits: Vec<Hit>,
    /// Every usable PDQ hash of the input, to compare with corroborating entries.
    pub(crate) pdq_queries: Vec<PdqQuery>,
    /// How many hashes of each kind the check compares with the index (its E-values).
    pub(crate) queries: QueryCounts,
    /// A video's or an animation's vPDQ frames compared with the `vpdq` entries
    /// (deduplicated, of enough quality).
    pub(crate) vpdq_query: Vec<crate::video::vpdq::Frame>,
    /// Their hits within [`super::VpdqRule::distance`].
    pub(crate) vpdq_hits: Vec<super::video::FrameHit>,
    /// A video's `tmk` entries passing [`super::Config::tmk`] against its signature.
    pub(crate) tmk_hits: Vec<crate::index::TmkHit>,
}

/// The kinds to compute for `index` under `config`.
pub(crate) fn kinds_for(index: &MatcherIndex, config: &Config) -> KindSet {
    config.kinds.unwrap_or_else(|| Kind::ALL.into_iter().filter(|k| index.kind_len(*k) > 0).collect())
}

/// Hashes `bytes` with `kinds` and queries every hash set out to `reach`.
pub(crate) fn collect(
    index: &MatcherIndex,
    config: &Config,
    kinds: KindSet,
    bytes: &[u8],
    path: Option<&std::path::Path>,
    reach: &Reach,
) -> Result<Collected, CheckError> {
    // Extended and turned-back guesses are only worth hashing when something can use
    // their hits.
    let guesses = reach.query_extended || reach.stored_phash.is_some();
    let options = HashOptions {
        kinds,
        dihedral: config.dihedral,
        limits: config.limits,
        border: config.border,
        extend: config.extend && guesses,
        rotate: config.rotate && guesses,
        // Frames beyond the first are checked as images, up to `limits.max_frames`.
        frames: config.limits.max_frames > 0,
    };
    let mut hashes = hash_bytes(bytes, &options);
    // A video: its sampled frames, when asked for; decoded from its file, or from a memory
    // file holding the bytes (never from a copy on disk).
    let mut tmk = None;
    if let Some(sampling) = &config.video {
        use crate::decode::{DecodeError, ImageFormat};
        use crate::video::ffmpeg::{MemoryFile, Source};
        let undecodable = matches!(&hashes.image, Some(Err(DecodeError::NotAnImage)));
        let video = undecodable && crate::video::looks_like_video(&bytes[..bytes.len().min(512)]);
        // An animation (a GIF, APNG or WebP with later distinct frames) is a video to TMK.
        let animated = matches!(&hashes.image, Some(Ok(img)) if !img.frames.is_empty());
        let wants_tmk = kinds.contains(Kind::Tmk) && (video || animated);
        // The file, or (bytes in memory) an anonymous memory file: never a copy on disk.
        let memory = match (video || wants_tmk, path) {
            (true, None) => Some(MemoryFile::new(bytes)),
            _ => None,
        };
        let source = match (path, &memory) {
            (Some(path), _) => Ok(Source::File(path)),
            (None, Some(Ok(m))) => Ok(Source::Memory(m)),
            (None, Some(Err(e))) => Err(e.to_string()),
            (None, None) => Err(String::new()),
        };
        if video {
            let corrupt = |message| DecodeError::Corrupt { format: ImageFormat::Video, message };
            let hashed = source.clone().map_err(corrupt).and_then(|s| hash_video(s, &options, sampling));
            hashes.image = Some(hashed);
        }
        // The TMK+PDQF signature, when the index has TMK entries and the frames decoded.
        if wants_tmk && matches!(&hashes.image, Some(Ok(_))) {
            let signature = source.and_then(|s| {
                crate::video::tmk_hash::hash_source(s, &sampling.limits).map_err(|e| e.to_string())
            });
            tmk = Some(signature);
        }
    }
    let mut hits: Vec<Hit> = Vec::new();
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
            hits.push(Hit {
                kind: digest.kind(),
                entry: hit.entry,
                distance: 0,
                variant: Variant::Orig,
                origin: Origin::Given,
                corroborated: false,
            });
        }
    }
    let mut low_quality = false;
    let mut pdq_queries = Vec::new();
    if let Some(Ok(img)) = &hashes.image {
        for (set, origin) in hash_sets(img) {
            let usable_pdq = set.pdq.is_some_and(|p| p.quality >= config.min_quality);
            if origin == Origin::Given {
                low_quality = set.pdq.is_some() && !usable_pdq;
            }
            if usable_pdq {
                pdq_queries.extend(pdq_variants(set, config.dihedral).map(|(h, v)| (h, v, origin)));
            }
            let derived = !reach.query_extended && origin == Origin::Extended;
            if usable_pdq && !derived {
                let radius = reach.radii.pdq;
                let found = match &set.pdq_dihedral {
                    Some(v) if config.dihedral => index.search_dihedral_pdq(v, radius),
                    _ => orig_hits(set.pdq.map(|p| index.search(&HashValue::Pdq(p.hash), radius))),
                };
                push_hits(&mut hits, Kind::Pdq, origin, found.map_err(unavailable)?);
            }
            if let Some(p) = set.phash {
                let radius = reach.radii.phash;
                // Corroboration reaches further, in the stored orientation only: each
                // dihedral variant searched to 12 would cost more than the rest of the
                // check on an index of millions, and crops are seldom also turned.
                // The radius of a query of the stored orientation alone, besides (for the
                // sets that count alone) the dihedral query at `radius`.
                let stored = match reach.stored_phash {
                    Some(wide) => (derived || wide > radius).then_some(wide),
                    None if derived => continue,
                    None => None,
                };
                if !derived {
                    let found = match &set.phash_dihedral {
                        Some(v) if config.dihedral => index.search_dihedral_phash(v, radius),
                        _ => orig_hits(Some(index.search(&HashValue::Phash(p), radius))),
                    };
                    push_hits(&mut hits, Kind::Phash, origin, found.map_err(unavailable)?);
                }
                if let Some(stored) = stored {
                    let found = orig_hits(Some(index.search(&HashValue::Phash(p), stored)));
                    push_hits(&mut hits, Kind::Phash, origin, found.map_err(unavailable)?);
                }
            }
        }
    }
    let (mut vpdq_query, mut vpdq_hits, mut vpdq_searched) = (Vec::new(), Vec::new(), 0);
    if let (true, Some(Ok(img))) = (kinds.contains(Kind::Vpdq), &hashes.image) {
        vpdq_query = crate::video::vpdq::usable_frames(&img.vpdq, config.vpdq.min_quality);
        (vpdq_hits, vpdq_searched) =
            super::video::search(index, &vpdq_query, &img.vpdq_trimmed, &config.vpdq)?;
    }
    let mut queries = query_counts(&hashes, config, pdq_queries.len());
    // Each frame and the content inside its border, if any.
    queries.vpdq = vpdq_searched;
    let tmk_hits = match &tmk {
        Some(Ok(signature)) => index
            .search_tmk(signature, config.tmk.level1, config.tmk.level2)
            .map_err(CheckError::IndexUnavailable)?,
        _ => Vec::new(),
    };
    if let Some(Err(message)) = tmk {
        // As for an undecodable file: an error unless a digest matched.
        if hits.is_empty() {
            return Err(CheckError::Corrupt(crate::decode::DecodeError::Corrupt {
                format: crate::decode::ImageFormat::Video,
                message: format!("TMK+PDQF hashing failed: {message}"),
            }));
        }
    }
    Ok(Collected { hashes, low_quality, hits, pdq_queries, queries, vpdq_query, vpdq_hits, tmk_hits })
}

/// The hashes of each kind a verdict compares with the index for an input hashed as
/// `hashes`: the `pdq` usable PDQ variants of every hash set (the corroborating side's
/// `pdq_queries`); every pHash variant of the sets that can count alone and the stored pHash
/// of each query-side guess; one per digest.
fn query_counts(hashes: &Hashes, config: &Config, pdq: usize) -> QueryCounts {
    let mut q = QueryCounts { digest: 1, pdq: pdq as u32, ..QueryCounts::default() };
    let Some(Ok(img)) = &hashes.image else { return q };
    for (set, origin) in hash_sets(img) {
        if set.phash.is_some() {
            let all = config.dihedral && set.phash_dihedral.is_some() && origin != Origin::Extended;
            q.phash += if all { 8 } else { 1 };
        }
    }
    q
}

fn push_hits(hits: &mut Vec<Hit>, kind: Kind, origin: Origin, found: Vec<DihedralHit>) {
    hits.extend(found.into_iter().map(|h| Hit {
        kind,
        entry: h.entry,
        distance: h.distance,
        variant: h.variant,
        origin,
        corroborated: false,
    }));
}

/// The PDQ entry of the same item as `hit` (same list, same non-empty id) nearest to one
/// of `pdq_queries` of the same frame, as a corroborated hit; `None` when the item has no
/// id or no PDQ entry.
pub(crate) fn nearest_same_item_pdq(
    index: &MatcherIndex,
    hit: &Hit,
    pdq_queries: &[PdqQuery],
) -> Result<Option<Hit>, CheckError> {
    let unavailable = CheckError::IndexUnavailable;
    let entry = index.entry(hit.entry).map_err(unavailable)?;
    if entry.id.is_empty() {
        return Ok(None);
    }
    let mut best: Option<Hit> = None;
    for other in index.same_id(hit.entry).map_err(unavailable)? {
        let o = index.entry(other).map_err(unavailable)?;
        let HashValue::Pdq(value) = o.value else { continue };
        if !o.lists.iter().any(|l| entry.lists.contains(l)) {
            continue;
        }
        // Both hashes must come from the same frame.
        for &(q, variant, origin) in pdq_queries.iter().filter(|q| q.2.frame() == hit.origin.frame()) {
            let distance = q.distance(&value);
            if best.is_none_or(|b| distance < b.distance) {
                best = Some(Hit {
                    kind: Kind::Pdq,
                    entry: other,
                    distance,
                    variant,
                    origin,
                    corroborated: true,
                });
            }
        }
    }
    Ok(best)
}

/// The hash sets of one decoded input: the image as given, the content inside a trimmed
/// border, the edge-extended guesses, the later frames of an animation.
fn hash_sets(img: &ImageHashes) -> Vec<(&ImageHashes, Origin)> {
    let mut sets = vec![(img, Origin::Given)];
    sets.extend(img.trimmed.iter().map(|t| (&t.hashes, Origin::Trimmed)));
    sets.extend(img.extended.iter().map(|e| (&e.hashes, Origin::Extended)));
    sets.extend(img.frames.iter().map(|f| (&f.hashes, Origin::Frame(f.frame))));
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

/// Plain hits as dihedral hits of the stored image (none when there was no hash to query).
fn orig_hits(hits: Option<Result<Vec<IndexHit>, IndexError>>) -> Result<Vec<DihedralHit>, IndexError> {
    let Some(hits) = hits else { return Ok(Vec::new()) };
    hits.map(|v| {
        v.into_iter()
            .map(|h| DihedralHit { entry: h.entry, distance: h.distance, variant: Variant::Orig })
            .collect()
    })
}
