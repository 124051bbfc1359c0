//! `mediamatch scan`: check every file under some paths against an index or lists.
//!
//! Paths come from a walk (or `--files-from`) on one thread; files are read, hashed and
//! matched on the rayon pool; records go through one locked printer, so lines never tear.
//! Errors are reported and counted, never fatal. Exit code: 0 a match, 1 none, 2 an error.

mod feed;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context};
use mediamatch::matcher::{CheckError, Config, Match, Matcher, Verdict};
use rayon::prelude::*;

use super::decoding::DecodeArgs;
use super::matching::MatchArgs;
use super::output::OutputFormat;
use super::path_text::PathText;
use super::print::{csv::Table, Printer};
use super::progress::Progress;
use super::record::{FileError, LowQuality, NotImage, Record, ScanMatch, ScanSummary};
use super::sigbus;
use super::walk::{Item, Skip};
use super::{lists_index, Exit};
use feed::PathFeed;

/// Arguments of `mediamatch scan`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Files and directories to scan (directories are recursed; hidden files included).
    paths: Vec<PathBuf>,
    /// The index to match against (built by `mediamatch build` or `import`).
    #[arg(long, conflicts_with = "list", required_unless_present = "list")]
    index: Option<PathBuf>,
    /// Skip recomputing the index checksum when opening it (a faster start with very large
    /// indexes; a damaged file still cannot crash a query, but could silently miss matches).
    #[arg(long, requires = "index")]
    no_verify: bool,
    /// Hash-list files to match against directly (an in-memory index); the list name is the file stem.
    #[arg(long, num_args = 1..)]
    list: Vec<PathBuf>,
    /// With --list: the largest list file, and the most a gzip list may decompress to
    /// (e.g. `500M`, `4G`); a larger list is refused.
    #[arg(long, value_name = "SIZE", value_parser = super::parse::size,
          default_value = super::parse::DEFAULT_MAX_LIST_SIZE.as_str(), requires = "list")]
    max_list_size: u64,
    #[command(flatten)]
    matching: MatchArgs,
    /// Output format: text, json (JSON Lines) or csv.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// Follow symbolic links (loops are detected and reported).
    #[arg(long, short = 'L')]
    follow: bool,
    /// Read the paths to scan from FILE, one per line (`-` for stdin), besides PATHs.
    #[arg(long, value_name = "FILE")]
    files_from: Option<PathBuf>,
    /// Skip (and report) files larger than this: bytes, or with a K/M/G suffix.
    #[arg(long, value_parser = super::parse::size, default_value = "256M")]
    max_filesize: u64,
    #[command(flatten)]
    decoding: DecodeArgs,
    /// Also print weak candidates (`weak` records): within `--max-distance` but over
    /// `--max-evalue`, so not matches. They are counted in the summary either way.
    #[arg(long)]
    show_weak: bool,
    /// No progress display and no per-file messages for low-quality images and non-images.
    #[arg(long, short)]
    quiet: bool,
    /// Also check video files' frames, one a second, against the photo entries (PDQ and
    /// pHash); a match names the frame and its time. Needs ffmpeg (decoded in a child
    /// process). Without it, videos are matched by their digests only.
    #[arg(long)]
    video: bool,
}

/// Counters for the summary. Those the SIGBUS guard reports live in its `Progress`.
struct Counts {
    seen: &'static sigbus::Progress,
    images: AtomicU64,
    not_images: AtomicU64,
    low_quality: AtomicU64,
    weak: AtomicU64,
    weak_files: AtomicU64,
    skipped_special: AtomicU64,
    skipped_symlinks: AtomicU64,
}

