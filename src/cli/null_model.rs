//! `mediamatch null-model`: measure how close hashes of unrelated images come, and write
//! the conservative tail table the E-values read (`src/significance/null-v1.tsv`).
//!
//! The photos of the folders are decoded (files that are not images are skipped and
//! named on stderr), each gives `--per-photo` derived images
//! ([`mediamatch::eval::negatives`]), every pair from different photos is compared
//! ([`mediamatch::eval::null`]), and the tails are fitted and bounded
//! ([`mediamatch::eval::tail`]). The table goes to stdout or `--out`; a summary (counts,
//! timings, tail values next to the binomial of uniform hashes) to stderr.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use mediamatch::decode::{decode, Limits};
use mediamatch::eval::negatives::derive;
use mediamatch::eval::null::{count, NullCounts, CLOSE_PDQ, CLOSE_PHASH, PDQ_BITS, PHASH_BITS};
use mediamatch::eval::tail::{
    binomial_log_tail, fit_joint, fit_tail, write_table, JointFit, TailFit, CONFIDENCE, DENSE, FIT_SLACK,
};
use mediamatch::matcher::DEFAULT_MIN_QUALITY;
use mediamatch::Image;

use super::parse::size as parse_size;
use super::Exit;

/// Arguments of `mediamatch null-model`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Folders of photos (their files, not subfolders; files that are not images are skipped).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Images derived from each photo (crops, scales, turns and mirrors).
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u32).range(1..))]
    per_photo: u32,
    /// Seed of the derivations (the same seed and photos give the same table).
    #[arg(long, default_value_t = 13)]
    seed: u64,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// Write the table here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// PDQ hashes below this quality are left out, as the matcher leaves them out.
    #[arg(long, default_value_t = DEFAULT_MIN_QUALITY)]
    min_quality: u8,
    /// Skip (and report) files larger than this: bytes, or with a K/M/G suffix.
    #[arg(long, value_parser = parse_size, default_value = "256M")]
    max_filesize: u64,
    /// Two photos (file names) of the same scene, e.g. `a.png,b.png`: their images are not
    /// unrelated, so pairs between them are not counted (repeatable).
    #[arg(long, value_name = "A,B", value_parser = same_scene)]
    same_scene: Vec<(String, String)>,
}

fn same_scene(s: &str) -> Result<(String, String), String> {
    match s.split_once(',') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() && a != b => Ok((a.to_string(), b.to_string())),
        _ => Err(format!("{s:?}: expected two different file names, A,B")),
    }
}

/// For each photo, the photo whose source number its derived images take: a photo named
/// second in a `--same-scene` pair takes the first's, so pairs between them are skipped.
fn scenes(names: &[String], pairs: &[(String, String)]) -> anyhow::Result<Vec<u32>> {
    let mut of: Vec<u32> = (0..names.len() as u32).collect();
    let at = |n: &str| {
        names.iter().position(|x| x == n).ok_or_else(|| anyhow::anyhow!("--same-scene: no photo named {n:?}"))
    };
    for (a, b) in pairs {
        let (a, b) = (at(a)?, at(b)?);
        let (root, old) = (of[a], of[b]);
        for s in of.iter_mut().filter(|s| **s == old) {
            *s = root;
        }
    }
    Ok(of)
}

