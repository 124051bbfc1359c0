//! Video: frames decoded out of process by `ffmpeg` ([`ffmpeg`]) and hashed with vPDQ
//! ([`vpdq`]), Meta's PDQ-of-frames video hash; and TMK+PDQF signatures ([`tmk`]), Meta's
//! temporal match kernel, read, written and scored as Meta's reference does.
//!
//! Digests (MD5, SHA-1, SHA-256) of video files are matched like any file's
//! ([`crate::hashing`]); these modules add the perceptual video hashes.

pub mod ffmpeg;
pub mod tmk;
pub mod tmk_hash;
pub mod vpdq;

use ffmpeg::VideoLimits;

/// How the matcher samples a video's frames to check them against photo entries
/// ([`crate::matcher::Config::video`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FrameSampling {
    /// Seconds between checked frames (vPDQ's rule: frame `n` when `n % max(1, (int)(s *
    /// fps)) == 0`); 1 by default.
    pub seconds_per_frame: f64,
    /// The decoder's limits.
    pub limits: VideoLimits,
}

impl Default for FrameSampling {
    fn default() -> FrameSampling {
        FrameSampling { seconds_per_frame: 1.0, limits: VideoLimits::default() }
    }
}

/// Whether `head` (a file's first bytes) starts like a video container: ISO BMFF (MP4, MOV,
/// 3GP: an `ftyp`, `moov`, `mdat`, `free`, `skip` or `wide` box first), Matroska/WebM,
/// AVI, FLV, ASF/WMV, MPEG program or transport streams. Only a cheap guess that decides
/// whether to ask ffmpeg; ffmpeg's probe decides.
///
/// ```
/// use mediamatch::video::looks_like_video;
/// assert!(looks_like_video(b"\0\0\0\x20ftypisom\0\0\x02\0"));
/// assert!(looks_like_video(&[0x1a, 0x45, 0xdf, 0xa3, 0x9f]));
/// assert!(!looks_like_video(b"\x89PNG\r\n\x1a\n"));
/// ```
pub fn looks_like_video(head: &[u8]) -> bool {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let bmff = [&b"ftyp"[..], b"moov", b"mdat", b"free", b"skip", b"wide"].iter().any(|m| at(4, m));
    let riff_avi = at(0, b"RIFF") && at(8, b"AVI ");
    let ts = head.len() > 188 && head[0] == 0x47 && head[188] == 0x47;
    bmff || riff_avi
        || ts
        || at(0, &[0x1a, 0x45, 0xdf, 0xa3])
        || at(0, b"FLV\x01")
        || at(0, &[0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11])
        || at(0, &[0, 0, 1, 0xba])
}
