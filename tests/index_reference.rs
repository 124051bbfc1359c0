//! The index against the brute-force match lists computed independently (in Python) for
//! Meta's PDQ regression hash lists, in `../shared/reference/pdq`.

mod common;
mod index_support;

use std::collections::BTreeSet;
use std::path::Path;

use index_support::all_structures;
use mediamatch::catalog::{Catalog, Entry, ListInfo};
use mediamatch::index::{build, Index};
use mediamatch::{HashValue, Kind};

fn read_hashes(path: &Path, kind: Kind) -> Vec<HashValue> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Vec<HashValue> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| HashValue::parse(kind, l.trim()).unwrap())
        .collect();
    assert!(!v.is_empty(), "{} is empty", path.display());
    v
}

/// An index whose entry ids are the 1-based line numbers of `values`.
fn index_of(values: &[HashValue], opts: &mediamatch::index::BuildOptions) -> Index<Vec<u8>> {
    let catalog = Catalog {
        lists: vec![ListInfo { name: "reference".into(), ..Default::default() }],
        entries: values
            .iter()
            .enumerate()
            .map(|(i, v)| Entry { value: *v, id: (i + 1).to_string(), label: String::new(), lists: vec![0] })
            .collect(),
        ..Default::default()
    };
    Index::from_bytes(build(&catalog, opts).unwrap()).unwrap()
}

/// (query line, index line, distance) for every hit of every query.
fn pairs(index: &Index<Vec<u8>>, queries: &[HashValue], radius: u32) -> BTreeSet<(usize, usize, u32)> {
    let mut out = BTreeSet::new();
    for (qi, q) in queries.iter().enumerate() {
        for h in index.search(q, radius).unwrap() {
            let line: usize = index.entry(h.entry).unwrap().id.parse().unwrap();
            out.insert((qi + 1, line, h.distance));
        }
    }
    out
}

fn expected(path: &Path, cols: [&str; 3]) -> BTreeSet<(usize, usize, u32)> {
    common::read_tsv(path)
        .iter()
        .map(|r| (r[cols[0]].parse().unwrap(), r[cols[1]].parse().unwrap(), r[cols[2]].parse().unwrap()))
        .collect()
}

#[test]
fn needles_against_haystack_at_32() {
    let Some(shared) = common::shared_dir() else { return };
    let pdq = shared.join("reference/pdq");
    let input = pdq.join("upstream/pdq/data/reg-test-input");
    let needles = read_hashes(&input.join("needles.txt"), Kind::Pdq);
    let haystack = read_hashes(&input.join("haystack.txt"), Kind::Pdq);
    let want = expected(
        &pdq.join("expected/hashlists/needles_vs_haystack_le32.tsv"),
        ["needle_line", "haystack_line", "distance"],
    );
    assert_eq!(want.len(), 250);
    let counts = common::read_tsv(&pdq.join("expected/hashlists/needles_match_counts.tsv"));
    for (name, opts) in all_structures() {
        let index = index_of(&haystack, &opts);
        assert_eq!(pairs(&index, &needles, 32), want, "{name}");
        for row in &counts {
            let needle: usize = row["needle_line"].parse().unwrap();
            for d in [0u32, 2, 4, 8, 16, 24, 31, 32, 40, 48, 64] {
                let n: usize = row[&format!("count_le{d}")].parse().unwrap();
                assert_eq!(
                    index.search(&needles[needle - 1], d).unwrap().len(),
                    n,
                    "{name} needle {needle} d {d}"
                );
            }
        }
    }
}

#[test]
fn haystack_self_pairs_at_32() {
    let Some(shared) = common::shared_dir() else { return };
    let pdq = shared.join("reference/pdq");
    let haystack = read_hashes(&pdq.join("upstream/pdq/data/reg-test-input/haystack.txt"), Kind::Pdq);
    let want = expected(
        &pdq.join("expected/hashlists/haystack_self_pairs_le32.tsv"),
        ["line_a", "line_b", "distance"],
    );
    for (name, opts) in all_structures() {
        let index = index_of(&haystack, &opts);
        let got: BTreeSet<_> = pairs(&index, &haystack, 32).into_iter().filter(|(a, b, _)| a < b).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn long64_as_phash_self_pairs_at_20() {
    let Some(shared) = common::shared_dir() else { return };
    let pdq = shared.join("reference/pdq");
    let values = read_hashes(&pdq.join("upstream/pdq/data/reg-test-input/long64.dat"), Kind::Phash);
    let want = expected(
        &pdq.join("expected/hashlists/long64_self_pairs_le20.tsv"),
        ["line_a", "line_b", "distance"],
    );
    assert_eq!(want.len(), 419);
    for (name, opts) in all_structures() {
        let index = index_of(&values, &opts);
        let got: BTreeSet<_> = pairs(&index, &values, 20).into_iter().filter(|(a, b, _)| a < b).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn long256_all_pairs() {
    let Some(shared) = common::shared_dir() else { return };
    let pdq = shared.join("reference/pdq");
    let values = read_hashes(&pdq.join("upstream/pdq/data/reg-test-input/long256.dat"), Kind::Pdq);
    let want =
        expected(&pdq.join("expected/hashlists/long256_all_pairs.tsv"), ["line_a", "line_b", "distance"]);
    assert_eq!(want.len(), 1225);
    for (name, opts) in all_structures() {
        let index = index_of(&values, &opts);
        let got: BTreeSet<_> = pairs(&index, &values, 256).into_iter().filter(|(a, b, _)| a < b).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn short_matrices() {
    let Some(shared) = common::shared_dir() else { return };
    let pdq = shared.join("reference/pdq");
    for (file, matrix, kind) in [
        ("short64.dat", "short64_matrix.tsv", Kind::Phash),
        ("short256.dat", "short256_matrix.tsv", Kind::Pdq),
    ] {
        let values = read_hashes(&pdq.join("upstream/pdq/data/reg-test-input").join(file), kind);
        let rows = common::read_tsv(&pdq.join("expected/hashlists").join(matrix));
        assert_eq!(rows.len(), values.len());
        for (name, opts) in all_structures() {
            let index = index_of(&values, &opts);
            let got = pairs(&index, &values, kind.bits());
            for (i, row) in rows.iter().enumerate() {
                for j in 0..values.len() {
                    let d: u32 = row[&format!("d_line{}", j + 1)].parse().unwrap();
                    assert!(got.contains(&(i + 1, j + 1, d)), "{name} {file} {i} {j} {d}");
                }
            }
            assert_eq!(got.len(), values.len() * values.len(), "{name}");
        }
    }
}
