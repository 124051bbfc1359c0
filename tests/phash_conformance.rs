//! pHash against Python imagehash 4.3.2 (`imagehash.phash(img)`, Pillow 13, scipy 1.17),
//! using the reference outputs in `../shared`.

mod common;

use std::path::Path;

use mediamatch::decode::{decode, ImageFormat, Limits};
use mediamatch::hash::phash;
use mediamatch::{Phash, Variant};
use rayon::prelude::*;

fn phash_file(path: &Path) -> (ImageFormat, Phash, [Phash; 8]) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let decoded = decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let variants = phash::hash_dihedral(&decoded.image);
    (decoded.format, phash::hash(&decoded.image), variants)
}

fn parse(hex: &str, what: &str) -> Phash {
    hex.parse().unwrap_or_else(|e| panic!("{what}: bad reference hash {hex:?}: {e}"))
}

/// The 14 lossless PNGs of Pillow's own RGB decode: no decoder difference is possible, so
/// every hash must be bit-identical.
#[test]
fn pillow_decoded_pngs_are_bit_identical() {
    let Some(shared) = common::shared_dir() else { return };
    let dir = shared.join("reference/pdq/expected/decoded");
    let rows = common::read_tsv(&dir.join("decoded.tsv"));
    assert_eq!(rows.len(), 14, "decoded.tsv should list 14 images");
    let mut wrong = Vec::new();
    for row in &rows {
        let name = &row["decoded_png"];
        let expected = parse(&row["phash"], name);
        let (_, got, variants) = phash_file(&dir.join(name));
        assert_eq!(variants[0], got, "{name}: hash_dihedral()[0] != hash()");
        if got != expected {
            wrong.push(format!("{name}: got {got}, imagehash {expected} ({} bits)", got.distance(&expected)));
        }
    }
    assert!(wrong.is_empty(), "pHash differs from imagehash:\n{}", wrong.join("\n"));
}

/// The dihedral variants of the bridge photo, computed from one DCT, against imagehash's
/// hashes of the files whose pixels were actually rotated and mirrored
/// (`reg-test-input/dih/bridge-N-*.jpg`, N = 1..=8 in `Variant::ALL` order).
#[test]
fn dihedral_variants_are_close_to_hashes_of_transformed_files() {
    let Some(shared) = common::shared_dir() else { return };
    let rows = common::read_tsv(&shared.join("reference/pdq/expected/pdqhash.tsv"));
    let (_, _, variants) =
        phash_file(&shared.join("reference/pdq/expected/decoded/bridge-1-original.pillow-rgb.png"));
    let mut seen = 0;
    let mut report = Vec::new();
    let mut worst = 0;
    for row in &rows {
        let image = &row["image"];
        let Some(rest) = image.strip_prefix("pdq/data/reg-test-input/dih/bridge-") else { continue };
        let n: usize = rest[..1].parse().unwrap_or_else(|_| panic!("{image}: no variant number"));
        let variant = Variant::ALL[n - 1];
        let expected = parse(&row["phash"], image);
        let d = variants[variant.index()].distance(&expected);
        report.push(format!("{variant}: {} vs {expected} ({d} bits)", variants[variant.index()]));
        worst = worst.max(d);
        seen += 1;
    }
    eprintln!("bridge dihedral pHash vs imagehash of transformed files:\n{}", report.join("\n"));
    assert_eq!(seen, 8, "expected the 8 bridge-N dihedral files in pdqhash.tsv");
    // The original itself is the decoded PNG above, so its distance is exactly 0; the
    // transformed JPEGs were re-encoded and resampled from rotated pixels, a few bits away.
    assert_eq!(variants[0].distance(&parse(&rows_phash(&rows, "bridge-1-original"), "orig")), 0);
    assert!(worst <= 4, "a dihedral variant is {worst} bits from imagehash of the transformed file");
}

fn rows_phash(rows: &[std::collections::HashMap<String, String>], stem: &str) -> String {
    rows.iter()
        .find(|r| r["image"].ends_with(&format!("{stem}.jpg")))
        .map(|r| r["phash"].clone())
        .unwrap_or_else(|| panic!("{stem} missing from pdqhash.tsv"))
}

struct Outcome {
    file: String,
    format: ImageFormat,
    distance: u32,
}

