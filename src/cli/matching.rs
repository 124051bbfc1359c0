//! The matching options `scan` and `eval` share: thresholds, E-value limit, quality floor, which hash sets
//! are queried (dihedral variants, border-trimmed content, edge-extended guesses), the
//! fusion policy and corroboration.

use mediamatch::hash::KindSet;
use mediamatch::matcher::{Config, Thresholds, DEFAULT_MIN_QUALITY};

use super::parse;

/// Matching options, flattened into the commands that check images.
#[derive(clap::Args, Debug)]
pub(crate) struct MatchArgs {
    /// Match thresholds, `pdq=N,phash=M`; a kind left out keeps its default.
    #[arg(long, value_parser = parse::thresholds, default_value = parse::DEFAULT_THRESHOLDS.as_str())]
    pub(crate) max_distance: Thresholds,
    /// Largest E-value of a perceptual match: the expected number of unrelated entries this
    /// close by chance, given the index's size and the hashes the file queried. Candidates
    /// within `--max-distance` but over it are weak, not matches (`inf`: no limit).
    #[arg(long, value_parser = parse::evalue, default_value = parse::DEFAULT_MAX_EVALUE_TEXT.as_str())]
    pub(crate) max_evalue: f64,
    /// PDQ hashes of lower quality (0-100) are not matched perceptually.
    #[arg(long, default_value_t = DEFAULT_MIN_QUALITY,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub(crate) min_quality: u8,
    /// Query only the image as stored, not its 7 rotations and mirror images.
    #[arg(long)]
    pub(crate) no_dihedral: bool,
    /// Do not also hash the content inside a uniform border (letterbox, screenshot frame).
    #[arg(long)]
    pub(crate) no_border: bool,
    /// Do not also hash the image extended at its edges (a guess at the original framing of
    /// a copy cropped by a few percent).
    #[arg(long)]
    pub(crate) no_extend: bool,
    /// Do not also hash the image turned back by 3 degrees each way (a guess at the
    /// original of a copy turned by a few degrees).
    #[arg(long)]
    pub(crate) no_rotate: bool,
    /// Fusion policy: `any` (one perceptual kind suffices) or the kinds that must all match
    /// the same list entry id, e.g. `pdq,phash`. Digest matches always count.
    #[arg(long, value_parser = parse::require, default_value = "any")]
    pub(crate) require: KindSet,
    /// Corroboration thresholds: a list item (same list, same id) whose PDQ and pHash entries
    /// are both this close matches although neither is within `--max-distance` (only with
    /// `--require any`). A kind left out keeps its default.
    #[arg(long, value_parser = parse::corroborate, default_value = parse::DEFAULT_CORROBORATION.as_str())]
    pub(crate) corroborate: Thresholds,
    /// Turn corroboration off.
    #[arg(long)]
    pub(crate) no_corroborate: bool,
}

impl MatchArgs {
    /// The corroboration thresholds, unless turned off.
    pub(crate) fn corroboration(&self) -> Option<Thresholds> {
        (!self.no_corroborate).then_some(self.corroborate)
    }

    /// The matcher configuration these options describe (the rest from `base`).
    pub(crate) fn config(&self, base: Config) -> Config {
        Config {
            thresholds: self.max_distance,
            max_evalue: self.max_evalue,
            min_quality: self.min_quality,
            dihedral: !self.no_dihedral,
            border: !self.no_border,
            extend: !self.no_extend,
            rotate: !self.no_rotate,
            corroborate: self.corroboration(),
            require: self.require,
            ..base
        }
    }
}
