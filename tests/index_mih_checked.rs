//! The pHash MIH tables with check words (a candidate rejected by the popcount of its check
//! word never reads its value) answer exactly what brute force answers: single, batched
//! (distinct queries, whose buckets are located and prefetched together) and dihedral
//! searches, radii 0 to 16, with duplicate hashes and buckets of many candidates.

mod index_support;

use index_support::{canonical, catalog_of, dihedral_oracle, oracle};
use mediamatch::index::{build, BuildOptions, Index, Method, Structure};
use mediamatch::{HashValue, Phash};
use proptest::prelude::*;

/// Up to a few thousand values around a few bases (many per bucket, near matches at every
/// radius), some repeated exactly.
fn values_strategy() -> impl Strategy<Value = Vec<u64>> {
    let bases = prop::collection::vec(any::<u64>(), 1..5);
    let picks =
        prop::collection::vec((0usize..5, prop::collection::vec(0u32..64, 0..14), 1usize..4), 0..1500);
    (bases, picks).prop_map(|(bases, picks)| {
        let mut out = Vec::new();
        for (b, flips, copies) in picks {
            let mut w = bases[b % bases.len()];
            flips.iter().for_each(|f| w ^= 1 << f);
            out.extend(std::iter::repeat_n(w, copies));
        }
        out
    })
}

fn structures() -> Vec<(&'static str, BuildOptions)> {
    vec![
        ("mih-auto", BuildOptions::with_structure(Structure::Mih { substrings: None })),
        ("mih-3", BuildOptions::with_structure(Structure::Mih { substrings: Some(3) })),
        ("mih-5", BuildOptions::with_structure(Structure::Mih { substrings: Some(5) })),
    ]
}

fn pairs(hits: Vec<mediamatch::index::Hit>) -> Vec<(u32, u32)> {
    hits.into_iter().map(|h| (h.entry, h.distance)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn single_and_batched_searches_match_brute_force(
        values in values_strategy(),
        flips in prop::collection::vec(prop::collection::vec(0u32..64, 0..12), 1..40),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 40),
        random in prop::collection::vec(any::<u64>(), 0..8),
    ) {
        let hashes: Vec<HashValue> = values.iter().map(|&v| HashValue::Phash(Phash(v))).collect();
        let catalog = catalog_of(&hashes);
        let entries = canonical(&catalog);
        let mut queries: Vec<HashValue> = random.into_iter().map(|v| HashValue::Phash(Phash(v))).collect();
        if !values.is_empty() {
            for (f, pick) in flips.iter().zip(&picks) {
                let mut q = values[pick.index(values.len())];
                f.iter().for_each(|b| q ^= 1 << b);
                queries.push(HashValue::Phash(Phash(q)));
            }
        }
        for (name, opts) in structures() {
            let index = Index::from_bytes(build(&catalog, &opts).unwrap()).unwrap();
            index.verify().unwrap();
            for r in 0..=16 {
                let want: Vec<Vec<(u32, u32)>> = queries.iter().map(|q| oracle(&entries, q, r)).collect();
                for (q, want) in queries.iter().zip(&want) {
                    for method in [Method::Structure, Method::Auto] {
                        let got = pairs(index.search_with(q, r, method).unwrap());
                        prop_assert_eq!(&got, want, "{} {:?} query {} radius {}", name, method, q, r);
                    }
                }
                let batch = index.search_batch(&queries, r);
                prop_assert_eq!(batch.len(), queries.len());
                for ((b, want), q) in batch.into_iter().zip(&want).zip(&queries) {
                    prop_assert_eq!(&pairs(b.unwrap()), want, "{} batch query {} radius {}", name, q, r);
                }
            }
        }
    }

    #[test]
    fn dihedral_matches_brute_force(
        values in values_strategy(),
        flips in prop::collection::vec(prop::collection::vec(0u32..64, 0..12), 8),
        pick in any::<prop::sample::Index>(),
        radius in 0u32..=16,
    ) {
        let hashes: Vec<HashValue> = values.iter().map(|&v| HashValue::Phash(Phash(v))).collect();
        let catalog = catalog_of(&hashes);
        let entries = canonical(&catalog);
        let base = if values.is_empty() { 0 } else { values[pick.index(values.len())] };
        let variants: [Phash; 8] = std::array::from_fn(|v| Phash(flips[v].iter().fold(base, |q, b| q ^ (1 << b))));
        let want = dihedral_oracle(&entries, &variants, radius);
        for (name, opts) in structures() {
            let index = Index::from_bytes(build(&catalog, &opts).unwrap()).unwrap();
            prop_assert_eq!(&index.search_dihedral_phash(&variants, radius).unwrap(), &want, "{}", name);
        }
    }
}

/// Many copies of one hash land in one bucket of every table: each is found once, at
/// every radius, alone and in a batch.
#[test]
fn duplicates_in_one_bucket_are_each_found_once() {
    let v = 0x8c56_3bb4_622d_d4e3u64;
    let mut values = vec![v; 300];
    values.extend((0..64).map(|b| v ^ (1 << b)));
    let hashes: Vec<HashValue> = values.iter().map(|&x| HashValue::Phash(Phash(x))).collect();
    let catalog = catalog_of(&hashes);
    let entries = canonical(&catalog);
    let q = HashValue::Phash(Phash(v));
    for (name, opts) in structures() {
        let index = Index::from_bytes(build(&catalog, &opts).unwrap()).unwrap();
        for r in 0..=16 {
            let got = pairs(index.search_with(&q, r, Method::Structure).unwrap());
            assert_eq!(got, oracle(&entries, &q, r), "{name} radius {r}");
            assert_eq!(got.len(), if r == 0 { 300 } else { 364 }, "{name} radius {r}");
            for b in index.search_batch(&[q; 9], r) {
                assert_eq!(pairs(b.unwrap()), got, "{name} batch radius {r}");
            }
        }
    }
}
