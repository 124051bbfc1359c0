//! Video: frames decoded out of process by `ffmpeg` ([`ffmpeg`]) and hashed with vPDQ
//! ([`vpdq`]), Meta's PDQ-of-frames video hash; and TMK+PDQF signatures ([`tmk`]), Meta's
//! temporal match kernel, read, written and scored as Meta's reference does.
//!
//! Digests (MD5, SHA-1, SHA-256) of video files are matched like any file's
//! ([`crate::hashing`]); these modules add the perceptual video hashes.

pub mod ffmpeg;
pub mod tmk;
pub mod vpdq;
