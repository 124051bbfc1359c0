//! The null model: how close hashes of unrelated images come by chance.
//!
//! A [`NullModel`] holds, per perceptual kind, the *tail* `P(distance <= d)` of the
//! Hamming distance between a query hash and an entry hash of two unrelated images, and
//! the *joint* tail `P(pHash distance <= a and PDQ distance <= b)` of two unrelated
//! images' hash pairs (what corroboration of a list item risks). Every value is a
//! conservative upper bound: measured on a negative set derived from real photos, raised
//! to a confidence bound where the data is dense and replaced by a fitted, bounded model
//! where it is thin (`docs/null-model.md`).
//!
//! The model the crate ships ([`NullModel::builtin`]) is the versioned table
//! `src/significance/null-v1.tsv`, written by `mediamatch null-model`. Its text format:
//! `#` lines are comments; the other lines are tab-separated,
//!
//! ```text
//! version  1
//! tail     phash  <d>  <p>     every d in 0..=64
//! tail     pdq    <d>  <p>     every d in 0..=256
//! joint    <a>    <b>  <p>     every a in 0..=24 and b in 0..=128
//! ```
//!
//! with every `p` in `(0, 1]`, non-decreasing in each distance, the last tail value 1,
//! and each joint value at most both marginals. [`NullModel::parse`] checks all of it.

use std::sync::OnceLock;

use crate::hash::Kind;

/// The null-model format version this crate reads.
pub const NULL_MODEL_VERSION: u32 = 1;

/// The largest pHash distance of the joint table.
pub const JOINT_PHASH_MAX: u32 = 24;

/// The largest PDQ distance of the joint table.
pub const JOINT_PDQ_MAX: u32 = 128;

const PHASH_BITS: u32 = 64;
const PDQ_BITS: u32 = 256;

/// The table shipped with the crate.
const BUILTIN: &str = include_str!("null-v1.tsv");

/// A null model: per-kind and joint distance tails of unrelated images. See the [module
/// docs](self).
#[derive(Clone, Debug, PartialEq)]
pub struct NullModel {
    phash: Vec<f64>,
    pdq: Vec<f64>,
    /// Row-major, `(JOINT_PHASH_MAX + 1) x (JOINT_PDQ_MAX + 1)`.
    joint: Vec<f64>,
}

/// Why a null-model table was refused; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NullModelError {
    /// A line could not be read.
    #[error("line {line}: {detail}")]
    Line {
        /// The line number.
        line: usize,
        /// What is wrong with it.
        detail: String,
    },
    /// The table does not say `version 1`.
    #[error("null model version {found:?}, this build reads version {NULL_MODEL_VERSION}")]
    Version {
        /// The version found, if any.
        found: Option<String>,
    },
    /// A value is missing, not monotone, or inconsistent with the others.
    #[error("{0}")]
    Invalid(String),
}

impl NullModel {
    /// The model shipped with the crate (parsed once).
    pub fn builtin() -> &'static NullModel {
        static MODEL: OnceLock<NullModel> = OnceLock::new();
        MODEL.get_or_init(|| match NullModel::parse(BUILTIN) {
            Ok(m) => m,
            // Covered by a unit test: the shipped table always parses.
            Err(e) => panic!("the built-in null model is damaged: {e}"),
        })
    }

    /// Parses and checks a table in the format of the [module docs](self).
    pub fn parse(text: &str) -> Result<NullModel, NullModelError> {
        let joint_len = ((JOINT_PHASH_MAX + 1) * (JOINT_PDQ_MAX + 1)) as usize;
        let mut phash = vec![f64::NAN; (PHASH_BITS + 1) as usize];
        let mut pdq = vec![f64::NAN; (PDQ_BITS + 1) as usize];
        let mut joint = vec![f64::NAN; joint_len];
        let mut version = None;
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            let bad = |detail: String| NullModelError::Line { line, detail };
            let raw = raw.trim_end_matches('\r');
            if raw.trim().is_empty() || raw.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = raw.split('\t').collect();
            let slot: &mut f64 = match fields.as_slice() {
                ["version", v] => {
                    version = Some((*v).to_string());
                    continue;
                }
                ["tail", kind, d, _] => {
                    let (table, max) = match *kind {
                        "phash" => (&mut phash, PHASH_BITS),
                        "pdq" => (&mut pdq, PDQ_BITS),
                        other => return Err(bad(format!("unknown kind {other:?}"))),
                    };
                    table.get_mut(distance(d, max).map_err(bad)? as usize).expect("checked range")
                }
                ["joint", a, b, _] => {
                    let a = distance(a, JOINT_PHASH_MAX).map_err(bad)?;
                    let b = distance(b, JOINT_PDQ_MAX).map_err(bad)?;
                    &mut joint[joint_at(a, b)]
                }
                _ => {
                    return Err(bad(format!(
                        "expected `tail KIND D P`, `joint A B P` or `version N`: {raw:?}"
                    )))
                }
            };
            let p = fields[3];
            let p: f64 = p.parse().map_err(|_| bad(format!("{p:?} is not a number")))?;
            if !(p > 0.0 && p <= 1.0) {
                return Err(bad(format!("{p} is not a probability in (0, 1]")));
            }
            if !slot.is_nan() {
                return Err(bad("value given twice".to_string()));
            }
            *slot = p;
        }
        if version.as_deref() != Some("1") {
            return Err(NullModelError::Version { found: version });
        }
        let model = NullModel { phash, pdq, joint };
        model.check()?;
        Ok(model)
    }

    /// Every value present, monotone, tails ending at 1, joint within the marginals.
    fn check(&self) -> Result<(), NullModelError> {
        let invalid = |s: String| Err(NullModelError::Invalid(s));
        for (name, t) in [("phash", &self.phash), ("pdq", &self.pdq)] {
            if let Some(d) = t.iter().position(|p| p.is_nan()) {
                return invalid(format!("tail {name} {d} is missing"));
            }
            if let Some(d) = t.windows(2).position(|w| w[1] < w[0]) {
                return invalid(format!("tail {name} decreases from {d} to {}", d + 1));
            }
            if t.last() != Some(&1.0) {
                return invalid(format!("tail {name} does not end at 1"));
            }
        }
        for a in 0..=JOINT_PHASH_MAX {
            for b in 0..=JOINT_PDQ_MAX {
                let p = self.joint[joint_at(a, b)];
                if p.is_nan() {
                    return invalid(format!("joint {a} {b} is missing"));
                }
                let below = |a2: u32, b2: u32| self.joint[joint_at(a2, b2)];
                if (a > 0 && below(a - 1, b) > p) || (b > 0 && below(a, b - 1) > p) {
                    return invalid(format!("joint decreases at {a} {b}"));
                }
                if p > self.phash[a as usize] || p > self.pdq[b as usize] {
                    return invalid(format!("joint {a} {b} exceeds a marginal tail"));
                }
            }
        }
        Ok(())
    }

    /// `P(distance <= d)` between a query hash of `kind` and an entry of an unrelated
    /// image: a conservative bound for the perceptual kinds (1 beyond the hash's length);
    /// for digests, the chance `2^-bits` that two different inputs share a digest at
    /// `d = 0` (and 1 beyond: digests match exactly or not at all).
    pub fn tail(&self, kind: Kind, d: u32) -> f64 {
        let table = match kind {
            Kind::Phash => &self.phash,
            // A vPDQ frame is a PDQ hash of a picture: the PDQ table bounds it.
            Kind::Pdq | Kind::Vpdq => &self.pdq,
            digest if d == 0 => return 0.5f64.powi(digest.byte_len() as i32 * 8),
            _ => return 1.0,
        };
        table.get(d as usize).copied().unwrap_or(1.0)
    }

    /// `P(pHash distance <= phash and PDQ distance <= pdq)` for the hash pairs of two
    /// unrelated images. Beyond the joint table it is the smaller marginal tail (a bound
    /// that always holds).
    pub fn joint(&self, phash: u32, pdq: u32) -> f64 {
        let marginal = self.tail(Kind::Phash, phash).min(self.tail(Kind::Pdq, pdq));
        if phash <= JOINT_PHASH_MAX && pdq <= JOINT_PDQ_MAX {
            self.joint[joint_at(phash, pdq)].min(marginal)
        } else {
            marginal
        }
    }
}

