//! `mediamatch hash`: print the hashes of image files.

use std::path::PathBuf;

use anyhow::Context;
use mediamatch::hash::KindSet;
use mediamatch::hashing::{hash_bytes, HashOptions, Hashes};
use rayon::prelude::*;

use super::decoding::DecodeArgs;
use super::output::OutputFormat;
use super::parse;
use super::path_text::PathText;
use super::print::{csv::Table, Printer};
use super::record::{FileError, FileHashes, Record};
use super::walk::{read_limited, walk, Item, WalkOptions};
use super::Exit;

/// Arguments of `mediamatch hash`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Kinds to compute: a comma-separated list of pdq, phash, md5, sha1, sha256, or `all`.
    #[arg(long, short, default_value = "all", value_parser = parse::kinds)]
    kind: KindSet,
    /// Also print the 8 dihedral variants of each perceptual hash.
    #[arg(long)]
    dihedral: bool,
    /// Output format: text (the path, then `kind:hex` fields), json (JSON Lines of `hash`
    /// and `error` records) or csv (`kind,hash,quality,variant,id` with the path as id: a
    /// hash list that `build` and `import` read back).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Follow symbolic links while walking directories.
    #[arg(long, short = 'L')]
    follow: bool,
    /// Files larger than this are refused unread: bytes, or with a K/M/G suffix.
    #[arg(long, value_parser = parse::size, default_value = "256M")]
    max_filesize: u64,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    #[command(flatten)]
    decoding: DecodeArgs,
    /// Files and directories (recursed) to hash.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// How many files are hashed in parallel before their output is printed in order.
const CHUNK: usize = 256;

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    let options = HashOptions {
        kinds: args.kind,
        dihedral: args.dihedral,
        limits: args.decoding.limits(pool.current_num_threads()),
        ..HashOptions::default()
    };
    let stdout = std::io::stdout();
    let mut printer = Printer::new(args.format, std::io::BufWriter::new(stdout.lock()), Table::Hashes);
    let mut failed = 0usize;
    let mut items = walk(&args.paths, WalkOptions { follow: args.follow }).peekable();
    while items.peek().is_some() {
        // FIFOs, devices and unfollowed links inside a tree are passed over, as `scan` does.
        let chunk: Vec<Item> =
            items.by_ref().filter(|i| !matches!(i, Item::Skipped(..))).take(CHUNK).collect();
        let results: Vec<(PathBuf, Result<Hashes, String>)> = pool.install(|| {
            chunk
                .into_par_iter()
                .map(|item| match item {
                    Item::File(path) => {
                        let r = read_limited(&path, args.max_filesize).and_then(|bytes| {
                            let h = hash_bytes(&bytes, &options);
                            match &h.image {
                                Some(Err(e)) => Err(e.to_string()),
                                _ => Ok(h),
                            }
                        });
                        (path, r)
                    }
                    Item::Error(path, msg) => (path, Err(msg)),
                    Item::Skipped(path, _) => (path, Err("not read".into())),
                })
                .collect()
        });
        for (path, r) in results {
            let path = PathText::new(&path);
            match r {
                Ok(h) => printer.print(&Record::Hash(hash_record(&path, &h)))?,
                Err(error) => {
                    failed += 1;
                    printer.print(&Record::Error(FileError { path: &path, error: &error }))?;
                }
            }
        }
        printer.flush()?;
    }
    printer.finish()?;
    if failed > 0 {
        eprintln!("mediamatch hash: {failed} file(s) failed");
        return Ok(Exit::Error);
    }
    Ok(Exit::Success)
}

fn strings<T: ToString>(xs: &[T]) -> Vec<String> {
    xs.iter().map(ToString::to_string).collect()
}

/// The record of one file's hashes.
fn hash_record<'a>(path: &'a PathText, h: &Hashes) -> FileHashes<'a> {
    let img = h.image.as_ref().and_then(|r| r.as_ref().ok());
    FileHashes {
        path,
        pdq: img.and_then(|i| i.pdq).map(|p| p.hash.to_string()),
        pdq_quality: img.and_then(|i| i.pdq).map(|p| p.quality),
        pdq_dihedral: img.and_then(|i| i.pdq_dihedral.as_ref()).map(|d| strings(d)),
        phash: img.and_then(|i| i.phash).map(|p| p.to_string()),
        phash_dihedral: img.and_then(|i| i.phash_dihedral.as_ref()).map(|d| strings(d)),
        md5: h.md5.map(|d| d.to_string()),
        sha1: h.sha1.map(|d| d.to_string()),
        sha256: h.sha256.map(|d| d.to_string()),
        orientation: img.and_then(|i| i.orientation),
    }
}
