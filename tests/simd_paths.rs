//! Every CPU path of the hashing kernels ([`mediamatch::hash::simd`]) computes the same
//! bits: the whole corpus is hashed once per path this CPU supports (pHash with its eight
//! dihedral variants, and PDQ with its quality), each path's PNG hashes are checked
//! against Python imagehash and pdqhash (the manifest's columns), and every path's hashes
//! of every file must equal the baseline path's. The generated pHash edge cases
//! (`tests/data/phash`) are checked against imagehash on every path too, and every stage
//! of both hashers (luma, filter, block) on random images of awkward sizes must give the
//! baseline path's bits.
//!
//! One test in its own binary: [`simd::force`] switches the path for the whole process, so
//! no other test may run beside it.

mod common;

use std::path::Path;

use mediamatch::decode::{decode, ImageFormat, Limits};
use mediamatch::hash::{pdq, phash, simd};
use mediamatch::{Image, Pdq, Phash};
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

/// The kernels' outputs on one synthetic image: every stage, compared bit for bit.
struct Stages {
    what: String,
    phash_luma: Vec<u8>,
    phash: Phash,
    pdq_luma: Vec<u32>,
    block: Vec<u32>,
    pdq: pdq::PdqHash,
    pdq_meta: pdq::PdqHash,
}

impl PartialEq for Stages {
    fn eq(&self, o: &Stages) -> bool {
        (&self.phash_luma, self.phash, &self.pdq_luma, &self.block, self.pdq, self.pdq_meta)
            == (&o.phash_luma, o.phash, &o.pdq_luma, &o.block, o.pdq, o.pdq_meta)
    }
}

/// Random RGB and grey images of awkward sizes (remainders after every vector width, more
/// rows than a batch, tall and wide), through every kernel on the current path.
fn random_stages() -> Vec<Stages> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut out = Vec::new();
    for (w, h) in
        [(5, 5), (17, 9), (65, 64), (64, 64), (129, 300), (333, 131), (517, 389), (1000, 9), (9, 1000)]
    {
        let rgb: Vec<u8> = (0..w * h * 3).map(|_| next() as u8).collect();
        let grey: Vec<u8> = (0..w * h).map(|_| next() as u8).collect();
        for (kind, image) in
            [("rgb", Image::rgb(w, h, rgb).unwrap()), ("grey", Image::gray(w, h, grey).unwrap())]
        {
            let luma = pdq::stages::luma(&image);
            let block = pdq::stages::jarosz(&luma, w as usize, h as usize);
            out.push(Stages {
                what: format!("{kind} {w}x{h}"),
                phash_luma: phash::stages::luma(&image),
                phash: phash::hash(&image),
                pdq_luma: luma.iter().map(|v| v.to_bits()).collect(),
                block: block.iter().flatten().map(|v| v.to_bits()).collect(),
                pdq: pdq::hash(&image),
                pdq_meta: pdq::hash_with(&image, pdq::LumaRule::MetaCpp),
            });
        }
    }
    out
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
    let mut first_random: Option<Vec<Stages>> = None;
    for &path in &paths {
        simd::force(path).unwrap();
        assert_eq!(simd::current(), path);
        let random = random_stages();
        match &first_random {
            None => first_random = Some(random),
            Some(want) => {
                for (got, want) in random.iter().zip(want) {
                    assert!(got == want, "{}: the {} path differs from the baseline", got.what, path.name());
                }
            }
        }
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
