//! One check: a photo's cases hashed and queried, each hit named (a known photo's entry
//! or a distractor item) and folded into the nearest distances per entry.

use std::collections::HashMap;
use std::time::Instant;

use super::{Case, CaseResult, EntryDistances, EvalOptions, Photo};
use crate::decode;
use crate::hash::{HashValue, Kind};
use crate::matcher::collect::{Hit, Reach};
use crate::matcher::{Matcher, Origin};
use crate::significance::{IndexSizes, Significance};

/// What a check needs besides its photo: the matcher and how to name what it hits.
pub(super) struct Checker<'a> {
    pub(super) matcher: &'a Matcher,
    /// Known photo names and their positions.
    pub(super) ids: HashMap<&'a str, u32>,
    /// Tracked distractor items ([`Extra::items`]).
    pub(super) items: &'a HashMap<String, u32>,
    pub(super) cases: &'a [Case],
    pub(super) options: &'a EvalOptions,
}

/// What a hit's entry is to the checks.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    /// A known photo's entry (its position).
    Known(u32),
    /// A distractor item (its number).
    Item(u32),
}

impl Checker<'_> {
    /// What a hit on `entry` (numbered `number`) is, if it is tracked.
    fn target(&self, id: &str, number: u32) -> Option<Target> {
        if let Some(&known) = self.ids.get(id) {
            return Some(Target::Known(known));
        }
        if id.is_empty() {
            // Known photos always have ids, so an entry without one is a distractor's.
            return (!self.items.is_empty())
                .then(|| Target::Item((self.items.len() as u32).saturating_add(number)));
        }
        self.items.get(id).map(|&i| Target::Item(i))
    }

    /// Checks one photo in every case.
    pub(super) fn check_photo(&self, photo: u32, p: &Photo) -> Vec<CaseResult> {
        let (matcher, cases, options) = (self.matcher, self.cases, self.options);
        let blank = |case: Case, error: String| CaseResult {
            photo,
            case,
            error: Some(error),
            low_quality: false,
            entries: Vec::new(),
            distractors: Vec::new(),
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
            let collected = matcher.collect(&index, kinds, bytes, None, &reach);
            let check_s = start.elapsed().as_secs_f64();
            let collected = match collected {
                Ok(v) => v,
                Err(e) => {
                    out.push(blank(case, e.to_string()));
                    continue;
                }
            };
            let stored_phash = StoredPhash::of(&collected.hashes);
            let mut by_entry: HashMap<Target, EntryDistances> = HashMap::new();
            for h in &collected.hits {
                let Ok(entry) = index.entry(h.entry) else { continue };
                let Some(target) = self.target(entry.id, h.entry) else { continue };
                let number = match target {
                    Target::Known(i) | Target::Item(i) => i,
                };
                let e = by_entry
                    .entry(target)
                    .or_insert_with(|| EntryDistances { photo: number, ..Default::default() });
                e.add(h, entry.value, stored_phash);
            }
            let low_quality = collected.low_quality;
            let significance = Significance::of(sizes, collected.queries);
            let (mut entries, mut distractors) = (Vec::new(), Vec::new());
            for (target, e) in by_entry {
                match target {
                    Target::Known(_) => entries.push(e),
                    Target::Item(_) => distractors.push(e),
                }
            }
            entries.sort_by_key(|e| e.photo);
            distractors.sort_by_key(|e| e.photo);
            out.push(CaseResult {
                photo,
                case,
                error: None,
                low_quality,
                entries,
                distractors,
                significance,
                check_s,
            });
        }
        out
    }
}

impl EntryDistances {
    /// Takes `h`, a hit on an entry of value `value`, into the nearest distances.
    fn add(&mut self, h: &Hit, value: HashValue, stored_phash: StoredPhash) {
        let e = self;
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
                if let (Some(q), HashValue::Phash(v)) = (set, value) {
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
