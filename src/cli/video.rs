//! `mediamatch video`: vPDQ hashes of a video, vPDQ comparison of two videos (or their saved
//! hashes) by HMA's rule, the TMK+PDQF signature of a video, and TMK+PDQF comparison of two
//! `.tmk` signatures.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use mediamatch::video::ffmpeg::VideoLimits;
use mediamatch::video::tmk::{self, Signature};
use mediamatch::video::tmk_hash;
use mediamatch::video::vpdq::{self, Frame};
use serde_json::json;

use super::Exit;

/// Arguments of `mediamatch video`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

/// How `video hash` writes the hashes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum HashFormat {
    /// Meta's `vpdq-hash-video` lines: `frame,quality,hash,timestamp`.
    Cpp,
    /// python-threatexchange's JSON array of `"hash,quality,timestamp"` (what HMA stores).
    Pytx,
    /// One JSON object: `{"type": "vpdq", "path", "width", "height", "fps", "frames": [...]}`.
    Json,
}

/// How `video compare` and `video tmk-compare` report.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ReportFormat {
    /// One line.
    Text,
    /// One JSON object with a `type` field.
    Json,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Print the vPDQ hashes of one video (decoded by ffmpeg in a child process): one frame a
    /// second by default, as python-threatexchange and HMA hash (exit 0, or 2 on error).
    Hash {
        /// The video file.
        video: PathBuf,
        /// Hash every frame (Meta's C++ tool's default).
        #[arg(long, conflicts_with = "seconds_per_hash")]
        every_frame: bool,
        /// Seconds between hashed frames.
        #[arg(long, default_value_t = vpdq::DEFAULT_SECONDS_PER_HASH)]
        seconds_per_hash: f64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = HashFormat::Cpp)]
        format: HashFormat,
        /// Wall-clock limit of the decode, in seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Compare two videos by vPDQ with HMA's rule: frames deduplicated, those under the
    /// quality threshold dropped, a frame matched within the distance; a match when the
    /// query's matched share reaches --query-percent and the other's --compared-percent.
    /// Each side is a video or a saved hash file (`video hash` output in either text
    /// form). Exit 0 match, 1 no match, 2 error.
    Compare {
        /// The query: a video, or its vPDQ hashes.
        query: PathBuf,
        /// The video compared with: a video, or its vPDQ hashes.
        compared: PathBuf,
        /// Frames of lower quality are not compared.
        #[arg(long, default_value_t = vpdq::QUALITY_THRESHOLD)]
        quality: u8,
        /// Frames within this PDQ distance match.
        #[arg(long, default_value_t = vpdq::DISTANCE_THRESHOLD)]
        distance: u32,
        /// The share of the query's frames that must match, in percent.
        #[arg(long, default_value_t = vpdq::QUERY_MATCH_PERCENT)]
        query_percent: f64,
        /// The share of the other video's frames that must match, in percent.
        #[arg(long, default_value_t = vpdq::COMPARED_MATCH_PERCENT)]
        compared_percent: f64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Compute the TMK+PDQF signature of one video as Meta's `tmk-hash-video` does (15
    /// frames a second of 64x64 frames, decoded by ffmpeg in a child process): written to
    /// --output as a `.tmk` file, or printed in ThreatExchange's text form
    /// (`TMK1FVECPDQF|base64`) without --output or with --text (exit 0, or 2 on error).
    TmkHash {
        /// The video file.
        video: PathBuf,
        /// Where to write the signature (replaced atomically); stdout when absent.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Write ThreatExchange's text form instead of the `.tmk` bytes.
        #[arg(long)]
        text: bool,
        /// Wall-clock limit of the decode, in seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Score two TMK+PDQF signatures (`.tmk` files, or ThreatExchange's text form) as Meta's
    /// `tmk-two-level-score` does; a match when level 1 reaches --c1 and level 2 --c2.
    /// Exit 0 match, 1 no match, 2 error.
    TmkCompare {
        /// The first signature.
        a: PathBuf,
        /// The second signature.
        b: PathBuf,
        /// The level-1 threshold (cosine of the average features).
        #[arg(long, default_value_t = tmk::DEFAULT_LEVEL1_THRESHOLD)]
        c1: f32,
        /// The level-2 threshold (the temporal kernel score).
        #[arg(long, default_value_t = tmk::DEFAULT_LEVEL2_THRESHOLD)]
        c2: f32,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    match args.command {
        Command::Hash { video, every_frame, seconds_per_hash, format, timeout } => {
            if !(seconds_per_hash.is_finite() && seconds_per_hash >= 0.0) {
                bail!("--seconds-per-hash must be a number of seconds, 0 or more");
            }
            let every = if every_frame { 0.0 } else { seconds_per_hash };
            let limits = VideoLimits {
                timeout: std::time::Duration::from_secs(timeout.max(1)),
                ..VideoLimits::default()
            };
            let v = vpdq::hash_file(&video, every, &limits).with_context(|| video.display().to_string())?;
            match format {
                HashFormat::Cpp => v.frames.iter().for_each(|f| println!("{}", vpdq::cpp_line(f))),
                HashFormat::Pytx => println!("{}", vpdq::to_pytx_json(&v.frames)),
                HashFormat::Json => {
                    let frames: Vec<_> = v
                        .frames
                        .iter()
                        .map(|f| json!({"frame": f.frame, "quality": f.quality, "hash": f.hash.to_string(), "timestamp": f.timestamp}))
                        .collect();
                    let record = json!({"type": "vpdq", "path": video.display().to_string(), "width": v.info.width,
                        "height": v.info.height, "fps": v.info.frame_rate, "frames_decoded": v.frames_decoded, "frames": frames});
                    println!("{record}");
                }
            }
            Ok(Exit::Success)
        }
        Command::Compare { query, compared, quality, distance, query_percent, compared_percent, format } => {
            let (q, c) = (frames_of(&query)?, frames_of(&compared)?);
            let shares = vpdq::compare(&q, &c, quality, distance);
            let matched = shares.is_match(query_percent, compared_percent);
            match format {
                ReportFormat::Text => println!(
                    "{}: query {:.1}% of {} frames, compared {:.1}% of {} frames",
                    if matched { "match" } else { "no match" },
                    shares.query_percent,
                    q.len(),
                    shares.compared_percent,
                    c.len()
                ),
                ReportFormat::Json => println!(
                    "{}",
                    json!({"type": "vpdq_compare", "match": matched, "query_percent": shares.query_percent,
                        "compared_percent": shares.compared_percent, "query_frames": q.len(), "compared_frames": c.len()})
                ),
            }
            Ok(if matched { Exit::Success } else { Exit::NoMatch })
        }
        Command::TmkHash { video, output, text, timeout } => {
            let limits = VideoLimits {
                timeout: std::time::Duration::from_secs(timeout.max(1)),
                ..VideoLimits::default()
            };
            let sig = tmk_hash::hash_file(&video, &limits).with_context(|| video.display().to_string())?;
            match output {
                Some(path) => {
                    let bytes = if text { format!("{}\n", sig.to_text()).into_bytes() } else { sig.write() };
                    write_replacing(&path, &bytes).with_context(|| path.display().to_string())?;
                }
                None => println!("{}", sig.to_text()),
            }
            Ok(Exit::Success)
        }
        Command::TmkCompare { a, b, c1, c2, format } => {
            let (sa, sb) = (signature(&a)?, signature(&b)?);
            let level1 = tmk::level1(&sa, &sb);
            let level2 = tmk::level2(&sa, &sb).context("the signatures cannot be compared")?;
            let matched =
                Signature::matches(&sa, &sb, c1, c2).context("the signatures cannot be compared")?;
            match format {
                ReportFormat::Text => println!(
                    "{}: level 1 {level1:.6}, level 2 {level2:.6}",
                    if matched { "match" } else { "no match" }
                ),
                ReportFormat::Json => println!(
                    "{}",
                    json!({"type": "tmk_compare", "match": matched, "level1": level1, "level2": level2})
                ),
            }
            Ok(if matched { Exit::Success } else { Exit::NoMatch })
        }
    }
}

/// A side of `compare`: a saved hash file (C++ lines or pytx JSON), else a video.
fn frames_of(path: &Path) -> anyhow::Result<Vec<Frame>> {
    let head = read_head(path)?;
    let text = std::str::from_utf8(&head).ok();
    let looks_like_hashes = text.is_some_and(|t| {
        let t = t.trim_start();
        t.starts_with('[') || t.lines().next().is_some_and(|l| vpdq::parse_cpp_line(l).is_ok())
    });
    if !looks_like_hashes {
        let v = vpdq::hash_file(path, vpdq::DEFAULT_SECONDS_PER_HASH, &VideoLimits::default())
            .with_context(|| path.display().to_string())?;
        return Ok(v.frames);
    }
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    if text.trim_start().starts_with('[') {
        return vpdq::from_pytx_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            vpdq::parse_cpp_line(l).map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// The first few KB of a file.
fn read_head(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let mut head = Vec::new();
    f.by_ref().take(4096).read_to_end(&mut head).with_context(|| path.display().to_string())?;
    // A cut in the middle of a UTF-8 character is not binary.
    while !head.is_empty() && std::str::from_utf8(&head).is_err_and(|e| e.error_len().is_none()) {
        head.pop();
    }
    Ok(head)
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`, so `path`
/// is never left half-written.
fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_else(|| "signature".as_ref()));
    name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(name);
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A TMK signature from a `.tmk` file or ThreatExchange's text form.
fn signature(path: &Path) -> anyhow::Result<Signature> {
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    let parsed = if bytes.starts_with(b"TMK1FVECPDQF|") {
        let text = std::str::from_utf8(&bytes).context("the text form is not UTF-8")?;
        Signature::from_text(text.trim_end())
    } else {
        Signature::read(&bytes)
    };
    parsed.with_context(|| format!("{}: not a TMK+PDQF signature", path.display()))
}
