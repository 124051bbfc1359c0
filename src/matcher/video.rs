//! Video matching by vPDQ: the frame hits of one input grouped by the video (item) they
//! belong to, and HMA's rule on the shares of matched frames.
//!
//! An index holds a video's vPDQ as one [`Kind::Vpdq`] entry per distinct frame of
//! quality 50 or more, all with the video's id ([`crate::lists`] expands a whole video's
//! vPDQ so). A query video's frames are deduplicated and filtered the same way
//! ([`crate::video::vpdq::usable_frames`]), each is searched out to the frame distance
//! ([`VpdqRule::distance`], 31), and for every (list, id) with a hit:
//!
//! - the **query share** is the percentage of the query's frames within the distance of a
//!   frame of that video, the **compared share** the percentage of the video's frames
//!   within the distance of a query frame (python-threatexchange's `match_VPDQ_hash_brute`,
//!   which HMA uses, computes the same two shares by brute force);
//! - the video matches when the query share is at least [`VpdqRule::query_percent`] (80)
//!   and the compared share at least [`VpdqRule::compared_percent`] (0).
//!
//! Significance as for photos: a frame pair counts only at a distance whose E-value (the
//! index's vPDQ entries times the query's frames times the PDQ null model's tail) is at
//! most [`super::Config::max_evalue`], so on a large index the frame distance shrinks as a
//! PDQ threshold does. A video's E-value is that of its closest frame pair. Videos with
//! frame hits within the distance that do not meet the rule are weak candidates.

use std::collections::{BTreeMap, BTreeSet};

use super::collect::Collected;
use super::{CheckError, Match, MatcherIndex, Rule};
use crate::hash::{HashValue, Kind};
use crate::video::vpdq;

/// HMA's vPDQ match rule ([`super::Config::vpdq`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VpdqRule {
    /// Largest PDQ distance at which two frames match (31).
    pub distance: u32,
    /// Frames of lower quality are not compared (50).
    pub min_quality: u8,
    /// The share of the query's frames that must match, in percent (80).
    pub query_percent: f64,
    /// The share of the indexed video's frames that must match, in percent (0).
    pub compared_percent: f64,
}

impl Default for VpdqRule {
    /// python-threatexchange's and HMA's values.
    fn default() -> VpdqRule {
        VpdqRule {
            distance: vpdq::DISTANCE_THRESHOLD,
            min_quality: vpdq::QUALITY_THRESHOLD,
            query_percent: vpdq::QUERY_MATCH_PERCENT,
            compared_percent: vpdq::COMPARED_MATCH_PERCENT,
        }
    }
}

/// How much of two videos matched: what a vPDQ [`Match`] adds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoShares {
    /// Percent of the query's compared frames within the distance of a frame of the video.
    pub query_percent: f64,
    /// Percent of the video's frames within the distance of a query frame.
    pub compared_percent: f64,
    /// The query's compared frames (distinct, quality 50 or more).
    pub query_frames: u32,
    /// The video's frames in the index.
    pub compared_frames: u32,
}

/// One query frame near one vPDQ entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHit {
    /// The query frame, an index into [`Collected::vpdq_query`].
    pub query: u32,
    /// The entry.
    pub entry: u32,
    /// Their distance.
    pub distance: u32,
}

/// Searches every query frame out to `rule.distance`, and the content inside a border of
/// each query frame that has one (`trimmed`, in frame order): a frame matches when
/// either is near. Also returns how many hashes were searched (the E-values' queries).
pub(crate) fn search(
    index: &MatcherIndex,
    frames: &[vpdq::Frame],
    trimmed: &[vpdq::Frame],
    rule: &VpdqRule,
) -> Result<(Vec<FrameHit>, u32), CheckError> {
    let (mut hits, mut searched) = (Vec::new(), 0);
    for (q, f) in frames.iter().enumerate() {
        let inner = trimmed
            .binary_search_by_key(&f.frame, |t| t.frame)
            .ok()
            .map(|at| trimmed[at])
            .filter(|t| t.quality >= rule.min_quality);
        for hash in std::iter::once(f.hash).chain(inner.map(|t| t.hash)) {
            searched += 1;
            let found = index.search(&HashValue::Vpdq(hash), rule.distance);
            let found = found.map_err(CheckError::IndexUnavailable)?;
            hits.extend(found.into_iter().map(|h| FrameHit {
                query: q as u32,
                entry: h.entry,
                distance: h.distance,
            }));
        }
    }
    Ok((hits, searched))
}

