//! Every CPU path of the hashing kernels ([`mediamatch::hash::simd`]) computes the same
//! bits: the whole corpus is hashed once per path this CPU supports (pHash with its eight
//! dihedral variants, and PDQ with its quality), each path's PNG hashes are checked
//! against Python imagehash and pdqhash (the manifest's columns), and every path's hashes
//! of every file must equal the baseline path's. The generated pHash edge cases
//! (`tests/data/phash`) are checked against imagehash on every path too.
//!
//! One test in its own binary: [`simd::force`] switches the path for the whole process, so
//! no other test may run beside it.

mod common;

use std::path::Path;

use mediamatch::decode::{decode, ImageFormat, Limits};
use mediamatch::hash::{pdq, phash, simd};
use mediamatch::{Pdq, Phash};
use rayon::prelude::*;

/// What one file hashes to on one path.
#[derive(Debug, PartialEq)]
struct Hashes {
    phash: [Phash; 8],
    pdq: Pdq,
    quality: u8,
}

fn hash_file(path: &Path) -> (ImageFormat, Hashes) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let decoded = decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let p = pdq::hash(&decoded.image);
    let phash = phash::hash_dihedral(&decoded.image);
    assert_eq!(phash[0], phash::hash(&decoded.image), "{}", path.display());
    (decoded.format, Hashes { phash, pdq: p.hash, quality: p.quality })
}

#[test]
fn every_cpu_path_hashes_the_corpus_to_the_same_bits_as_the_references() {
    let paths = simd::supported();
    assert!(paths.contains(&simd::Path::Baseline) && paths.contains(&simd::detected()));
    eprintln!("kernel paths on this CPU: {:?}", paths.iter().map(|p| p.name()).collect::<Vec<_>>());

    let edge_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/phash");
    let edge_rows = common::read_tsv(&edge_dir.join("expected.tsv"));
    assert!(edge_rows.len() >= 10, "expected.tsv lists only {} cases", edge_rows.len());
    let shared = common::shared_dir();
    let corpus_rows = shared.as_ref().map(|s| common::read_tsv(&s.join("corpus/manifest.tsv")));
    if let Some(rows) = &corpus_rows {
        assert!(rows.len() >= 400, "manifest.tsv has only {} rows", rows.len());
    }

    let mut first: Option<(simd::Path, Vec<Hashes>)> = None;
    for &path in &paths {
        simd::force(path).unwrap();
        assert_eq!(simd::current(), path);
        for row in &edge_rows {
            let name = &row["file"];
            let (_, got) = hash_file(&edge_dir.join(name));
            assert_eq!(got.phash[0].to_string(), row["phash"], "{name} on the {} path", path.name());
        }
        let Some(rows) = &corpus_rows else { continue };
        let dir = shared.as_ref().unwrap().join("corpus");
        let hashed: Vec<(ImageFormat, Hashes)> =
            rows.par_iter().map(|r| hash_file(&dir.join(&r["file"]))).collect();
        let mut pngs = 0;
        for (row, (format, got)) in rows.iter().zip(&hashed) {
            if *format == ImageFormat::Png {
                pngs += 1;
                let file = &row["file"];
                assert_eq!(
                    got.phash[0].to_string(),
                    row["phash"],
                    "{file}: pHash on the {} path",
                    path.name()
                );
                assert_eq!(got.pdq.to_string(), row["pdq"], "{file}: PDQ on the {} path", path.name());
            }
        }
        assert!(pngs > 0, "no PNG in the corpus");
        let hashes: Vec<Hashes> = hashed.into_iter().map(|(_, h)| h).collect();
        match &first {
            None => first = Some((path, hashes)),
            Some((base, expected)) => {
                for ((row, got), want) in rows.iter().zip(&hashes).zip(expected) {
                    assert_eq!(
                        got,
                        want,
                        "{}: the {} path differs from the {} path",
                        row["file"],
                        path.name(),
                        base.name()
                    );
                }
            }
        }
    }
}
