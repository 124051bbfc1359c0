//! The items section: `Index::same_id` finds every entry with the same id, checked against
//! a brute force; tampered items sections are caught by `verify` and never make a query
//! panic; files of the previous format version are refused.

mod index_support;

use std::collections::BTreeSet;

use index_support::{canonical, catalog_of};
use mediamatch::catalog::{Catalog, Entry, ListInfo};
use mediamatch::index::{build, BuildOptions, Index, IndexError, Structure, FORMAT_VERSION};
use mediamatch::{HashValue, Md5, Pdq, Phash, Sha256};
use proptest::prelude::*;

/// Ids and labels come from one small pool, so ids repeat across kinds and lists, ids
/// equal labels and list names, and some are empty.
const POOL: [&str; 7] = ["", "a", "b", "case-7", "alpha", "ü", "aa"];

fn value_strategy() -> impl Strategy<Value = HashValue> {
    prop_oneof![
        (0u64..4).prop_map(|v| HashValue::Phash(Phash(v))),
        any::<u64>().prop_map(|v| HashValue::Phash(Phash(v))),
        (0u64..3).prop_map(|v| HashValue::Pdq(Pdq { words: [v, 0, v, 1] })),
        any::<[u8; 16]>().prop_map(|v| HashValue::Md5(Md5(v))),
        Just(HashValue::Sha256(Sha256([9; 32]))),
    ]
}

fn entry_strategy() -> impl Strategy<Value = Entry> {
    (value_strategy(), 0..POOL.len(), 0..POOL.len(), prop::sample::subsequence(vec![0u32, 1], 1..=2))
        .prop_map(|(value, id, label, lists)| Entry {
            value,
            id: POOL[id].to_string(),
            label: POOL[label].to_string(),
            lists,
        })
}

fn two_lists() -> Vec<ListInfo> {
    vec![
        ListInfo { name: "alpha".into(), source: "a".into(), ..Default::default() },
        ListInfo { name: "beta".into(), source: "case-7".into(), ..Default::default() },
    ]
}

/// Brute force over the entries in index order: every entry with `entry`'s id, or just
/// `entry` when the id is empty.
fn brute_same_id(entries: &[Entry], entry: usize) -> Vec<u32> {
    if entries[entry].id.is_empty() {
        return vec![entry as u32];
    }
    (0..entries.len()).filter(|&i| entries[i].id == entries[entry].id).map(|i| i as u32).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn same_id_equals_brute_force(entries in prop::collection::vec(entry_strategy(), 0..60)) {
        let catalog = Catalog { lists: two_lists(), entries, ..Default::default()  };
        let in_order = canonical(&catalog);
        for opts in [BuildOptions::default(), BuildOptions::with_structure(Structure::BkTree)] {
            let index = Index::from_bytes(build(&catalog, &opts).unwrap()).unwrap();
            index.verify().unwrap();
            prop_assert_eq!(index.len() as usize, in_order.len());
            for e in 0..in_order.len() {
                prop_assert_eq!(index.same_id(e as u32).unwrap(), brute_same_id(&in_order, e), "entry {}", e);
            }
            let n = index.len();
            let beyond = matches!(index.same_id(n), Err(IndexError::OutOfRange { what: "entry", .. }));
            prop_assert!(beyond, "entry {} is beyond the index", n);
        }
    }
}

fn entry(value: HashValue, id: &str, label: &str, lists: Vec<u32>) -> Entry {
    Entry { value, id: id.into(), label: label.into(), lists }
}

#[test]
fn entries_without_an_id_are_never_tied_together() {
    let p = HashValue::Phash(Phash(0x8c56_3bb4_622d_d4e3));
    let catalog = Catalog {
        lists: two_lists(),
        entries: vec![
            entry(p, "", "", vec![0]),
            entry(p, "", "x", vec![1]),
            entry(HashValue::Pdq(Pdq { words: [1, 2, 3, 4] }), "", "", vec![0]),
            entry(HashValue::Md5(Md5([1; 16])), "", "", vec![0, 1]),
            entry(HashValue::Md5(Md5([2; 16])), "k", "", vec![0]),
        ],
        ..Default::default()
    };
    let index = Index::from_bytes(build(&catalog, &BuildOptions::default()).unwrap()).unwrap();
    index.verify().unwrap();
    let mut empty = 0;
    for e in 0..index.len() {
        if index.entry(e).unwrap().id.is_empty() {
            empty += 1;
            assert_eq!(index.same_id(e).unwrap(), vec![e]);
        }
    }
    assert_eq!(empty, 4);
}

