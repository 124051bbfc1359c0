//! TMK+PDQF hashing: a video's [`Signature`] computed as Meta's `tmk-hash-video`
//! (`tmk/cpp` in facebook/ThreatExchange) computes it.
//!
//! # The steps
//!
//! 1. **Resampling** ([`resampled_frames`]). The reference pipes the video through the
//!    `ffmpeg` command line with the output options `-s 64:64 -r 15 -pix_fmt rgb24 -f
//!    rawvideo`: swscale's default bicubic scaler squashes every frame to 64x64 (no aspect
//!    ratio kept) and converts it to RGB24 in the same pass, and the output frame rate 15
//!    with constant-frame-rate sync (what ffmpeg picks for raw video) drops and duplicates
//!    frames by their timestamps. The same options are given here to the same ffmpeg
//!    command line, with the limits of [`super::ffmpeg`] (only the named local file, the
//!    first video stream, `prlimit`, a wall-clock deadline, the frame-size, duration and
//!    frame-count caps; the frame-count cap counts resampled frames).
//! 2. **PDQF** ([`pdqf`]): PDQ's float pipeline on the 64x64 frame. Luma
//!    `0.299 R + 0.587 G + 0.114 B` in `f32`; no Jarosz filter or decimation (the frame is
//!    already the 64x64 block); the 16x16 DCT block `D A Dᵀ`, each sum in `f32` in Meta's
//!    order. Its 256 coefficients, row-major, are the frame feature (not quantised to bits).
//! 3. **TMK** ([`TmkBuilder`]): frame `t` (from 0) adds its feature to the sum of the pure
//!    average; its L2-normalised feature `f` adds, for each period `T` and each coefficient
//!    index `j`, `f cos(2π j t / T)` to the cosine feature and `f sin(2π j t / T)` to the sine
//!    feature (`j = 0`: `f` to the cosine feature only), the sines and cosines in `f64` as
//!    in the reference. At the end the sum becomes a mean, and each cosine and sine feature
//!    is L2-normalised and scaled by `sqrt(a_j)`.
//!
//! The parameters are the reference's: 15 frames per second ([`RESAMPLE_FPS`]), Poullot's
//! periods 2731, 4391, 9767 and 14653 frames ([`POULLOT_PERIODS`]) and 32 Fourier
//! coefficients `a_j` ([`poullot_fourier_coefficients`]: `a_0 = (I_0(β) − e^{−β}) /
//! (2 sinh β)`, `a_j = I_j(β) / sinh β` with `β = 32`, `I_j` the modified Bessel functions).
//!
//! Decoded pixels depend on the FFmpeg build (Meta's sample signatures were made with
//! FFmpeg 4.1, Debian's is 5.1), so signatures are not bit-identical to the reference's;
//! the reference accepts a recomputed signature when both its level-1 and level-2 scores
//! against the expected one exceed 0.92 (`tmk-compare-two-tmks`), and
//! `tests/tmk_reference.rs` checks every sample video by that rule.
//!
//! ```no_run
//! use mediamatch::video::ffmpeg::VideoLimits;
//! use mediamatch::video::tmk_hash;
//!
//! # fn demo() -> Result<(), tmk_hash::TmkHashError> {
//! let sig = tmk_hash::hash_file("clip.mp4".as_ref(), &VideoLimits::default())?;
//! std::fs::write("clip.tmk", sig.write()).expect("writable");
//! # Ok(())
//! # }
//! ```

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::ffmpeg::{self, Source, VideoError, VideoLimits};
use super::tmk::{Signature, TmkError, PDQF_DIMENSION};

/// The frame rate videos are resampled to before hashing (the reference's
/// `TMK_DEFAULT_RESAMPLE_FPS`).
pub const RESAMPLE_FPS: u32 = 15;
/// The side of the square frames PDQF hashes, in pixels.
pub const FRAME_SIDE: usize = 64;
/// The bytes of one resampled RGB24 frame: 64 x 64 x 3.
pub const FRAME_BYTES: usize = FRAME_SIDE * FRAME_SIDE * 3;
/// Poullot's periods, in resampled frames (the reference's `makePoullotPeriods`).
pub const POULLOT_PERIODS: [u32; 4] = [2731, 4391, 9767, 14653];
/// How many Fourier coefficients the reference uses.
pub const FOURIER_COEFFICIENTS: usize = 32;
/// The `β` of Poullot's Fourier coefficients.
const POULLOT_BETA: f64 = 32.0;

