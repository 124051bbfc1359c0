//! `mediamatch eval`: measure recall, wrong-id and false matches on transformed copies of
//! a folder of photos, at the configured thresholds and over a sweep of thresholds.
//!
//! Output: a text report (tables), or with `--format json` one JSON object, the
//! serialized [`mediamatch::eval::Report`]. Exit code: 0 when the evaluation ran
//! (misses are results, not failures), 2 when a file could not be read, a check failed
//! or the arguments were wrong.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use mediamatch::eval::distractors::DEFAULT_ITEMS;
use mediamatch::eval::{measure, report, EvalOptions, Photo, Report, SweepTable, Transform, WIDE};
use mediamatch::matcher::Config;
use mediamatch::Kind;

use super::matching::MatchArgs;
use super::output::{text_or_json, OutputFormat};
use super::parse::size as parse_size;
use super::Exit;

mod distractors;

/// Arguments of `mediamatch eval`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Folders of photos (their files, not subfolders; files that are not images are skipped).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Every N-th photo (by name) is known: its hashes go into the index. 2 = half.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    known_every: u64,
    /// The transforms to apply: `all` or names, e.g. `jpeg-q50,rotate-90` (the untransformed
    /// original is always checked).
    #[arg(long, value_parser = parse_transforms, default_value = "all")]
    transforms: TransformList,
    /// The thresholds and rules the report judges at (thresholds at most the query radii,
    /// pdq 96 and phash 24).
    #[command(flatten)]
    matching: MatchArgs,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// Output format.
    #[arg(long, value_parser = text_or_json(), default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Use only the first N photos (by name) that decode.
    #[arg(long)]
    limit: Option<usize>,
    /// Skip (and report) files larger than this: bytes, or with a K/M/G suffix.
    #[arg(long, value_parser = parse_size, default_value = "256M")]
    max_filesize: u64,
    /// How the checked copies are decoded: `exact`, or `fast` (JPEGs at a reduced DCT
    /// scale, as `scan --decode fast`). The known photos are always hashed exactly, as a
    /// list provider hashes them.
    #[arg(long, value_enum, default_value_t = super::decoding::DecodeMode::Exact)]
    decode: super::decoding::DecodeMode,
    /// The distractor benchmark: one run per size N (entries besides the known photos'),
    /// e.g. `0,1e4,1e5,1e6,1e7` (0 = the known photos alone). Queries only out to the
    /// caps, so the report has no threshold sweeps.
    #[arg(long, value_parser = parse_counts)]
    distractors: Option<Counts>,
    /// The photos the real-image-derived distractor items are made from (default: the
    /// evaluated folders; an item derived from a photo is related to that photo).
    #[arg(long, requires = "distractors")]
    distractor_dir: Vec<PathBuf>,
    /// Real-image-derived distractor items per run (at most what fits in N entries).
    #[arg(long, default_value_t = DEFAULT_ITEMS, requires = "distractors")]
    distractor_items: u64,
}

/// A parsed `--distractors` value.
#[derive(Clone, Debug)]
pub(crate) struct Counts(Vec<u64>);

/// Parses `1e4,100000,2e6`: plain integers or `<integer>e<exponent>`.
fn parse_counts(s: &str) -> Result<Counts, String> {
    let one = |part: &str| -> Option<u64> {
        if let Ok(n) = part.parse::<u64>() {
            return Some(n);
        }
        let (m, e) = part.split_once(['e', 'E'])?;
        let (m, e) = (m.parse::<u64>().ok()?, e.parse::<u32>().ok()?);
        m.checked_mul(10u64.checked_pow(e)?)
    };
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n = one(part).ok_or_else(|| format!("{part:?} is not a count (e.g. 10000 or 1e4)"))?;
        if n >= u64::from(u32::MAX) / 2 {
            return Err(format!("{part}: at most {} entries", u32::MAX / 2));
        }
        v.push(n);
    }
    if v.is_empty() {
        return Err("no sizes given".to_string());
    }
    Ok(Counts(v))
}

