//! The matching options `scan` and `eval` share: thresholds, quality floor, which hash sets
//! are queried (dihedral variants, border-trimmed content, edge-extended guesses), the
//! fusion policy and corroboration.

use mediamatch::hasher::Kinds;
use mediamatch::matcher::{Config, Thresholds, DEFAULT_CORROBORATE};

/// Matching options, flattened into the commands that check images.
#[derive(clap::Args, Debug)]
pub(crate) struct MatchArgs {
    /// Match thresholds, e.g. `pdq=31,phash=8` (defaults: pdq 31, phash 8).
    #[arg(long, value_parser = parse_thresholds, default_value = "pdq=31,phash=8")]
    pub(crate) max_distance: Thresholds,
    /// PDQ hashes of lower quality (0-100) are not matched perceptually.
    #[arg(long, default_value_t = mediamatch::matcher::DEFAULT_MIN_QUALITY,
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
    /// Fusion policy: `any` (one perceptual kind suffices) or the kinds that must all match
    /// the same list entry id, e.g. `pdq,phash`. Digest matches always count.
    #[arg(long, value_parser = parse_require, default_value = "any")]
    pub(crate) require: Kinds,
    /// Corroboration thresholds: a list item (same list, same id) whose PDQ and pHash entries
    /// are both this close matches although neither is within `--max-distance` (only with
    /// `--require any`). A kind left out keeps its default (pdq 64, phash 12).
    #[arg(long, value_parser = parse_corroborate, default_value = "pdq=64,phash=12")]
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
            min_quality: self.min_quality,
            dihedral: !self.no_dihedral,
            border: !self.no_border,
            extend: !self.no_extend,
            corroborate: self.corroboration(),
            require: self.require,
            ..base
        }
    }
}

/// Parses `pdq=N,phash=M` (either part may be left out and keeps its default 31 / 8).
pub(crate) fn parse_thresholds(s: &str) -> Result<Thresholds, String> {
    thresholds_over(s, Thresholds::default())
}

/// Parses `--corroborate`: like [`parse_thresholds`], defaults pdq 64 and phash 12.
fn parse_corroborate(s: &str) -> Result<Thresholds, String> {
    thresholds_over(s, DEFAULT_CORROBORATE)
}

fn thresholds_over(s: &str, mut t: Thresholds) -> Result<Thresholds, String> {
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| format!("expected KIND=N, got {part:?}"))?;
        let v: u32 = v.trim().parse().map_err(|_| format!("{v:?} is not a distance"))?;
        match k.trim().to_ascii_lowercase().as_str() {
            "pdq" if v <= 256 => t.pdq = v,
            "phash" if v <= 64 => t.phash = v,
            "pdq" | "phash" => return Err(format!("{part}: larger than the hash width")),
            other => return Err(format!("{other:?}: only pdq and phash have a distance")),
        }
    }
    Ok(t)
}

/// Parses `any` or a comma-separated list of perceptual kinds.
pub(crate) fn parse_require(s: &str) -> Result<Kinds, String> {
    if s.trim().eq_ignore_ascii_case("any") {
        return Ok(Kinds::NONE);
    }
    let kinds = super::hash::parse_kinds(s)?;
    if kinds.iter().any(|k| !k.is_perceptual()) {
        return Err("--require takes pdq and/or phash (digest matches always count)".into());
    }
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_left_out_keeps_its_own_default() {
        assert_eq!(parse_thresholds("pdq=20").unwrap(), Thresholds { pdq: 20, phash: 8 });
        assert_eq!(parse_corroborate("pdq=80").unwrap(), Thresholds { pdq: 80, phash: 12 });
        assert_eq!(parse_corroborate("phash=10").unwrap(), Thresholds { pdq: 64, phash: 10 });
        assert!(parse_corroborate("phash=65").is_err());
        assert!(parse_thresholds("md5=1").is_err());
    }
}
