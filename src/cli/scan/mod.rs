//! `mediamatch scan`: check every file under some paths against an index or lists.
//!
//! Paths come from a walk (or `--files-from`) on one thread; files are read, hashed and
//! matched on the rayon pool; records go through one locked printer, so lines never tear.
//! Errors are reported and counted, never fatal. Exit code: 0 a match, 1 none, 2 an error.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context};
use mediamatch::matcher::{CheckError, Config, Matcher, Verdict};
use rayon::prelude::*;
use serde::Serialize;

use super::decoding::DecodeArgs;
use super::matching::MatchArgs;
use super::output::{csv_field, OutputFormat};
use super::path_text::PathText;
use super::progress::Progress;
use super::sigbus;
use super::walk::{walk, Item, PathLines, Skip, WalkOptions};
use super::{lists_index, Exit};

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
    #[arg(long, value_name = "SIZE", value_parser = super::size::parse_size, default_value = "4G", requires = "list")]
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
    #[arg(long, value_parser = super::size::parse_size, default_value = "256M")]
    max_filesize: u64,
    #[command(flatten)]
    decoding: DecodeArgs,
    /// No progress display and no per-file messages for low-quality images and non-images.
    #[arg(long, short)]
    quiet: bool,
}

/// Counters for the summary. Those the SIGBUS guard reports live in its `Progress`.
struct Counts {
    seen: &'static sigbus::Progress,
    images: AtomicU64,
    not_images: AtomicU64,
    low_quality: AtomicU64,
    skipped_special: AtomicU64,
    skipped_symlinks: AtomicU64,
}

#[derive(Serialize)]
struct MatchRecord<'a> {
    #[serde(rename = "type")]
    kind_tag: &'static str,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_bytes: Option<&'a str>,
    kind: &'static str,
    distance: u32,
    variant: Option<&'static str>,
    list: &'a str,
    id: &'a str,
    label: &'a str,
    hash: String,
    trimmed: bool,
    extended: bool,
    corroborated: bool,
    kinds: Vec<&'static str>,
    /// The frame of an animation the match came from; absent for frame 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    frame: Option<u32>,
}

#[derive(Serialize)]
struct ErrorRecord<'a> {
    #[serde(rename = "type")]
    kind_tag: &'static str,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_bytes: Option<&'a str>,
    error: &'a str,
}

#[derive(Serialize)]
struct NotImageRecord<'a> {
    #[serde(rename = "type")]
    kind_tag: &'static str,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_bytes: Option<&'a str>,
    reason: &'a str,
}

#[derive(Serialize)]
struct LowQualityRecord<'a> {
    #[serde(rename = "type")]
    kind_tag: &'static str,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_bytes: Option<&'a str>,
    pdq_quality: u8,
}

