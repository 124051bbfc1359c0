//! Any bytes: opening must fail cleanly or give an index that answers every query
//! without panicking, looping or reading out of bounds; reading the same bytes as an
//! older format version (for `mediamatch upgrade`) must fail cleanly or give a catalog.
//! TMK+PDQF sections are scanned and their signatures scored against a query.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediamatch::index::{Index, LegacyIndex, Method};
use mediamatch::{HashValue, Md5, Pdq, Phash};

fuzz_target!(|data: &[u8]| {
    if let Ok(legacy) = LegacyIndex::from_bytes(data) {
        let _ = legacy.catalog();
        let _ = legacy.verify();
        let _ = legacy.upgrade();
    }
    let Ok(index) = Index::from_bytes(data) else { return };
    let queries = [
        HashValue::Phash(Phash(0x8c56_3bb4_622d_d4e3)),
        HashValue::Phash(Phash(0)),
        HashValue::Pdq(Pdq { words: [1, 2, 3, 4] }),
        HashValue::Md5(Md5([0; 16])),
    ];
    for q in &queries {
        for r in [0, 3, 8, 31, 64, 300] {
            for m in [Method::Auto, Method::Structure, Method::Scan] {
                let _ = index.search_with(q, r, m);
            }
        }
    }
    let _ = index.search_batch(&queries, 8);
    let _ = index.search_dihedral_pdq(&[Pdq { words: [1, 2, 3, 4] }; 8], 31);
    let _ = index.search_dihedral_phash(&[Phash(5); 8], 8);
    // TMK sections: the level-1 scan and the level-2 scoring of every candidate (a
    // threshold of -1 makes every stored signature one), and the lookups by digest.
    let mut builder = mediamatch::video::tmk_hash::TmkBuilder::new();
    builder.add_frame(&[1.0; 256]);
    let query = builder.finish().expect("a one-frame signature");
    let _ = index.search_tmk(&query, -1.0, 0.0);
    let _ = index.search(&HashValue::Tmk(mediamatch::hash::Sha256([0; 32])), 0);
    let _ = index.signature(&mediamatch::hash::Sha256([0; 32]));
    let _ = index.catalog();
    for e in 0..index.len().min(64) {
        let _ = index.entry(e);
        let _ = index.same_id(e);
    }
    let _ = index.same_id(index.len());
    let _ = index.info();
    let _ = index.verify();
});
