//! Index benchmarks: queries per second of every structure against a brute-force popcount
//! scan in the same run, build speed and bytes on disk.
//!
//! `cargo bench --bench index` runs N = 1e5 and 1e6; environment variables:
//! * `MM_BENCH_N=100000,1000000,10000000`: the sizes (1e7 needs about 3 GB for PDQ);
//! * `MM_BENCH_FILTER=pdq`: only configurations whose name contains the string;
//! * `MM_BENCH_SECONDS=0.5`: time per measurement;
//! * `MM_BENCH_SUBSTRINGS=16`: force the number of MIH substrings;
//! * `MM_BENCH_RADII=8`: only these radii (default pHash 4,8,10,12; PDQ 31,63);
//! * `MM_BENCH_QUERIES=5000`: the number of queries (default 2000, half near an entry).
//!
//! `RAYON_NUM_THREADS=1` gives per-core figures for the batch searches.
//!
//! Data: `random` (uniform hashes) and `clustered` (the pHash and PDQ of the 484 photos
//! of `../shared/corpus`, each replicated with a few random bit flips up to N).

use std::time::{Duration, Instant};

use mediamatch::catalog::{Catalog, Entry, ListInfo};
use mediamatch::index::{build, BuildOptions, Index, Method, Structure};
use mediamatch::{HashValue, Kind, Pdq, Phash};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn flip(w: &mut [u64; 4], words: usize, bits: u64, rng: &mut Rng) {
    for _ in 0..bits {
        let b = rng.below(64 * words as u64);
        w[(b / 64) as usize] ^= 1 << (b % 64);
    }
}

fn value(kind: Kind, w: [u64; 4]) -> HashValue {
    match kind {
        Kind::Pdq => HashValue::Pdq(Pdq { words: w }),
        _ => HashValue::Phash(Phash(w[0])),
    }
}

fn corpus(kind: Kind) -> Option<Vec<[u64; 4]>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/manifest.tsv");
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split('\t').collect();
    let col = header.iter().position(|h| *h == kind.name())?;
    let mut out = Vec::new();
    for l in lines {
        if let Some(Ok(v)) = l.split('\t').nth(col).map(|h| HashValue::parse(kind, h)) {
            out.push(match v {
                HashValue::Pdq(p) => p.words,
                HashValue::Phash(p) => [p.0, 0, 0, 0],
                _ => continue,
            });
        }
    }
    (!out.is_empty()).then_some(out)
}

struct Data {
    name: &'static str,
    values: Vec<[u64; 4]>,
    queries: Vec<[u64; 4]>,
    dihedral: Vec<[[u64; 4]; 8]>,
    /// The random data's queries near an entry, and the others (empty for clustered).
    near: Vec<[u64; 4]>,
    far: Vec<[u64; 4]>,
}

fn data(kind: Kind, clustered: bool, n: usize) -> Option<Data> {
    let words = kind.byte_len() / 8;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64 ^ u64::from(clustered));
    let noise = if kind == Kind::Pdq { 16 } else { 4 };
    let random = |rng: &mut Rng| {
        let mut w = [0u64; 4];
        w.iter_mut().take(words).for_each(|x| *x = rng.next());
        w
    };
    let (values, queries) = if clustered {
        let bases = corpus(kind)?;
        let values = (0..n)
            .map(|i| {
                let mut w = bases[i % bases.len()];
                let k = rng.below(noise + 1);
                flip(&mut w, words, k, &mut rng);
                w
            })
            .collect::<Vec<_>>();
        let queries: Vec<[u64; 4]> = (0..2000)
            .map(|i| {
                let mut w = bases[(i * 7) % bases.len()];
                let k = rng.below(noise + 1);
                flip(&mut w, words, k, &mut rng);
                w
            })
            .collect();
        (values, queries)
    } else {
        let values: Vec<[u64; 4]> = (0..n).map(|_| random(&mut rng)).collect();
        // Half the queries near an entry, half anywhere.
        let queries: Vec<[u64; 4]> = (0..query_count())
            .map(|i| {
                if i % 2 == 0 {
                    let mut w = values[rng.below(n as u64) as usize];
                    let k = rng.below(noise + 1);
                    flip(&mut w, words, k, &mut rng);
                    w
                } else {
                    random(&mut rng)
                }
            })
            .collect();
        (values, queries)
    };
    let dihedral = queries
        .iter()
        .take(500)
        .map(|q| {
            let mut v = [*q; 8];
            v.iter_mut().skip(1).for_each(|w| *w = random(&mut rng));
            v
        })
        .collect();
    let (near, far) = if clustered {
        (Vec::new(), Vec::new())
    } else {
        (queries.iter().step_by(2).copied().collect(), queries.iter().skip(1).step_by(2).copied().collect())
    };
    Some(Data { name: if clustered { "clustered" } else { "random" }, values, queries, dihedral, near, far })
}