fn corpus_outcomes(shared: &Path) -> Vec<Outcome> {
    let rows = common::read_tsv(&shared.join("corpus/manifest.tsv"));
    assert!(rows.len() >= 400, "manifest.tsv has only {} rows", rows.len());
    rows.par_iter()
        .map(|row| {
            let file = row["file"].clone();
            let expected = parse(&row["phash"], &file);
            let (format, got, _) = phash_file(&shared.join("corpus").join(&file));
            Outcome { file, format, distance: got.distance(&expected) }
        })
        .collect()
}

fn summary(outcomes: &[&Outcome]) -> (usize, usize, u32) {
    let same = outcomes.iter().filter(|o| o.distance == 0).count();
    let worst = outcomes.iter().map(|o| o.distance).max().unwrap_or(0);
    (same, outcomes.len(), worst)
}

/// Corpus PNGs decode exactly, so their pHash must equal imagehash's on every file.
/// The JPEGs are checked by `corpus_jpegs_meet_the_target` below.
#[test]
fn corpus_pngs_are_bit_identical() {
    let Some(shared) = common::shared_dir() else { return };
    let outcomes = corpus_outcomes(&shared);
    let pngs: Vec<&Outcome> = outcomes.iter().filter(|o| o.format == ImageFormat::Png).collect();
    let jpegs: Vec<&Outcome> = outcomes.iter().filter(|o| o.format == ImageFormat::Jpeg).collect();
    assert!(!pngs.is_empty(), "no PNG in the corpus");
    let (same, total, worst) = summary(&pngs);
    eprintln!("corpus PNG pHash: {same}/{total} bit-identical, max distance {worst}");
    let (same_j, total_j, worst_j) = summary(&jpegs);
    eprintln!("corpus JPEG pHash: {same_j}/{total_j} bit-identical, max distance {worst_j}");
    let wrong: Vec<String> =
        pngs.iter().filter(|o| o.distance > 0).map(|o| format!("{} ({} bits)", o.file, o.distance)).collect();
    assert!(wrong.is_empty(), "PNG pHash differs from imagehash on: {}", wrong.join(", "));
}

/// Issue target for JPEGs: at least 95% bit-identical, none more than 4 bits away.
///
/// JPEG FAILS WITH A NON-PILLOW DECODER: the hashing core is exact (see the PNG tests), so
/// what this measures is how close the JPEG decoder's pixels are to Pillow's
/// (libjpeg-turbo). With the interim `image`-crate decoder it is expected to fail; it must
/// pass with a libjpeg-turbo-identical decoder.
#[test]
fn corpus_jpegs_meet_the_target() {
    let Some(shared) = common::shared_dir() else { return };
    let outcomes = corpus_outcomes(&shared);
    let jpegs: Vec<&Outcome> = outcomes.iter().filter(|o| o.format == ImageFormat::Jpeg).collect();
    assert!(!jpegs.is_empty(), "no JPEG in the corpus");
    let (same, total, worst) = summary(&jpegs);
    let share = same as f64 / total as f64;
    eprintln!(
        "corpus JPEG pHash: {same}/{total} ({:.1}%) bit-identical, max distance {worst}",
        100.0 * share
    );
    let far: Vec<String> = jpegs
        .iter()
        .filter(|o| o.distance > 4)
        .map(|o| format!("{} ({} bits)", o.file, o.distance))
        .collect();
    assert!(
        share >= 0.95 && far.is_empty(),
        "JPEG DECODER GAP (not a pHash bug if the PNG tests pass): {:.1}% bit-identical (target 95%), \
         {} files over 4 bits: {}",
        100.0 * share,
        far.len(),
        far.join(", ")
    );
}

/// Generated edge cases (`tests/data/phash/make.py`) with imagehash's own hashes: flat,
/// black and 1x1 images, ramps and mirror symmetry (exact-zero DCT coefficients), upscaling,
/// and tall images that Pillow 13 resizes vertically first.
#[test]
fn generated_edge_cases_match_imagehash() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/phash");
    let rows = common::read_tsv(&dir.join("expected.tsv"));
    assert!(rows.len() >= 10, "expected.tsv lists only {} cases", rows.len());
    let mut wrong = Vec::new();
    for row in &rows {
        let name = &row["file"];
        let expected = parse(&row["phash"], name);
        let (_, got, _) = phash_file(&dir.join(name));
        if got != expected {
            wrong.push(format!("{name}: got {got}, imagehash {expected}"));
        }
    }
    assert!(wrong.is_empty(), "pHash differs from imagehash:\n{}", wrong.join("\n"));
}