/// A parsed `--transforms` value.
#[derive(Clone, Debug)]
pub(crate) struct TransformList(Vec<Transform>);

fn parse_transforms(s: &str) -> Result<TransformList, String> {
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(TransformList(Transform::ALL.to_vec()));
    }
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let t: Transform = part.parse().map_err(|e| {
            let names: Vec<&str> = Transform::ALL.iter().map(|t| t.name()).collect();
            format!("{e}; known: all, {}", names.join(", "))
        })?;
        if !v.contains(&t) {
            v.push(t);
        }
    }
    Ok(TransformList(v))
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let matching = &args.matching;
    for (flag, t) in [("--max-distance", matching.max_distance), ("--corroborate", matching.corroborate)] {
        if t.pdq > WIDE.pdq || t.phash > WIDE.phash {
            bail!("{flag}: eval judges thresholds up to pdq={} and phash={}", WIDE.pdq, WIDE.phash);
        }
    }
    let (photos, read_errors) = read_photos(&args.dirs, args.max_filesize)?;
    if args.distractors.is_some() {
        return distractors::run(&args, photos, read_errors);
    }
    let options = EvalOptions {
        known_every: usize::try_from(args.known_every).unwrap_or(usize::MAX),
        transforms: args.transforms.0.clone(),
        limit: args.limit,
        // `measure` replaces the thresholds, policy and corroboration by its wide radii;
        // `report` applies them.
        config: matching.config(Config {
            max_bytes: args.max_filesize,
            limits: mediamatch::decode::Limits {
                jpeg_min_side: (args.decode == super::decoding::DecodeMode::Fast)
                    .then_some(mediamatch::decode::FAST_DECODE_SIDE),
                ..mediamatch::decode::Limits::default()
            },
            ..Config::default()
        }),
        wide: WIDE,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    let m = pool.install(|| measure(photos, &options))?;
    let r = report(&m, matching.max_distance, matching.require, matching.corroboration());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer(&mut out, &Typed { kind: "eval", record: &r })?;
            writeln!(out)?;
        }
        // `text_or_json` admits no other value.
        OutputFormat::Text | OutputFormat::Csv => print_text(&mut out, &r)?,
    }
    out.flush()?;
    for s in &r.skipped {
        eprintln!("{}: skipped: {}", s.name, s.error);
    }
    for e in &r.errors {
        eprintln!("{} [{}]: {}", e.photo, e.transform, e.error);
    }
    Ok(if read_errors > 0 || !r.errors.is_empty() { Exit::Error } else { Exit::Success })
}

/// Reads the files directly inside `dirs`; unreadable ones are reported and counted.
pub(super) fn read_photos(dirs: &[PathBuf], max: u64) -> anyhow::Result<(Vec<Photo>, usize)> {
    let mut paths = Vec::new();
    for dir in dirs {
        let rd = std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))?;
        for entry in rd {
            let entry = entry.with_context(|| format!("reading folder {}", dir.display()))?;
            let path = entry.path();
            if std::fs::metadata(&path).map(|m| m.is_file()).unwrap_or(false) {
                paths.push(path);
            }
        }
    }
    let mut photos = Vec::with_capacity(paths.len());
    let mut errors = 0;
    for path in paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match super::walk::read_limited(&path, max) {
            Ok(bytes) => photos.push(Photo { name, bytes }),
            Err(e) => {
                errors += 1;
                eprintln!("{}: {e}", path.display());
            }
        }
    }
    Ok((photos, errors))
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_else(|| "-".into())
}

fn dist(x: Option<u32>, wide: u32) -> String {
    x.map(|v| v.to_string()).unwrap_or_else(|| format!(">{wide}"))
}