/// Why a video could not be hashed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TmkHashError {
    /// Probing or decoding failed, or the video is over a limit.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// The video decoded to no frames at all (the reference would write an all-zero
    /// signature that scores NaN against anything).
    #[error("the video has no frames to hash")]
    NoFrames,
    /// The computed parts do not form a valid signature (not expected: every input is
    /// finite).
    #[error("the computed signature is invalid: {0}")]
    Signature(#[from] TmkError),
}

/// `I_n(x)`, the modified Bessel function of the first kind, from its power series
/// `Σ_k (x/2)^{2k+n} / (k! (k+n)!)` in `f64` (all terms positive, so no cancellation).
fn bessel_i(n: u32, x: f64) -> f64 {
    let half = x / 2.0;
    let mut term = (1..=n).fold(1.0f64, |t, i| t * half / f64::from(i));
    let mut sum = term;
    let mut k = 0u32;
    // The terms peak near k = x/2 and then shrink faster than geometrically.
    while k < 1000 {
        k += 1;
        term *= half * half / (f64::from(k) * f64::from(k + n));
        sum += term;
        if term < sum * 1e-18 {
            break;
        }
    }
    sum
}

/// Poullot's Fourier coefficients `a_0 .. a_31` for `β = 32`, rounded to `f32`: the
/// reference's `makePoullotFourierCoefficients` table, computed here from its formula.
pub fn poullot_fourier_coefficients() -> [f32; FOURIER_COEFFICIENTS] {
    static A: OnceLock<[f32; FOURIER_COEFFICIENTS]> = OnceLock::new();
    *A.get_or_init(|| {
        let sinh = POULLOT_BETA.sinh();
        let mut a = [0.0f32; FOURIER_COEFFICIENTS];
        for (j, v) in a.iter_mut().enumerate() {
            let i = bessel_i(j as u32, POULLOT_BETA);
            *v = if j == 0 { ((i - (-POULLOT_BETA).exp()) / (2.0 * sinh)) as f32 } else { (i / sinh) as f32 };
        }
        a
    })
}

/// PDQ's 16x64 DCT matrix without its DC row: `sqrt(2/64) cos(π/128 (i+1)(2k+1))`, the
/// scale rounded to `f32`, the product in `f64`, the entry rounded to `f32` (as Meta's).
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static D: OnceLock<[[f32; 64]; 16]> = OnceLock::new();
    D.get_or_init(|| {
        let scale = f64::from((2.0f64 / 64.0).sqrt() as f32);
        let step = std::f64::consts::PI / 2.0 / 64.0;
        std::array::from_fn(|i| {
            std::array::from_fn(|k| (scale * (step * (i + 1) as f64 * (2 * k + 1) as f64).cos()) as f32)
        })
    })
}

/// The PDQF frame feature of one 64x64 RGB24 frame (row-major, no padding): the 16x16 block
/// of PDQ's DCT coefficients of its luma, row-major, as the reference's
/// `PDQFloatFrameBufferHasher` computes it.
pub fn pdqf(rgb: &[u8; FRAME_BYTES]) -> [f32; PDQF_DIMENSION] {
    // Luma in f32, left to right, as Meta's fillFloatLumaFromRGB.
    let mut luma = [[0.0f32; 64]; 64];
    for (row, pixels) in luma.iter_mut().zip(rgb.chunks_exact(3 * FRAME_SIDE)) {
        for (y, p) in row.iter_mut().zip(pixels.chunks_exact(3)) {
            *y = 0.299f32 * f32::from(p[0]) + 0.587f32 * f32::from(p[1]) + 0.114f32 * f32::from(p[2]);
        }
    }
    let d = dct_matrix();
    // T = D A, each T[i][j] summed over k = 0..64 ascending from zero.
    let mut t = [[0.0f32; 64]; 16];
    for (t_row, d_row) in t.iter_mut().zip(d) {
        for (&dik, a_row) in d_row.iter().zip(&luma) {
            for (tij, &akj) in t_row.iter_mut().zip(a_row) {
                *tij += dik * akj;
            }
        }
    }
    // B = T Dᵀ, each B[i][j] summed over k ascending.
    let mut out = [0.0f32; PDQF_DIMENSION];
    for (i, t_row) in t.iter().enumerate() {
        for (j, d_row) in d.iter().enumerate() {
            out[16 * i + j] = t_row.iter().zip(d_row).fold(0.0f32, |s, (&x, &y)| s + x * y);
        }
    }
    out
}

