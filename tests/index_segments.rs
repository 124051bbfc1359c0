//! A segmented index (a manifest naming segments, with tombstones) grown by many small
//! imports holds and answers exactly what one file built from the same catalog holds and
//! answers. The oracle is [`delta::apply`] on an in-memory catalog (the rules imports
//! follow) and a fresh [`build`] of its result; the index under test is written only by
//! [`plan`] and [`commit`], as `mediamatch import` does, with merges of every size, and
//! finally [`compact`]ed.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::rng::Rng;
use mediamatch::catalog::Catalog;
use mediamatch::index::{
    build, commit, compact, read_manifest, segments_dir, BuildOptions, CommitOptions, Index, MergePolicy,
};
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::update::plan;
use mediamatch::lists::{ListFile, ListFormat, ParsedList, Record, Tombstone};
use mediamatch::{HashValue, Md5, Pdq, Phash};

/// Values to draw records from: clusters of near pHash and PDQ values (so radius queries
/// find several entries), and digests.
fn pool(rng: &mut Rng) -> Vec<HashValue> {
    let mut out = Vec::new();
    for _ in 0..8 {
        let p = rng.next();
        let q: [u64; 4] = std::array::from_fn(|_| rng.next());
        for _ in 0..5 {
            let flip = |rng: &mut Rng| 1u64 << rng.below(64);
            out.push(HashValue::Phash(Phash(p ^ flip(rng) ^ flip(rng))));
            let mut w = q;
            w[rng.below(4) as usize] ^= flip(rng);
            out.push(HashValue::Pdq(Pdq { words: w }));
        }
        let d: [u8; 16] = std::array::from_fn(|_| rng.next() as u8);
        out.push(HashValue::Md5(Md5(d)));
    }
    out
}

/// One random list file: records drawn from `pool` with ids, labels, some deletions, and
/// sometimes an id tombstone.
fn source(rng: &mut Rng, pool: &[HashValue], step: usize) -> ListFile {
    let ids = ["", "a1", "a2", "a3", "b1", "b2", "c"];
    let labels = ["", "x", "y"];
    let mut records = Vec::new();
    for line in 0..1 + rng.below(12) {
        records.push(Record {
            value: pool[rng.below(pool.len() as u64) as usize],
            id: ids[rng.below(ids.len() as u64) as usize].to_string(),
            label: labels[rng.below(labels.len() as u64) as usize].to_string(),
            deleted: rng.below(7) == 0,
            line: line + 1,
        });
    }
    let mut tombstones = Vec::new();
    if rng.below(5) == 0 {
        tombstones
            .push(Tombstone { id: ids[1 + rng.below(ids.len() as u64 - 1) as usize].to_string(), line: 99 });
    }
    let list = ParsedList {
        format: ListFormat::Csv,
        gzip: false,
        records,
        tombstones,
        rejects: Vec::new(),
        skipped: BTreeMap::new(),
        signatures: Default::default(),
    };
    ListFile { name: format!("step-{step}.csv"), sha256: format!("{step:064x}"), list }
}

/// What a search answers, independent of entry numbers: each hit's entry, list names and
/// distance, sorted.
fn answers<D: AsRef<[u8]>>(index: &Index<D>, query: &HashValue, radius: u32) -> Vec<String> {
    let mut out: Vec<String> = index
        .search(query, radius)
        .unwrap()
        .iter()
        .map(|hit| {
            let e = index.entry(hit.entry).unwrap().to_entry();
            let lists: Vec<String> = e.lists.iter().map(|&l| index.list(l).unwrap().name).collect();
            let item = index.same_id(hit.entry).unwrap().len();
            format!("{:?} {} {:?} {lists:?} d{} item of {item}", e.value, e.id, e.label, hit.distance)
        })
        .collect();
    out.sort();
    out
}

fn sorted(mut c: Catalog) -> Catalog {
    c.entries.sort();
    c
}

fn segment_files(path: &Path) -> usize {
    std::fs::read_dir(segments_dir(path)).map_or(0, |d| d.count())
}