fn onoff(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn print_text(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let s = &r.settings;
    let require = if s.require.is_empty() { "any".to_string() } else { s.require.join(",") };
    writeln!(
        out,
        "mediamatch eval: {} photos ({} known, {} unknown, {} skipped), {} checks in {:.1} s ({:.1} checks/s, {:.1} s in the matcher)",
        r.photos, r.known, r.unknown, r.skipped.len(), r.checks, r.elapsed_s, r.checks_per_s, r.check_cpu_s
    )?;
    writeln!(
        out,
        "thresholds pdq {} phash {}, require {require}, corroboration {}, min quality {}, dihedral {}, border removal {}, edge extension {}",
        s.pdq,
        s.phash,
        s.corroborate.map_or("off".to_string(), |c| format!("pdq {} and phash {}", c.pdq, c.phash)),
        s.min_quality,
        onoff(s.dihedral),
        onoff(s.border),
        onoff(s.extend)
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<13} {:>5} {:>7} {:>7} {:>7} {:>4} {:>4} {:>4} {:>4} {:>5} {:>5} | {:>22} | {:>20}",
        "transform",
        "known",
        "pdq",
        "phash",
        "any",
        "trim",
        "ext",
        "corr",
        "lowq",
        "wrong",
        "false",
        "pdq p50/p90/p99/max",
        "phash p50/p90/p99/max"
    )?;
    for t in r.transforms.iter().chain(std::iter::once(&r.overall)) {
        let d = |k: &mediamatch::eval::KindStats, w: u32| {
            format!("{}/{}/{}/{}", dist(k.p50, w), dist(k.p90, w), dist(k.p99, w), dist(k.max, w))
        };
        writeln!(
            out,
            "{:<13} {:>5} {:>7} {:>7} {:>7} {:>4} {:>4} {:>4} {:>4} {:>5} {:>5} | {:>22} | {:>20}",
            t.transform,
            t.known,
            pct(t.pdq.recall),
            pct(t.phash.recall),
            pct(t.any.recall),
            t.via_trimmed,
            t.via_extended,
            t.via_corroboration,
            t.low_quality,
            t.wrong_id,
            t.false_matches,
            d(&t.pdq, s.wide_pdq),
            d(&t.phash, s.wide_phash)
        )?;
    }
    writeln!(out)?;
    for (title, list) in [
        ("wrong-id matches", &r.wrong_id_matches),
        ("false matches", &r.false_matches),
        ("missed copies (distances to their own entry)", &r.missed),
    ] {
        writeln!(out, "{title}: {}", list.len())?;
        for b in list.iter().take(30) {
            writeln!(
                out,
                "  {} [{}] -> {} (pdq {}, phash {}{})",
                b.photo,
                b.transform,
                b.id,
                dist(b.pdq, s.wide_pdq),
                dist(b.phash, s.wide_phash),
                if b.md5 { ", md5" } else { "" }
            )?;
        }
        if list.len() > 30 {
            writeln!(out, "  ... and {} more (see --format json)", list.len() - 30)?;
        }
    }
    writeln!(out)?;
    for (_, n) in r.nearest_unrelated.iter() {
        let w = if n.kind == Kind::Pdq { s.wide_pdq } else { s.wide_phash };
        writeln!(
            out,
            "nearest unrelated {}: {} untransformed, {} transformed ({} comparisons)",
            n.kind.name(),
            dist(n.original, w),
            dist(n.transformed, w),
            n.pairs
        )?;
    }
    for (kind, pairs) in r.closest_pairs.iter() {
        let shown: Vec<String> = pairs
            .iter()
            .map(|p| {
                let tag = if p.known { "known" } else { "unknown" };
                format!("{} ({tag}) [{}] -> {}: {}", p.photo, p.transform, p.id, p.distance)
            })
            .collect();
        writeln!(out, "closest pairs of different photos by {}: {}", kind.name(), shown.join("; "))?;
    }
    // The hardest cases at the configured thresholds (lowest fused recall) get their own columns.
    let mut hard: Vec<(usize, f64)> =
        r.transforms.iter().enumerate().filter_map(|(i, t)| t.any.recall.map(|x| (i, x))).collect();
    hard.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    hard.truncate(4);
    for (_, table) in r.sweep.iter() {
        print_sweep(out, table, &hard)?;
    }
    print_corroboration(out, r, &hard)?;
    writeln!(out)?;
    writeln!(out, "targets (fused recall at the configured thresholds):")?;
    for t in &r.targets {
        writeln!(
            out,
            "  [{}] {}: worst {} {}",
            if t.met { "met" } else { "NOT met" },
            t.name,
            t.worst_transform.as_deref().unwrap_or("-"),
            pct(t.worst_recall)
        )?;
    }
    let clean = r.wrong_id_matches.is_empty() && r.false_matches.is_empty();
    writeln!(out, "  [{}] no false and no wrong-id match", if clean { "met" } else { "NOT met" })?;
    Ok(())
}

