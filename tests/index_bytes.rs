//! The bytes the builder writes are pinned: the SHA-256 of the index of a fixed catalog
//! (every kind, two lists with provenance, repeated values, shared and empty ids) under
//! every structure. A change to any record's encoder, the section order or the padding
//! changes a digest here; the digests were recorded before the index module was split
//! into per-record encoders, so the split is proved byte-identical. A deliberate format
//! change updates them together with `FORMAT_VERSION`. Version 3 changed the version
//! field (the BK-tree and scan digests are those of the version 2 bytes with 3 written
//! there and the checksum recomputed) and the pHash MIH tables, which gained check words
//! (so the MIH digests are new).

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
    ("mih-auto", "1938b87e51ec1dc4bda4e6d59447fb1dce47ecc1c7d69f7b58e8f373acc63004"),
    ("bk-tree", "d84385e8f45199c4f3a5bf4a87b071af695ac87daf2aee4d804c8e9e048fd995"),
    ("scan", "1cf284f4018891db25cafe47619de0603943e027a054cbf671c4db4638db402d"),
    ("mih-1", "a4add8f2f25d59dd3b8c989fd5b51c726e656b1789b1cc4d1be67bd89393a981"),
    ("mih-3", "a4add8f2f25d59dd3b8c989fd5b51c726e656b1789b1cc4d1be67bd89393a981"),
    ("mih-4", "a4add8f2f25d59dd3b8c989fd5b51c726e656b1789b1cc4d1be67bd89393a981"),
    ("mih-16", "0efd7c92f5517d54e6723b9a4398d3feb78025db8d7c4cf04f7b65f251787ce8"),
    ("mih-64", "6ee7d352bec247057366632e771382c07111092393d0e7ff715ebcf0a55dce81"),
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
