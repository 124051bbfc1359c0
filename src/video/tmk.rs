//! TMK+PDQF video signatures (Meta's Temporal Match Kernel over PDQ float features): the
//! `.tmk` file format, ThreatExchange's text form, and the two-level pair score, computed
//! the way Meta's reference (`tmk/cpp` in facebook/ThreatExchange) computes it. Computing a
//! signature from a video is [`super::tmk_hash`].
//!
//! # The file
//!
//! A `.tmk` file is what the reference's `tmk-hash-video` writes: a 32-byte header, then
//! arrays, every number little-endian (`i32` or IEEE `f32`):
//!
//! | bytes | what |
//! | --- | --- |
//! | 4 | project magic `TMK1` |
//! | 4 | file-type magic `FVEC` (feature vectors) |
//! | 4 | frame-feature algorithm `PDQF` (PDQ float) |
//! | 4 | frames per second of the time-resampled video (15) |
//! | 4 | number of periods `P` (4) |
//! | 4 | number of Fourier coefficients `C` (32) |
//! | 4 | frame-feature dimension `D` (256) |
//! | 4 | frame count (informational: frames hashed after resampling) |
//! | `4 P` | the periods, in frames (`i32`; 2731, 4391, 9767, 14653) |
//! | `4 C` | the Fourier coefficients `a_j` (`f32`; Poullot's Bessel table) |
//! | `4 D` | the pure-average feature (mean of the frame features) |
//! | `4 P C D` | the cosine features, period-major, then coefficient, then dimension |
//! | `4 P C D` | the sine features, in the same order |
//!
//! With the reference's parameters that is 263,344 bytes. [`Signature::read`] checks every
//! field (magics, positive sizes, an exact length, finite floats) and never panics;
//! [`Signature::write`] gives the same bytes back.
//!
//! # The text form
//!
//! ThreatExchange carries a TMK hash as text (`td_raw_indicator` of a `HASH_TMK`
//! descriptor): the first 12 bytes of the file (the ASCII magics `TMK1FVECPDQF`) as they
//! are, a `|`, then standard base64 of the rest. This is what the reference client
//! (`api-reference-examples/java/te-tag-query`, `Utils.readTMKHashFromFile` and
//! `outputTMKHashToFile`) writes and reads; python-threatexchange never implemented a TMK
//! signal type. See [`Signature::to_text`] and [`Signature::from_text`].
//!
//! # Scores
//!
//! - [`level1`]: cosine similarity of the two pure-average features, in `[-1, 1]`. Cheap;
//!   used to skip the expensive score.
//! - [`level2`]: the TMK score. For each period and each offset `0..period` the kernel
//!   `K = u_c0·v_c0 + Σ_j cos(jδ)(u_cj·v_cj + u_sj·v_sj) + sin(jδ)(u_sj·v_cj − u_cj·v_sj)`
//!   with `δ = 2π offset / period`; the best over offsets, then over periods, divided by
//!   `a_0 + 2 Σ_{j≥1} a_j` (so a signature scores 1 with itself), in about `[0, 1]`.
//! - [`Signature::matches`]: `level1 >= c1 && level2 >= c2`; the reference's validated
//!   thresholds for TMK+PDQF are [`DEFAULT_LEVEL1_THRESHOLD`] and
//!   [`DEFAULT_LEVEL2_THRESHOLD`] (0.7 each); `tmk-compare-two-tmks` uses 0.92 (strictly
//!   greater) to accept a recomputed hash as the same.
//!
//! Both scores are computed in `f32` with the reference's order of operations (including its
//! incremental sine/cosine recurrence and its `f64` intermediates), so printed with six
//! decimals they are the reference's digits: `tests/tmk_reference.rs` reproduces the pair
//! table of the reference's README from the sample hashes. (`tmk-query` L2-normalises pure
//! averages on load, which moves some level-1 scores by a last digit: see
//! [`Signature::normalize_pure_average`].)
//!
//! ```
//! use mediamatch::video::tmk::{level1, level2, Signature};
//!
//! # fn demo(bytes_a: &[u8], bytes_b: &[u8]) -> Result<(), mediamatch::video::tmk::TmkError> {
//! let a = Signature::read(bytes_a)?;
//! let b = Signature::read(bytes_b)?;
//! assert_eq!(a.write(), bytes_a);
//! println!("{:.6} {:.6}", level1(&a, &b), level2(&a, &b)?);
//! let text = a.to_text();
//! assert!(text.starts_with("TMK1FVECPDQF|"));
//! assert_eq!(Signature::from_text(&text)?, a);
//! # Ok(())
//! # }
//! ```

use std::f64::consts::PI;