/// The reference's `computeNorm`: `sqrt` of an `f32` sum of squares in index order.
fn norm(v: &[f32]) -> f32 {
    v.iter().fold(0.0f32, |s, &e| s + e * e).sqrt()
}

/// The reference's `L2NormalizeVector`: divide by the norm when it is positive.
fn normalize(v: &mut [f32]) {
    let n = norm(v);
    if n > 0.0 {
        v.iter_mut().for_each(|e| *e /= n);
    }
}

/// Builds a TMK+PDQF signature from frame features, one frame at a time, as the reference's
/// `TMKFeatureVectors` (`ingestFrameFeature`, `finishFrameFeatureIngest`) with its
/// parameters: 15 frames per second, [`POULLOT_PERIODS`], 32 Poullot coefficients.
#[derive(Clone, Debug)]
pub struct TmkBuilder {
    coefficients: [f32; FOURIER_COEFFICIENTS],
    frames: u64,
    sum: Vec<f32>,
    /// Period-major, then coefficient, then dimension, as in the file.
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl Default for TmkBuilder {
    fn default() -> TmkBuilder {
        TmkBuilder::new()
    }
}

impl TmkBuilder {
    /// An empty builder with the reference's parameters.
    pub fn new() -> TmkBuilder {
        let n = POULLOT_PERIODS.len() * FOURIER_COEFFICIENTS * PDQF_DIMENSION;
        TmkBuilder {
            coefficients: poullot_fourier_coefficients(),
            frames: 0,
            sum: vec![0.0; PDQF_DIMENSION],
            cos: vec![0.0; n],
            sin: vec![0.0; n],
        }
    }

    /// How many frames were added.
    pub fn frame_count(&self) -> u64 {
        self.frames
    }

    /// Adds the next frame's feature (frame number [`TmkBuilder::frame_count`]).
    pub fn add_frame(&mut self, feature: &[f32; PDQF_DIMENSION]) {
        for (s, &f) in self.sum.iter_mut().zip(feature) {
            *s += f;
        }
        let mut unit = *feature;
        normalize(&mut unit);
        let t = self.frames as f64;
        let c = FOURIER_COEFFICIENTS;
        for (i, &period) in POULLOT_PERIODS.iter().enumerate() {
            let base = i * c * PDQF_DIMENSION;
            for (acc, &u) in self.cos[base..base + PDQF_DIMENSION].iter_mut().zip(&unit) {
                *acc += u;
            }
            for j in 1..c {
                // 2π j t / T in f64, left to right as the reference; f32 += f32 * f64 rounds
                // the f64 sum back to f32.
                let arg = 2.0 * std::f64::consts::PI * j as f64 * t / f64::from(period);
                let (sin, cos) = arg.sin_cos();
                let at = base + j * PDQF_DIMENSION..base + (j + 1) * PDQF_DIMENSION;
                for (acc, &u) in self.cos[at.clone()].iter_mut().zip(&unit) {
                    *acc = (f64::from(*acc) + f64::from(u) * cos) as f32;
                }
                for (acc, &u) in self.sin[at].iter_mut().zip(&unit) {
                    *acc = (f64::from(*acc) + f64::from(u) * sin) as f32;
                }
            }
        }
        self.frames += 1;
    }

