//! `mediamatch eval`: how well do the hashes find transformed copies of known photos, and
//! how often do they match the wrong thing? (Behind the `eval` cargo feature, on by
//! default: it links the JPEG and WebP encoders the transforms write with.)
//!
//! The work is split so that one pass over the photos serves every threshold:
//!
//! - [`transform`] turns a photo into the encoded bytes a platform would receive after a
//!   typical edit (re-encoding, resizing, cropping, framing, rotating, filtering);
//! - [`measure`](mod@measure) checks photos and their transformed copies against an
//!   index of the known ones, querying out to wide radii, and records the candidate
//!   distances ([`Measurements`]); it applies no threshold;
//! - [`report`](mod@report) judges those distances at chosen thresholds and fusion policy
//!   with the matcher's own [rule](crate::matcher::rule); [`sweep`] does so for every
//!   threshold of a range, and [`targets`](mod@targets) says which recall targets are met.
//!
//! No image is touched again after measuring.
//!
//! The null model of issue 13 (how close do hashes of *unrelated* images come?) has its
//! own three parts: [`negatives`] derives many images of each photo, [`null`](mod@null)
//! counts the distances between those of different photos, and [`tail`] turns the counts
//! into the conservative table `src/significance/null-v1.tsv`.

pub mod distractors;
pub mod measure;
pub mod negatives;
pub mod null;
pub mod report;
pub mod sweep;
pub mod tail;
pub mod targets;
pub mod transform;

pub use distractors::{DistractorOptions, DistractorReport, DistractorRun, Judging};
pub use measure::{
    measure, prepare, Case, CaseResult, EntryDistances, EvalError, EvalOptions, Extra, Measurements, Photo,
    PhotoInfo, Prepared, Skipped, KNOWN_LIST, WIDE,
};
pub use report::{
    report, BadMatch, CaseError, ClosePair, CorroborationSetting, KindStats, Nearest, PerKind, Recall,
    Report, Settings, TransformReport, CLOSEST_PAIRS,
};
pub use sweep::{corroboration_sweep, pdq_sweep, phash_sweep, CorroborationRow, SweepRow, SweepTable};
pub use targets::{distractor_targets, targets, DistractorTarget, Target};
pub use transform::{Encoding, Transform, TransformError};
