//! PDQ against Meta's reference core as `pdqhash` 0.2.8 computes it (full resolution, fed
//! Pillow's RGB decode). The expected values are in `../shared`; see its
//! `reference/pdq/README.md` for how they were made.

mod common;

use std::collections::HashMap;
use std::path::Path;

use mediamatch::decode::{decode, Limits};
use mediamatch::hash::pdq;
use mediamatch::{Pdq, Variant};
use rayon::prelude::*;

/// Decodes and hashes one file: (hash, quality, 8 dihedral hashes, dihedral quality).
fn hash_file(path: &Path) -> Result<(pdq::PdqHash, [Pdq; 8], u8), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let decoded = decode(&bytes, &Limits::default()).map_err(|e| format!("{}: {e}", path.display()))?;
    let plain = pdq::hash(&decoded.image);
    let (dihedral, quality) = pdq::hash_dihedral(&decoded.image);
    Ok((plain, dihedral, quality))
}

fn parse_pdq(s: &str) -> Pdq {
    s.parse().unwrap_or_else(|e| panic!("bad reference hash {s:?}: {e}"))
}

fn parse_quality(s: &str) -> u8 {
    s.parse().unwrap_or_else(|e| panic!("bad reference quality {s:?}: {e}"))
}

fn dihedral_columns(row: &HashMap<String, String>) -> [Pdq; 8] {
    Variant::ALL.map(|v| parse_pdq(&row[&format!("pdq_dih_{}", v.name())]))
}