    /// The signature: the mean feature and the normalised, weighted cosine and sine
    /// features (all zero when no frame was added, as in the reference). An error only
    /// when more frames were added than the file's `i32` frame count can hold.
    pub fn finish(mut self) -> Result<Signature, TmkError> {
        let frame_count = u32::try_from(self.frames).map_err(|_| TmkError::BadField {
            field: "frame count",
            value: i64::try_from(self.frames).unwrap_or(i64::MAX),
            why: "must fit an i32",
        })?;
        if self.frames > 0 {
            let n = self.frames as f32;
            self.sum.iter_mut().for_each(|s| *s /= n);
            for (j, (cos, sin)) in self
                .cos
                .chunks_exact_mut(PDQF_DIMENSION)
                .zip(self.sin.chunks_exact_mut(PDQF_DIMENSION))
                .enumerate()
            {
                let weight = self.coefficients[j % FOURIER_COEFFICIENTS].sqrt();
                for v in [cos, sin] {
                    normalize(v);
                    v.iter_mut().for_each(|e| *e *= weight);
                }
            }
        }
        Signature::from_parts(
            RESAMPLE_FPS,
            frame_count,
            POULLOT_PERIODS.to_vec(),
            self.coefficients.to_vec(),
            self.sum,
            self.cos,
            self.sin,
        )
    }
}

/// Hashes the video at `path` as the reference's `tmk-hash-video`: its first video stream
/// resampled to 15 frames per second of 64x64 RGB24 ([`resampled_frames`]), PDQF of every
/// frame ([`pdqf`]) into a [`TmkBuilder`]. A video with no frames is an error.
pub fn hash_file(path: &Path, limits: &VideoLimits) -> Result<Signature, TmkHashError> {
    hash_source(path, limits)
}

/// [`hash_file`] of a file or of bytes in memory ([`ffmpeg::MemoryFile`]).
pub fn hash_source<'a>(
    source: impl Into<Source<'a>>,
    limits: &VideoLimits,
) -> Result<Signature, TmkHashError> {
    let mut builder = TmkBuilder::new();
    resampled_frames(source, limits, |_, rgb| {
        builder.add_frame(&pdqf(rgb));
        true
    })?;
    if builder.frame_count() == 0 {
        return Err(TmkHashError::NoFrames);
    }
    Ok(builder.finish()?)
}