fn run(seed: u64, steps: usize, merge: MergePolicy) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grown.mmi");
    let mut rng = Rng(seed);
    let pool = pool(&mut rng);
    let mut oracle = Catalog::default();
    let (mut most_segments, mut most_tombstones) = (0, 0);
    for step in 0..steps {
        let name = if rng.below(3) == 0 { "b" } else { "a" };
        let mode = if rng.below(6) == 0 { Mode::Replace } else { Mode::Delta };
        let src = source(&mut rng, &pool, step);
        let opts = ApplyOptions { mode, imported_at: 1_000 + step as u64 };
        let lists_before = oracle.lists.clone();
        let expected = apply(&mut oracle, name, std::slice::from_ref(&src), &opts);
        if !expected.changed {
            // An import that changes no entry writes nothing (its provenance included).
            oracle.lists = lists_before;
        }

        let opened = path.exists().then(|| Index::open_with_manifest(&path).unwrap());
        let empty = Index::from_bytes(build(&Catalog::default(), &BuildOptions::default()).unwrap()).unwrap();
        let planned = match &opened {
            Some((index, _)) => plan(index, name, std::slice::from_ref(&src), &opts).unwrap(),
            None => plan(&empty, name, std::slice::from_ref(&src), &opts).unwrap(),
        };
        assert_eq!(planned.outcome, expected, "step {step}: the plan's counts are the rules'");
        assert_eq!(planned.entries_after, oracle.entries.len() as u64, "step {step}");
        if planned.outcome.changed {
            let old = opened.as_ref().map(|(i, m)| (i, m.as_ref()));
            let options = CommitOptions { merge, ..CommitOptions::default() };
            commit(&path, old, &planned.update, &options).unwrap();
        }
        drop(opened);
        if !path.exists() {
            continue;
        }

        let index = Index::open(&path).unwrap();
        index.verify().unwrap();
        assert_eq!(sorted(index.catalog().unwrap()), sorted(oracle.clone()), "step {step}");
        assert_eq!(index.len() as usize, oracle.entries.len(), "step {step}");
        let fresh = Index::from_bytes(build(&oracle, &BuildOptions::default()).unwrap()).unwrap();
        // Counted over segments and tombstones, and by the one-segment pass of a fresh build.
        assert_eq!(index.item_pairs().unwrap(), fresh.item_pairs().unwrap(), "step {step}: item pairs");
        for q in pool.iter().step_by(3) {
            let radii: &[u32] = match q {
                HashValue::Phash(_) => &[0, 3, 8],
                HashValue::Pdq(_) => &[0, 2, 31],
                _ => &[0],
            };
            for &r in radii {
                assert_eq!(answers(&index, q, r), answers(&fresh, q, r), "step {step}: {q} at radius {r}");
            }
        }
        // Only the files the manifest names are left.
        let manifest = read_manifest(&path).unwrap().expect("imports write a manifest");
        assert_eq!(segment_files(&path), manifest.segments.len(), "step {step}");
        assert_eq!(index.segment_count(), manifest.segments.len());
        most_segments = most_segments.max(index.segment_count());
        most_tombstones = most_tombstones.max(index.tombstone_count() as usize);
    }

    // Compacted: one segment, no tombstones, the same catalog and answers.
    let (index, manifest) = Index::open_with_manifest(&path).unwrap();
    compact(&path, &index, manifest.as_ref(), &index.build_options()).unwrap();
    drop(index);
    let index = Index::open(&path).unwrap();
    index.verify().unwrap();
    assert_eq!((index.segment_count(), index.tombstone_count()), (1, 0));
    assert_eq!(segment_files(&path), 1);
    assert_eq!(sorted(index.catalog().unwrap()), sorted(oracle.clone()));
    let fresh = Index::from_bytes(build(&oracle, &BuildOptions::default()).unwrap()).unwrap();
    for q in &pool {
        assert_eq!(answers(&index, q, 8), answers(&fresh, q, 8), "{q} after compaction");
    }
    (most_segments, most_tombstones)
}

#[test]
fn many_small_imports_answer_like_one_build_of_the_same_catalog() {
    // The default policy, and one that never merges (segments and tombstones pile up).
    let (segments, tombstones) = run(7, 60, MergePolicy::default());
    assert!(
        segments >= 2 && tombstones >= 1,
        "the run exercised segments ({segments}) and tombstones ({tombstones})"
    );
    let never = MergePolicy { ratio: 0, max_dead: 1.0, ..MergePolicy::default() };
    let (segments, tombstones) = run(8, 60, never);
    assert!(segments >= 10 && tombstones >= 5, "segments {segments}, tombstones {tombstones}");
}

#[test]
fn merges_of_every_shape_keep_the_catalog() {
    // A policy that merges at once: every import rewrites the newest segments.
    let eager = MergePolicy { ratio: 1_000_000, ..MergePolicy::default() };
    let (segments, _) = run(9, 40, eager);
    assert!(segments <= 2, "{segments}");
    for seed in 10..14 {
        run(seed, 25, MergePolicy::default());
    }
}
