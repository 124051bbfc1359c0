//! Every command-line value parser, in one place, and the default values they are shown
//! with in `--help`, written from the library's constants (never repeated as strings).

use std::sync::LazyLock;
use std::time::Duration;

use mediamatch::hash::KindSet;
use mediamatch::lists::{ListFormat, DEFAULT_MAX_BYTES};
use mediamatch::matcher::{Thresholds, DEFAULT_CORROBORATE};
use mediamatch::significance::DEFAULT_MAX_EVALUE;
use mediamatch::Kind;

/// `--max-distance`'s default, `pdq=31,phash=8`, from [`Thresholds::default`].
pub(crate) static DEFAULT_THRESHOLDS: LazyLock<String> =
    LazyLock::new(|| thresholds_text(Thresholds::default()));

/// `--corroborate`'s default, `pdq=64,phash=12`, from [`DEFAULT_CORROBORATE`].
pub(crate) static DEFAULT_CORROBORATION: LazyLock<String> =
    LazyLock::new(|| thresholds_text(DEFAULT_CORROBORATE));

/// `--max-evalue`'s default, `1e-6`, from [`DEFAULT_MAX_EVALUE`].
pub(crate) static DEFAULT_MAX_EVALUE_TEXT: LazyLock<String> =
    LazyLock::new(|| format!("{DEFAULT_MAX_EVALUE:e}"));

/// An E-value limit: a positive number (`1e-6`, `0.001`), or `inf` for no limit.
pub(crate) fn evalue(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number (e.g. 1e-6, or inf for no limit)")),
    }
}

/// `--max-list-size`'s default, `4G`, from [`DEFAULT_MAX_BYTES`].
pub(crate) static DEFAULT_MAX_LIST_SIZE: LazyLock<String> = LazyLock::new(|| size_text(DEFAULT_MAX_BYTES));

/// Thresholds as the flags take them: `pdq=N,phash=M`.
pub(crate) fn thresholds_text(t: Thresholds) -> String {
    format!("pdq={},phash={}", t.pdq, t.phash)
}

/// A size: a number of bytes, or a number with `K`, `M`, `G` or `T` (powers of 1024;
/// `KB`, `KiB` and so on too).
pub(crate) fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let number: u64 = number.parse().map_err(|_| format!("{s:?} is not a size (e.g. 500M, 4G)"))?;
    let shift = match unit.trim().to_ascii_lowercase().trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("{s:?} is not a size (e.g. 500M, 4G)")),
    };
    number.checked_mul(1 << shift).ok_or_else(|| format!("{s:?} is too large"))
}

/// A size as [`size`] reads it, in the largest unit that divides it (`4G`, `256M`, `100`).
pub(crate) fn size_text(bytes: u64) -> String {
    for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        if bytes != 0 && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// A number of seconds (`5`, `0.5`).
pub(crate) fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(v).map_err(|_| format!("{s:?} is not a duration"))
}

/// A percentage, `50%` or `50`, from 0 to 100.
pub(crate) fn percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let n: f64 = t
        .strip_suffix('%')
        .unwrap_or(t)
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage (e.g. 50%)"))?;
    if (0.0..=100.0).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{s:?} is not a percentage from 0% to 100%"))
    }
}

/// Hash kinds: `pdq,phash,md5` or `all`.
pub(crate) fn kinds(s: &str) -> Result<KindSet, String> {
    let mut kinds = KindSet::NONE;
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.eq_ignore_ascii_case("all") {
            kinds = KindSet::all();
        } else {
            kinds.insert(part.parse::<Kind>().map_err(|e| e.to_string())?);
        }
    }
    if kinds.is_empty() {
        return Err("no hash kind given".into());
    }
    Ok(kinds)
}

/// `--require`: `any`, or a comma-separated list of perceptual kinds.
pub(crate) fn require(s: &str) -> Result<KindSet, String> {
    if s.trim().eq_ignore_ascii_case("any") {
        return Ok(KindSet::NONE);
    }
    let kinds = kinds(s)?;
    if kinds.iter().any(|k| !k.is_image()) {
        return Err("--require takes pdq and/or phash (digest matches always count)".into());
    }
    Ok(kinds)
}

/// `--max-distance`: `pdq=N,phash=M`; a kind left out keeps its default.
pub(crate) fn thresholds(s: &str) -> Result<Thresholds, String> {
    thresholds_over(s, Thresholds::default())
}

/// `--corroborate`: like [`thresholds`], over [`DEFAULT_CORROBORATE`].
pub(crate) fn corroborate(s: &str) -> Result<Thresholds, String> {
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

/// A list format: `auto`, `csv`, `ncmec`, ...
pub(crate) fn list_format(s: &str) -> Result<ListFormat, String> {
    s.parse().map_err(|e: mediamatch::lists::ListError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size("4G"), Ok(4 << 30));
        assert_eq!(size("500M"), Ok(500 << 20));
        assert_eq!(size("8GiB"), Ok(8 << 30));
        assert_eq!(size("1kb"), Ok(1024));
        assert_eq!(size("123"), Ok(123));
        assert!(size("4X").is_err() && size("").is_err() && size("99999999999T").is_err());
        for text in ["4G", "256M", "1K", "100", "0", "3T"] {
            assert_eq!(size_text(size(text).unwrap()), text);
        }
    }

    #[test]
    fn seconds_and_percentages() {
        assert_eq!(seconds("0.5").unwrap(), Duration::from_millis(500));
        assert!(seconds("-1").is_err());
        assert_eq!(percent("50%"), Ok(50.0));
        assert_eq!(percent(" 12.5 "), Ok(12.5));
        assert!(percent("101%").is_err() && percent("x").is_err());
    }

    #[test]
    fn a_kind_left_out_keeps_its_own_default() {
        assert_eq!(thresholds("pdq=20").unwrap(), Thresholds { pdq: 20, phash: 8 });
        assert_eq!(corroborate("pdq=80").unwrap(), Thresholds { pdq: 80, phash: 12 });
        assert_eq!(corroborate("phash=10").unwrap(), Thresholds { pdq: 64, phash: 10 });
        assert!(corroborate("phash=65").is_err());
        assert!(thresholds("md5=1").is_err());
    }

    #[test]
    fn the_defaults_shown_are_the_library_constants_and_parse_back() {
        assert_eq!(*DEFAULT_THRESHOLDS, "pdq=31,phash=8");
        assert_eq!(thresholds(&DEFAULT_THRESHOLDS), Ok(Thresholds::default()));
        assert_eq!(corroborate(&DEFAULT_CORROBORATION), Ok(DEFAULT_CORROBORATE));
        assert_eq!(size(&DEFAULT_MAX_LIST_SIZE), Ok(DEFAULT_MAX_BYTES));
    }

    #[test]
    fn require_takes_perceptual_kinds_only() {
        assert_eq!(require("any"), Ok(KindSet::NONE));
        assert!(require("pdq,phash").is_ok());
        assert!(require("md5").is_err());
        assert!(kinds("").is_err() && kinds("crc32").is_err());
    }
}
