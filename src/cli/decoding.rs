//! The decode limits `hash` and `scan` share: the total decoder memory over all worker
//! threads, the per-file time budget and the frame cap of animations.

use std::time::Duration;

use mediamatch::decode::Limits;

/// Decode limits, flattened into the commands that decode images.
#[derive(clap::Args, Debug)]
pub(crate) struct DecodeArgs {
    /// Decoder memory for all worker threads together: bytes, or with a K/M/G suffix.
    /// Each thread may use this divided by the thread count, at most 1G (a file needing
    /// more is refused with a clear error): total ≈ threads × per-thread limit.
    #[arg(long, value_parser = super::parse::size, default_value = "4G")]
    pub(crate) max_decode_memory: u64,
    /// Decode-time budget per file, in seconds (fractions allowed); a file over it is an
    /// error for that file and the run goes on.
    #[arg(long, value_parser = super::parse::seconds, default_value = "5")]
    pub(crate) decode_timeout: Duration,
    /// Later frames of an animated GIF/WebP/PNG checked besides the first (distinct frames
    /// only; 0 checks the first frame only).
    #[arg(long, default_value_t = Limits::default().max_frames)]
    pub(crate) max_frames: u32,
    /// `exact` decodes every pixel (hashes bit-identical to the references); `fast`
    /// decodes JPEGs at a reduced scale (1/8, 1/4 or 1/2, the shorter side kept at least
    /// 512 pixels): about 5x faster on 12 MP photos, a few PDQ bits different
    /// (docs/decoding.md).
    #[arg(long, value_enum, default_value_t = DecodeMode::Exact)]
    pub(crate) decode: DecodeMode,
}

/// `--decode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DecodeMode {
    /// Every pixel.
    Exact,
    /// JPEGs at a reduced DCT scale.
    Fast,
}

impl DecodeArgs {
    /// The limits for one of `threads` workers.
    pub(crate) fn limits(&self, threads: usize) -> Limits {
        let default = Limits::default();
        let share = self.max_decode_memory / u64::try_from(threads.max(1)).unwrap_or(u64::MAX);
        Limits {
            max_alloc: share.min(default.max_alloc),
            max_time: self.decode_timeout,
            max_frames: self.max_frames,
            jpeg_min_side: (self.decode == DecodeMode::Fast).then_some(mediamatch::decode::FAST_DECODE_SIDE),
            ..default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_shared_between_threads_up_to_the_per_file_default() {
        let args = DecodeArgs {
            max_decode_memory: 4 << 30,
            decode_timeout: Duration::from_secs(5),
            max_frames: 64,
            decode: DecodeMode::Exact,
        };
        assert_eq!(args.limits(2).max_alloc, 1 << 30);
        assert_eq!(args.limits(16).max_alloc, 256 << 20);
        assert_eq!(args.limits(0).max_alloc, 1 << 30);
    }
}