#[derive(Serialize)]
struct SummaryRecord {
    #[serde(rename = "type")]
    kind_tag: &'static str,
    files: u64,
    images: u64,
    not_images: u64,
    errors: u64,
    matches: u64,
    matched_files: u64,
    low_quality: u64,
    skipped_special: u64,
    skipped_symlinks: u64,
    elapsed_s: f64,
    files_per_s: f64,
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
    let config = args.matching.config(Config {
        max_bytes: args.max_filesize,
        verify_on_load: !args.no_verify,
        limits: args.decoding.limits(pool.current_num_threads()),
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
        skipped_special: AtomicU64::new(0),
        skipped_symlinks: AtomicU64::new(0),
    };
    if args.index.is_some() {
        sigbus::install(counts.seen, args.format == OutputFormat::Json);
    }
    let printer = Mutex::new(Printer::new(args.format));
    let progress = Progress::new(!args.quiet, total_hint(&args));
    let (tx, rx) = std::sync::mpsc::sync_channel::<Item>(1024);
    let source =
        Source { paths: args.paths.clone(), files_from: args.files_from.clone(), follow: args.follow };
    let producer = std::thread::spawn(move || source.send_all(&tx));

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
            let path_s = PathText::new(&path);
            let mut p = printer.lock().unwrap_or_else(|e| e.into_inner());
            match outcome {
                Outcome::Checked(v) => {
                    counts.images.fetch_add(u64::from(v.decode_error().is_none()), Ordering::Relaxed);
                    counts.not_images.fetch_add(u64::from(v.decode_error().is_some()), Ordering::Relaxed);
                    if v.low_quality {
                        counts.low_quality.fetch_add(1, Ordering::Relaxed);
                        p.low_quality(&path_s, v.pdq_quality().unwrap_or(0), args.quiet, &progress);
                    }
                    if v.is_match() {
                        counts.seen.matched_files.fetch_add(1, Ordering::Relaxed);
                        counts.seen.matches.fetch_add(v.matches.len() as u64, Ordering::Relaxed);
                        p.matches(&path_s, &v, &progress);
                    }
                }
                Outcome::NotImage(reason) => {
                    counts.not_images.fetch_add(1, Ordering::Relaxed);
                    p.not_image(&path_s, &reason, args.quiet, &progress);
                }
                Outcome::Failed(msg) => {
                    counts.seen.errors.fetch_add(1, Ordering::Relaxed);
                    p.error(&path_s, &msg, &progress);
                }
            }
            drop(p);
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
    let summary = SummaryRecord {
        kind_tag: "summary",
        files: counts.seen.files.load(Ordering::Relaxed),
        images: counts.images.load(Ordering::Relaxed),
        not_images: counts.not_images.load(Ordering::Relaxed),
        errors: counts.seen.errors.load(Ordering::Relaxed),
        matches: counts.seen.matches.load(Ordering::Relaxed),
        matched_files: counts.seen.matched_files.load(Ordering::Relaxed),
        low_quality: counts.low_quality.load(Ordering::Relaxed),
        skipped_special: counts.skipped_special.load(Ordering::Relaxed),
        skipped_symlinks: counts.skipped_symlinks.load(Ordering::Relaxed),
        elapsed_s: (elapsed * 1000.0).round() / 1000.0,
        files_per_s: 0.0,
    };
    let summary = SummaryRecord {
        files_per_s: if elapsed > 0.0 { (summary.files as f64 / elapsed * 10.0).round() / 10.0 } else { 0.0 },
        ..summary
    };
    let mut p = printer.into_inner().unwrap_or_else(|e| e.into_inner());
    p.summary(&summary)?;
    Ok(Exit::of_search(summary.matches > 0, summary.errors > 0))
}

/// Reads, hashes and matches one file. The bytes live only in this function.
fn check_file(matcher: &Matcher, path: &Path, max: u64) -> Outcome {
    let bytes = match super::walk::read_limited(path, max) {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(e),
    };
    match matcher.check_bytes(&bytes) {
        Ok(v) => Outcome::Checked(Box::new(v)),
        Err(CheckError::NotAnImage(e)) => Outcome::NotImage(e.to_string()),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The total number of files when it is cheap to know (a regular `--files-from` file and no
/// PATHs; never a pipe or device, which could not be read twice or might never end).
fn total_hint(args: &Args) -> Option<u64> {
    match (&args.files_from, args.paths.is_empty()) {
        (Some(f), true) if f.as_os_str() != "-" => {
            let file = super::walk::open_regular(f).ok()?;
            let mut n = 0;
            for path in PathLines::new(std::io::BufReader::new(file)) {
                path.ok()?;
                n += 1;
            }
            Some(n)
        }
        _ => None,
    }
}

/// Where the paths come from.
struct Source {
    paths: Vec<PathBuf>,
    files_from: Option<PathBuf>,
    follow: bool,
}

impl Source {
    fn send_all(&self, tx: &std::sync::mpsc::SyncSender<Item>) {
        let opts = WalkOptions { follow: self.follow };
        for item in walk(&self.paths, opts) {
            if tx.send(item).is_err() {
                return;
            }
        }
        let Some(list) = &self.files_from else { return };
        // A named pipe is a fine source of paths (a batch system may feed one), so this open
        // may block until a writer comes; the reads are bounded per line (`PathLines`).
        let reader: Box<dyn BufRead> = if list.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            match std::fs::File::open(list) {
                Ok(f) => Box::new(std::io::BufReader::new(f)),
                Err(e) => {
                    let _ = tx.send(Item::Error(list.clone(), format!("cannot read --files-from: {e}")));
                    return;
                }
            }
        };
        for line in PathLines::new(reader) {
            let path = match line {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.send(Item::Error(list.clone(), format!("reading --files-from: {e}")));
                    return;
                }
            };
            // A listed directory is walked like a PATH argument.
            for item in walk(std::slice::from_ref(&path), opts) {
                if tx.send(item).is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes records to stdout (and messages to stderr) in the chosen format.
struct Printer {
    format: OutputFormat,
    out: std::io::BufWriter<std::io::Stdout>,
    wrote_header: bool,
}

impl Printer {
    fn new(format: OutputFormat) -> Printer {
        Printer { format, out: std::io::BufWriter::new(std::io::stdout()), wrote_header: false }
    }

    fn matches(&mut self, path: &PathText, v: &Verdict, progress: &Progress) {
        let _ = progress.suspend(|| -> std::io::Result<()> {
            for m in &v.matches {
                let variant = m.variant.map(|x| x.name());
                match self.format {
                    OutputFormat::Json => {
                        let rec = MatchRecord {
                            kind_tag: "match",
                            path: path.json(),
                            path_bytes: path.bytes_base64.as_deref(),
                            kind: m.kind.name(),
                            distance: m.distance,
                            variant,
                            list: &m.list,
                            id: &m.id,
                            label: &m.label,
                            hash: m.hash.hex(),
                            trimmed: m.trimmed,
                            extended: m.extended,
                            corroborated: m.corroborated,
                            kinds: m.kinds.iter().map(|k| k.name()).collect(),
                            frame: m.frame,
                        };
                        serde_json::to_writer(&mut self.out, &rec)?;
                        writeln!(self.out)?;
                    }
                    OutputFormat::Csv => {
                        self.header()?;
                        writeln!(
                            self.out,
                            "{},{},{},{},{},{},{},{},{},{},{},{}",
                            csv_field(&path.text),
                            m.kind,
                            m.distance,
                            variant.unwrap_or(""),
                            csv_field(&m.list),
                            csv_field(&m.id),
                            csv_field(&m.label),
                            m.trimmed,
                            m.extended,
                            m.corroborated,
                            m.kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join("+"),
                            m.frame.map(|f| f.to_string()).unwrap_or_default()
                        )?;
                    }
                    OutputFormat::Text => {
                        writeln!(
                            self.out,
                            "{}\t{} distance {} variant {}{}{}{}{} list {} id {} label {} agree {}",
                            path.text,
                            m.kind,
                            m.distance,
                            variant.unwrap_or("-"),
                            if m.trimmed { " (border trimmed)" } else { "" },
                            if m.extended { " (edges extended)" } else { "" },
                            if m.corroborated { " (corroborated)" } else { "" },
                            m.frame.map(|f| format!(" (frame {f})")).unwrap_or_default(),
                            m.list,
                            display_or_dash(&m.id),
                            display_or_dash(&m.label),
                            m.kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join("+")
                        )?;
                    }
                }
            }
            self.out.flush()
        });
    }

    fn header(&mut self) -> std::io::Result<()> {
        if !self.wrote_header {
            self.wrote_header = true;
            writeln!(
                self.out,
                "path,kind,distance,variant,list,id,label,trimmed,extended,corroborated,kinds,frame"
            )?;
        }
        Ok(())
    }

    fn error(&mut self, path: &PathText, msg: &str, progress: &Progress) {
        let _ = progress.suspend(|| -> std::io::Result<()> {
            if self.format == OutputFormat::Json {
                let rec = ErrorRecord {
                    kind_tag: "error",
                    path: path.json(),
                    path_bytes: path.bytes_base64.as_deref(),
                    error: msg,
                };
                serde_json::to_writer(&mut self.out, &rec)?;
                writeln!(self.out)?;
                self.out.flush()
            } else {
                self.out.flush()?;
                eprintln!("{}: {msg}", path.text);
                Ok(())
            }
        });
    }

    /// A file that is not an image (and matched no digest): not an error, but never silent,
    /// since a sweep must be able to say which files it could not check perceptually.
    fn not_image(&mut self, path: &PathText, reason: &str, quiet: bool, progress: &Progress) {
        let _ = progress.suspend(|| -> std::io::Result<()> {
            if self.format == OutputFormat::Json {
                let rec = NotImageRecord {
                    kind_tag: "not_image",
                    path: path.json(),
                    path_bytes: path.bytes_base64.as_deref(),
                    reason,
                };
                serde_json::to_writer(&mut self.out, &rec)?;
                writeln!(self.out)?;
                self.out.flush()
            } else {
                if !quiet {
                    self.out.flush()?;
                    eprintln!("{}: {reason}; not checked perceptually", path.text);
                }
                Ok(())
            }
        });
    }

    fn low_quality(&mut self, path: &PathText, quality: u8, quiet: bool, progress: &Progress) {
        let _ = progress.suspend(|| -> std::io::Result<()> {
            if self.format == OutputFormat::Json {
                let rec = LowQualityRecord {
                    kind_tag: "low_quality",
                    path: path.json(),
                    path_bytes: path.bytes_base64.as_deref(),
                    pdq_quality: quality,
                };
                serde_json::to_writer(&mut self.out, &rec)?;
                writeln!(self.out)?;
                self.out.flush()
            } else {
                if !quiet {
                    eprintln!("{}: PDQ quality {quality} is below --min-quality; PDQ not matched", path.text);
                }
                Ok(())
            }
        });
    }

    fn summary(&mut self, s: &SummaryRecord) -> anyhow::Result<()> {
        if self.format == OutputFormat::Csv {
            self.header()?;
        }
        if self.format == OutputFormat::Json {
            serde_json::to_writer(&mut self.out, s)?;
            writeln!(self.out)?;
        } else {
            eprintln!(
                "scanned {} files ({} images, {} not images, {} errors, {} low quality): {} matches in {} files; {:.1} s, {:.1} files/s",
                s.files, s.images, s.not_images, s.errors, s.low_quality, s.matches, s.matched_files, s.elapsed_s, s.files_per_s
            );
            if s.skipped_special + s.skipped_symlinks > 0 {
                eprintln!(
                    "skipped {} FIFOs, sockets or devices and {} symbolic links (not followed without --follow)",
                    s.skipped_special, s.skipped_symlinks
                );
            }
        }
        self.out.flush()?;
        Ok(())
    }
}

fn display_or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}