/// Pillow's RGB pixels of 14 sample JPEGs, stored losslessly: hash, quality and the 8
/// dihedral hashes must be bit-identical, since no JPEG decoder is involved.
#[test]
fn decoded_samples_are_bit_identical() {
    let Some(shared) = common::shared_dir() else { return };
    let pdq_dir = shared.join("reference/pdq/expected");
    let decoded = common::read_tsv(&pdq_dir.join("decoded/decoded.tsv"));
    let by_image: HashMap<String, HashMap<String, String>> =
        common::read_tsv(&pdq_dir.join("pdqhash.tsv")).into_iter().map(|r| (r["image"].clone(), r)).collect();
    assert_eq!(decoded.len(), 14);
    let mut failures = Vec::new();
    for row in &decoded {
        let name = &row["decoded_png"];
        let (plain, dihedral, quality) =
            hash_file(&pdq_dir.join("decoded").join(name)).unwrap_or_else(|e| panic!("{e}"));
        let want = parse_pdq(&row["pdq"]);
        let want_quality = parse_quality(&row["pdq_quality"]);
        let source = by_image.get(&row["from_jpeg"]).unwrap_or_else(|| panic!("{} not in pdqhash.tsv", name));
        let want_dihedral = dihedral_columns(source);
        if plain.hash != want || plain.quality != want_quality {
            failures.push(format!(
                "{name}: got {} q{}, want {want} q{want_quality} ({} bits)",
                plain.hash,
                plain.quality,
                plain.hash.distance(&want)
            ));
        }
        if quality != want_quality {
            failures.push(format!("{name}: dihedral quality {quality}, want {want_quality}"));
        }
        for v in Variant::ALL {
            let (got, want) = (dihedral[v.index()], want_dihedral[v.index()]);
            if got != want {
                failures.push(format!("{name} {v}: got {got}, want {want} ({} bits)", got.distance(&want)));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// Hashes every corpus photo and returns (file, format, distance, quality equal) per row.
fn corpus_results(format: &str) -> Option<Vec<(String, u32, bool)>> {
    let shared = common::shared_dir()?;
    let corpus = shared.join("corpus");
    let rows: Vec<_> = common::read_tsv(&corpus.join("manifest.tsv"))
        .into_iter()
        .filter(|r| r["format"] == format)
        .collect();
    assert!(!rows.is_empty(), "no {format} rows in the corpus manifest");
    let results = rows
        .par_iter()
        .map(|row| {
            let (plain, _, _) = hash_file(&corpus.join(&row["file"])).unwrap_or_else(|e| panic!("{e}"));
            let want = parse_pdq(&row["pdq"]);
            let want_quality = parse_quality(&row["pdq_quality"]);
            (row["file"].clone(), plain.hash.distance(&want), plain.quality == want_quality)
        })
        .collect();
    Some(results)
}

/// Prints the distribution of distances and returns (identical, quality equal, max distance).
fn summarise(label: &str, results: &[(String, u32, bool)]) -> (usize, usize, u32) {
    let identical = results.iter().filter(|r| r.1 == 0).count();
    let quality_equal = results.iter().filter(|r| r.2).count();
    let max = results.iter().map(|r| r.1).max().unwrap_or(0);
    let n = results.len();
    eprintln!(
        "{label}: {n} files, {identical} bit-identical ({:.1}%), quality equal {quality_equal} ({:.1}%), max distance {max}",
        100.0 * identical as f64 / n as f64,
        100.0 * quality_equal as f64 / n as f64,
    );
    let mut worst: Vec<_> = results.iter().filter(|r| r.1 > 0 || !r.2).collect();
    worst.sort_by_key(|r| std::cmp::Reverse(r.1));
    for (file, d, q) in worst.iter().take(10) {
        eprintln!("  {file}: {d} bits{}", if *q { "" } else { ", quality differs" });
    }
    (identical, quality_equal, max)
}

/// Corpus PNGs (lossless, no decoder differences): every hash and quality exact.
#[test]
fn corpus_png_is_bit_identical() {
    let Some(results) = corpus_results("PNG") else { return };
    let (identical, quality_equal, _) = summarise("corpus PNG", &results);
    assert_eq!(identical, results.len(), "every PNG hash must be bit-identical to pdqhash");
    assert_eq!(quality_equal, results.len(), "every PNG quality must equal pdqhash's");
}

/// Corpus JPEGs: the hashing core is exact, so any gap is the JPEG decoder's. Targets:
/// at least 95% bit-identical, none more than 10 bits away, quality equal on at least 99%.
#[test]
fn corpus_jpeg_within_targets() {
    let Some(results) = corpus_results("JPEG") else { return };
    let (identical, quality_equal, max) = summarise("corpus JPEG", &results);
    let n = results.len();
    assert!(identical * 100 >= n * 95, "only {identical} of {n} JPEG hashes bit-identical (want >= 95%)");
    assert!(max <= 10, "a JPEG hash is {max} bits from pdqhash's (want <= 10)");
    assert!(quality_equal * 100 >= n * 99, "only {quality_equal} of {n} JPEG qualities equal (want >= 99%)");
}

/// Meta's acceptance rule on every upstream sample image the decoder reads: where the
/// reference quality is at least 80, the hash is within 10 bits of `pdqhash`'s.
#[test]
fn upstream_samples_meet_metas_rule() {
    let Some(shared) = common::shared_dir() else { return };
    let pdq_dir = shared.join("reference/pdq");
    let rows = common::read_tsv(&pdq_dir.join("expected/pdqhash.tsv"));
    let results: Vec<_> = rows
        .par_iter()
        .map(|row| {
            let path = pdq_dir.join("upstream").join(&row["image"]);
            (row, hash_file(&path))
        })
        .collect();
    let (mut checked, mut identical, mut dihedral_identical, mut unreadable) = (0, 0, 0, Vec::new());
    let mut failures = Vec::new();
    for (row, result) in &results {
        let name = &row["image"];
        let Ok((plain, dihedral, _)) = result else {
            unreadable.push(name.as_str());
            continue;
        };
        let want = parse_pdq(&row["pdq"]);
        let want_quality = parse_quality(&row["pdq_quality"]);
        let d = plain.hash.distance(&want);
        if d == 0 && plain.quality == want_quality {
            identical += 1;
        } else {
            eprintln!("  {name}: {d} bits, quality {} (pdqhash {want_quality})", plain.quality);
        }
        if *dihedral == dihedral_columns(row) {
            dihedral_identical += 1;
        }
        if want_quality >= 80 && d > 10 {
            failures.push(format!("{name}: {d} bits from pdqhash (quality {want_quality})"));
        }
        checked += 1;
    }
    eprintln!(
        "upstream samples: {checked} hashed, {identical} identical (hash and quality), \
         {dihedral_identical} with all 8 dihedral hashes identical; unreadable: {unreadable:?}"
    );
    assert!(checked >= 40, "only {checked} of {} sample images could be hashed", rows.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