/// Distances shown in the summary (and the docs).
const PHASH_SHOWN: [usize; 7] = [0, 2, 4, 6, 8, 10, 12];
const PDQ_SHOWN: [usize; 7] = [16, 24, 31, 40, 48, 64, 80];
/// Closest pairs shown in the summary.
const CLOSE_SHOWN: usize = 30;
const JOINT_SHOWN: [(usize, usize); 4] = [(8, 31), (12, 64), (12, 48), (10, 64)];

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    let (mut files, read_errors) = super::eval::read_photos(&args.dirs, args.max_filesize)?;
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let limits = Limits::default();
    let mut photos: Vec<Image> = Vec::with_capacity(files.len());
    let mut names = Vec::with_capacity(files.len());
    let mut skipped = 0;
    for f in files {
        match decode(&f.bytes, &limits) {
            Ok(d) => {
                photos.push(d.image);
                names.push(f.name);
            }
            Err(e) => {
                skipped += 1;
                eprintln!("{}: skipped: {e}", f.name);
            }
        }
    }
    if photos.len() < 2 {
        anyhow::bail!("null-model needs at least 2 photos that decode, found {}", photos.len());
    }
    let t0 = Instant::now();
    let scene = scenes(&names, &args.same_scene)?;
    let mut derived = pool.install(|| derive(&photos, args.per_photo, args.seed));
    for d in &mut derived {
        d.source = scene[d.source as usize];
    }
    let hashing_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let counts = pool.install(|| count(&derived, args.min_quality));
    let pairs_s = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let phash = fit_tail(&counts.phash(), &counts.phash_by_source);
    let pdq = fit_tail(&counts.pdq(), &counts.pdq_by_source);
    let joint = fit_joint(&counts.joint, &phash, &pdq);
    let fit_s = t2.elapsed().as_secs_f64();
    let fits = Fits { phash: &phash, pdq: &pdq, joint: &joint };
    let comments = provenance(&args, photos.len(), &counts, &fits);
    match &args.out {
        Some(path) => {
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
            );
            write_table(&mut out, &comments, &phash, &pdq, &joint)?;
            out.flush().with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write_table(&mut out, &comments, &phash, &pdq, &joint)?;
            out.flush()?;
        }
    }
    eprintln!(
        "null-model: {} photos ({skipped} skipped), {} derived images ({} with PDQ quality >= {}); \
         hashing {hashing_s:.1} s, {} pHash / {} PDQ pairs in {pairs_s:.1} s, fit {fit_s:.1} s",
        photos.len(),
        counts.images,
        counts.pdq_images,
        args.min_quality,
        phash.pairs,
        pdq.pairs
    );
    for line in summary(&fits) {
        eprintln!("{line}");
    }
    eprintln!(
        "closest unrelated pairs (pHash <= {CLOSE_PHASH} or PDQ <= {CLOSE_PDQ}), at most {CLOSE_SHOWN}:"
    );
    for pair in counts.closest.iter().take(CLOSE_SHOWN) {
        let describe = |(source, index): (u32, u32)| {
            let d = derived.iter().find(|d| d.source == source && d.index == index);
            let how = d.map_or(String::new(), |d| {
                let v = d.derivation;
                format!(
                    " [{}x{} at {},{} -> {}x{} {}, quality {}]",
                    v.width,
                    v.height,
                    v.x,
                    v.y,
                    v.out_width,
                    v.out_height,
                    v.variant.name(),
                    d.pdq.quality
                )
            });
            format!("{}#{index}{how}", names[source as usize])
        };
        let pdq = pair.pdq.map_or("-".to_string(), |q| q.to_string());
        eprintln!("  phash {} pdq {pdq}: {} / {}", pair.phash, describe(pair.a), describe(pair.b));
    }
    Ok(if read_errors > 0 { Exit::Error } else { Exit::Success })
}

/// The three fits, as the summary and provenance read them.
struct Fits<'a> {
    phash: &'a TailFit,
    pdq: &'a TailFit,
    joint: &'a JointFit,
}

