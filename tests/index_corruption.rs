//! Every single-byte change and every truncation of a small index either fails to open
//! with an error or answers every query without panicking; `verify` catches every change.

mod index_support;

use index_support::catalog_of;
use mediamatch::index::{build, BuildOptions, Index, Method, Structure};
use mediamatch::{HashValue, Md5, Pdq, Phash, Sha1};

fn small_values() -> Vec<HashValue> {
    let mut v = Vec::new();
    for i in 0..12u64 {
        let x = 0x8c56_3bb4_622d_d4e3u64 ^ (i * 0x0101) ^ (1 << (i * 5 % 64));
        v.push(HashValue::Phash(Phash(x)));
        v.push(HashValue::Pdq(Pdq { words: [x, !x, x.rotate_left(i as u32), i] }));
    }
    v.push(HashValue::Phash(Phash(0x8c56_3bb4_622d_d4e3)));
    v.push(HashValue::Md5(Md5([5; 16])));
    v.push(HashValue::Sha1(Sha1([6; 20])));
    v
}

/// Runs every kind of query and accessor; only errors are allowed, never a panic.
fn exercise(bytes: &[u8], queries: &[HashValue]) -> bool {
    let Ok(index) = Index::from_bytes(bytes) else { return false };
    for q in queries.iter().step_by(3) {
        for r in [0, 4, 40, 300] {
            for m in [Method::Auto, Method::Structure, Method::Scan] {
                let _ = index.search_with(q, r, m);
            }
        }
    }
    let _ = index.search_batch(queries, 10);
    let pdq = [Pdq { words: [1, 2, 3, 4] }; 8];
    let _ = index.search_dihedral_pdq(&pdq, 40);
    let _ = index.search_dihedral_phash(&[Phash(0x8c56_3bb4_622d_d4e3); 8], 8);
    for e in 0..index.len() + 2 {
        let _ = index.entry(e);
    }
    for l in 0..index.list_count() + 2 {
        let _ = index.list(l);
    }
    let _ = index.catalog();
    let _ = index.info();
    index.verify().is_ok()
}

fn structures() -> Vec<BuildOptions> {
    vec![
        BuildOptions {
            pdq: Structure::Mih { substrings: Some(64) },
            phash: Structure::Mih { substrings: Some(16) },
        },
        BuildOptions {
            pdq: Structure::Mih { substrings: Some(40) },
            phash: Structure::Mih { substrings: Some(8) },
        },
        BuildOptions::with_structure(Structure::BkTree),
        BuildOptions::with_structure(Structure::Scan),
    ]
}

#[test]
fn every_byte_flip_is_caught_or_harmless() {
    let values = small_values();
    let catalog = catalog_of(&values);
    for opts in structures() {
        let bytes = build(&catalog, &opts).unwrap();
        assert!(exercise(&bytes, &values), "the intact index verifies");
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0xff] {
                let mut damaged = bytes.clone();
                damaged[i] ^= mask;
                assert!(!exercise(&damaged, &values), "{opts:?}: verify missed a flip at byte {i}");
            }
        }
    }
}

#[test]
fn every_truncation_fails_to_open() {
    let values = small_values();
    let catalog = catalog_of(&values);
    for opts in structures() {
        let bytes = build(&catalog, &opts).unwrap();
        for len in 0..bytes.len() {
            let err = Index::from_bytes(&bytes[..len]).err();
            assert!(err.is_some(), "{opts:?}: a {len}-byte prefix opened");
            assert!(!err.unwrap().to_string().is_empty());
        }
        // Extra bytes at the end are rejected too.
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0; 8]);
        assert!(Index::from_bytes(longer).is_err());
    }
}

#[test]
fn random_garbage_after_a_valid_header_never_panics() {
    let values = small_values();
    let bytes = build(&catalog_of(&values), &structures()[0]).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        let mut damaged = bytes.clone();
        for _ in 0..8 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % damaged.len();
            damaged[at] = (state >> 32) as u8;
        }
        exercise(&damaged, &values);
    }
}