#[test]
fn one_item_spans_kinds_and_lists_even_when_its_id_is_also_a_label_or_list_name() {
    // "alpha" is first stored as a list name, then as a label, then as ids.
    let catalog = Catalog {
        lists: two_lists(),
        entries: vec![
            entry(HashValue::Phash(Phash(1)), "b", "alpha", vec![0]),
            entry(HashValue::Pdq(Pdq { words: [5, 5, 5, 5] }), "alpha", "", vec![1]),
            entry(HashValue::Md5(Md5([7; 16])), "alpha", "alpha", vec![0, 1]),
            entry(HashValue::Phash(Phash(2)), "alphabet", "", vec![0]),
            entry(HashValue::Phash(Phash(3)), "alph", "", vec![0]),
        ],
        ..Default::default()
    };
    let index = Index::from_bytes(build(&catalog, &BuildOptions::default()).unwrap()).unwrap();
    index.verify().unwrap();
    let alpha: Vec<u32> = (0..index.len()).filter(|&e| index.entry(e).unwrap().id == "alpha").collect();
    assert_eq!(alpha.len(), 2);
    for &e in &alpha {
        assert_eq!(index.same_id(e).unwrap(), alpha);
    }
    // Every distinct string is stored once.
    let mut strings = BTreeSet::new();
    for l in &catalog.lists {
        strings.extend([l.name.as_str(), l.source.as_str(), l.source_sha256.as_str()]);
    }
    for e in &catalog.entries {
        strings.extend([e.id.as_str(), e.label.as_str()]);
    }
    let distinct: usize = strings.iter().map(|s| s.len()).sum();
    assert_eq!(index.info().unwrap().string_bytes, distinct as u64);
}

/// Where the items section is: (offset, length) from the section table.
fn items_section(bytes: &[u8]) -> (usize, usize) {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let count = u32_at(24) as usize;
    (0..count)
        .map(|i| 64 + 32 * i)
        .find(|&rec| u32_at(rec) == 6 && bytes[rec + 4] == 0)
        .map(|rec| (u64_at(rec + 16), u64_at(rec + 24)))
        .expect("an items section")
}

/// Rewrites the checksum so that only the structural checks can catch a change.
fn reseal(bytes: &mut [u8]) {
    use sha2::Digest;
    bytes[32..64].fill(0);
    let sum = sha2::Sha256::digest(&bytes[..]);
    bytes[32..64].copy_from_slice(&sum);
}

fn sample_index() -> Vec<u8> {
    let mut values = Vec::new();
    for i in 0..30u64 {
        values.push(HashValue::Phash(Phash(i * 0x0101_0101)));
        values.push(HashValue::Pdq(Pdq { words: [i, !i, i << 3, 7] }));
    }
    values.push(HashValue::Md5(Md5([4; 16])));
    // Ids "id0".."id6" repeat, so every item has several entries.
    build(&catalog_of(&values), &BuildOptions::default()).unwrap()
}

fn is_items_damage(e: &IndexError) -> bool {
    matches!(e, IndexError::Corrupt { what: "items", .. })
}

#[test]
fn a_reversed_items_section_is_caught_and_never_answers_wrongly() {
    let bytes = sample_index();
    let intact = Index::from_bytes(bytes.clone()).unwrap();
    intact.verify().unwrap();
    let (at, len) = items_section(&bytes);
    assert_eq!(len, 4 * intact.len() as usize);
    let mut damaged = bytes.clone();
    let mut records: Vec<[u8; 4]> = damaged[at..at + len].chunks(4).map(|c| c.try_into().unwrap()).collect();
    records.reverse();
    damaged[at..at + len].copy_from_slice(&records.concat());
    reseal(&mut damaged);
    let index = Index::from_bytes(damaged).expect("opening does not read the items");
    let err = index.verify().unwrap_err();
    assert!(is_items_damage(&err), "{err}");
    let mut errors = 0;
    for e in 0..index.len() {
        match index.same_id(e) {
            Ok(same) => assert_eq!(same, intact.same_id(e).unwrap(), "entry {e}"),
            Err(err) => {
                assert!(is_items_damage(&err), "{err}");
                errors += 1;
            }
        }
    }
    assert!(errors > 0, "no query noticed the reversed section");
}

#[test]
fn a_swap_in_the_items_section_is_caught_by_verify() {
    let bytes = sample_index();
    let intact = Index::from_bytes(bytes.as_slice()).unwrap();
    let (at, len) = items_section(&bytes);
    let n = len / 4;
    // Swap the first record with the first one of another id.
    let entry_at = |b: &[u8], p: usize| u32::from_le_bytes(b[at + 4 * p..at + 4 * p + 4].try_into().unwrap());
    let id_of = |p: usize| intact.entry(entry_at(&bytes, p)).unwrap().id.to_string();
    let other = (1..n).find(|&p| id_of(p) != id_of(0)).unwrap();
    let mut damaged = bytes.clone();
    for k in 0..4 {
        damaged.swap(at + k, at + 4 * other + k);
    }
    reseal(&mut damaged);
    let index = Index::from_bytes(damaged).unwrap();
    let err = index.verify().unwrap_err();
    assert!(is_items_damage(&err), "{err}");
    let errors = (0..index.len()).filter(|&e| index.same_id(e).is_err()).count();
    assert!(errors > 0, "no query noticed the swap");
}

