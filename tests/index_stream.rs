//! The streaming build (`build_file`: sorted runs on disk, a k-way merge, sections written
//! as they stream) writes the very bytes of the in-memory builder, at sizes and budgets
//! that force many runs and many slices per MIH table, and leaves no temporary file
//! behind, on success or on error.

mod index_support;

use std::path::Path;

use index_support::{all_structures, catalog_of};
use mediamatch::catalog::Catalog;
use mediamatch::index::{build, build_file, BuildOptions, Index, IndexError, StreamOptions, Structure};
use mediamatch::{HashValue, Md5, Pdq, Phash, Sha256};
use proptest::prelude::*;

fn value_strategy() -> impl Strategy<Value = HashValue> {
    prop_oneof![
        any::<[u64; 4]>().prop_map(|w| HashValue::Pdq(Pdq { words: w })),
        // Clustered pHash values, so MIH buckets hold several values and values repeat.
        (any::<u64>(), 0u64..4).prop_map(|(v, k)| HashValue::Phash(Phash(v & (0xff00_ff00_0000_ffff << k)))),
        any::<[u8; 16]>().prop_map(|v| HashValue::Md5(Md5(v))),
        any::<[u8; 32]>().prop_map(|v| HashValue::Sha256(Sha256(v))),
        Just(HashValue::Phash(Phash(42))),
    ]
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

/// Builds `catalog` both ways and checks the bytes are equal and nothing else is left.
fn same_bytes(catalog: &Catalog, options: &BuildOptions, memory: usize) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.mmi");
    let want = build(catalog, options).unwrap();
    let written = build_file(catalog.clone(), options, &StreamOptions { memory }, &path).unwrap();
    let got = std::fs::read(&path).unwrap();
    prop_assert!(
        got == want,
        "{} bytes streamed, {} in memory ({options:?}, memory {memory})",
        got.len(),
        want.len()
    );
    prop_assert_eq!(written.file_len, want.len() as u64);
    prop_assert_eq!(written.entries as usize, catalog.entries.len());
    prop_assert_eq!(names(dir.path()), vec!["index.mmi".to_string()]);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn streamed_bytes_are_the_in_memory_bytes(
        values in prop::collection::vec(value_strategy(), 0..300),
        memory in prop_oneof![Just(1usize), 64usize..4096, Just(1usize << 20)],
    ) {
        let catalog = catalog_of(&values);
        for (_, opts) in all_structures() {
            same_bytes(&catalog, &opts, memory)?;
        }
    }
}

/// Large enough for automatic MIH tables (more than `SMALL_SECTION` values per kind), run
/// sizes of a few entries and table slices of a few hundred positions.
#[test]
fn large_sections_stream_in_many_runs_and_slices() {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut values: Vec<HashValue> =
        (0..6000).map(|_| HashValue::Phash(Phash(next() & 0xffff_f0f0_ffff_0000))).collect();
    values.extend((0..1500).map(|_| HashValue::Pdq(Pdq { words: [next(), next(), next(), next()] })));
    values.extend((0..300).map(|i| HashValue::Md5(Md5([i as u8; 16]))));
    let catalog = catalog_of(&values);
    for memory in [700, 20_000, 256 << 20] {
        same_bytes(&catalog, &BuildOptions::default(), memory).unwrap();
    }
    same_bytes(&catalog, &BuildOptions::with_structure(Structure::BkTree), 3000).unwrap();
    // And the result opens, verifies and gives its catalog back.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.mmi");
    build_file(catalog.clone(), &BuildOptions::default(), &StreamOptions { memory: 700 }, &path).unwrap();
    let index = Index::from_bytes(std::fs::read(&path).unwrap()).unwrap();
    index.verify().unwrap();
    assert_eq!(index.len() as usize, values.len());
}

#[test]
fn a_failed_build_leaves_no_file_and_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.mmi");
    std::fs::write(&path, b"old").unwrap();
    let values: Vec<HashValue> = (0..500).map(|i| HashValue::Phash(Phash(i * 7919))).collect();
    let mut catalog = catalog_of(&values);
    catalog.entries[400].lists = vec![9];
    let err =
        build_file(catalog, &BuildOptions::default(), &StreamOptions { memory: 100 }, &path).unwrap_err();
    assert!(matches!(err, IndexError::BadCatalog(_)), "{err}");
    assert_eq!(names(dir.path()), ["i.mmi"]);
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
}
