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
    ("mih-auto", "1a3215933d6e756c1617081ab6c20e1a6744f2ba69f8461e33554d130eeb6c9c"),
    ("bk-tree", "06bde04d3d2ea02a0b606ddb47597906b285e3dcd25a69fa8eab2dabbcc1f1d8"),
    ("scan", "60e2a75d6038917629608eebc176dbb8ca11aff204f2a05a07537b29c37ff1cf"),
    ("mih-1", "89991f791f13bc900645802681257fe9ccb2ed8fc3514f762a02ba281fd6752b"),
    ("mih-3", "89991f791f13bc900645802681257fe9ccb2ed8fc3514f762a02ba281fd6752b"),
    ("mih-4", "89991f791f13bc900645802681257fe9ccb2ed8fc3514f762a02ba281fd6752b"),
    ("mih-16", "d96f14f988b26456dd2cc47187b2f6a3a1bc608e946970ef503f8510347f1fa1"),
    ("mih-64", "306977e9705a0274ed2b6664d51da5a9ef6c23c95475921aaea73580f7485f69"),
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
