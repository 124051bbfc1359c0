//! Builder → bytes → index gives the catalog back; the same catalog gives the same bytes.

mod index_support;

use index_support::{all_structures, canonical, catalog_of};
use mediamatch::catalog::Catalog;
use mediamatch::index::{build, write_atomic, BuildOptions, Index, IndexError, FORMAT_VERSION};
use mediamatch::{HashValue, Kind, Md5, Pdq, Phash, Sha1, Sha256};
use proptest::prelude::*;

fn value_strategy() -> impl Strategy<Value = HashValue> {
    prop_oneof![
        any::<[u64; 4]>().prop_map(|w| HashValue::Pdq(Pdq { words: w })),
        any::<u64>().prop_map(|v| HashValue::Phash(Phash(v))),
        any::<[u8; 16]>().prop_map(|v| HashValue::Md5(Md5(v))),
        any::<[u8; 20]>().prop_map(|v| HashValue::Sha1(Sha1(v))),
        any::<[u8; 32]>().prop_map(|v| HashValue::Sha256(Sha256(v))),
        Just(HashValue::Phash(Phash(42))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn catalog_round_trips_and_bytes_are_deterministic(values in prop::collection::vec(value_strategy(), 0..80), seed in any::<u64>()) {
        let catalog = catalog_of(&values);
        for (name, opts) in all_structures() {
            let bytes = build(&catalog, &opts).unwrap();
            let index = Index::from_bytes(bytes.as_slice()).unwrap();
            index.verify().unwrap();
            let back = index.catalog().unwrap();
            prop_assert_eq!(&back.lists, &catalog.lists, "{}", name);
            prop_assert_eq!(&back.entries, &canonical(&catalog), "{}", name);
            // Rebuilding what came back, or the entries in another order, gives the same bytes.
            prop_assert_eq!(&build(&back, &opts).unwrap(), &bytes, "{}", name);
            let mut shuffled = catalog.clone();
            let len = shuffled.entries.len();
            if len > 1 {
                shuffled.entries.rotate_left((seed as usize) % len);
                shuffled.entries.swap(0, (seed as usize / 7) % len);
            }
            prop_assert_eq!(&build(&shuffled, &opts).unwrap(), &bytes, "{}", name);
            let info = index.info().unwrap();
            prop_assert_eq!(info.entries, values.len() as u64);
            prop_assert_eq!(info.kinds.iter().map(|k| k.entries).sum::<u64>(), values.len() as u64);
        }
    }
}

#[test]
fn entry_and_list_accessors() {
    let values: Vec<HashValue> =
        vec!["phash:8c563bb4622dd4e3".parse().unwrap(), HashValue::Md5(Md5([3; 16]))];
    let catalog = catalog_of(&values);
    let index = Index::from_bytes(build(&catalog, &BuildOptions::default()).unwrap()).unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(index.list_count(), 2);
    assert_eq!(index.kind_len(Kind::Phash), 1);
    assert_eq!(index.kind_len(Kind::Pdq), 0);
    let e = index.entry(0).unwrap();
    assert_eq!(e.value, values[0]);
    assert_eq!((e.id, e.label, e.lists.as_slice()), ("id0", "", &[0u32][..]));
    let e = index.entry(1).unwrap();
    assert_eq!((e.id, e.label, e.lists.as_slice()), ("id1", "label ü1", &[1u32][..]));
    assert_eq!(index.list(0).unwrap(), catalog.lists[0]);
    assert!(matches!(index.entry(2), Err(IndexError::OutOfRange { what: "entry", number: 2 })));
    assert!(matches!(index.list(2), Err(IndexError::OutOfRange { what: "list", number: 2 })));
    let info = index.info().unwrap();
    assert_eq!(info.format_version, FORMAT_VERSION);
    assert_eq!(info.kinds.iter().map(|k| k.kind).collect::<Vec<_>>(), [Kind::Phash, Kind::Md5]);
    assert_eq!(info.lists, catalog.lists);
}

#[test]
fn builder_rejects_unknown_lists() {
    let mut catalog = catalog_of(&[HashValue::Phash(Phash(1))]);
    catalog.entries[0].lists = vec![5];
    assert!(matches!(build(&catalog, &BuildOptions::default()), Err(IndexError::BadCatalog(_))));
}

#[test]
fn write_atomic_then_open_maps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known.mmi");
    let catalog = catalog_of(&[HashValue::Phash(Phash(7)), HashValue::Phash(Phash(8))]);
    write_atomic(&path, &build(&catalog, &BuildOptions::default()).unwrap()).unwrap();
    let index = Index::open(&path).unwrap();
    index.verify().unwrap();
    assert_eq!(index.search(&HashValue::Phash(Phash(7)), 4).unwrap().len(), 2);
    assert_eq!(index.search(&HashValue::Phash(Phash(7)), 3).unwrap().len(), 1);
    // Replacing the file leaves the open mapping on the old contents.
    write_atomic(&path, &build(&Catalog::default(), &BuildOptions::default()).unwrap()).unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(Index::open(&path).unwrap().len(), 0);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind");
    assert!(matches!(Index::open(dir.path().join("missing")), Err(IndexError::Io { .. })));
}

#[test]
fn wrong_version_says_to_rebuild() {
    let mut bytes = build(&Catalog::default(), &BuildOptions::default()).unwrap();
    bytes[8] = 99;
    let err = Index::from_bytes(bytes).unwrap_err();
    assert!(matches!(err, IndexError::Version { found: 99, .. }));
    assert!(err.to_string().contains("rebuild the index with `mediamatch build`"), "{err}");
    assert!(matches!(Index::from_bytes(b"hello world".to_vec()), Err(IndexError::BadMagic)));
}