fn query_count() -> usize {
    std::env::var("MM_BENCH_QUERIES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000)
}

fn catalog(kind: Kind, values: &[[u64; 4]]) -> Catalog {
    Catalog {
        lists: vec![ListInfo { name: "bench".into(), ..Default::default() }],
        entries: values
            .iter()
            .enumerate()
            .map(|(i, w)| Entry {
                value: value(kind, *w),
                id: i.to_string(),
                label: String::new(),
                lists: vec![0],
            })
            .collect(),
        ..Default::default()
    }
}

/// Queries per second of `f` over `queries`, cycling for at least the measurement time.
/// Returns (queries per second, hits per query).
fn qps<T>(queries: &[T], per_call: usize, mut f: impl FnMut(&T) -> usize) -> (f64, f64) {
    let budget = Duration::from_secs_f64(
        std::env::var("MM_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(0.4),
    );
    let start = Instant::now();
    let (mut done, mut hits) = (0usize, 0usize);
    while start.elapsed() < budget || done == 0 {
        for q in queries {
            hits += f(q);
            done += per_call;
            if start.elapsed() >= budget {
                break;
            }
        }
    }
    (done as f64 / start.elapsed().as_secs_f64(), hits as f64 / done as f64)
}

fn report(name: &str, what: &str, q: f64, base: f64) {
    println!("{name:<34} {what:<26} {q:>12.0} q/s  {:>7.2}x scan", q / base);
}

fn main() {
    let filter = std::env::var("MM_BENCH_FILTER").unwrap_or_default();
    let sizes: Vec<usize> = std::env::var("MM_BENCH_N")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let substrings: Option<u8> = std::env::var("MM_BENCH_SUBSTRINGS").ok().and_then(|s| s.parse().ok());
    println!("popcount kernels: {}", mediamatch::index::popcount::selected_features());
    popcount_dispatch(&filter);
    for &n in &sizes {
        for kind in [Kind::Phash, Kind::Pdq] {
            for clustered in [false, true] {
                let tag = format!("{}/{}/{n}", kind.name(), if clustered { "clustered" } else { "random" });
                if !tag.contains(&filter) {
                    continue;
                }
                let Some(d) = data(kind, clustered, n) else {
                    println!("{tag}: SKIPPED (../shared/corpus/manifest.tsv not found)");
                    continue;
                };
                run(kind, n, &d, substrings);
            }
        }
    }
}

fn popcount_dispatch(filter: &str) {
    if !"popcount".contains(filter) && !filter.is_empty() {
        return;
    }
    let mut rng = Rng(7);
    let values: Vec<u8> = (0..1_000_000).flat_map(|_| rng.next().to_le_bytes()).collect();
    let queries: Vec<u64> = (0..64).map(|_| rng.next()).collect();
    let mut out = Vec::new();
    let (portable, _) = qps(&queries, 1, |q| {
        out.clear();
        mediamatch::index::popcount::portable_scan_w1(&values, *q, 8, &mut out);
        out.len()
    });
    let (dispatched, _) = qps(&queries, 1, |q| {
        out.clear();
        mediamatch::index::popcount::dispatched_scan_w1(&values, *q, 8, &mut out);
        out.len()
    });
    println!(
        "popcount scan of 1e6 u64: baseline x86-64 build {portable:.0} q/s, dispatched {dispatched:.0} q/s ({:.2}x)",
        dispatched / portable
    );
}

fn run(kind: Kind, n: usize, d: &Data, substrings: Option<u8>) {
    let name = format!("{}/{}/{}", kind.name(), d.name, n);
    let cat = catalog(kind, &d.values);
    let opts = BuildOptions::with_structure(Structure::Mih { substrings });
    let t = Instant::now();
    let bytes = build(&cat, &opts).unwrap();
    let build_s = t.elapsed().as_secs_f64();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.mmi");
    mediamatch::index::write_atomic(&path, &bytes).unwrap();
    drop(bytes);
    let t = Instant::now();
    let index = Index::open(&path).unwrap();
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    index.verify().unwrap();
    println!(
        "{name:<34} open (mmap + checks) {open_ms:.3} ms; verify {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let info = index.info().unwrap();
    let k = &info.kinds[0];
    println!(
        "{name:<34} build {:.2} M entries/s; {}; values {} B, structure {} B: {:.2}x the raw hash bytes; file {} B",
        n as f64 / build_s / 1e6,
        k.structure,
        k.value_bytes,
        k.structure_bytes,
        (k.value_bytes + k.structure_bytes) as f64 / k.value_bytes as f64,
        info.file_bytes,
    );
    let bk = (n <= 100_000).then(|| {
        let t = Instant::now();
        let b = build(&cat, &BuildOptions::with_structure(Structure::BkTree)).unwrap();
        println!("{name:<34} bk-tree build {:.2} M entries/s", n as f64 / t.elapsed().as_secs_f64() / 1e6);
        Index::from_bytes(b).unwrap()
    });
    let scan_index =
        Index::from_bytes(build(&cat, &BuildOptions::with_structure(Structure::Scan)).unwrap()).unwrap();
    drop(cat);
    let queries: Vec<HashValue> = d.queries.iter().map(|w| value(kind, *w)).collect();
    let default: &[u32] = if kind == Kind::Pdq { &[31, 63] } else { &[4, 8, 10, 12] };
    let radii: Vec<u32> = std::env::var("MM_BENCH_RADII")
        .map(|s| s.split(',').filter_map(|r| r.trim().parse().ok()).collect())
        .unwrap_or_else(|_| default.to_vec());
    for &r in &radii {
        let (scan, scan_hits) = qps(&queries, 1, |q| index.search_with(q, r, Method::Scan).unwrap().len());
        report(&name, &format!("r={r} scan (single)"), scan, scan);
        let (auto, hits) = qps(&queries, 1, |q| index.search(q, r).unwrap().len());
        report(&name, &format!("r={r} auto (single)"), auto, scan);
        if !d.near.is_empty() {
            let near: Vec<HashValue> = d.near.iter().map(|w| value(kind, *w)).collect();
            let far: Vec<HashValue> = d.far.iter().map(|w| value(kind, *w)).collect();
            let (a, _) = qps(&near, 1, |q| index.search(q, r).unwrap().len());
            report(&name, &format!("r={r} auto near (single)"), a, scan);
            let (b, _) = qps(&far, 1, |q| index.search(q, r).unwrap().len());
            report(&name, &format!("r={r} auto random (single)"), b, scan);
        }
        let (mih, _) = qps(&queries, 1, |q| index.search_with(q, r, Method::Structure).unwrap().len());
        report(&name, &format!("r={r} mih forced (single)"), mih, scan);
        if let Some(bk) = &bk {
            let few = &queries[..50];
            let (b, _) = qps(few, 1, |q| bk.search(q, r).unwrap().len());
            report(&name, &format!("r={r} bk-tree (single)"), b, scan);
        }
        let chunk = 256;
        let batches: Vec<&[HashValue]> = queries.chunks(chunk).collect();
        let (tiled, _) = qps(&batches, chunk, |b| {
            scan_index.search_batch(b, r).iter().map(|x| x.as_ref().unwrap().len()).sum()
        });
        report(&name, &format!("r={r} scan tiled (batch)"), tiled, scan);
        let (batch, _) = qps(&batches, chunk, |b| {
            index.search_batch(b, r).iter().map(|x| x.as_ref().unwrap().len()).sum()
        });
        report(&name, &format!("r={r} auto (batch, rayon)"), batch, tiled);
        let (dih, _) = qps(&d.dihedral, 1, |v| dihedral(&index, kind, v, r));
        let (dih_scan, _) = qps(&d.dihedral, 1, |v| dihedral(&scan_index, kind, v, r));
        report(&name, &format!("r={r} dihedral scan tiled"), dih_scan, dih_scan);
        report(&name, &format!("r={r} dihedral auto"), dih, dih_scan);
        println!("{name:<34} r={r} hits per query: {hits:.1} (scan {scan_hits:.1})");
    }
}

fn dihedral<D: AsRef<[u8]>>(index: &Index<D>, kind: Kind, v: &[[u64; 4]; 8], r: u32) -> usize {
    match kind {
        Kind::Pdq => index.search_dihedral_pdq(&v.map(|w| Pdq { words: w }), r).unwrap().len(),
        _ => index.search_dihedral_phash(&v.map(|w| Phash(w[0])), r).unwrap().len(),
    }
}
