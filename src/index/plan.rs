//! Choosing how to answer a perceptual query: the cost model, the choice between a
//! kind's structure and a scan ([`structure_search`], whose answer is a [`Probe`]), and
//! the dihedral planner ([`dihedral`]), which splits 8 variants between the MIH tables
//! and one tiled scan.
//!
//! Costs are in units of half the time a scan takes per pHash value, calibrated on the
//! benchmark machine (AVX-512 popcount) at N = 1e6: a scan reads a pHash in about 1 ns and
//! a PDQ hash in about 1.5 ns; a bucket probe or a candidate is a random read (plus the
//! distance and the earlier-tables check for a candidate) of 60-100 ns. The first
//! calibration (probe 40, candidate 50, PDQ 3 per value) underestimated the MIH side by
//! 1.6-4x, so pHash at radius 12 and PDQ at radius 63 chose tables that ran at 0.1-0.7x a
//! scan. A candidate read from contiguous memory (a check word of a checked pHash table, or
//! a value of the first table) costs [`CHECKED_CANDIDATE_COST`], one popcount on a line the
//! bucket's probe already fetched; that constant is an estimate (2 ns), not yet measured
//! the way the others were.

use crate::hash::Variant;
use crate::index::layout::{KindSection, SearchView};
use crate::index::values::{Found, Query};
use crate::index::{DihedralHit, IndexError, Method};

/// What one bucket probe costs.
pub(crate) const PROBE_COST: u64 = 160;
/// What reading one candidate costs in a table of positions (a random read of its value).
pub(crate) const CANDIDATE_COST: u64 = 200;
/// What reading one candidate costs where a bucket's candidates are contiguous: the check
/// words of a checked table, or the values themselves for the first table.
pub(crate) const CHECKED_CANDIDATE_COST: u64 = 4;

/// What scanning all `n` values of `words` words for one query costs.
pub(crate) fn scan_cost(n: usize, words: usize) -> u64 {
    (n as u64).saturating_mul(if words == 1 { 2 } else { 3 })
}

/// What one tiled scan of all `n` values for `k` queries costs: the first query pays a
/// full scan, each further one the share a tiled scan still spends per query (measured:
/// 8 pHash queries cost about 7 single scans, 8 PDQ queries about 5.5).
pub(crate) fn tiled_cost(n: usize, words: usize, k: usize) -> u64 {
    if k == 0 {
        return 0;
    }
    let one = scan_cost(n, words);
    let (num, den) = if words == 1 { (6, 7) } else { (5, 8) };
    one.saturating_add(one.saturating_mul(k as u64 - 1).saturating_mul(num) / den)
}

/// The answer of a search structure: its hits, or that a scan is cheaper (the caller
/// scans; nothing was found yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    /// `(position, distance)` of every value within the radius, unsorted.
    Hits(Vec<Found>),
    /// The structure would read more than a scan (or there is none): scan instead.
    ScanCheaper,
}

/// Runs the section's structure for `q` as `method` asks.
pub(crate) fn structure_search(
    data: &[u8],
    sec: &KindSection,
    q: &Query,
    method: Method,
) -> Result<Probe, IndexError> {
    if method == Method::Scan {
        return Ok(Probe::ScanCheaper);
    }
    match sec.structure(data) {
        SearchView::Mih(tables) => tables.search(q, method != Method::Structure),
        SearchView::BkTree(tree) => {
            let mut out = Vec::new();
            tree.search(q, &mut out)?;
            Ok(Probe::Hits(out))
        }
        SearchView::Scan | SearchView::Digest => Ok(Probe::ScanCheaper),
    }
}

/// [`structure_search`] for each of `qs` (of one kind): the MIH tables take them together,
/// so that their cache misses overlap.
pub(crate) fn structure_search_many(
    data: &[u8],
    sec: &KindSection,
    qs: &[Query],
    method: Method,
) -> Vec<Result<Probe, IndexError>> {
    match sec.structure(data) {
        SearchView::Mih(tables) if method != Method::Scan => {
            tables.search_many(qs, method != Method::Structure)
        }
        _ => qs.iter().map(|q| structure_search(data, sec, q, method)).collect(),
    }
}

/// Every value within the radius of `q`, by the structure or a scan as `method` and the
/// cost model choose.
pub(crate) fn search(
    data: &[u8],
    sec: &KindSection,
    q: &Query,
    method: Method,
) -> Result<Vec<Found>, IndexError> {
    match structure_search(data, sec, q, method)? {
        Probe::Hits(found) => Ok(found),
        Probe::ScanCheaper => {
            let mut found = Vec::new();
            sec.values(data).scan(q, &mut found);
            Ok(found)
        }
    }
}

