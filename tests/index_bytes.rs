//! The bytes the builder writes are pinned: the SHA-256 of the index of a fixed catalog
//! (every kind, two lists with provenance, repeated values, shared and empty ids) under
//! every structure. A change to any record's encoder, the section order or the padding
//! changes a digest here; the digests were recorded before the index module was split
//! into per-record encoders, so the split is proved byte-identical. A deliberate format
//! change updates them together with `FORMAT_VERSION` (the move to version 3 changed only
//! the version field: the version 2 digests were those of these bytes with 2 written there
//! and the checksum recomputed).

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
    ("mih-auto", "f7373ef851689e54234648d31bb263c37edd10a0ff3086fab5eeef80b93240a8"),
    ("bk-tree", "d84385e8f45199c4f3a5bf4a87b071af695ac87daf2aee4d804c8e9e048fd995"),
    ("scan", "1cf284f4018891db25cafe47619de0603943e027a054cbf671c4db4638db402d"),
    ("mih-1", "3665baddbca87fa5f1342946675f9cf7a4ef45167d50b8a712cc09acc398937e"),
    ("mih-3", "3665baddbca87fa5f1342946675f9cf7a4ef45167d50b8a712cc09acc398937e"),
    ("mih-4", "3665baddbca87fa5f1342946675f9cf7a4ef45167d50b8a712cc09acc398937e"),
    ("mih-16", "59fef682f7f1e3c68d97c8239b83c7e49d3d4528e713c5310f0b3f06aeabc644"),
    ("mih-64", "761fc437a39137a5cf45da8a3f56b191fe7de2bfd97ec3cf35b0a79391d00a1c"),
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