/// The ffmpeg command that writes the resampled frames of `source` to its stdout.
fn resample_command(source: Source<'_>, limits: &VideoLimits) -> Result<Command, VideoError> {
    let mut cmd = super::ffmpeg::limited("ffmpeg", limits);
    cmd.args(["-nostdin", "-threads", "1"]);
    ffmpeg::input_args(&mut cmd, source)?;
    let side = format!("{FRAME_SIDE}x{FRAME_SIDE}");
    let rate = RESAMPLE_FPS.to_string();
    cmd.args(["-map", "0:v:0", "-an", "-sn", "-dn"])
        // The reference's output options: `-s 64:64 ... -r 15` with the command line's
        // default scaler flags (bicubic) and, for raw video, constant-frame-rate sync.
        .args(["-s", side.as_str(), "-sws_flags", "bicubic", "-fps_mode", "cfr", "-r", rate.as_str()])
        .args(["-pix_fmt", "rgb24", "-c:v", "rawvideo", "-f", "rawvideo", "pipe:1"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    Ok(cmd)
}

/// How the reading of frames ended.
enum Ended {
    /// End of stream after whole frames.
    Clean,
    /// The stream ended inside a frame.
    Short,
    /// More than the frame limit.
    TooMany,
    /// The callback asked to stop.
    Stopped,
}

/// Reads whole frames from `out` into `frame` until the end, the limit or a stop.
fn read_frames(
    out: &mut impl Read,
    max_frames: u64,
    frame: &mut impl FnMut(u64, &[u8; FRAME_BYTES]) -> bool,
) -> std::io::Result<(u64, Ended)> {
    let mut buf = [0u8; FRAME_BYTES];
    let mut n = 0u64;
    loop {
        match ffmpeg::read_frame(out, &mut buf)? {
            ffmpeg::Filled::Full => {}
            ffmpeg::Filled::Empty => return Ok((n, Ended::Clean)),
            ffmpeg::Filled::Partial => return Ok((n, Ended::Short)),
        }
        if n >= max_frames {
            return Ok((n, Ended::TooMany));
        }
        if !frame(n, &buf) {
            return Ok((n, Ended::Stopped));
        }
        n += 1;
    }
}

/// Decodes the first video stream of `path` resampled as the reference's `tmk-hash-video`
/// resamples it (see the module documentation), calling `frame(n, rgb)` for every
/// resampled frame in order with its 64x64 RGB24 samples; `frame` returns `false` to stop
/// early. Returns the number of frames passed to `frame`.
///
/// The video is probed first ([`ffmpeg::probe`]) and refused when its frames are over
/// [`VideoLimits::max_pixels`] or its declared duration over [`VideoLimits::max_seconds`];
/// more than [`VideoLimits::max_frames`] resampled frames is an error, as is a decoder that
/// fails, is killed at [`VideoLimits::timeout`] or ends inside a frame.
pub fn resampled_frames<'a>(
    source: impl Into<Source<'a>>,
    limits: &VideoLimits,
    mut frame: impl FnMut(u64, &[u8; FRAME_BYTES]) -> bool + Send,
) -> Result<u64, VideoError> {
    let source = source.into();
    let started = Instant::now();
    let info = ffmpeg::probe_source(source, limits)?;
    ffmpeg::check_size(&info, limits)?;
    let mut child =
        resample_command(source, limits)?.spawn().map_err(|e| ffmpeg::spawn_error("ffmpeg", e))?;
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(VideoError::Decoder("ffmpeg's output pipes are missing".into()));
    };
    let reader_done = AtomicBool::new(false);
    let deadline = limits.timeout.saturating_sub(started.elapsed());
    let (status, read, message, timed_out) = std::thread::scope(|s| {
        let errors = s.spawn(move || {
            // Keep a few KB of the messages; drain the rest so ffmpeg never blocks on them.
            let mut buf = Vec::new();
            let _ = stderr.by_ref().take(8192).read_to_end(&mut buf);
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            String::from_utf8_lossy(&buf).split_whitespace().collect::<Vec<_>>().join(" ")
        });
        let reader = s.spawn(|| {
            let r = read_frames(&mut stdout, limits.max_frames, &mut frame);
            // Closing the pipe ends a decoder that is still writing.
            drop(stdout);
            reader_done.store(true, Ordering::Release);
            r
        });
        // The child is waited on here, so killing it can never hit a reused process id.
        let start = Instant::now();
        let (mut timed_out, mut killed) = (false, false);
        let mut kill_at: Option<Instant> = None;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) => {}
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(e);
                }
            }
            let now = Instant::now();
            if !killed && now.duration_since(start) >= deadline {
                timed_out = true;
                killed = child.kill().is_ok();
            }
            // The reader is done: at the end of the stream the decoder exits by itself; when
            // it stopped early, the closed pipe ends the decoder. Either way it gets a moment
            // before it is killed.
            if kill_at.is_none() && reader_done.load(Ordering::Acquire) {
                kill_at = Some(now + Duration::from_secs(1));
            }
            if !killed && kill_at.is_some_and(|t| now >= t) {
                killed = child.kill().is_ok();
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let read = reader.join();
        let message = errors.join().unwrap_or_default();
        (status, read, message, timed_out)
    });
    let status = status?;
    let (n, ended) = match read {
        Ok(r) => r?,
        Err(_) => return Err(VideoError::Decoder("the frame reader failed".into())),
    };
    if timed_out {
        return Err(VideoError::Decoder(format!("stopped after {:?} (the time limit)", limits.timeout)));
    }
    match ended {
        Ended::TooMany => Err(VideoError::TooLarge(format!("more than {} frames", limits.max_frames))),
        Ended::Stopped => Ok(n),
        Ended::Clean | Ended::Short if !status.success() => {
            Err(VideoError::Decoder(if message.is_empty() { format!("ffmpeg {status}") } else { message }))
        }
        Ended::Short => Err(VideoError::Decoder("the last frame was cut short".into())),
        Ended::Clean => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poullot_coefficients_are_the_references_table() {
        // A few entries of the reference's tabulated values (to their printed digits).
        let a = poullot_fourier_coefficients();
        for (j, want) in
            [(0, 0.0708041893112f64), (1, 0.13937789309), (10, 0.0293374252025), (31, 9.19087006565e-08)]
        {
            assert!((f64::from(a[j]) - want).abs() <= want * 1e-6, "a_{j} = {} vs {want}", a[j]);
        }
        assert!(a.windows(2).skip(1).all(|w| w[0] > w[1]));
    }

    #[test]
    fn a_flat_frame_has_no_ac_energy_and_a_ramp_has_some() {
        let flat = [128u8; FRAME_BYTES];
        assert!(pdqf(&flat).iter().all(|v| v.abs() < 1e-3));
        // A cosine of vertical frequency 2 and horizontal frequency 3 lands in coefficient
        // (1, 2): the block has no DC row or column.
        let mut wave = [0u8; FRAME_BYTES];
        for (i, p) in wave.chunks_exact_mut(3).enumerate() {
            let (y, x) = ((i / 64) as f64, (i % 64) as f64);
            let c = |f: f64, k: f64| (std::f64::consts::PI / 128.0 * f * (2.0 * k + 1.0)).cos();
            p.fill((128.0 + 100.0 * c(2.0, y) * c(3.0, x)).round() as u8);
        }
        let f = pdqf(&wave);
        let peak = (0..256).max_by(|&a, &b| f[a].abs().total_cmp(&f[b].abs())).unwrap();
        assert_eq!(peak, 16 + 2, "{:?}", &f[..20]);
        assert!(f[peak] > 1000.0);
    }

    #[test]
    fn a_signature_scores_one_with_itself_and_has_the_references_shape() {
        let mut b = TmkBuilder::new();
        for t in 0..40u32 {
            let mut frame = [0u8; FRAME_BYTES];
            for (i, p) in frame.iter_mut().enumerate() {
                *p = ((i as u32 * 7 + t * 13) % 251) as u8;
            }
            b.add_frame(&pdqf(&frame));
        }
        assert_eq!(b.frame_count(), 40);
        let sig = b.finish().unwrap();
        assert_eq!((sig.frames_per_second(), sig.frame_count()), (15, 40));
        assert_eq!(sig.periods(), &POULLOT_PERIODS);
        assert_eq!(sig.num_fourier_coefficients(), 32);
        assert_eq!(Signature::read(&sig.write()).unwrap(), sig);
        assert!((super::super::tmk::level1(&sig, &sig) - 1.0).abs() < 1e-6);
        assert!((super::super::tmk::level2(&sig, &sig).unwrap() - 1.0).abs() < 1e-4);
        for p in 0..4 {
            assert!(sig.sin_feature(p, 0).unwrap().iter().all(|&v| v == 0.0));
            let c = sig.cos_feature(p, 3).unwrap();
            let want = sig.fourier_coefficients()[3].sqrt();
            assert!((norm(c) - want).abs() < 1e-5);
        }
    }

    #[test]
    fn an_empty_builder_gives_an_all_zero_signature() {
        let sig = TmkBuilder::default().finish().unwrap();
        assert_eq!(sig.frame_count(), 0);
        assert!(sig.pure_average().iter().chain(sig.cos_features()).all(|&v| v == 0.0));
    }

    #[test]
    fn short_and_long_streams_are_told_apart() {
        let bytes = vec![7u8; FRAME_BYTES * 2 + 5];
        let mut seen = 0;
        let (n, ended) = read_frames(&mut &bytes[..], 10, &mut |_, _| {
            seen += 1;
            true
        })
        .unwrap();
        assert!(matches!(ended, Ended::Short) && n == 2 && seen == 2);
        let (n, ended) = read_frames(&mut &bytes[..FRAME_BYTES * 2], 1, &mut |_, _| true).unwrap();
        assert!(matches!(ended, Ended::TooMany) && n == 1);
        let (n, ended) = read_frames(&mut &bytes[..FRAME_BYTES * 2], 10, &mut |_, _| false).unwrap();
        assert!(matches!(ended, Ended::Stopped) && n == 0);
        let (n, ended) = read_frames(&mut &bytes[..0], 10, &mut |_, _| true).unwrap();
        assert!(matches!(ended, Ended::Clean) && n == 0);
    }
}