/// Entries within `radius` of any of the 8 variants `qs` (in [`Variant::ALL`] order), each
/// once with its smallest distance and the first variant at it.
pub(crate) fn dihedral(
    data: &[u8],
    sec: &KindSection,
    qs: [[u64; 4]; 8],
    radius: u32,
) -> Result<Vec<DihedralHit>, IndexError> {
    let mut per = vec![Vec::new(); 8];
    let values = sec.values(data);
    let query = |v: usize| Query { words: qs[v], radius };
    let mut scanned: Vec<usize> = Vec::new();
    match sec.structure(data) {
        SearchView::Mih(tables) => {
            // One decision for all 8 variants: count what each would read on the tables,
            // then take the cheapest split between the tables and one tiled scan.
            let (n, words) = (values.len(), values.words());
            let budget = scan_cost(n, words);
            let mut planned = Vec::new();
            // All 8 located at once, so that their cache misses overlap.
            let all: Vec<Query> = (0..8).map(query).collect();
            for (v, c) in tables.candidates_many(&all, budget).into_iter().enumerate() {
                match c? {
                    Some(c) => planned.push((c.cost, v, c)),
                    None => scanned.push(v),
                }
            }
            planned.sort_by_key(|p| (p.0, p.1));
            let mut best = (u64::MAX, 0);
            let mut sum = 0u64;
            for k in 0..=planned.len() {
                let total = sum.saturating_add(tiled_cost(n, words, 8 - k));
                if total < best.0 {
                    best = (total, k);
                }
                if let Some(p) = planned.get(k) {
                    sum = sum.saturating_add(p.0);
                }
            }
            scanned.extend(planned[best.1..].iter().map(|p| p.1));
            for (_, v, candidates) in &planned[..best.1] {
                tables.collect(&query(*v), candidates, &mut per[*v])?;
            }
            scanned.sort_unstable();
        }
        _ => {
            for (v, found) in per.iter_mut().enumerate() {
                match structure_search(data, sec, &query(v), Method::Auto)? {
                    Probe::Hits(hits) => *found = hits,
                    Probe::ScanCheaper => {
                        scanned = (0..8).collect();
                        break;
                    }
                }
            }
            if !scanned.is_empty() {
                per.iter_mut().for_each(Vec::clear);
            }
        }
    }
    if !scanned.is_empty() {
        let group: Vec<[u64; 4]> = scanned.iter().map(|&v| qs[v]).collect();
        let mut out = vec![Vec::new(); group.len()];
        values.scan_many(&group, radius, &mut out);
        for (v, found) in scanned.into_iter().zip(out) {
            per[v] = found;
        }
    }
    let mut all: Vec<(u32, u32, usize)> = Vec::new();
    for (v, found) in per.into_iter().enumerate() {
        all.extend(found.into_iter().map(|(p, d)| (p, d, v)));
    }
    all.sort_unstable();
    all.dedup_by_key(|h| h.0);
    Ok(all
        .into_iter()
        .map(|(p, d, v)| DihedralHit { entry: sec.first + p, distance: d, variant: Variant::ALL[v] })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, Entry, ListInfo};
    use crate::hash::{HashValue, Kind, Phash};
    use crate::index::layout::Layout;
    use crate::index::{build, BuildOptions, Structure, FORMAT_VERSION};

    /// An index of `n` pHash values 0, 1, 2, ... with `structure`, and its layout.
    fn index(n: u64, structure: Structure) -> (Vec<u8>, Layout) {
        let entries = (0..n)
            .map(|i| Entry {
                value: HashValue::Phash(Phash(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))),
                id: format!("e{i}"),
                label: String::new(),
                lists: vec![0],
            })
            .collect();
        let catalog = Catalog {
            lists: vec![ListInfo { name: "l".into(), ..Default::default() }],
            entries,
            ..Default::default()
        };
        let bytes = build(&catalog, &BuildOptions::with_structure(structure)).unwrap();
        let layout = Layout::read(&bytes, &[FORMAT_VERSION]).unwrap();
        (bytes, layout)
    }

    fn phash_section(layout: &Layout) -> &KindSection {
        layout.kinds.iter().find(|s| s.kind == Kind::Phash).unwrap()
    }

    #[test]
    fn probe_says_scan_cheaper_for_a_scan_section_or_a_forced_scan() {
        let (bytes, layout) = index(50, Structure::Scan);
        let q = Query { words: [0, 0, 0, 0], radius: 4 };
        let sec = phash_section(&layout);
        assert_eq!(structure_search(&bytes, sec, &q, Method::Auto).unwrap(), Probe::ScanCheaper);
        let (bytes, layout) = index(2000, Structure::Mih { substrings: Some(4) });
        let sec = phash_section(&layout);
        assert_eq!(structure_search(&bytes, sec, &q, Method::Scan).unwrap(), Probe::ScanCheaper);
    }

    #[test]
    fn probe_gives_the_hits_at_small_radii_and_scan_cheaper_at_large_ones() {
        let (bytes, layout) = index(4096, Structure::Mih { substrings: Some(4) });
        let sec = phash_section(&layout);
        let target = 7u64.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let q = Query { words: [target ^ 1, 0, 0, 0], radius: 1 };
        match structure_search(&bytes, sec, &q, Method::Auto).unwrap() {
            Probe::Hits(hits) => {
                let mut scanned = Vec::new();
                sec.values(&bytes).scan(&q, &mut scanned);
                assert_eq!(hits.len(), 1);
                assert_eq!(hits, scanned);
            }
            Probe::ScanCheaper => panic!("radius 1 on 16-bit substrings should probe"),
        }
        let wide = Query { radius: 30, ..q };
        assert_eq!(structure_search(&bytes, sec, &wide, Method::Auto).unwrap(), Probe::ScanCheaper);
        // Forced, the tables answer even when a scan is cheaper, and agree with it.
        let Probe::Hits(mut forced) = structure_search(&bytes, sec, &wide, Method::Structure).unwrap() else {
            panic!("a forced structure never defers to a scan")
        };
        let mut scanned = Vec::new();
        sec.values(&bytes).scan(&wide, &mut scanned);
        forced.sort_unstable();
        assert_eq!(forced, scanned);
    }

    #[test]
    fn tiled_cost_grows_slower_than_single_scans() {
        assert_eq!(tiled_cost(1000, 1, 0), 0);
        assert_eq!(tiled_cost(1000, 1, 1), scan_cost(1000, 1));
        assert!(tiled_cost(1000, 4, 8) < 8 * scan_cost(1000, 4));
    }
}
