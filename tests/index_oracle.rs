//! Every structure answers exactly what a brute-force scan answers, for both perceptual
//! widths, radii from 0 to beyond the width, duplicates, empty and one-entry indexes.

mod index_support;

use index_support::{all_structures, canonical, catalog_of, dihedral_oracle, oracle};
use mediamatch::index::{build, DihedralHit, Index, Method};
use mediamatch::{HashValue, Md5, Pdq, Phash, Sha256, Variant};
use proptest::prelude::*;

/// Values clustered around a few bases (so near matches exist at every radius), with
/// exact duplicates.
fn values_strategy(pdq: bool) -> impl Strategy<Value = Vec<HashValue>> {
    let bases = prop::collection::vec(any::<[u64; 4]>(), 1..4);
    (bases, prop::collection::vec((0usize..4, prop::collection::vec(0u32..256, 0..40)), 0..60)).prop_map(
        move |(bases, picks)| {
            picks
                .into_iter()
                .map(|(b, flips)| {
                    let mut w = bases[b % bases.len()];
                    for f in flips {
                        if pdq {
                            w[(f / 64) as usize] ^= 1 << (f % 64);
                        } else {
                            w[0] ^= 1 << (f % 64);
                        }
                    }
                    if pdq {
                        HashValue::Pdq(Pdq { words: w })
                    } else {
                        HashValue::Phash(Phash(w[0]))
                    }
                })
                .collect()
        },
    )
}

fn flip(v: &HashValue, bits: &[u32]) -> HashValue {
    match *v {
        HashValue::Pdq(mut p) => {
            for &f in bits {
                p.words[(f / 64 % 4) as usize] ^= 1 << (f % 64);
            }
            HashValue::Pdq(p)
        }
        HashValue::Phash(mut p) => {
            for &f in bits {
                p.0 ^= 1 << (f % 64);
            }
            HashValue::Phash(p)
        }
        other => other,
    }
}

fn check_all(values: &[HashValue], queries: &[HashValue], radii: &[u32]) -> Result<(), TestCaseError> {
    let catalog = catalog_of(values);
    let entries = canonical(&catalog);
    for (name, opts) in all_structures() {
        let index = Index::from_bytes(build(&catalog, &opts).unwrap()).unwrap();
        for q in queries {
            for &r in radii {
                let want = oracle(&entries, q, r);
                for method in [Method::Auto, Method::Structure, Method::Scan] {
                    let got: Vec<(u32, u32)> = index
                        .search_with(q, r, method)
                        .unwrap()
                        .into_iter()
                        .map(|h| (h.entry, h.distance))
                        .collect();
                    prop_assert_eq!(&got, &want, "{} {:?} query {} radius {}", name, method, q, r);
                }
            }
            let batch = index.search_batch(&[*q; 3], radii[0]);
            for b in batch {
                let got: Vec<(u32, u32)> = b.unwrap().into_iter().map(|h| (h.entry, h.distance)).collect();
                prop_assert_eq!(got, oracle(&entries, q, radii[0]), "{} batch", name);
            }
        }
    }
    Ok(())
}

