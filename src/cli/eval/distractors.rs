//! `mediamatch eval --distractors N,...`: the distractor benchmark
//! ([`mediamatch::eval::distractors`]), printed as tables or one JSON object.

use std::io::Write;

use anyhow::Context;
use mediamatch::eval::distractors::{run as bench, DistractorCase, Projection, PROJECTED_ENTRIES};
use mediamatch::eval::{
    prepare, DistractorOptions, DistractorReport, DistractorRun, EvalOptions, Judging, Photo,
};
use mediamatch::matcher::Config;

use super::super::output::OutputFormat;
use super::super::Exit;
use super::{pct, read_photos, Args};

/// Runs the benchmark over `photos` (read with `read_errors` failures).
pub(super) fn run(args: &Args, photos: Vec<Photo>, read_errors: usize) -> anyhow::Result<Exit> {
    let matching = &args.matching;
    let judging = Judging {
        thresholds: matching.max_distance,
        require: matching.require,
        corroborate: matching.corroboration(),
    };
    let sizes = args.distractors.as_ref().map(|c| c.0.clone()).unwrap_or_default();
    let options = EvalOptions {
        known_every: usize::try_from(args.known_every).unwrap_or(usize::MAX),
        transforms: args.transforms.0.clone(),
        limit: args.limit,
        config: matching.config(Config { max_bytes: args.max_filesize, ..Config::default() }),
        // Only out to the caps: the wide radii against millions of entries are costly.
        wide: judging.radii(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    let (own, mut errors) = (args.distractor_dir.is_empty(), read_errors);
    let report = pool.install(|| -> anyhow::Result<DistractorReport> {
        let prepared = prepare(photos, &options)?;
        let from_dirs;
        let distractor_photos: &[Photo] = if own {
            prepared.photos()
        } else {
            let (p, e) = read_photos(&args.distractor_dir, args.max_filesize)?;
            errors += e;
            from_dirs = p;
            &from_dirs
        };
        let dist = DistractorOptions { sizes, items: args.distractor_items, judging };
        let progress = |r: &DistractorRun| {
            eprintln!(
                "distractors: N = {} done (index built in {:.1} s, checks {:.1} s; {} false, recall {})",
                r.entries,
                r.build_s,
                r.elapsed_s,
                r.overall.false_matches,
                pct(r.overall.recall.recall)
            )
        };
        Ok(bench(&prepared, distractor_photos, &options, &dist, &progress)?)
    })?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer(&mut out, &super::Typed { kind: "eval_distractors", record: &report })?;
            writeln!(out)?;
        }
        OutputFormat::Text | OutputFormat::Csv => print_text(&mut out, &report)?,
    }
    out.flush()?;
    Ok(if errors > 0 { Exit::Error } else { Exit::Success })
}

fn threshold(t: Option<u32>) -> String {
    t.map_or("none".to_string(), |t| t.to_string())
}

fn projection_line(p: &Projection) -> String {
    format!(
        "effective thresholds pdq {} phash {}; expected false matches per upload {:.2e} (pdq {:.1e}, phash {:.1e}, corroboration {:.1e}) = {:.3} per 10M uploads",
        threshold(p.pdq),
        threshold(p.phash),
        p.per_upload,
        p.evalue_pdq,
        p.evalue_phash,
        p.evalue_joint,
        p.per_upload * 1e7
    )
}

fn print_text(out: &mut impl Write, r: &DistractorReport) -> std::io::Result<()> {
    let s = &r.settings;
    writeln!(
        out,
        "mediamatch eval --distractors: {} photos ({} known), {} items derived from {} distractor photos in {:.1} s",
        r.photos, r.known, r.items_derived, r.distractor_photos, r.derive_s
    )?;
    writeln!(
        out,
        "caps pdq {} phash {}, corroboration {}, queried out to pdq {} phash {}; {}",
        s.pdq,
        s.phash,
        s.corroborate.map_or("off".to_string(), |c| format!("pdq {} and phash {}", c.pdq, c.phash)),
        s.wide_pdq,
        s.wide_phash,
        r.note
    )?;
    for run in &r.distractors {
        writeln!(out)?;
        writeln!(
            out,
            "N = {} distractor entries ({} items with {} entries, {} random); index pdq {} phash {}, {} item pairs; built in {:.1} s, checked in {:.1} s ({:.1} s in the matcher)",
            run.entries,
            run.items,
            run.item_entries,
            run.random,
            run.index_pdq,
            run.index_phash,
            run.index_item_pairs,
            run.build_s,
            run.elapsed_s,
            run.check_cpu_s
        )?;
        writeln!(out, "  bordered image: {}", projection_line(&run.projected))?;
        writeln!(
            out,
            "  {:<13} {:>5} {:>7} {:>8} {:>5} {:>5} {:>7} {:>9} {:>6} {:>4} {:>4}",
            "transform",
            "known",
            "unknown",
            "recall",
            "wrong",
            "false",
            "checks",
            "per-M",
            "weak",
            "wown",
            "rel"
        )?;
        for c in run.transforms.iter().chain(std::iter::once(&run.overall)) {
            print_case(out, c)?;
        }
        for b in run.false_matches.iter().take(20) {
            writeln!(
                out,
                "  false: {} [{}] -> {} (pdq {}, phash {})",
                b.photo,
                b.transform,
                b.id,
                threshold(b.pdq),
                threshold(b.phash)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "projected to {PROJECTED_ENTRIES} entries: {}", projection_line(&r.projection))?;
    writeln!(out, "targets:")?;
    for t in &r.targets {
        writeln!(out, "  [{}] {}: {}", if t.met { "met" } else { "NOT met" }, t.name, t.measured)?;
    }
    Ok(())
}

fn print_case(out: &mut impl Write, c: &DistractorCase) -> std::io::Result<()> {
    writeln!(
        out,
        "  {:<13} {:>5} {:>7} {:>8} {:>5} {:>5} {:>7} {:>9} {:>6} {:>4} {:>4}",
        c.transform,
        c.known,
        c.unknown,
        pct(c.recall.recall),
        c.wrong_id,
        c.false_matches,
        c.unrelated,
        c.false_per_million.map_or("-".to_string(), |x| format!("{x:.0}")),
        c.weak,
        c.weak_own,
        c.related
    )
}