/// The `#` lines of the table: how it was made, and the measured counts at key distances.
fn provenance(args: &Args, photos: usize, counts: &NullCounts, fits: &Fits) -> Vec<String> {
    // Folder names only: the table is committed, machine paths are not.
    let dirs: Vec<String> = args
        .dirs
        .iter()
        .map(|d| d.file_name().map_or_else(|| d.display().to_string(), |n| n.to_string_lossy().into_owned()))
        .collect();
    let mut c = vec![
        "mediamatch null model: P(distance <= d) between hashes of UNRELATED images, conservative (see docs/null-model.md)".to_string(),
        format!(
            "command: mediamatch null-model {} --per-photo {} --seed {} --min-quality {}{}",
            dirs.join(" "),
            args.per_photo,
            args.seed,
            args.min_quality,
            args.same_scene.iter().map(|(a, b)| format!(" --same-scene {a},{b}")).collect::<String>()
        ),
        format!("made: {} UTC, mediamatch {}", mediamatch::timestamp::date(std::time::SystemTime::now()), env!("CARGO_PKG_VERSION")),
        format!(
            "photos: {photos}; derived images: {} ({} per photo; crops 20-100% of each side, half scaled to 25-100%, one of 8 dihedral variants); PDQ quality >= {}: {}",
            counts.images, args.per_photo, args.min_quality, counts.pdq_images
        ),
        format!(
            "cross-photo pairs: phash {}, pdq {} (both qualities good), joint {}",
            fits.phash.pairs, fits.pdq.pairs, fits.joint.pairs
        ),
        format!(
            "fit: empirical bound = one-sided {}% Chernoff (KL) bound with pairs / design effect (photo clusters), used wherever a pair lies at or below d; the model is fitted and scaled where dense (at least {DENSE} pairs)",
            CONFIDENCE * 100.0
        ),
    ];
    for (kind, fit) in [("phash", fits.phash), ("pdq", fits.pdq)] {
        let m = fit.model;
        let first_dense = fit.dense.iter().position(|&x| x).unwrap_or(fit.dense.len());
        c.push(format!(
            "fit {kind}: d/2 ~ beta-binomial(n={}, alpha={:.6}, beta={:.6}) on the dense lower half (heaviest tail of fits within RMS log error +{FIT_SLACK} of best), times scale {:.4}; first dense d {first_dense}; design effect there {:.2}",
            m.trials, m.alpha, m.beta, fit.scale, fit.design_effect.get(first_dense).copied().unwrap_or(1.0)
        ));
    }
    c.push(format!(
        "fit joint: empirical bound wherever a pair lies in the cell, else {:.4} x P_phash(a) x P_pdq(b) (factor: largest ratio over dense cells), at most min(P_phash(a), P_pdq(b))",
        fits.joint.dependence
    ));
    for (kind, fit) in [("phash", fits.phash), ("pdq", fits.pdq)] {
        let cells: Vec<String> = fit.counts.iter().enumerate().map(|(d, n)| format!("{d}:{n}")).collect();
        c.push(format!("measured {kind} pairs at distance <= d: {}", cells.join(" ")));
    }
    let cells: Vec<String> =
        JOINT_SHOWN.iter().map(|&(a, b)| format!("({a},{b}):{}", fits.joint.count_at(a, b))).collect();
    c.push(format!("measured joint pairs at phash <= a and pdq <= b: {}", cells.join(" ")));
    c
}

/// Summary lines: tail values at key distances next to the binomial.
fn summary(fits: &Fits) -> Vec<String> {
    let mut out = vec![format!(
        "{:<6} {:>4} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "kind", "d", "pairs<=d", "empirical", "table", "binomial", "table/bin"
    )];
    for (kind, fit, bits, shown) in
        [("phash", fits.phash, PHASH_BITS, &PHASH_SHOWN[..]), ("pdq", fits.pdq, PDQ_BITS, &PDQ_SHOWN[..])]
    {
        for &d in shown {
            let bin = binomial_log_tail(bits as u32, d as u32).exp();
            out.push(format!(
                "{kind:<6} {d:>4} {:>12} {:>12.3e} {:>12.3e} {bin:>12.3e} {:>10.3e}",
                fit.counts[d],
                fit.counts[d] as f64 / fit.pairs.max(1) as f64,
                fit.values[d],
                fit.values[d] / bin
            ));
        }
    }
    for &(a, b) in &JOINT_SHOWN {
        let j = fits.joint;
        out.push(format!(
            "joint  ({a},{b}) {:>9} {:>12.3e} {:>12.3e}  product of marginals {:.3e}",
            j.count_at(a, b),
            j.count_at(a, b) as f64 / j.pairs.max(1) as f64,
            j.at(a, b),
            fits.phash.values[a] * fits.pdq.values[b]
        ));
    }
    out
}
