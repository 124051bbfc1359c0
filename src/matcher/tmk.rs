//! Video matching by TMK+PDQF: the reference's two-level rule against the index's `tmk`
//! entries.
//!
//! A query video's signature ([`crate::video::tmk_hash`]) is scored against every indexed
//! signature at level 1 (cosine of the pure averages), and at level 2 (the temporal match
//! kernel, with the indexed signature as the reference's `a`) only where level 1 passes;
//! an entry matches when both scores reach [`TmkRule`]'s thresholds
//! ([`crate::index::Index::search_tmk`]). The scores are the evidence: TMK has no null
//! model here, so a TMK match has no E-value (it is given as 0, as for digests) and the
//! thresholds alone decide. The reference's thresholds are 0.7 and 0.7; between the
//! reference's sample videos of different scenes no pair scores above 0.1 at level 1,
//! while every re-encoded, resized, grey, sepia or logo copy of a scene scores 0.7 or more
//! (`tests/tmk_index.rs`).

use super::collect::Collected;
use super::{CheckError, Match, MatcherIndex};
use crate::hash::Kind;
use crate::video::tmk::{DEFAULT_LEVEL1_THRESHOLD, DEFAULT_LEVEL2_THRESHOLD};

/// The two-level TMK+PDQF match rule ([`super::Config::tmk`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TmkRule {
    /// The smallest level-1 score (cosine of the pure averages) of a match (0.7).
    pub level1: f32,
    /// The smallest level-2 score (the temporal match kernel) of a match (0.7).
    pub level2: f32,
}

impl Default for TmkRule {
    /// The reference's thresholds ([`DEFAULT_LEVEL1_THRESHOLD`], [`DEFAULT_LEVEL2_THRESHOLD`]).
    fn default() -> TmkRule {
        TmkRule { level1: DEFAULT_LEVEL1_THRESHOLD, level2: DEFAULT_LEVEL2_THRESHOLD }
    }
}

/// How well two videos' signatures agree: what a TMK [`Match`] adds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TmkScores {
    /// The level-1 score, from -1 to 1.
    pub level1: f32,
    /// The level-2 score, from 0 to 1.
    pub level2: f32,
}

/// One [`Match`] per list of each `tmk` entry that passed the rule.
pub(crate) fn verdicts(index: &MatcherIndex, collected: &Collected) -> Result<Vec<Match>, CheckError> {
    let unavailable = CheckError::IndexUnavailable;
    let mut out = Vec::new();
    for h in &collected.tmk_hits {
        let e = index.entry(h.entry).map_err(unavailable)?;
        for &list in &e.lists {
            out.push(Match {
                kind: Kind::Tmk,
                distance: 0,
                evalue: 0.0,
                variant: None,
                list: index.list(list).map_err(unavailable)?.name,
                id: e.id.to_string(),
                label: e.label.to_string(),
                hash: e.value,
                trimmed: false,
                extended: false,
                corroborated: false,
                kinds: Vec::new(),
                frame: None,
                video: None,
                tmk: Some(TmkScores { level1: h.level1, level2: h.level2 }),
            });
        }
    }
    Ok(out)
}
