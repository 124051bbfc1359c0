//! The bytes the builder writes are pinned: the SHA-256 of the index of a fixed catalog
//! (every kind, two lists with provenance, repeated values, shared and empty ids) under
//! every structure. A change to any record's encoder, the section order or the padding
//! changes a digest here; the digests were recorded before the index module was split
//! into per-record encoders, so the split is proved byte-identical. A deliberate format
//! change updates them together with `FORMAT_VERSION`.

mod index_support;

use index_support::{all_structures, catalog_of};
use mediamatch::index::build;
use mediamatch::{HashValue, Md5, Pdq, Phash, Sha1, Sha256};
use sha2::Digest;

/// A fixed spread of values of every kind, some repeated; more than `SMALL_SECTION` pHash
/// values so that the automatic MIH tables are built too.
fn values() -> Vec<HashValue> {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut v = Vec::new();
    for i in 0..1500 {
        let p = next();
        v.push(HashValue::Phash(Phash(if i % 50 == 0 { 0x8c56_3bb4_622d_d4e3 } else { p })));
    }
    for i in 0..300 {
        let w = [next(), next(), next(), next()];
        v.push(HashValue::Pdq(Pdq { words: if i % 40 == 0 { [1, 2, 3, 4] } else { w } }));
    }
    for i in 0..20u8 {
        let b = next().to_le_bytes();
        v.push(HashValue::Md5(Md5([b, [i; 8]].concat().try_into().unwrap())));
        v.push(HashValue::Sha1(Sha1([[i; 12].as_slice(), &b].concat().try_into().unwrap())));
        v.push(HashValue::Sha256(Sha256([b, b, [i; 8], b].concat().try_into().unwrap())));
    }
    v
}

const PINNED: &[(&str, &str)] = &[
    ("mih-auto", "a531cf1003cfcbe46bc609e47c242c493b0ae465db477d0dc9ae18a4b10f6155"),
    ("bk-tree", "06bde04d3d2ea02a0b606ddb47597906b285e3dcd25a69fa8eab2dabbcc1f1d8"),
    ("scan", "60e2a75d6038917629608eebc176dbb8ca11aff204f2a05a07537b29c37ff1cf"),
    ("mih-1", "6e1b80832cf3e3adeba93ad3f2ae922d692265dba3e0a9a313027d929187364d"),
    ("mih-3", "6e1b80832cf3e3adeba93ad3f2ae922d692265dba3e0a9a313027d929187364d"),
    ("mih-4", "6e1b80832cf3e3adeba93ad3f2ae922d692265dba3e0a9a313027d929187364d"),
    ("mih-16", "e73f6b3dfd9ff9e7b6952e550f87d8787f145e1301faefc1485265d4aad04004"),
    ("mih-64", "2a63006703793b1f9403268ee33fa2a06a442bced86cf54cec3a2dfed51530dd"),
];

#[test]
fn index_bytes_are_pinned_for_every_structure() {
    let catalog = catalog_of(&values());
    let mut got = Vec::new();
    for (name, opts) in all_structures() {
        let bytes = build(&catalog, &opts).unwrap();
        let digest: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        got.push((name, digest));
    }
    let want: Vec<(&str, String)> = PINNED.iter().map(|&(n, d)| (n, d.to_string())).collect();
    assert_eq!(got, want, "index bytes changed");
}