#[test]
fn an_entry_number_out_of_range_is_an_error_not_a_panic() {
    let bytes = sample_index();
    let intact = Index::from_bytes(bytes.as_slice()).unwrap();
    let (at, len) = items_section(&bytes);
    let n = intact.len();
    for (pos, bad) in [(0, n), (len / 8, u32::MAX), (len / 4 - 1, n + 1)] {
        let mut damaged = bytes.clone();
        let was = u32::from_le_bytes(damaged[at + 4 * pos..at + 4 * pos + 4].try_into().unwrap());
        damaged[at + 4 * pos..at + 4 * pos + 4].copy_from_slice(&bad.to_le_bytes());
        reseal(&mut damaged);
        let index = Index::from_bytes(damaged).unwrap();
        let err = index.verify().unwrap_err();
        assert!(is_items_damage(&err), "{err}");
        // The entry whose record was overwritten has a non-empty id: finding its run reads
        // the bad record, in the binary search or in the walk.
        assert!(!intact.entry(was).unwrap().id.is_empty());
        let err = index.same_id(was).unwrap_err();
        assert!(is_items_damage(&err), "{err}");
        for e in 0..n {
            let _ = index.same_id(e);
        }
    }
}

#[test]
fn an_items_section_of_the_wrong_length_or_missing_is_refused_on_open() {
    let bytes = sample_index();
    let (_, len) = items_section(&bytes);
    let count = u32::from_le_bytes(bytes[24..28].try_into().unwrap()) as usize;
    let rec = (0..count).map(|i| 64 + 32 * i).find(|&r| bytes[r..r + 4] == [6, 0, 0, 0]).unwrap();
    let mut short = bytes.clone();
    short[rec + 24..rec + 32].copy_from_slice(&(len as u64 - 4).to_le_bytes());
    reseal(&mut short);
    let err = Index::from_bytes(short).unwrap_err();
    assert!(is_items_damage(&err), "{err}");
    let mut missing = bytes.clone();
    missing[rec] = 7;
    reseal(&mut missing);
    assert!(matches!(Index::from_bytes(missing), Err(IndexError::Corrupt { .. })));
}

#[test]
fn every_byte_flip_and_truncation_leaves_same_id_safe() {
    let values = [
        HashValue::Phash(Phash(3)),
        HashValue::Phash(Phash(3)),
        HashValue::Pdq(Pdq { words: [1, 2, 3, 4] }),
        HashValue::Md5(Md5([5; 16])),
        HashValue::Phash(Phash(9)),
        HashValue::Sha256(Sha256([1; 32])),
        HashValue::Phash(Phash(10)),
        HashValue::Phash(Phash(11)),
    ];
    let bytes = build(&catalog_of(&values), &BuildOptions::default()).unwrap();
    let intact = Index::from_bytes(bytes.as_slice()).unwrap();
    assert!((0..intact.len()).any(|e| intact.same_id(e).unwrap().len() > 1), "some item has two entries");
    // A flip under the old checksum must fail `verify`; a resealed one may be harmless (a
    // padding byte, another label), and then `same_id` must still agree with a brute force.
    let run = |b: &[u8], sealed: bool| {
        let Ok(index) = Index::from_bytes(b) else { return };
        let answers: Vec<_> = (0..index.len() + 2).map(|e| index.same_id(e)).collect();
        match (index.verify(), sealed) {
            (Ok(()), true) => {
                let entries = index.catalog().unwrap().entries;
                for (e, answer) in answers.into_iter().enumerate().take(entries.len()) {
                    assert_eq!(answer.unwrap(), brute_same_id(&entries, e));
                }
            }
            (Ok(()), false) => panic!("verify missed a change"),
            (Err(_), _) => {}
        }
    };
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[i] ^= mask;
            run(&damaged, false);
            reseal(&mut damaged);
            run(&damaged, true);
        }
    }
    for end in 0..bytes.len() {
        run(&bytes[..end], false);
    }
}

#[test]
fn a_version_1_file_is_refused_with_the_upgrade_advice() {
    // Written by `mediamatch build` before the items section existed (see the README there).
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/index/format-v1.mmi");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"MMINDEX\0");
    let err = Index::from_bytes(bytes).unwrap_err();
    assert!(matches!(err, IndexError::Version { found: 1, expected: FORMAT_VERSION }), "{err}");
    assert!(err.to_string().contains("run `mediamatch upgrade INDEX`"), "{err}");
}
