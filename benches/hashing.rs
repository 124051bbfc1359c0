//! Images per second for decode only, pHash, PDQ and all kinds, on the fixture photos and
//! (when present) the shared corpus. Compare with `benches/python_hash_baseline.py`, which
//! times Python `imagehash` and `pdqhash` on the same files.
//!
//! `cargo bench --bench hashing` (one thread: the hashers are single-threaded per image);
//! `MEDIAMATCH_BENCH_DIR=DIR` benchmarks only the images of DIR. `phash@PATH` and
//! `all@PATH` hash through each CPU path of the kernels this machine has.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mediamatch::decode::{decode, Limits};
use mediamatch::hash::{simd, KindSet};
use mediamatch::hashing::{hash_bytes, HashOptions};
use mediamatch::Kind;

#[path = "images.rs"]
mod images;
use images::images_in;

fn bench_set(c: &mut Criterion, name: &str, files: &[(PathBuf, Vec<u8>)]) {
    assert!(!files.is_empty(), "{name}: no images");
    let mut group = c.benchmark_group(format!("hashing/{name}"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(files.len() as u64));
    let limits = Limits::default();
    group.bench_function(BenchmarkId::new("decode", files.len()), |b| {
        b.iter(|| files.iter().filter(|(_, bytes)| decode(bytes, &limits).is_ok()).count())
    });
    let cases = [
        ("phash", KindSet::NONE.with(Kind::Phash), false),
        ("pdq", KindSet::NONE.with(Kind::Pdq), false),
        ("pdq+dihedral", KindSet::NONE.with(Kind::Pdq), true),
        ("all", KindSet::all(), false),
        ("all+dihedral", KindSet::all(), true),
    ];
    for (label, kinds, dihedral) in cases {
        let opts = HashOptions { kinds, dihedral, ..HashOptions::default() };
        group.bench_function(BenchmarkId::new(label, files.len()), |b| {
            b.iter(|| files.iter().filter(|(_, bytes)| hash_bytes(bytes, &opts).image.is_some()).count())
        });
    }
    // The same hashing through each CPU path of the kernels (same bits, tests/simd_paths.rs).
    for path in simd::supported() {
        simd::force(path).expect("a supported path");
        for (label, kinds) in [("phash", KindSet::NONE.with(Kind::Phash)), ("all", KindSet::all())] {
            let opts = HashOptions { kinds, ..HashOptions::default() };
            group.bench_function(BenchmarkId::new(format!("{label}@{}", path.name()), files.len()), |b| {
                b.iter(|| files.iter().filter(|(_, bytes)| hash_bytes(bytes, &opts).image.is_some()).count())
            });
        }
    }
    simd::force(simd::detected()).expect("the detected path");
    group.finish();
}

fn hashing(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // MEDIAMATCH_BENCH_DIR=DIR benchmarks that directory's images alone.
    if let Some(dir) = std::env::var_os("MEDIAMATCH_BENCH_DIR") {
        bench_set(c, "dir", &images_in(Path::new(&dir)));
        return;
    }
    bench_set(c, "fixtures", &images_in(&root.join("fixtures/photos")));
    let corpus = root.join("../shared/corpus");
    if corpus.is_dir() {
        // Every 8th corpus photo keeps a run to minutes; MEDIAMATCH_BENCH_FULL=1 takes all.
        let all = images_in(&corpus);
        let step = if std::env::var_os("MEDIAMATCH_BENCH_FULL").is_some() { 1 } else { 8 };
        let sample: Vec<_> = all.into_iter().step_by(step).collect();
        bench_set(c, "corpus", &sample);
    } else {
        eprintln!("../shared/corpus not found: corpus benchmark skipped");
    }
}

criterion_group!(benches, hashing);
criterion_main!(benches);
