//! Any bytes as a manifest: decoding must fail cleanly or give a manifest that encodes
//! back to the same bytes. The input is also sealed (its length and checksum filled in)
//! so the fuzzer reaches the body, and a manifest decoded from it is pointed at two real
//! segments (its pins rewritten to theirs, its tombstones and lists left as fuzzed):
//! opening must fail cleanly or give an index that answers, lists, verifies and reports
//! without panicking.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mediamatch::catalog::{Catalog, Entry, ListInfo};
use mediamatch::index::manifest::{seal, Manifest, MANIFEST_MAGIC};
use mediamatch::index::{build, BuildOptions, Index, FORMAT_VERSION};
use mediamatch::{HashValue, Md5, Pdq, Phash};

/// Two small segments: (bytes, header checksum, entries).
fn segments() -> &'static [(Vec<u8>, [u8; 32], u32); 2] {
    static SEGMENTS: OnceLock<[(Vec<u8>, [u8; 32], u32); 2]> = OnceLock::new();
    SEGMENTS.get_or_init(|| {
        std::array::from_fn(|k| {
            let lists = vec![
                ListInfo { name: "a".into(), ..ListInfo::default() },
                ListInfo { name: "b".into(), ..ListInfo::default() },
            ];
            let entries = (0..5u64 + k as u64)
                .flat_map(|i| {
                    let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ k as u64;
                    let id = format!("id{}", i % 3);
                    [
                        Entry {
                            value: HashValue::Phash(Phash(x)),
                            id: id.clone(),
                            label: String::new(),
                            lists: vec![0],
                        },
                        Entry {
                            value: HashValue::Pdq(Pdq { words: [x, !x, x >> 3, 7] }),
                            id: id.clone(),
                            label: "l".into(),
                            lists: vec![1],
                        },
                        Entry {
                            value: HashValue::Md5(Md5([i as u8; 16])),
                            id,
                            label: String::new(),
                            lists: vec![0, 1],
                        },
                    ]
                })
                .collect();
            let bytes = build(&Catalog { lists, entries, ..Default::default()  }, &BuildOptions::default()).unwrap();
            let index = Index::from_bytes(bytes.as_slice()).unwrap();
            let mut sum = [0u8; 32];
            sum.copy_from_slice(&bytes[32..64]);
            let n = index.len();
            (bytes, sum, n)
        })
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::decode(data) {
        assert_eq!(m.encode().unwrap(), data, "a decoded manifest encodes to its bytes");
    }
    let mut sealed = data.to_vec();
    if sealed.len() >= 64 {
        sealed[..8].copy_from_slice(&MANIFEST_MAGIC);
        sealed[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        seal(&mut sealed);
    }
    let Ok(mut m) = Manifest::decode(&sealed) else { return };
    assert_eq!(Manifest::decode(&m.encode().unwrap()).unwrap(), m);
    let segs = segments();
    let mut data = Vec::new();
    for (i, s) in m.segments.iter_mut().enumerate().take(4) {
        let (bytes, sum, n) = &segs[i % 2];
        s.file_len = bytes.len() as u64;
        s.checksum = *sum;
        s.entries = *n;
        data.push(bytes.as_slice());
    }
    m.segments.truncate(4);
    let Ok(index) = Index::from_manifest(&m, data) else { return };
    for q in [
        HashValue::Phash(Phash(0)),
        HashValue::Pdq(Pdq { words: [0, !0, 0, 7] }),
        HashValue::Md5(Md5([1; 16])),
    ] {
        for r in [0, 8, 31, 64] {
            let _ = index.search(&q, r);
        }
    }
    let _ = index.search_dihedral_phash(&[Phash(5); 8], 8);
    for e in 0..index.entry_bound().min(64) {
        let _ = index.entry(e);
        let _ = index.same_id(e);
    }
    let _ = index.catalog();
    let _ = index.item_pairs();
    let _ = index.info();
    let _ = index.verify();
    let _ = index.lists().len();
});
