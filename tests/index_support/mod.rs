//! Helpers shared by the index tests: catalogs from values, and the brute-force oracle.
#![allow(dead_code)]

use mediamatch::catalog::{Catalog, Entry, ImportCounts, ListInfo};
use mediamatch::index::{BuildOptions, DihedralHit, Structure};
use mediamatch::{HashValue, Phash, Variant};

/// Two lists and one entry per value; ids repeat so equal values with different ids and
/// entries on both lists occur.
pub fn catalog_of(values: &[HashValue]) -> Catalog {
    let lists = vec![
        ListInfo {
            name: "alpha".into(),
            source: "alpha.csv".into(),
            source_sha256: "ab".repeat(32),
            imported_at: 1_700_000_000,
            version: 3,
            counts: ImportCounts { added: 5, updated: 1, removed: 2, unchanged: 7, rejected: 1, skipped: 0 },
        },
        ListInfo { name: "beta".into(), source: "beta.txt".into(), ..Default::default() },
    ];
    let entries = values
        .iter()
        .enumerate()
        .map(|(i, v)| Entry {
            value: *v,
            id: format!("id{}", i % 7),
            label: if i % 3 == 0 { String::new() } else { format!("label ü{}", i % 4) },
            lists: match i % 3 {
                0 => vec![0],
                1 => vec![1],
                _ => vec![0, 1],
            },
        })
        .collect();
    Catalog { lists, entries, ..Default::default() }
}

/// The catalog's entries in the index's canonical order (entry number = position).
pub fn canonical(catalog: &Catalog) -> Vec<Entry> {
    let mut e = catalog.entries.clone();
    e.sort();
    e
}

/// Hamming distance of two perceptual values of the same kind; `None` otherwise.
pub fn distance(a: &HashValue, b: &HashValue) -> Option<u32> {
    match (a, b) {
        (HashValue::Pdq(x), HashValue::Pdq(y)) => Some(x.distance(y)),
        (HashValue::Phash(x), HashValue::Phash(y)) => Some(x.distance(y)),
        _ if a == b => Some(0),
        _ => None,
    }
}

/// Brute force: (entry, distance) of every entry within `radius` of `query`.
pub fn oracle(entries: &[Entry], query: &HashValue, radius: u32) -> Vec<(u32, u32)> {
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let d = distance(&e.value, query)?;
            let within = if query.kind().is_perceptual() { d <= radius } else { d == 0 };
            within.then_some((i as u32, d))
        })
        .collect()
}

/// Brute force for a dihedral pHash query: every entry within `radius` of any of the 8
/// variants, once, with its smallest distance and the first variant at that distance.
pub fn dihedral_oracle(entries: &[Entry], variants: &[Phash; 8], radius: u32) -> Vec<DihedralHit> {
    let mut want = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let HashValue::Phash(p) = e.value else { continue };
        let best = (0..8).map(|v| (p.distance(&variants[v]), v)).min().unwrap();
        if best.0 <= radius {
            want.push(DihedralHit { entry: i as u32, distance: best.0, variant: Variant::ALL[best.1] });
        }
    }
    want
}

/// Every structure the builder offers, with names for messages.
pub fn all_structures() -> Vec<(&'static str, BuildOptions)> {
    let mut v = vec![
        ("mih-auto", BuildOptions::default()),
        ("bk-tree", BuildOptions::with_structure(Structure::BkTree)),
        ("scan", BuildOptions::with_structure(Structure::Scan)),
    ];
    for (name, m) in [("mih-1", 1), ("mih-3", 3), ("mih-4", 4), ("mih-16", 16), ("mih-64", 64)] {
        v.push((name, BuildOptions::with_structure(Structure::Mih { substrings: Some(m) })));
    }
    v
}
