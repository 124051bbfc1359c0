//! vPDQ: the PDQ hashes of a video's frames, as Meta's `vpdq` computes them, their two text
//! forms, and HMA's match rule.
//!
//! **Hashing** (Meta's `vpdq/cpp`): the first video stream, every frame in decoding order
//! as RGB24 at the stream's own size ([`super::ffmpeg`]), PDQ of the whole frame with the
//! luma of Meta's C++ ([`LumaRule::MetaCpp`]; no 512-pixel downscale). With `fps` the
//! stream's average frame rate, frame `n` is hashed when `n % max(1, (int)(seconds_per_hash
//! * fps)) == 0`, and its timestamp is `n / fps`. python-threatexchange and HMA hash one
//! frame per second ([`DEFAULT_SECONDS_PER_HASH`]); the C++ tool every frame (0).
//!
//! **Formats**: the C++ tool's lines `frame,quality,hex,timestamp` (timestamp `%.3f`), and
//! python-threatexchange's JSON array of `"hex,quality,timestamp"` strings (timestamp in
//! Python's `.3` format: three significant digits).
//!
//! **Matching** (python-threatexchange's `match_VPDQ_hash_brute`, which HMA uses): each side's
//! frames are deduplicated by exact hash, then frames under the quality threshold (50) are
//! dropped; a frame matches when a frame of the other side is within distance 31. The
//! query share is the matched share of the query's remaining frames, the compared share
//! the matched share of the other's, in percent; two videos match when the query share is
//! at least 80 and the compared share at least 0 (both configurable).

use std::path::Path;

use super::ffmpeg::{self, VideoError, VideoInfo, VideoLimits};
use crate::hash::pdq::{self, LumaRule};
use crate::image::pixels::Image;
use crate::Pdq;

/// python-threatexchange's and HMA's sampling: one frame a second.
pub const DEFAULT_SECONDS_PER_HASH: f64 = 1.0;
/// Frames of lower quality are not compared (pytx's `VPDQ_QUALITY_THRESHOLD`).
pub const QUALITY_THRESHOLD: u8 = 50;
/// Frames this close match (pytx's `VPDQ_DISTANCE_THRESHOLD`).
pub const DISTANCE_THRESHOLD: u32 = 31;
/// The share of the query's frames that must match, in percent.
pub const QUERY_MATCH_PERCENT: f64 = 80.0;
/// The share of the compared video's frames that must match, in percent.
pub const COMPARED_MATCH_PERCENT: f64 = 0.0;

/// One hashed frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// The frame's number in decoding order, from 0.
    pub frame: u64,
    /// PDQ's quality of the frame, 0 to 100.
    pub quality: u8,
    /// The frame's PDQ hash.
    pub hash: Pdq,
    /// Seconds from the start: `frame / fps`.
    pub timestamp: f64,
}

/// The vPDQ of a video: its hashed frames, with what the probe said.
#[derive(Clone, Debug, PartialEq)]
pub struct Video {
    /// The stream's size and frame rate.
    pub info: VideoInfo,
    /// Frames decoded (hashed or not) when every frame is hashed; `None` with a sampling
    /// step, since ffmpeg then drops the frames between hashed ones itself
    /// ([`ffmpeg::frames_every`]).
    pub frames_decoded: Option<u64>,
    /// The hashed frames, in order.
    pub frames: Vec<Frame>,
}

/// Which frames to hash.
pub fn frame_step(seconds_per_hash: f64, fps: f64) -> u64 {
    // C++'s `static_cast<int>` truncates toward zero; 0 (and anything below 1) means every
    // frame, as in Meta's code.
    let step = (seconds_per_hash * fps) as i64;
    step.max(1) as u64
}

/// The vPDQ of frame `n` (decoding order) of a video of `fps` frames a second: PDQ with
/// Meta's C++ luma, timestamp `n / fps` in `float` arithmetic as Meta's code divides it.
pub fn hash_frame(n: u64, image: &Image, fps: f32) -> Frame {
    let p = pdq::hash_with(image, LumaRule::MetaCpp);
    let timestamp = f64::from(n as f32 / fps);
    Frame { frame: n, quality: p.quality, hash: p.hash, timestamp }
}

