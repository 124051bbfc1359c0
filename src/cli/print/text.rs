//! Human-readable output: results on stdout, messages on stderr.
//!
//! Scan matches, hashes, query matches, `info` and the import summary are results. Errors,
//! files not checked perceptually and the scan's summary are messages (`path: reason`), so
//! a pipe of the results never mixes with them; stdout is flushed before a message is
//! written, so the two stay in order on a terminal.

use std::borrow::Cow;
use std::io::Write;

use mediamatch::Variant;

use crate::cli::record::{
    Capped, Effective, FileHashes, ImportSummary, IndexInfo, QueryMatch, Record, ScanMatch, ScanSummary,
};

/// Writes `record` as text; with `quiet`, messages about files not checked are left out.
pub(crate) fn write(out: &mut impl Write, record: &Record<'_>, quiet: bool) -> std::io::Result<()> {
    match record {
        Record::Match(m) => scan_match(out, m, ""),
        Record::Weak(m) => scan_match(out, m, "weak "),
        Record::QueryMatch(m) => query_match(out, m),
        Record::Hash(h) => hashes(out, h),
        Record::Info(i) => info(out, i),
        Record::Import(s) => import(out, s),
        #[cfg(feature = "fetch")]
        Record::Fetch(r) => writeln!(out, "{}", crate::cli::fetch::text_line(r)),
        Record::Error(e) => message(out, format_args!("{}: {}", e.path.text, e.error)),
        Record::NotImage(n) if !quiet => {
            message(out, format_args!("{}: {}; not checked perceptually", n.path.text, n.reason))
        }
        Record::LowQuality(l) if !quiet => message(
            out,
            format_args!(
                "{}: PDQ quality {} is below --min-quality; PDQ not matched",
                l.path.text, l.pdq_quality
            ),
        ),
        Record::NotImage(_) | Record::LowQuality(_) => Ok(()),
        Record::Summary(s) => scan_summary(out, s),
        Record::Fatal(f) => message(out, format_args!("mediamatch scan: {}", f.error)),
    }
}

/// A line on stderr, after what stdout holds so far.
fn message(out: &mut impl Write, line: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    out.flush()?;
    eprintln!("{line}");
    Ok(())
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// A scan match (or, with `what` = `"weak "`, a weak candidate) on one line.
fn scan_match(out: &mut impl Write, m: &ScanMatch<'_>, what: &str) -> std::io::Result<()> {
    writeln!(
        out,
        "{}\t{what}{} distance {} evalue {:.1e} variant {}{}{}{}{}{}{} list {} id {} label {} agree {}",
        m.path.text,
        m.kind,
        m.distance,
        m.evalue,
        m.variant.unwrap_or("-"),
        if m.trimmed { " (border trimmed)" } else { "" },
        if m.extended { " (edges extended)" } else { "" },
        if m.corroborated { " (corroborated)" } else { "" },
        match (m.frame, m.seconds) {
            (f, Some(s)) => format!(" (frame {} at {s:.2} s)", f.unwrap_or(0)),
            (Some(f), None) => format!(" (frame {f})"),
            (None, None) => String::new(),
        },
        match (m.query_percent, m.compared_percent) {
            (Some(q), Some(c)) =>
                format!(" (frames matched: {q:.1}% of the input's, {c:.1}% of the video's)"),
            _ => String::new(),
        },
        match (m.level1, m.level2) {
            (Some(l1), Some(l2)) => format!(" (TMK scores: level 1 {l1:.6}, level 2 {l2:.6})"),
            _ => String::new(),
        },
        m.list,
        or_dash(m.id),
        or_dash(m.label),
        m.kinds.join("+")
    )
}

fn scan_summary(out: &mut impl Write, s: &ScanSummary) -> std::io::Result<()> {
    message(
        out,
        format_args!(
            "scanned {} files ({} images, {} not images, {} errors, {} low quality): {} matches in {} files, {} weak candidates in {} more files; {:.1} s, {:.1} files/s",
            s.files, s.images, s.not_images, s.errors, s.low_quality, s.matches, s.matched_files, s.weak, s.weak_files, s.elapsed_s, s.files_per_s
        ),
    )?;
    if s.skipped_special + s.skipped_symlinks > 0 {
        message(
            out,
            format_args!(
                "skipped {} FIFOs, sockets or devices and {} symbolic links (not followed without --follow)",
                s.skipped_special, s.skipped_symlinks
            ),
        )?;
    }
    Ok(())
}

fn hashes(out: &mut impl Write, h: &FileHashes<'_>) -> std::io::Result<()> {
    let path = &h.path.text;
    write!(out, "{path}")?;
    if let (Some(p), Some(q)) = (&h.pdq, h.pdq_quality) {
        write!(out, "\tpdq:{p} quality:{q}")?;
    }
    for (kind, hash) in [("phash", &h.phash), ("md5", &h.md5), ("sha1", &h.sha1), ("sha256", &h.sha256)] {
        if let Some(hash) = hash {
            write!(out, "\t{kind}:{hash}")?;
        }
    }
    writeln!(out)?;
    for (kind, dihedral) in [("pdq", &h.pdq_dihedral), ("phash", &h.phash_dihedral)] {
        for (v, hex) in Variant::ALL.iter().zip(dihedral.iter().flatten()) {
            writeln!(out, "{path}\t{kind}:{hex} variant:{v}")?;
        }
    }
    Ok(())
}

/// Tabs and line breaks in ids and labels would break the text columns.
fn escape(s: &str) -> Cow<'_, str> {
    if s.contains(['\t', '\n', '\r']) {
        s.replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r").into()
    } else {
        s.into()
    }
}