/// What happened to one file.
enum Outcome {
    Checked(Box<Verdict>),
    NotImage(String),
    Failed(String),
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    if args.paths.is_empty() && args.files_from.is_none() {
        bail!("nothing to scan: give PATHs or --files-from");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    if args.video && !mediamatch::video::ffmpeg::available() {
        bail!("--video needs ffmpeg and ffprobe on the PATH (apt-get install ffmpeg)");
    }
    let config = args.matching.config(Config {
        max_bytes: args.max_filesize,
        verify_on_load: !args.no_verify,
        limits: args.decoding.limits(pool.current_num_threads()),
        video: args.video.then(mediamatch::video::FrameSampling::default),
        ..Config::default()
    });
    let matcher = match &args.index {
        Some(path) => {
            Matcher::open(path, config).with_context(|| format!("opening index {}", path.display()))?
        }
        None => Matcher::from_index(lists_index(&args.list, args.max_list_size)?, config),
    };

    let start = Instant::now();
    let counts = Counts {
        seen: Box::leak(Box::default()),
        images: AtomicU64::new(0),
        not_images: AtomicU64::new(0),
        low_quality: AtomicU64::new(0),
        weak: AtomicU64::new(0),
        weak_files: AtomicU64::new(0),
        skipped_special: AtomicU64::new(0),
        skipped_symlinks: AtomicU64::new(0),
    };
    if args.index.is_some() {
        sigbus::install(counts.seen, args.format == OutputFormat::Json);
    }
    let out = std::io::BufWriter::new(std::io::stdout());
    let printer = Mutex::new(Printer::new(args.format, out, Table::Matches).quiet(args.quiet));
    let feed =
        PathFeed { paths: args.paths.clone(), files_from: args.files_from.clone(), follow: args.follow };
    let progress = Progress::new(!args.quiet, feed.total_hint());
    let (tx, rx) = std::sync::mpsc::sync_channel::<Item>(1024);
    let producer = std::thread::spawn(move || feed.send_all(&tx));

    pool.install(|| {
        rx.into_iter().par_bridge().for_each(|item| {
            let (path, outcome) = match item {
                Item::File(path) => {
                    let outcome = check_file(&matcher, &path, args.max_filesize);
                    (path, outcome)
                }
                Item::Error(path, msg) => (path, Outcome::Failed(msg)),
                Item::Skipped(_, Skip::Special) => {
                    counts.skipped_special.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Item::Skipped(_, Skip::Symlink) => {
                    counts.skipped_symlinks.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            counts.seen.files.fetch_add(1, Ordering::Relaxed);
            let path = PathText::new(&path);
            let mut records = Vec::new();
            match &outcome {
                Outcome::Checked(v) => {
                    counts.images.fetch_add(u64::from(v.decode_error().is_none()), Ordering::Relaxed);
                    counts.not_images.fetch_add(u64::from(v.decode_error().is_some()), Ordering::Relaxed);
                    if v.low_quality {
                        counts.low_quality.fetch_add(1, Ordering::Relaxed);
                        let pdq_quality = v.pdq_quality().unwrap_or(0);
                        records.push(Record::LowQuality(LowQuality { path: &path, pdq_quality }));
                    }
                    let rate = frame_rate(v);
                    if v.is_match() {
                        counts.seen.matched_files.fetch_add(1, Ordering::Relaxed);
                        counts.seen.matches.fetch_add(v.matches.len() as u64, Ordering::Relaxed);
                        records.extend(match_records(&path, &v.matches, rate).map(Record::Match));
                    } else if !v.weak.is_empty() {
                        counts.weak_files.fetch_add(1, Ordering::Relaxed);
                    }
                    counts.weak.fetch_add(v.weak.len() as u64, Ordering::Relaxed);
                    if args.show_weak {
                        records.extend(match_records(&path, &v.weak, rate).map(Record::Weak));
                    }
                }
                Outcome::NotImage(reason) => {
                    counts.not_images.fetch_add(1, Ordering::Relaxed);
                    records.push(Record::NotImage(NotImage { path: &path, reason }));
                }
                Outcome::Failed(error) => {
                    counts.seen.errors.fetch_add(1, Ordering::Relaxed);
                    records.push(Record::Error(FileError { path: &path, error }));
                }
            }
            if !records.is_empty() {
                let mut p = printer.lock().unwrap_or_else(|e| e.into_inner());
                // A failed write (a closed pipe) does not stop the scan: its summary and
                // exit code still come.
                let _ = progress.suspend(|| -> std::io::Result<()> {
                    for r in &records {
                        p.print(r)?;
                    }
                    p.flush()
                });
            }
            progress.tick(
                counts.seen.matches.load(Ordering::Relaxed),
                counts.seen.errors.load(Ordering::Relaxed),
            );
        })
    });
    if producer.join().is_err() {
        counts.seen.errors.fetch_add(1, Ordering::Relaxed);
        eprintln!("mediamatch scan: the path reader stopped unexpectedly");
    }
    progress.finish();
    let elapsed = start.elapsed().as_secs_f64();
    let summary = ScanSummary {
        files: counts.seen.files.load(Ordering::Relaxed),
        images: counts.images.load(Ordering::Relaxed),
        not_images: counts.not_images.load(Ordering::Relaxed),
        errors: counts.seen.errors.load(Ordering::Relaxed),
        matches: counts.seen.matches.load(Ordering::Relaxed),
        matched_files: counts.seen.matched_files.load(Ordering::Relaxed),
        weak: counts.weak.load(Ordering::Relaxed),
        weak_files: counts.weak_files.load(Ordering::Relaxed),
        low_quality: counts.low_quality.load(Ordering::Relaxed),
        skipped_special: counts.skipped_special.load(Ordering::Relaxed),
        skipped_symlinks: counts.skipped_symlinks.load(Ordering::Relaxed),
        elapsed_s: (elapsed * 1000.0).round() / 1000.0,
        files_per_s: 0.0,
    };
    let summary = ScanSummary {
        files_per_s: if elapsed > 0.0 { (summary.files as f64 / elapsed * 10.0).round() / 10.0 } else { 0.0 },
        ..summary
    };
    let mut p = printer.into_inner().unwrap_or_else(|e| e.into_inner());
    p.print(&Record::Summary(summary))?;
    p.finish()?;
    Ok(Exit::of_search(summary.matches > 0, summary.errors > 0))
}

/// Reads, hashes and matches one file. The bytes live only in this function.
fn check_file(matcher: &Matcher, path: &Path, max: u64) -> Outcome {
    let bytes = match super::walk::read_limited(path, max) {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(e),
    };
    match matcher.check_file_bytes(&bytes, path) {
        Ok(v) => Outcome::Checked(Box::new(v)),
        Err(CheckError::NotAnImage(e)) => Outcome::NotImage(e.to_string()),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The records of a file's matches (or weak candidates).
/// A video's frame rate (its frames' times), `None` for images.
fn frame_rate(v: &mediamatch::matcher::Verdict) -> Option<f64> {
    v.hashes.image.as_ref()?.as_ref().ok()?.frame_rate
}

fn match_records<'a>(
    path: &'a PathText,
    matches: &'a [Match],
    frame_rate: Option<f64>,
) -> impl Iterator<Item = ScanMatch<'a>> {
    matches.iter().map(move |m| ScanMatch {
        path,
        kind: m.kind.name(),
        distance: m.distance,
        evalue: m.evalue,
        variant: m.variant.map(|x| x.name()),
        list: &m.list,
        id: &m.id,
        label: &m.label,
        hash: m.hash.hex(),
        trimmed: m.trimmed,
        extended: m.extended,
        corroborated: m.corroborated,
        kinds: m.kinds.iter().map(|k| k.name()).collect(),
        frame: m.frame,
        // A video's frame 0 is at 0 s; an animation's frames have no rate.
        // A TMK match is of the whole video, not of a frame.
        seconds: frame_rate.filter(|_| m.tmk.is_none()).map(|r| f64::from(m.frame.unwrap_or(0)) / r),
        query_percent: m.video.map(|v| v.query_percent),
        compared_percent: m.video.map(|v| v.compared_percent),
        level1: m.tmk.map(|t| t.level1),
        level2: m.tmk.map(|t| t.level2),
    })
}