/// Hashes the video at `path`: every `seconds_per_hash` seconds (0: every frame).
pub fn hash_file(path: &Path, seconds_per_hash: f64, limits: &VideoLimits) -> Result<Video, VideoError> {
    let info = ffmpeg::probe(path, limits)?;
    let step = frame_step(seconds_per_hash, info.frame_rate);
    let (w, h) = (info.width, info.height);
    // Meta's `float` frame rate divides the frame number (`float` arithmetic).
    let fps = info.frame_rate as f32;
    let mut frames = Vec::new();
    let mut failed = None;
    let decoded = ffmpeg::frames_every(path.into(), &info, limits, step, |n, rgb| {
        if n % step != 0 {
            return true;
        }
        match Image::rgb(w, h, rgb.to_vec()) {
            Some(image) => {
                frames.push(hash_frame(n, &image, fps));
                true
            }
            None => {
                failed = Some(format!("frame {n} is not {w}x{h} RGB"));
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(VideoError::Decoder(format!("a frame could not be read: {e}")));
    }
    Ok(Video { info, frames_decoded: (step == 1).then_some(decoded), frames })
}

/// The C++ tool's line for `f`: `frame,quality,hex,timestamp`.
pub fn cpp_line(f: &Frame) -> String {
    format!("{},{},{},{:.3}", f.frame, f.quality, f.hash, f.timestamp)
}

/// Parses one line of the C++ tool's output.
pub fn parse_cpp_line(line: &str) -> Result<Frame, String> {
    let parts: Vec<&str> = line.trim().split(',').collect();
    let [frame, quality, hex, ts] = parts.as_slice() else {
        return Err(format!("expected frame,quality,hash,timestamp: {line:?}"));
    };
    Ok(Frame {
        frame: frame.trim().parse().map_err(|_| format!("bad frame number {frame:?}"))?,
        quality: parse_quality(quality)?,
        hash: hex.trim().parse().map_err(|e| format!("bad PDQ hash {hex:?}: {e}"))?,
        timestamp: parse_time(ts)?,
    })
}

fn parse_quality(q: &str) -> Result<u8, String> {
    q.trim().parse::<u8>().ok().filter(|&q| q <= 100).ok_or_else(|| format!("bad quality {q:?}"))
}

fn parse_time(t: &str) -> Result<f64, String> {
    t.trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| format!("bad timestamp {t:?}"))
}

/// python-threatexchange's JSON: an array of `"hex,quality,timestamp"`.
pub fn to_pytx_json(frames: &[Frame]) -> String {
    let items: Vec<String> =
        frames.iter().map(|f| format!("{},{},{}", f.hash, f.quality, python_general3(f.timestamp))).collect();
    serde_json::to_string(&items).expect("strings serialise")
}

/// Parses python-threatexchange's JSON; frame numbers are the items' positions.
pub fn from_pytx_json(text: &str) -> Result<Vec<Frame>, String> {
    let items: Vec<String> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON array of strings: {e}"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let parts: Vec<&str> = s.split(',').collect();
            let [hex, quality, ts] = parts.as_slice() else {
                return Err(format!("item {i}: expected hash,quality,timestamp: {s:?}"));
            };
            Ok(Frame {
                frame: i as u64,
                quality: parse_quality(quality)?,
                hash: hex.parse().map_err(|e| format!("item {i}: bad PDQ hash: {e}"))?,
                timestamp: parse_time(ts)?,
            })
        })
        .collect()
}

/// Python's `format(x, ".3")`: three significant digits, in fixed point with at least one
/// digit after the point (`1.0`, `12.0`, `20.5`) when that fits, else in exponent form
/// (`1.23e+02`, `1e+02`, `1e-05`).
fn python_general3(x: f64) -> String {
    if x == 0.0 {
        return "0.0".into();
    }
    let exp = format!("{x:.2e}");
    let (mantissa, e) = exp.split_once('e').expect("exponent form");
    let e: i32 = e.parse().expect("integer exponent");
    // Fixed point needs a digit after the point, so three digits reach only `e < 2`.
    if !(-4..2).contains(&e) {
        let m = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (2 - e).max(0) as usize;
    let fixed = format!("{x:.decimals$}");
    let fixed = if fixed.contains('.') { fixed.trim_end_matches('0').to_string() } else { fixed };
    if fixed.ends_with('.') {
        format!("{fixed}0")
    } else if fixed.contains('.') {
        fixed
    } else {
        format!("{fixed}.0")
    }
}

/// How two videos' frames compare.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatchShares {
    /// Percent of the query's frames (deduplicated, of enough quality) that match.
    pub query_percent: f64,
    /// Percent of the compared video's frames that match.
    pub compared_percent: f64,
}

impl MatchShares {
    /// Whether the shares meet the thresholds.
    pub fn is_match(&self, query_percent: f64, compared_percent: f64) -> bool {
        self.query_percent >= query_percent && self.compared_percent >= compared_percent
    }
}