fn query_match(out: &mut impl Write, m: &QueryMatch<'_>) -> std::io::Result<()> {
    let (id, label) = (escape(m.id), escape(m.label));
    writeln!(out, "{}\t{}\t{}\t{id}\t{label}\t{:.1e}", m.query, m.distance, m.list, m.evalue)
}

fn info(out: &mut impl Write, info: &IndexInfo) -> std::io::Result<()> {
    writeln!(out, "index:          {}", info.index)?;
    writeln!(out, "format version: {}", info.format_version)?;
    writeln!(out, "size:           {} bytes", info.file_bytes)?;
    writeln!(out, "entries:        {}", info.entries)?;
    writeln!(out, "segments:       {} ({} tombstoned entries)", info.segments, info.tombstones)?;
    writeln!(
        out,
        "tables:         {} bytes (entries, lists), {} bytes of strings",
        info.table_bytes, info.string_bytes
    )?;
    writeln!(out, "popcount:       {}", info.popcount)?;
    writeln!(out, "hash kernels:   {}", info.hash_kernels)?;
    let jpeg = if info.jpeg_simd {
        "libjpeg-turbo with SIMD"
    } else {
        "libjpeg-turbo WITHOUT SIMD (install nasm, rebuild)"
    };
    writeln!(out, "jpeg decoder:   {jpeg}")?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<8} {:>12} {:>14} {:>16}  structure",
        "kind", "entries", "value bytes", "structure bytes"
    )?;
    for k in &info.kinds {
        writeln!(
            out,
            "{:<8} {:>12} {:>14} {:>16}  {}",
            k.kind, k.entries, k.value_bytes, k.structure_bytes, k.structure
        )?;
    }
    writeln!(out)?;
    effective(out, &info.significance)?;
    writeln!(out)?;
    writeln!(out, "lists: {}", info.lists.len())?;
    for l in &info.lists {
        writeln!(out, "  {}: version {}, imported at {} (Unix time)", l.name, l.version, l.imported_at)?;
        writeln!(out, "    source: {} (sha256 {})", l.source, or_dash(&l.source_sha256))?;
        writeln!(
            out,
            "    last import: {} added, {} updated, {} removed, {} unchanged, {} rejected, {} skipped",
            l.added, l.updated, l.removed, l.unchanged, l.rejected, l.skipped
        )?;
        if let Some(f) = &l.fetch {
            let time = |key: &str| {
                f.get(key)
                    .and_then(|v| v.as_u64())
                    .map_or("never".to_string(), mediamatch::timestamp::rfc3339_seconds)
            };
            writeln!(
                out,
                "    fetched from: {}; checkpoint {}; last success {}, last attempt {}{}",
                f.get("source").and_then(|v| v.as_str()).unwrap_or("-"),
                f.get("checkpoint").unwrap_or(&serde_json::Value::Null),
                time("last_success"),
                time("last_attempt"),
                f.get("last_error")
                    .and_then(|v| v.as_str())
                    .map_or(String::new(), |e| format!("; last error: {e}"))
            )?;
        }
    }
    Ok(())
}

fn effective(out: &mut impl Write, e: &Effective) -> std::io::Result<()> {
    let at = |c: Capped| match c.effective {
        Some(t) => format!("{t} (cap {})", c.cap),
        None => format!("none (cap {})", c.cap),
    };
    writeln!(
        out,
        "effective thresholds (E-value <= {:e}; an image with a border: {} PDQ and {} pHash queries):",
        e.max_evalue, e.queries_pdq, e.queries_phash
    )?;
    writeln!(out, "  pdq:           {}", at(e.pdq))?;
    writeln!(out, "  phash:         {}", at(e.phash))?;
    writeln!(
        out,
        "  corroboration: phash {} at pdq {}, pdq {} at phash {} ({} item pairs)",
        at(e.corroborate_phash),
        e.corroborate_pdq.cap,
        at(e.corroborate_pdq),
        e.corroborate_phash.cap,
        e.item_pairs
    )
}

fn import(out: &mut impl Write, s: &ImportSummary<'_>) -> std::io::Result<()> {
    writeln!(
        out,
        "{}{} list {} v{}: added {}, updated {}, removed {}, unchanged {}, rejected {}, skipped {}{} ({} entries in the index)",
        if s.dry_run { "dry run: " } else { "" },
        s.index,
        s.list,
        s.version,
        s.added,
        s.updated,
        s.removed,
        s.unchanged,
        s.rejected,
        s.skipped,
        skipped_kinds(s),
        s.entries
    )
}

/// ` (photodna 120, tmk 3)`, or nothing when no record was skipped.
fn skipped_kinds(s: &ImportSummary<'_>) -> String {
    if s.skipped_kinds.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = s.skipped_kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    format!(" ({})", parts.join(", "))
}