/// The project magic, the file's first four bytes.
pub const PROJECT_MAGIC: [u8; 4] = *b"TMK1";
/// The file-type magic of a feature-vector (`.tmk`) file, bytes 4 to 8.
pub const FILE_TYPE_MAGIC: [u8; 4] = *b"FVEC";
/// The frame-feature algorithm magic of PDQ float features, bytes 8 to 12.
pub const PDQF_MAGIC: [u8; 4] = *b"PDQF";
/// Length of the fixed header in bytes.
pub const HEADER_LEN: usize = 32;
/// The dimension of a PDQF frame feature (the 16x16 DCT block PDQ quantises).
pub const PDQF_DIMENSION: usize = 256;
/// How many leading bytes the text form keeps as they are (the three ASCII magics).
pub const TEXT_PREFIX_LEN: usize = 12;
/// The reference's validated level-1 threshold for TMK+PDQF (`DEFAULT_LEVEL_1_THRESHOLD`).
pub const DEFAULT_LEVEL1_THRESHOLD: f32 = 0.7;
/// The reference's validated level-2 threshold for TMK+PDQF (`DEFAULT_LEVEL_2_THRESHOLD`).
pub const DEFAULT_LEVEL2_THRESHOLD: f32 = 0.7;
/// The largest period [`Signature::read`] accepts, in frames (about 18 hours at 15 frames
/// per second; the reference's longest is 14,653). Level-2 scoring does work proportional to
/// the sum of the periods, so an unbounded period would let a hostile signature stall a
/// matcher.
pub const MAX_PERIOD: u32 = 1 << 20;

/// Why a TMK signature could not be read, parsed or scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TmkError {
    /// The bytes end before the part the header announces.
    #[error("TMK signature is truncated: {what} needs {need} bytes, have {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed up to the end of that part.
        need: u64,
        /// Bytes present.
        have: u64,
    },
    /// Bytes follow the last sine feature.
    #[error("TMK signature has {extra} bytes after its {expected}-byte content")]
    TrailingBytes {
        /// The length the header implies.
        expected: u64,
        /// The bytes beyond it.
        extra: u64,
    },
    /// One of the three magics is not what the reference writes.
    #[error("not a TMK+PDQF signature: {field} is {found:?}, expected {expected:?}")]
    BadMagic {
        /// Which magic: `project`, `file type` or `frame-feature algorithm`.
        field: &'static str,
        /// The bytes found, escaped.
        found: String,
        /// The bytes expected.
        expected: &'static str,
    },
    /// A header field or a period is out of range.
    #[error("TMK signature has an invalid {field}: {value} ({why})")]
    BadField {
        /// The field.
        field: &'static str,
        /// Its value as read.
        value: i64,
        /// What the value must be.
        why: &'static str,
    },
    /// A float is NaN or infinite.
    #[error("TMK signature has a non-finite {what} value at index {index}")]
    NotFinite {
        /// The array.
        what: &'static str,
        /// Index of the value within that array.
        index: usize,
    },
    /// The Fourier coefficients give no usable normaliser (`a_0 + 2 Σ a_j` is not finite
    /// and positive), so level-2 scores would be NaN or infinite.
    #[error("TMK signature's Fourier coefficients sum to {0}, which cannot normalise a score")]
    BadNormalizer(f32),
    /// The text form is malformed.
    #[error("malformed TMK text form: {0}")]
    Text(&'static str),
    /// Two signatures were made with different parameters and cannot be scored together
    /// (the reference's `areCompatible`).
    #[error("TMK signatures are not comparable: {0} differ")]
    Incompatible(&'static str),
}

/// One TMK+PDQF signature: what a `.tmk` file holds.
///
/// The fields are private so that every value satisfies what [`Signature::read`] checks:
/// `PDQF` features of dimension 256, positive frames per second and periods (at most
/// [`MAX_PERIOD`]), array lengths that agree with the counts, finite floats and a positive
/// score normaliser.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    frames_per_second: u32,
    frame_count: u32,
    periods: Vec<u32>,
    fourier_coefficients: Vec<f32>,
    pure_average: Vec<f32>,
    /// `P * C * D` values, period-major, then coefficient, then dimension.
    cos: Vec<f32>,
    /// Same layout as `cos`.
    sin: Vec<f32>,
    /// `a_0 + 2 Σ_{j≥1} a_j`, computed as the reference does (1 when there are none).
    normalizer: f32,
}