/// What one video (list and id) collected.
#[derive(Default)]
struct Item {
    /// Query frames and entries within the significant frame distance.
    query: BTreeSet<u32>,
    entries: BTreeSet<u32>,
    /// The closest pair: (distance, query frame, entry).
    best: Option<(u32, u32, u32)>,
}

/// The vPDQ matches and weak candidates of one input under `rule` (matches first).
pub(crate) fn verdicts(
    index: &MatcherIndex,
    rule: &Rule,
    vrule: &VpdqRule,
    collected: &Collected,
) -> Result<(Vec<Match>, Vec<Match>), CheckError> {
    let unavailable = CheckError::IndexUnavailable;
    let frames = &collected.vpdq_query;
    if collected.vpdq_hits.is_empty() || frames.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let significant = rule.threshold(Kind::Vpdq, vrule.distance);
    // Items are (list, id); an entry without an id is a one-frame video of its own.
    let mut items: BTreeMap<(u32, String, Option<u32>), Item> = BTreeMap::new();
    for h in &collected.vpdq_hits {
        let e = index.entry(h.entry).map_err(unavailable)?;
        let own = e.id.is_empty().then_some(h.entry);
        for &list in &e.lists {
            let item = items.entry((list, e.id.to_string(), own)).or_default();
            if significant.is_some_and(|t| h.distance <= t) {
                item.query.insert(h.query);
                item.entries.insert(h.entry);
            }
            if item.best.is_none_or(|b| (h.distance, h.query, h.entry) < b) {
                item.best = Some((h.distance, h.query, h.entry));
            }
        }
    }
    let (mut matches, mut weak) = (Vec::new(), Vec::new());
    for ((list, _, own), item) in items {
        let Some((distance, query, entry)) = item.best else { continue };
        let compared_frames = match own {
            Some(_) => 1,
            None => item_frames(index, entry, list)?,
        };
        let share = |n: usize, of: u32| if of == 0 { 0.0 } else { n as f64 * 100.0 / f64::from(of) };
        let shares = VideoShares {
            query_percent: share(item.query.len(), frames.len() as u32),
            compared_percent: share(item.entries.len(), compared_frames),
            query_frames: frames.len() as u32,
            compared_frames,
        };
        let is_match = !item.query.is_empty()
            && shares.query_percent >= vrule.query_percent
            && shares.compared_percent >= vrule.compared_percent;
        let e = index.entry(entry).map_err(unavailable)?;
        let m = Match {
            kind: Kind::Vpdq,
            distance,
            evalue: rule.evalue(Kind::Vpdq, distance),
            variant: None,
            list: index.list(list).map_err(unavailable)?.name,
            id: e.id.to_string(),
            label: e.label.to_string(),
            hash: e.value,
            trimmed: false,
            extended: false,
            corroborated: false,
            kinds: vec![Kind::Vpdq],
            frame: u32::try_from(frames[query as usize].frame).ok(),
            video: Some(shares),
            tmk: None,
        };
        if is_match {
            matches.push(m);
        } else {
            weak.push(m);
        }
    }
    Ok((matches, weak))
}

/// The vPDQ entries of `entry`'s video on `list`: its frames in the index.
fn item_frames(index: &MatcherIndex, entry: u32, list: u32) -> Result<u32, CheckError> {
    let unavailable = CheckError::IndexUnavailable;
    let mut n = 0;
    for other in index.same_id(entry).map_err(unavailable)? {
        let o = index.entry(other).map_err(unavailable)?;
        if o.value.kind() == Kind::Vpdq && o.lists.contains(&list) {
            n += 1;
        }
    }
    Ok(n.max(1))
}