/// The frames the match rule compares: deduplicated by exact hash (first kept), then
/// those of at least `quality`, in pytx's order.
pub fn usable_frames(frames: &[Frame], quality: u8) -> Vec<Frame> {
    let mut seen = std::collections::HashSet::new();
    frames.iter().filter(|f| seen.insert(f.hash)).filter(|f| f.quality >= quality).copied().collect()
}

/// The hashes of [`usable_frames`].
pub fn usable(frames: &[Frame], quality: u8) -> Vec<Pdq> {
    usable_frames(frames, quality).into_iter().map(|f| f.hash).collect()
}

/// The match shares of `query` against `compared` (pytx's brute-force rule). A side left
/// without frames has a share of 0.
pub fn compare(query: &[Frame], compared: &[Frame], quality: u8, distance: u32) -> MatchShares {
    let (q, c) = (usable(query, quality), usable(compared, quality));
    let matched =
        |a: &[Pdq], b: &[Pdq]| a.iter().filter(|x| b.iter().any(|y| x.distance(y) <= distance)).count();
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 * 100.0 / of as f64 };
    MatchShares {
        query_percent: share(matched(&q, &c), q.len()),
        compared_percent: share(matched(&c, &q), c.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_python_does() {
        for (x, want) in [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (12.0, "12.0"),
            (1.5, "1.5"),
            (0.0333, "0.0333"),
            (123.0, "1.23e+02"),
            (20.0, "20.0"),
            (9.999, "10.0"),
            (0.00001, "1e-05"),
            (99.96, "1e+02"),
            (100.0, "1e+02"),
            (0.001, "0.001"),
            (20.4666, "20.5"),
            (5.533, "5.53"),
        ] {
            assert_eq!(python_general3(x), want, "{x}");
        }
    }

    #[test]
    fn frame_steps_follow_metas_truncation() {
        assert_eq!(frame_step(1.0, 30.0), 30);
        assert_eq!(frame_step(1.0, 29.97), 29);
        assert_eq!(frame_step(0.0, 30.0), 1);
        assert_eq!(frame_step(1.0, 0.5), 1);
    }

    #[test]
    fn the_match_rule_dedupes_then_filters_by_quality() {
        let h = |b: u64| Pdq { words: [b, 0, 0, 0] };
        let f = |i: u64, hash: Pdq, quality: u8| Frame { frame: i, quality, hash, timestamp: i as f64 };
        let query = [f(0, h(1), 100), f(1, h(1), 100), f(2, h(u64::MAX), 100), f(3, h(7), 10)];
        let compared = [f(0, h(3), 90)];
        // Unique usable query frames: h(1) and h(MAX); h(1) is 1 bit from h(3).
        let s = compare(&query, &compared, QUALITY_THRESHOLD, DISTANCE_THRESHOLD);
        assert_eq!((s.query_percent, s.compared_percent), (50.0, 100.0));
        assert!(!s.is_match(QUERY_MATCH_PERCENT, COMPARED_MATCH_PERCENT));
        assert_eq!(compare(&[], &compared, 50, 31).query_percent, 0.0);
    }

    #[test]
    fn both_text_forms_round_trip() {
        let hash: Pdq = "e42926b9cb58d261383b699f0ff2e1076fe6183dff4986d82ca36da48034fc54".parse().unwrap();
        let frames = vec![
            Frame { frame: 0, quality: 100, hash, timestamp: 0.0 },
            Frame { frame: 1, quality: 99, hash, timestamp: 1.0 },
        ];
        let line = cpp_line(&frames[1]);
        assert_eq!(line, format!("1,99,{hash},1.000"));
        assert_eq!(parse_cpp_line(&line).unwrap(), frames[1]);
        let json = to_pytx_json(&frames);
        assert_eq!(json, format!("[\"{hash},100,0.0\",\"{hash},99,1.0\"]"));
        assert_eq!(from_pytx_json(&json).unwrap(), frames);
        for bad in [
            "1,2,3",
            "x,100,00,0.0",
            "0,101,e4,0.0",
            "0,100,zz,0.0",
            "0,100,e42926b9cb58d261383b699f0ff2e1076fe6183dff4986d82ca36da48034fc54,-1",
        ] {
            assert!(parse_cpp_line(bad).is_err(), "{bad}");
        }
        assert!(from_pytx_json("{}").is_err());
        assert!(from_pytx_json("[\"a,b\"]").is_err());
    }
}