/// Reads little-endian words from the front of a byte slice, saying what is missing.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], TmkError> {
        let have = self.bytes.len() - self.at;
        if have < n {
            return Err(TmkError::Truncated {
                what,
                need: self.at as u64 + n as u64,
                have: self.bytes.len() as u64,
            });
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn magic(&mut self, field: &'static str, expected: &'static [u8; 4]) -> Result<(), TmkError> {
        let found = self.take(4, "header")?;
        if found != expected {
            return Err(TmkError::BadMagic {
                field,
                found: found.escape_ascii().to_string(),
                expected: std::str::from_utf8(expected).unwrap_or("?"),
            });
        }
        Ok(())
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, TmkError> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// `n` finite floats (the length was checked against the whole input beforehand).
    fn floats(&mut self, n: usize, what: &'static str) -> Result<Vec<f32>, TmkError> {
        let raw = self.take(n * 4, what)?;
        raw.chunks_exact(4)
            .enumerate()
            .map(|(index, b)| {
                let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if v.is_finite() {
                    Ok(v)
                } else {
                    Err(TmkError::NotFinite { what, index })
                }
            })
            .collect()
    }
}

/// A header count as a `usize`, or why not.
fn count(field: &'static str, value: i32) -> Result<usize, TmkError> {
    usize::try_from(value).map_err(|_| TmkError::BadField {
        field,
        value: value.into(),
        why: "must not be negative",
    })
}

/// The reference's `computePairScoreNormalizer`: `a_0 + 2 Σ_{j≥1} a_j`, each step in `f64`
/// and rounded back to `f32`; 1 without coefficients.
fn pair_score_normalizer(coefficients: &[f32]) -> f32 {
    match coefficients.split_first() {
        None => 1.0,
        Some((&first, rest)) => {
            rest.iter().fold(first, |sum, &a| (f64::from(sum) + 2.0 * f64::from(a)) as f32)
        }
    }
}

impl Signature {
    /// Parses a `.tmk` file's bytes, checking the magics `TMK1`, `FVEC` and `PDQF`, a
    /// positive frame rate, a non-negative frame count, dimension 256, periods in
    /// `1..=MAX_PERIOD`, that the length is exactly what the counts imply (no trailing
    /// bytes), that every float is finite and that the Fourier coefficients give a positive
    /// normaliser. Never panics and allocates at most about the input's size.
    pub fn read(bytes: &[u8]) -> Result<Signature, TmkError> {
        let mut r = Reader { bytes, at: 0 };
        r.magic("project magic", &PROJECT_MAGIC)?;
        r.magic("file-type magic", &FILE_TYPE_MAGIC)?;
        r.magic("frame-feature algorithm", &PDQF_MAGIC)?;
        let fps = r.i32("header")?;
        let periods_len = count("period count", r.i32("header")?)?;
        let coefficients_len = count("Fourier coefficient count", r.i32("header")?)?;
        let dimension_raw = r.i32("header")?;
        let frame_count = r.i32("header")?;
        if fps <= 0 {
            return Err(TmkError::BadField {
                field: "frames per second",
                value: fps.into(),
                why: "must be positive",
            });
        }
        if usize::try_from(dimension_raw).ok() != Some(PDQF_DIMENSION) {
            return Err(TmkError::BadField {
                field: "frame-feature dimension",
                value: dimension_raw.into(),
                why: "PDQF features have 256",
            });
        }
        let frame_count = u32::try_from(frame_count).map_err(|_| TmkError::BadField {
            field: "frame count",
            value: frame_count.into(),
            why: "must not be negative",
        })?;

        // Where each part ends, in u128 so that hostile counts (each below 2^31) cannot
        // overflow; the first part the input does not reach is the one reported.
        let (p, c, d) = (periods_len as u128, coefficients_len as u128, PDQF_DIMENSION as u128);
        let mut end = HEADER_LEN as u128;
        for (what, len) in [
            ("periods", 4 * p),
            ("Fourier coefficients", 4 * c),
            ("pure-average feature", 4 * d),
            ("cosine features", 4 * p * c * d),
            ("sine features", 4 * p * c * d),
        ] {
            end += len;
            if end > bytes.len() as u128 {
                let need = u64::try_from(end).unwrap_or(u64::MAX);
                return Err(TmkError::Truncated { what, need, have: bytes.len() as u64 });
            }
        }
        let expected = end as u64;
        let have = bytes.len() as u64;
        if have > expected {
            return Err(TmkError::TrailingBytes { expected, extra: have - expected });
        }
        // From here on the input is exactly as long as the counts say, so every array below
        // is no larger than the input and no read can run short.

        let periods = (0..periods_len)
            .map(|_| {
                let p = r.i32("periods")?;
                match u32::try_from(p) {
                    Ok(p) if (1..=MAX_PERIOD).contains(&p) => Ok(p),
                    _ => Err(TmkError::BadField {
                        field: "period",
                        value: p.into(),
                        why: "must be between 1 and MAX_PERIOD frames",
                    }),
                }
            })
            .collect::<Result<Vec<u32>, TmkError>>()?;
        let fourier_coefficients = r.floats(coefficients_len, "Fourier coefficients")?;
        let pure_average = r.floats(PDQF_DIMENSION, "pure-average feature")?;
        let n = periods_len * coefficients_len * PDQF_DIMENSION;
        let cos = r.floats(n, "cosine features")?;
        let sin = r.floats(n, "sine features")?;
        debug_assert_eq!(r.at, bytes.len());

        let normalizer = pair_score_normalizer(&fourier_coefficients);
        if !(normalizer.is_finite() && normalizer > 0.0) {
            return Err(TmkError::BadNormalizer(normalizer));
        }
        Ok(Signature {
            frames_per_second: fps as u32,
            frame_count,
            periods,
            fourier_coefficients,
            pure_average,
            cos,
            sin,
            normalizer,
        })
    }

    /// A signature from computed parts (the hasher, [`super::tmk_hash`]), checked as
    /// [`Signature::read`] checks a file: a positive frame rate, periods in
    /// `1..=MAX_PERIOD`, counts that fit the header's `i32`s, arrays of the lengths the
    /// counts imply, finite floats and a positive normaliser.
    pub(crate) fn from_parts(
        frames_per_second: u32,
        frame_count: u32,
        periods: Vec<u32>,
        fourier_coefficients: Vec<f32>,
        pure_average: Vec<f32>,
        cos: Vec<f32>,
        sin: Vec<f32>,
    ) -> Result<Signature, TmkError> {
        let field = |field: &'static str, value: u64, why: &'static str| TmkError::BadField {
            field,
            value: i64::try_from(value).unwrap_or(i64::MAX),
            why,
        };
        let fits = |v: u64| v <= i32::MAX as u64;
        if frames_per_second == 0 || !fits(frames_per_second.into()) {
            return Err(field("frames per second", frames_per_second.into(), "must be positive"));
        }
        if !fits(frame_count.into()) {
            return Err(field("frame count", frame_count.into(), "must fit an i32"));
        }
        if let Some(&p) = periods.iter().find(|&&p| !(1..=MAX_PERIOD).contains(&p)) {
            return Err(field("period", p.into(), "must be between 1 and MAX_PERIOD frames"));
        }
        let n = periods.len() * fourier_coefficients.len() * PDQF_DIMENSION;
        if !fits(periods.len() as u64) {
            return Err(field("period count", periods.len() as u64, "must fit an i32"));
        }
        if !fits(fourier_coefficients.len() as u64) {
            return Err(field(
                "Fourier coefficient count",
                fourier_coefficients.len() as u64,
                "must fit an i32",
            ));
        }
        if pure_average.len() != PDQF_DIMENSION {
            return Err(field(
                "frame-feature dimension",
                pure_average.len() as u64,
                "PDQF features have 256",
            ));
        }
        if cos.len() != n || sin.len() != n {
            return Err(field("feature count", cos.len().max(sin.len()) as u64, "must be P * C * 256"));
        }
        for (what, part) in [
            ("Fourier coefficients", &fourier_coefficients),
            ("pure-average feature", &pure_average),
            ("cosine features", &cos),
            ("sine features", &sin),
        ] {
            if let Some(index) = part.iter().position(|v| !v.is_finite()) {
                return Err(TmkError::NotFinite { what, index });
            }
        }
        let normalizer = pair_score_normalizer(&fourier_coefficients);
        if !(normalizer.is_finite() && normalizer > 0.0) {
            return Err(TmkError::BadNormalizer(normalizer));
        }
        Ok(Signature {
            frames_per_second,
            frame_count,
            periods,
            fourier_coefficients,
            pure_average,
            cos,
            sin,
            normalizer,
        })
    }

    /// The `.tmk` file's bytes: the reference's layout (see the module documentation), so
    /// `Signature::read(b)?.write() == b` for every file `read` accepts.
    pub fn write(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.byte_len());
        out.extend_from_slice(&PROJECT_MAGIC);
        out.extend_from_slice(&FILE_TYPE_MAGIC);
        out.extend_from_slice(&PDQF_MAGIC);
        // Every count and value below was checked to fit an i32 when it was read.
        for v in [
            self.frames_per_second as usize,
            self.periods.len(),
            self.fourier_coefficients.len(),
            PDQF_DIMENSION,
            self.frame_count as usize,
        ] {
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        for &p in &self.periods {
            out.extend_from_slice(&(p as i32).to_le_bytes());
        }
        for part in [&self.fourier_coefficients, &self.pure_average, &self.cos, &self.sin] {
            for v in part {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// The SHA-256 of [`Signature::write`]'s bytes (of the `.tmk` file): the value of the
    /// signature's index entries ([`crate::HashValue::Tmk`]).
    pub fn digest(&self) -> crate::hash::Sha256 {
        crate::catalog::digest_of(&self.write())
    }

    /// The length of [`Signature::write`]'s output (263,344 with the reference's parameters).
    pub fn byte_len(&self) -> usize {
        HEADER_LEN
            + 4 * (self.periods.len() + self.fourier_coefficients.len())
            + 4 * (self.pure_average.len() + self.cos.len() + self.sin.len())
    }

    /// ThreatExchange's text form: the first [`TEXT_PREFIX_LEN`] bytes (`TMK1FVECPDQF`), a
    /// `|`, then standard base64 with padding of the remaining bytes.
    pub fn to_text(&self) -> String {
        let bytes = self.write();
        let (prefix, rest) = bytes.split_at(TEXT_PREFIX_LEN);
        let mut out = String::with_capacity(TEXT_PREFIX_LEN + 1 + rest.len().div_ceil(3) * 4);
        // The prefix is the three ASCII magics.
        out.extend(prefix.iter().map(|&b| char::from(b)));
        out.push('|');
        out.push_str(&crate::base64::encode(rest));
        out
    }

    /// Parses ThreatExchange's text form (see [`Signature::to_text`]) and then the bytes as
    /// [`Signature::read`] does. The base64 is decoded like the reference client's (Java's
    /// basic decoder): the standard alphabet only, no whitespace, padding optional but
    /// correct when present. Surrounding whitespace is not trimmed.
    pub fn from_text(text: &str) -> Result<Signature, TmkError> {
        let raw = text.as_bytes();
        if raw.len() <= TEXT_PREFIX_LEN {
            return Err(TmkError::Text("shorter than the 12-byte prefix and the '|'"));
        }
        let (prefix, rest) = raw.split_at(TEXT_PREFIX_LEN);
        let Some(encoded) = rest.strip_prefix(b"|") else {
            return Err(TmkError::Text("no '|' after the 12-byte prefix"));
        };
        let mut bytes = Vec::with_capacity(TEXT_PREFIX_LEN + encoded.len() / 4 * 3 + 3);
        bytes.extend_from_slice(prefix);
        crate::base64::decode(encoded, &mut bytes).map_err(TmkError::Text)?;
        Signature::read(&bytes)
    }

    /// Frames per second of the time-resampled video the signature was computed from (the
    /// reference resamples to 15).
    pub fn frames_per_second(&self) -> u32 {
        self.frames_per_second
    }

    /// How many (time-resampled) frames were hashed; informational.
    pub fn frame_count(&self) -> u32 {
        self.frame_count
    }

    /// The periods, in frames (the reference's are 2731, 4391, 9767 and 14653).
    pub fn periods(&self) -> &[u32] {
        &self.periods
    }

    /// The number of Fourier coefficients `C` (the reference uses 32).
    pub fn num_fourier_coefficients(&self) -> usize {
        self.fourier_coefficients.len()
    }

    /// The Fourier coefficients `a_0 .. a_{C-1}` the features were weighted with.
    pub fn fourier_coefficients(&self) -> &[f32] {
        &self.fourier_coefficients
    }

    /// The frame-feature dimension `D`: always [`PDQF_DIMENSION`].
    pub fn frame_feature_dimension(&self) -> usize {
        PDQF_DIMENSION
    }

    /// The pure-average feature: the mean of the frames' PDQF features (256 values).
    pub fn pure_average(&self) -> &[f32] {
        &self.pure_average
    }

    /// Scales the pure-average feature to unit length (unchanged when it is zero), as the
    /// reference's `tmk-query` does to every signature it loads (`L2NormalizePureAverageFeature`)
    /// before scoring; `tmk-two-level-score` and `tmk-clusterize` do not. Level-1 scores then
    /// differ from the unnormalised ones only in the last bits of the `f32`, and level-2
    /// scores not at all. [`Signature::write`] writes the scaled values.
    pub fn normalize_pure_average(&mut self) {
        let n = norm(&self.pure_average);
        if n > 0.0 {
            for v in &mut self.pure_average {
                *v /= n;
            }
        }
    }

    /// All cosine features, `P * C * 256` values: period-major, then coefficient, then
    /// dimension, as in the file.
    pub fn cos_features(&self) -> &[f32] {
        &self.cos
    }

    /// All sine features, in the layout of [`Signature::cos_features`].
    pub fn sin_features(&self) -> &[f32] {
        &self.sin
    }

    /// The cosine feature of period index `period` and coefficient index `coefficient`
    /// (256 values), or `None` when either index is out of range.
    pub fn cos_feature(&self, period: usize, coefficient: usize) -> Option<&[f32]> {
        self.feature(&self.cos, period, coefficient)
    }

    /// The sine feature of period index `period` and coefficient index `coefficient`, like
    /// [`Signature::cos_feature`]. (The reference's `j = 0` sine features are all zero.)
    pub fn sin_feature(&self, period: usize, coefficient: usize) -> Option<&[f32]> {
        self.feature(&self.sin, period, coefficient)
    }

    fn feature<'s>(&self, all: &'s [f32], period: usize, coefficient: usize) -> Option<&'s [f32]> {
        if period >= self.periods.len() || coefficient >= self.fourier_coefficients.len() {
            return None;
        }
        let start = (period * self.fourier_coefficients.len() + coefficient) * PDQF_DIMENSION;
        all.get(start..start + PDQF_DIMENSION)
    }

    /// Whether `a` and `b` can be scored against each other: the reference's
    /// `areCompatible` (same frame rate, same periods, as many Fourier coefficients and
    /// each within a relative difference of 1e-6; algorithm and dimension are always PDQF
    /// and 256 here).
    pub fn compatible(a: &Signature, b: &Signature) -> Result<(), TmkError> {
        if a.frames_per_second != b.frames_per_second {
            return Err(TmkError::Incompatible("frames per second"));
        }
        if a.periods != b.periods {
            return Err(TmkError::Incompatible("periods"));
        }
        if a.fourier_coefficients.len() != b.fourier_coefficients.len() {
            return Err(TmkError::Incompatible("Fourier coefficient counts"));
        }
        for (&ca, &cb) in a.fourier_coefficients.iter().zip(&b.fourier_coefficients) {
            let m = ca.abs().max(cb.abs());
            if m > 0.0 && f64::from(((ca - cb) / m).abs()) > 1e-6 {
                return Err(TmkError::Incompatible("Fourier coefficients"));
            }
        }
        Ok(())
    }

    /// The reference's two-level match (`tmk-query`, `tmk-clusterize`): `level1(a, b) >= c1`
    /// and then `level2(a, b) >= c2`. The reference's thresholds for TMK+PDQF are
    /// [`DEFAULT_LEVEL1_THRESHOLD`] and [`DEFAULT_LEVEL2_THRESHOLD`], 0.7 each (it suggests
    /// 0.9 or more to find only near-exact copies). A NaN score never matches. The level-2
    /// score is only computed when the level-1 test passes; incompatible signatures are an
    /// error either way.
    pub fn matches(a: &Signature, b: &Signature, c1: f32, c2: f32) -> Result<bool, TmkError> {
        Signature::compatible(a, b)?;
        Ok(level1(a, b) >= c1 && level2(a, b)? >= c2)
    }
}

/// The reference's `computeNorm`: `sqrt` of an `f32` sum of squares, in index order.
fn norm(u: &[f32]) -> f32 {
    u.iter().fold(0.0f32, |s, &e| s + e * e).sqrt()
}

/// The reference's `computeDot`: an `f32` sum of products, in index order.
fn dot(u: &[f32], v: &[f32]) -> f32 {
    u.iter().zip(v).fold(0.0f32, |s, (&x, &y)| s + x * y)
}

/// The level-1 score: cosine similarity of the two pure-average features, as the
/// reference's `computeCosSim` computes it in `f32`. It is 0 when both averages are zero and,
/// as in the reference, NaN when exactly one is (a signature of a video with no frames).
pub fn level1(a: &Signature, b: &Signature) -> f32 {
    cosine(&a.pure_average, &b.pure_average)
}

/// [`level1`] of two pure-average features given as slices (what an index stores for its
/// level-1 scan): the same `f32` operations in the same order, so the same score.
pub fn cosine(u: &[f32], v: &[f32]) -> f32 {
    let (nu, nv) = (norm(u), norm(v));
    if nu == 0.0 && nv == 0.0 {
        0.0
    } else {
        dot(u, v) / (nu * nv)
    }
}

/// For one period of [`best_offsets`]: the offset (in frames, modulo the period) at which
/// `b` best aligns with `a`, and the unnormalised kernel value there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BestOffset {
    /// The period, in frames.
    pub period: u32,
    /// The best offset, in `0..period` (the first one on ties).
    pub offset: u32,
    /// The kernel value `K` at that offset (divide by the normaliser for a score).
    pub value: f32,
}

/// The reference's `findPairOffsetsModuloPeriods`: for each period, the offset in
/// `0..period` that maximises the kernel between `a` and `b`, and the kernel there. The
/// sines and cosines of `j δ` come from the reference's incremental recurrence, in `f32`.
pub fn best_offsets(a: &Signature, b: &Signature) -> Result<Vec<BestOffset>, TmkError> {
    Signature::compatible(a, b)?;
    let c = a.fourier_coefficients.len();
    if c == 0 {
        // The reference leaves its zero-filled vectors as they are.
        return Ok(a.periods.iter().map(|&period| BestOffset { period, offset: 0, value: 0.0 }).collect());
    }
    let mut out = Vec::with_capacity(a.periods.len());
    // Per coefficient: u_c·v_c + u_s·v_s and u_s·v_c − u_c·v_s, each dot in f32.
    let mut even = vec![0.0f32; c];
    let mut odd = vec![0.0f32; c];
    for (i, &period) in a.periods.iter().enumerate() {
        let mut cos_cos0 = 0.0f32;
        for j in 0..c {
            let at = (i * c + j) * PDQF_DIMENSION..(i * c + j + 1) * PDQF_DIMENSION;
            let (ua_cos, ua_sin) = (&a.cos[at.clone()], &a.sin[at.clone()]);
            let (vb_cos, vb_sin) = (&b.cos[at.clone()], &b.sin[at]);
            let cos_cos = dot(ua_cos, vb_cos);
            let sin_sin = dot(ua_sin, vb_sin);
            let sin_cos = dot(ua_sin, vb_cos);
            let cos_sin = dot(ua_cos, vb_sin);
            if j == 0 {
                cos_cos0 = cos_cos;
            }
            even[j] = cos_cos + sin_sin;
            odd[j] = sin_cos - cos_sin;
        }
        let mut best = BestOffset { period, offset: 0, value: 0.0 };
        for offset in 0..period {
            // δ in f64 from f32 operands, rounded to f32; sin in f64 of the f32 argument.
            let delta = (2.0 * PI * f64::from(offset as f32) / f64::from(period as f32)) as f32;
            let beta = f64::from(delta).sin() as f32;
            let half = f64::from(delta / 2.0).sin() as f32;
            let alpha = 2.0 * half * half;
            let (mut cos_jd, mut sin_jd) = (1.0f32, 0.0f32);
            let mut k = cos_cos0;
            for j in 1..c {
                let next_cos = alpha * cos_jd + beta * sin_jd;
                let next_sin = alpha * sin_jd - beta * cos_jd;
                cos_jd -= next_cos;
                sin_jd -= next_sin;
                k += cos_jd * even[j];
                k += sin_jd * odd[j];
            }
            if offset == 0 || k > best.value {
                best.offset = offset;
                best.value = k;
            }
        }
        out.push(best);
    }
    Ok(out)
}

/// The level-2 (TMK) score, as the reference's `computeLevel2Score`: the largest of the
/// per-period best kernel values of [`best_offsets`], divided by `a`'s normaliser
/// `a_0 + 2 Σ_{j≥1} a_j` (so a signature scores 1 with itself). Not exactly symmetric in
/// `f32`: the reference's tools put the signature whose file name sorts first as `a`.
pub fn level2(a: &Signature, b: &Signature) -> Result<f32, TmkError> {
    let best = best_offsets(a, b)?;
    // The reference's computeMax: 0 for no periods, else the first value replaced by any
    // larger one.
    let max = match best.split_first() {
        None => 0.0,
        Some((first, rest)) => rest.iter().fold(first.value, |m, o| if m < o.value { o.value } else { m }),
    };
    Ok(max / a.normalizer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small valid signature: `periods` and `c` coefficients, features from a counter.
    fn sample(periods: &[i32], c: usize) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"TMK1FVECPDQF");
        for v in [15, periods.len() as i32, c as i32, 256, 42] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for p in periods {
            out.extend_from_slice(&p.to_le_bytes());
        }
        let n = c + 256 + 2 * periods.len() * c * 256;
        for i in 0..n {
            let v = if i < c { 1.0 / (i + 1) as f32 } else { ((i * 7919) % 1000) as f32 / 1000.0 - 0.5 };
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    #[test]
    fn reads_and_writes_a_small_signature() {
        let bytes = sample(&[3, 5], 4);
        let sig = Signature::read(&bytes).unwrap();
        assert_eq!(sig.write(), bytes);
        assert_eq!(sig.byte_len(), bytes.len());
        assert_eq!(sig.periods(), &[3, 5]);
        assert_eq!(sig.num_fourier_coefficients(), 4);
        assert_eq!(sig.frame_count(), 42);
        assert_eq!(sig.frames_per_second(), 15);
        assert_eq!(sig.frame_feature_dimension(), 256);
        assert_eq!(sig.cos_feature(1, 3).unwrap().len(), 256);
        assert_eq!(sig.cos_feature(1, 3).unwrap()[0], sig.cos_features()[(4 + 3) * 256]);
        assert!(sig.sin_feature(2, 0).is_none());
        assert!(sig.cos_feature(0, 4).is_none());
        assert_eq!(Signature::from_text(&sig.to_text()).unwrap(), sig);
    }

    #[test]
    fn self_scores_are_one() {
        let sig = Signature::read(&sample(&[3, 5, 7], 4)).unwrap();
        assert!((level1(&sig, &sig) - 1.0).abs() < 1e-6);
        // Synthetic features are not normalised, so only the best offset is predictable.
        assert!(best_offsets(&sig, &sig).unwrap().iter().all(|o| o.offset == 0));
    }

    #[test]
    fn level_one_only_signatures_score_zero() {
        let sig = Signature::read(&sample(&[], 0)).unwrap();
        assert_eq!(sig.byte_len(), HEADER_LEN + 1024);
        assert_eq!(level2(&sig, &sig).unwrap(), 0.0);
        let sig = Signature::read(&sample(&[10], 0)).unwrap();
        assert_eq!(level2(&sig, &sig).unwrap(), 0.0);
    }

    #[test]
    fn normalizer_rounds_like_the_reference() {
        assert_eq!(pair_score_normalizer(&[]), 1.0);
        assert_eq!(pair_score_normalizer(&[0.5, 0.25]), 1.0);
        // Each step rounds the f64 sum to f32.
        let a = [1.0f32, 1e-8, 1e-8];
        assert_eq!(pair_score_normalizer(&a), 1.0);
    }

    #[test]
    fn rejects_bad_headers() {
        let good = sample(&[3], 2);
        let with = |at: usize, v: i32| {
            let mut b = good.clone();
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            Signature::read(&b)
        };
        assert!(matches!(with(0, 0), Err(TmkError::BadMagic { .. })));
        assert!(matches!(with(8, i32::from_le_bytes(*b"PDQ ")), Err(TmkError::BadMagic { .. })));
        assert!(matches!(with(12, 0), Err(TmkError::BadField { field: "frames per second", .. })));
        assert!(matches!(with(16, -1), Err(TmkError::BadField { field: "period count", .. })));
        assert!(matches!(with(16, i32::MAX), Err(TmkError::Truncated { .. })));
        assert!(matches!(with(20, i32::MAX), Err(TmkError::Truncated { .. })));
        assert!(matches!(with(24, 255), Err(TmkError::BadField { .. })));
        assert!(matches!(with(28, -5), Err(TmkError::BadField { field: "frame count", .. })));
        assert!(matches!(with(32, 0), Err(TmkError::BadField { field: "period", .. })));
        assert!(matches!(with(32, MAX_PERIOD as i32 + 1), Err(TmkError::BadField { .. })));
        assert!(matches!(with(36, f32::NAN.to_bits() as i32), Err(TmkError::NotFinite { index: 0, .. })));
        assert!(matches!(
            with(36, f32::INFINITY.to_bits() as i32),
            Err(TmkError::NotFinite { index: 0, .. })
        ));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(
            Signature::read(&long),
            Err(TmkError::TrailingBytes { expected: good.len() as u64, extra: 1 })
        );
        // Coefficients that cannot normalise a score; one zero coefficient is fine.
        assert!(with(36, 0).is_ok());
        let mut b = good.clone();
        b[36..44].fill(0);
        assert_eq!(Signature::read(&b), Err(TmkError::BadNormalizer(0.0)));
        let mut b = good.clone();
        b[36..40].copy_from_slice(&f32::MAX.to_le_bytes());
        b[40..44].copy_from_slice(&f32::MAX.to_le_bytes());
        assert_eq!(Signature::read(&b), Err(TmkError::BadNormalizer(f32::INFINITY)));
    }

    #[test]
    fn incompatible_signatures_are_an_error() {
        let a = Signature::read(&sample(&[3, 5], 4)).unwrap();
        let b = Signature::read(&sample(&[3, 6], 4)).unwrap();
        let c = Signature::read(&sample(&[3, 5], 3)).unwrap();
        assert_eq!(level2(&a, &b), Err(TmkError::Incompatible("periods")));
        assert_eq!(level2(&a, &c), Err(TmkError::Incompatible("Fourier coefficient counts")));
        assert!(Signature::matches(&a, &b, 0.0, 0.0).is_err());
        assert!(Signature::matches(&a, &a, DEFAULT_LEVEL1_THRESHOLD, 0.0).unwrap());
    }

    #[test]
    fn text_form_errors() {
        let text = Signature::read(&sample(&[3], 2)).unwrap().to_text();
        assert!(text.starts_with("TMK1FVECPDQF|"));
        assert!(Signature::from_text("").is_err());
        assert!(Signature::from_text("TMK1FVECPDQF").is_err());
        assert!(Signature::from_text(&text.replacen('|', "#", 1)).is_err());
        assert!(Signature::from_text(&text.replacen("TMK1", "TMK2", 1)).is_err());
        assert!(Signature::from_text(&format!("{text} ")).is_err());
        assert!(Signature::from_text(&text[..text.len() - 8]).is_err());
        // Multi-byte characters in the prefix are bytes like any other: a bad magic.
        assert!(Signature::from_text(&format!("é{}", &text[2..])).is_err());
    }
}