fn print_corroboration(out: &mut impl Write, r: &Report, hard: &[(usize, f64)]) -> std::io::Result<()> {
    if r.corroboration_sweep.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "corroboration sweep (pdq {} / phash {} alone, plus both within the row's thresholds; 0/0 = off):",
        r.settings.pdq, r.settings.phash
    )?;
    write!(out, "{:>4} {:>6} {:>7} {:>5}", "pdq", "phash", "any", "corr")?;
    for (i, _) in hard {
        write!(out, " {:>11}", r.transforms.get(*i).map(|t| t.transform.as_str()).unwrap_or("?"))?;
    }
    writeln!(out, " {:>5} {:>5}", "wrong", "false")?;
    for row in &r.corroboration_sweep {
        write!(
            out,
            "{:>4} {:>6} {:>7} {:>5}",
            row.pdq,
            row.phash,
            pct(row.recall.recall),
            row.via_corroboration
        )?;
        for (i, _) in hard {
            write!(out, " {:>11}", pct(row.per_transform.get(*i).copied().flatten()))?;
        }
        writeln!(out, " {:>5} {:>5}", row.wrong_id, row.false_matches)?;
    }
    Ok(())
}

fn print_sweep(out: &mut impl Write, t: &SweepTable, hard: &[(usize, f64)]) -> std::io::Result<()> {
    let other = if t.kind == Kind::Pdq { "phash" } else { "pdq" };
    writeln!(out)?;
    writeln!(out, "{} sweep (\"any\" = fused with {other} at {}):", t.kind.name(), t.other_threshold)?;
    write!(out, "{:>4} {:>7} {:>7}", "t", "recall", "any")?;
    for (i, _) in hard {
        write!(out, " {:>11}", t.transforms.get(*i).map(String::as_str).unwrap_or("?"))?;
    }
    writeln!(
        out,
        " {:>5} {:>5} {:>5} {:>5} {:>8} {:>9}",
        "wrong", "false", "awrng", "afals", "pairs", "rate"
    )?;
    for row in &t.rows {
        write!(out, "{:>4} {:>7} {:>7}", row.threshold, pct(row.recall.recall), pct(row.any_recall.recall))?;
        for (i, _) in hard {
            write!(out, " {:>11}", pct(row.per_transform.get(*i).copied().flatten()))?;
        }
        let rate = if t.pairs > 0 { row.unrelated_pairs as f64 / t.pairs as f64 } else { 0.0 };
        writeln!(
            out,
            " {:>5} {:>5} {:>5} {:>5} {:>8} {:>9.2e}",
            row.wrong_id,
            row.false_matches,
            row.any_wrong_id,
            row.any_false_matches,
            row.unrelated_pairs,
            rate
        )?;
    }
    Ok(())
}

/// A JSON record with the `type` field every `--format json` output starts with.
#[derive(serde::Serialize)]
pub(crate) struct Typed<'a, T: serde::Serialize> {
    /// The record type (`eval`, `eval_distractors`).
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    /// The record's own fields.
    #[serde(flatten)]
    pub(crate) record: &'a T,
}