fn radii(width: u32) -> Vec<u32> {
    vec![0, 1, 2, 4, 8, 10, 12, 16, 31, 32, 63, width - 1, width, width + 5, u32::MAX]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn phash_matches_brute_force(values in values_strategy(false), flips in prop::collection::vec(0u32..64, 0..12), pick in any::<prop::sample::Index>()) {
        let mut queries = vec![HashValue::Phash(Phash(0x0123_4567_89ab_cdef))];
        if !values.is_empty() {
            let base = values[pick.index(values.len())];
            queries.push(base);
            queries.push(flip(&base, &flips));
        }
        check_all(&values, &queries, &radii(64))?;
    }

    #[test]
    fn pdq_matches_brute_force(values in values_strategy(true), flips in prop::collection::vec(0u32..256, 0..40), pick in any::<prop::sample::Index>()) {
        let mut queries = vec![HashValue::Pdq(Pdq { words: [1, 2, 3, 4] })];
        if !values.is_empty() {
            let base = values[pick.index(values.len())];
            queries.push(base);
            queries.push(flip(&base, &flips));
        }
        check_all(&values, &queries, &radii(256))?;
    }

    #[test]
    fn dihedral_gives_each_entry_once_at_its_smallest_distance(
        values in values_strategy(true),
        flips in prop::collection::vec(prop::collection::vec(0u32..256, 0..30), 8),
        radius in 0u32..80,
    ) {
        let catalog = catalog_of(&values);
        let entries = canonical(&catalog);
        let base = values.first().copied().unwrap_or(HashValue::Pdq(Pdq::default()));
        let variants: Vec<Pdq> = flips.iter().map(|f| match flip(&base, f) { HashValue::Pdq(p) => p, _ => unreachable!() }).collect();
        let variants: [Pdq; 8] = variants.try_into().unwrap();
        let mut want: Vec<DihedralHit> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let HashValue::Pdq(p) = e.value else { continue };
            let best = (0..8).map(|v| (p.distance(&variants[v]), v)).min().unwrap();
            if best.0 <= radius {
                want.push(DihedralHit { entry: i as u32, distance: best.0, variant: Variant::ALL[best.1] });
            }
        }
        for (name, opts) in all_structures() {
            let index = Index::from_bytes(build(&catalog, &opts).unwrap()).unwrap();
            prop_assert_eq!(&index.search_dihedral_pdq(&variants, radius).unwrap(), &want, "{}", name);
            let batch = index.search_dihedral_pdq_batch(&[variants; 2], radius);
            for b in batch {
                prop_assert_eq!(&b.unwrap(), &want, "{} batch", name);
            }
        }
    }

    #[test]
    fn phash_dihedral_matches_brute_force(values in values_strategy(false), flips in prop::collection::vec(prop::collection::vec(0u32..64, 0..10), 8), radius in 0u32..20) {
        let catalog = catalog_of(&values);
        let entries = canonical(&catalog);
        let base = values.first().copied().unwrap_or(HashValue::Phash(Phash(0)));
        let variants: Vec<Phash> = flips.iter().map(|f| match flip(&base, f) { HashValue::Phash(p) => p, _ => unreachable!() }).collect();
        let variants: [Phash; 8] = variants.try_into().unwrap();
        let want = dihedral_oracle(&entries, &variants, radius);
        for (name, opts) in all_structures() {
            let index = Index::from_bytes(build(&catalog, &opts).unwrap()).unwrap();
            prop_assert_eq!(&index.search_dihedral_phash(&variants, radius).unwrap(), &want, "{}", name);
        }
    }
}

#[test]
fn duplicates_with_different_ids_are_all_returned() {
    let v: HashValue = "phash:8c563bb4622dd4e3".parse().unwrap();
    let p: HashValue = format!("pdq:{}", "d7".repeat(32)).parse().unwrap();
    let values = vec![v; 5].into_iter().chain(vec![p; 4]).collect::<Vec<_>>();
    let catalog = catalog_of(&values);
    for (name, opts) in all_structures() {
        let index = Index::from_bytes(build(&catalog, &opts).unwrap()).unwrap();
        assert_eq!(index.search(&v, 0).unwrap().len(), 5, "{name}");
        assert_eq!(index.search(&p, 3).unwrap().len(), 4, "{name}");
        let ids: std::collections::BTreeSet<_> = index
            .search(&v, 0)
            .unwrap()
            .iter()
            .map(|h| index.entry(h.entry).unwrap().id.to_string())
            .collect();
        assert_eq!(ids.len(), 5, "{name}: ids {ids:?}");
    }
}