fn joint_at(a: u32, b: u32) -> usize {
    (a * (JOINT_PDQ_MAX + 1) + b) as usize
}

fn distance(s: &str, max: u32) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(d) if d <= max => Ok(d),
        _ => Err(format!("{s:?} is not a distance in 0..={max}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_is_monotone() {
        let m = NullModel::builtin();
        for kind in [Kind::Phash, Kind::Pdq] {
            let bits = kind.byte_len() as u32 * 8;
            assert_eq!(m.tail(kind, bits), 1.0);
            assert!((1..=bits).all(|d| m.tail(kind, d - 1) <= m.tail(kind, d)), "{kind:?}");
            assert!(m.tail(kind, 0) > 0.0);
        }
        assert!(m.joint(12, 64) <= m.tail(Kind::Phash, 12).min(m.tail(Kind::Pdq, 64)));
        assert_eq!(m.joint(40, 200), m.tail(Kind::Phash, 40).min(m.tail(Kind::Pdq, 200)));
        assert_eq!(m.tail(Kind::Md5, 0), 2f64.powi(-128));
        assert_eq!(m.tail(Kind::Sha256, 1), 1.0);
    }

    fn table(edit: impl Fn(&str) -> String) -> String {
        BUILTIN.lines().map(|l| edit(l) + "\n").collect()
    }

    #[test]
    fn damaged_tables_are_refused() {
        let cases: [(&str, String); 6] = [
            ("version", table(|l| if l.starts_with("version") { "version\t2".into() } else { l.into() })),
            ("missing", table(|l| if l.starts_with("tail\tpdq\t17\t") { String::new() } else { l.into() })),
            (
                "zero",
                table(
                    |l| if l.starts_with("tail\tphash\t0\t") { "tail\tphash\t0\t0".into() } else { l.into() },
                ),
            ),
            (
                "decreasing",
                table(|l| {
                    if l.starts_with("tail\tphash\t10\t") {
                        "tail\tphash\t10\t1e-300".into()
                    } else {
                        l.into()
                    }
                }),
            ),
            (
                "twice",
                table(|l| if l.starts_with("tail\tphash\t10\t") { format!("{l}\n{l}") } else { l.into() }),
            ),
            (
                "kind",
                table(|l| {
                    if l.starts_with("tail\tphash\t10\t") {
                        l.replace("phash", "dhash")
                    } else {
                        l.into()
                    }
                }),
            ),
        ];
        for (name, text) in cases {
            assert!(NullModel::parse(&text).is_err(), "{name}");
        }
        let over = table(|l| if l.starts_with("joint\t0\t0\t") { "joint\t0\t0\t1".into() } else { l.into() });
        assert!(matches!(NullModel::parse(&over), Err(NullModelError::Invalid(_))));
        assert!(NullModel::parse(&table(|l| l.into())).is_ok());
    }
}
