//! `mediamatch hash`: print the hashes of image files.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use mediamatch::hasher::{hash_bytes, HashOptions, Hashes, Kinds};
use mediamatch::{Kind, Variant};
use rayon::prelude::*;
use serde::Serialize;

use super::decoding::DecodeArgs;
use super::output::{csv_field, OutputFormat};
use super::path_text::PathText;
use super::walk::{read_limited, walk, Item, WalkOptions};
use super::Exit;

/// Arguments of `mediamatch hash`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Kinds to compute: a comma-separated list of pdq, phash, md5, sha1, sha256, or `all`.
    #[arg(long, short, default_value = "all", value_parser = parse_kinds)]
    kind: Kinds,
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
    #[arg(long, value_parser = super::size::parse_size, default_value = "256M")]
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

/// Parses `pdq,phash,md5` or `all`.
pub(crate) fn parse_kinds(s: &str) -> Result<Kinds, String> {
    let mut kinds = Kinds::NONE;
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.eq_ignore_ascii_case("all") {
            kinds = Kinds::all();
        } else {
            kinds.insert(part.parse::<Kind>().map_err(|e| e.to_string())?);
        }
    }
    if kinds.is_empty() {
        return Err("no hash kind given".into());
    }
    Ok(kinds)
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
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.format == OutputFormat::Csv {
        writeln!(out, "kind,hash,quality,variant,id")?;
    }
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
            match r {
                Ok(h) => print_hashes(&mut out, args.format, &path, &h)?,
                Err(msg) => {
                    failed += 1;
                    if args.format == OutputFormat::Json {
                        let p = PathText::new(&path);
                        let rec = ErrorRecord {
                            kind: "error",
                            path: p.json().to_string(),
                            path_bytes: p.bytes_base64,
                            error: msg,
                        };
                        serde_json::to_writer(&mut out, &rec)?;
                        writeln!(out)?;
                    } else {
                        out.flush()?;
                        eprintln!("{}: {msg}", PathText::new(&path).text);
                    }
                }
            }
        }
        out.flush()?;
    }
    if failed > 0 {
        eprintln!("mediamatch hash: {failed} file(s) failed");
        return Ok(Exit::Error);
    }
    Ok(Exit::Success)
}

#[derive(Serialize)]
struct ErrorRecord {
    #[serde(rename = "type")]
    kind: &'static str,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_bytes: Option<String>,
    error: String,
}

#[derive(Serialize)]
struct HashRecord {
    #[serde(rename = "type")]
    kind: &'static str,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_bytes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq_quality: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq_dihedral: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phash_dihedral: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    orientation: Option<u8>,
}

fn strings<T: ToString>(xs: &[T]) -> Vec<String> {
    xs.iter().map(ToString::to_string).collect()
}

fn print_hashes(
    out: &mut impl Write,
    format: OutputFormat,
    path: &std::path::Path,
    h: &Hashes,
) -> anyhow::Result<()> {
    let img = h.image.as_ref().and_then(|r| r.as_ref().ok());
    let printable = PathText::new(path);
    let path_s = printable.text.clone();
    match format {
        OutputFormat::Json => {
            let rec = HashRecord {
                kind: "hash",
                path: printable.json().to_string(),
                path_bytes: printable.bytes_base64,
                pdq: img.and_then(|i| i.pdq).map(|p| p.hash.to_string()),
                pdq_quality: img.and_then(|i| i.pdq).map(|p| p.quality),
                pdq_dihedral: img.and_then(|i| i.pdq_dihedral.as_ref()).map(|d| strings(d)),
                phash: img.and_then(|i| i.phash).map(|p| p.to_string()),
                phash_dihedral: img.and_then(|i| i.phash_dihedral.as_ref()).map(|d| strings(d)),
                md5: h.md5.map(|d| d.to_string()),
                sha1: h.sha1.map(|d| d.to_string()),
                sha256: h.sha256.map(|d| d.to_string()),
                orientation: img.and_then(|i| i.orientation),
            };
            serde_json::to_writer(&mut *out, &rec).context("writing JSON")?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            write!(out, "{path_s}")?;
            if let Some(p) = img.and_then(|i| i.pdq) {
                write!(out, "\tpdq:{} quality:{}", p.hash, p.quality)?;
            }
            if let Some(p) = img.and_then(|i| i.phash) {
                write!(out, "\tphash:{p}")?;
            }
            if let Some(d) = h.md5 {
                write!(out, "\tmd5:{d}")?;
            }
            if let Some(d) = h.sha1 {
                write!(out, "\tsha1:{d}")?;
            }
            if let Some(d) = h.sha256 {
                write!(out, "\tsha256:{d}")?;
            }
            writeln!(out)?;
            if let Some(i) = img {
                for (name, d) in [
                    ("pdq", i.pdq_dihedral.map(|d| strings(&d))),
                    ("phash", i.phash_dihedral.map(|d| strings(&d))),
                ] {
                    if let Some(d) = d {
                        for (v, hex) in Variant::ALL.iter().zip(d) {
                            writeln!(out, "{path_s}\t{name}:{hex} variant:{v}")?;
                        }
                    }
                }
            }
        }
        OutputFormat::Csv => {
            let id = csv_field(&path_s);
            if let Some(i) = img {
                if let Some(p) = i.pdq {
                    writeln!(out, "pdq,{},{},orig,{id}", p.hash, p.quality)?;
                    if let Some(d) = i.pdq_dihedral {
                        for (v, hash) in Variant::ALL.iter().zip(d).skip(1) {
                            writeln!(out, "pdq,{hash},{},{v},{id}", p.quality)?;
                        }
                    }
                }
                if let Some(p) = i.phash {
                    writeln!(out, "phash,{p},,orig,{id}")?;
                    if let Some(d) = i.phash_dihedral {
                        for (v, hash) in Variant::ALL.iter().zip(d).skip(1) {
                            writeln!(out, "phash,{hash},,{v},{id}")?;
                        }
                    }
                }
            }
            if let Some(d) = h.md5 {
                writeln!(out, "md5,{d},,,{id}")?;
            }
            if let Some(d) = h.sha1 {
                writeln!(out, "sha1,{d},,,{id}")?;
            }
            if let Some(d) = h.sha256 {
                writeln!(out, "sha256,{d},,,{id}")?;
            }
        }
    }
    Ok(())
}