#[test]
fn empty_and_single_entry_indexes() {
    let q: HashValue = "phash:8c563bb4622dd4e3".parse().unwrap();
    for (name, opts) in all_structures() {
        let empty = Index::from_bytes(build(&catalog_of(&[]), &opts).unwrap()).unwrap();
        assert!(empty.is_empty());
        assert!(empty.search(&q, 64).unwrap().is_empty(), "{name}");
        let one = Index::from_bytes(build(&catalog_of(&[q]), &opts).unwrap()).unwrap();
        assert_eq!(one.search(&q, 0).unwrap().len(), 1, "{name}");
        assert_eq!(one.search(&flip(&q, &[3]), 0).unwrap().len(), 0, "{name}");
        assert_eq!(one.search(&flip(&q, &[3]), 1).unwrap().len(), 1, "{name}");
        let pdq: HashValue = format!("pdq:{}", "00".repeat(32)).parse().unwrap();
        assert!(one.search(&pdq, 256).unwrap().is_empty(), "{name}: other kind");
    }
}

#[test]
fn digests_match_exactly_with_duplicates() {
    let a = HashValue::Md5(Md5([7; 16]));
    let b = HashValue::Md5(Md5([8; 16]));
    let c = HashValue::Sha256(Sha256([1; 32]));
    let s1: HashValue = "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709".parse().unwrap();
    let values = vec![a, b, a, c, s1, a];
    let catalog = catalog_of(&values);
    let entries = canonical(&catalog);
    let index = Index::from_bytes(build(&catalog, &Default::default()).unwrap()).unwrap();
    for q in [a, b, c, s1, HashValue::Md5(Md5([9; 16])), HashValue::Sha256(Sha256([0; 32]))] {
        let got: Vec<(u32, u32)> =
            index.search(&q, 10).unwrap().into_iter().map(|h| (h.entry, h.distance)).collect();
        assert_eq!(got, oracle(&entries, &q, 10), "{q}");
    }
    assert_eq!(index.search(&a, 0).unwrap().len(), 3);
}

/// A dihedral query on a section large enough for multi-index hashing, with some variants
/// inside dense clusters (answered by the tiled scan) and some far from everything
/// (answered by the tables), so one query takes both paths at once.
#[test]
fn dihedral_splitting_variants_between_tables_and_scan_matches_brute_force() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rng = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let bases: Vec<u64> = (0..3).map(|_| rng()).collect();
    let values: Vec<HashValue> = (0..6000)
        .map(|i| {
            let mut w = bases[i % 3];
            for _ in 0..rng() % 6 {
                w ^= 1 << (rng() % 64);
            }
            HashValue::Phash(Phash(w))
        })
        .collect();
    let catalog = catalog_of(&values);
    let entries = canonical(&catalog);
    let index = Index::from_bytes(build(&catalog, &Default::default()).unwrap()).unwrap();
    let structure = index.info().unwrap().kinds[0].structure.clone();
    assert!(structure.starts_with("mih"), "{structure}");
    for round in 0..6u32 {
        let variants: [Phash; 8] = std::array::from_fn(|v| {
            if (v as u32 + round).is_multiple_of(2) {
                Phash(bases[v % 3] ^ (1 << (rng() % 64)))
            } else {
                Phash(rng())
            }
        });
        for radius in [0, 1, 2, 3, 4, 6, 8, 10, 12, 16, 24] {
            let mut want = Vec::new();
            for (i, e) in entries.iter().enumerate() {
                let HashValue::Phash(p) = e.value else { continue };
                let best = (0..8).map(|v| (p.distance(&variants[v]), v)).min().unwrap();
                if best.0 <= radius {
                    want.push(DihedralHit {
                        entry: i as u32,
                        distance: best.0,
                        variant: Variant::ALL[best.1],
                    });
                }
            }
            let got = index.search_dihedral_phash(&variants, radius).unwrap();
            assert_eq!(got, want, "round {round} radius {radius}");
        }
    }
}
