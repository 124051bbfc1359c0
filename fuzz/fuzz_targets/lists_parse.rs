//! Any bytes, as a hash list: every format (detected and each one forced), plain and
//! gzip-compressed, lenient and strict, must parse or fail cleanly within the size cap,
//! and what parses must apply to a catalog (as a delta and as a replacement, twice)
//! without panicking, looping or growing memory without bound.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use mediamatch::catalog::Catalog;
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{ListFile, ListFormat, ParseOptions};
use mediamatch::Kind;

fuzz_target!(|data: &[u8]| {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(data);
    let gz = gz.finish().unwrap_or_default();
    // A small cap, so that gzip input cannot inflate without bound in the fuzzer either.
    let max_bytes = 1 << 20;
    let mut catalog = Catalog::default();
    for bytes in [data, &gz[..]] {
        for format in ListFormat::ALL {
            for (strict, kind) in [(false, None), (true, Some(Kind::Md5))] {
                let opts = ParseOptions { format, kind, strict, max_bytes };
                let Ok(source) = ListFile::from_bytes("fuzz", bytes, &opts) else { continue };
                assert!(source.list.rejects.iter().all(|r| r.line >= 1));
                assert!(!strict || source.list.rejects.len() <= 1);
                for mode in [Mode::Delta, Mode::Replace, Mode::Replace] {
                    let opts = ApplyOptions { mode, imported_at: 1 };
                    apply(&mut catalog, format.name(), std::slice::from_ref(&source), &opts);
                }
            }
        }
    }
    // Every entry is on a list that exists.
    let lists = catalog.lists.len() as u32;
    assert!(catalog.entries.iter().all(|e| !e.lists.is_empty() && e.lists.iter().all(|&l| l < lists)));
});
