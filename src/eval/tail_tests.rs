use super::*;

/// A histogram of `pairs` distances of `bits`-bit hashes, Binomial(bits/2, p) in d/2 scaled
/// to counts (rounded), standing in for a measured one.
fn synthetic(bits: usize, pairs: f64, mean: f64, rho: f64) -> Vec<u64> {
    let bb = BetaBinomial::from_mean((bits / 2) as u32, mean, rho);
    let cdf: Vec<f64> = bb.log_cdf().iter().map(|l| l.exp()).collect();
    let mut h = vec![0u64; bits + 1];
    for k in 0..=bits / 2 {
        let p = cdf[k] - if k > 0 { cdf[k - 1] } else { 0.0 };
        h[2 * k] = (p * pairs).round() as u64;
    }
    h
}

/// Per-photo histograms that split `hist` evenly over `photos` (no dependence: deff ~ 1),
/// each pair counted for two photos.
fn even_split(hist: &[u64], photos: usize) -> Vec<Vec<u64>> {
    (0..photos).map(|_| hist.iter().map(|&n| 2 * n / photos as u64).collect()).collect()
}

fn assert_table_shape(values: &[f64]) {
    assert!(values.iter().all(|&v| v > 0.0 && v <= 1.0), "{values:?}");
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "not monotone: {values:?}");
    assert_eq!(*values.last().unwrap(), 1.0);
}

#[test]
fn binomial_tail_is_exact() {
    // P(Bin(64, 1/2) <= 0) = 2^-64; <= 1: 65 * 2^-64; <= 64: 1.
    assert!((binomial_log_tail(64, 0) - (-64.0 * std::f64::consts::LN_2)).abs() < 1e-12);
    assert!((binomial_log_tail(64, 1).exp() / (65.0 * 2f64.powi(-64)) - 1.0).abs() < 1e-12);
    assert!(binomial_log_tail(64, 64).abs() < 1e-12);
    // P(Bin(4, 1/2) <= 2) = 11/16.
    assert!((binomial_log_tail(4, 2).exp() - 11.0 / 16.0).abs() < 1e-14);
    // PDQ at 31 bits of 256: about 1e-37 (the figure).
    let p31 = binomial_log_tail(256, 31).exp();
    assert!(p31 > 1e-38 && p31 < 1e-36, "{p31:e}");
}

#[test]
fn chernoff_bound_is_above_the_estimate_and_shrinks_with_data() {
    let u = chernoff_upper(10.0, 1000.0, 0.99);
    assert!(u > 0.01 && u < 0.03, "{u}");
    assert!(chernoff_upper(100.0, 10_000.0, 0.99) < u);
    // No successes: 1 - 0.01^(1/n).
    let z = chernoff_upper(0.0, 1e9, 0.99);
    assert!((z / (-(0.01f64).ln() / 1e9) - 1.0).abs() < 1e-6, "{z:e}");
    assert_eq!(chernoff_upper(5.0, 5.0, 0.99), 1.0);
    // The bound covers: the exact binomial P(X <= 10 | q = u) is at most 1%.
    let n = 1000.0_f64;
    let tail: f64 = (0..=10)
        .map(|k| {
            let ln_c: f64 = (0..k).map(|i| ((n - i as f64) / (i as f64 + 1.0)).ln()).sum();
            (ln_c + k as f64 * u.ln() + (n - k as f64) * (1.0 - u).ln()).exp()
        })
        .sum();
    assert!(tail <= 0.01, "{tail}");
}

#[test]
fn beta_binomial_without_overdispersion_is_the_binomial() {
    let bb = BetaBinomial::from_mean(32, 0.5, 1e-9);
    let cdf = bb.log_cdf();
    for k in [0usize, 3, 8, 16] {
        let b = binomial_log_tail(32, k as u32);
        assert!((cdf[k] - b).abs() < 1e-4, "k={k}: {} vs {b}", cdf[k]);
    }
    // Overdispersion makes the lower tail heavier.
    assert!(BetaBinomial::from_mean(32, 0.5, 0.05).log_cdf()[2] > cdf[2] + 2.0);
}

#[test]
fn fitted_tail_is_monotone_and_above_every_upper_bound_with_data() {
    let hist = synthetic(64, 5e9, 0.45, 0.03);
    let fit = fit_tail(&hist, &even_split(&hist, 400));
    assert_table_shape(&fit.values);
    assert_eq!(fit.values.len(), 65);
    for d in 0..=64 {
        if fit.counts[d] >= 1 {
            assert!(fit.values[d] >= fit.upper[d], "d={d}");
            assert!(fit.values[d] >= fit.counts[d] as f64 / fit.pairs as f64, "d={d}");
        }
    }
    assert!(fit.scale >= 1.0);
    // The fit recovers the heavy (overdispersed) tail: far above the binomial at d = 0..8.
    for d in [0usize, 4, 8] {
        assert!(fit.values[d].ln() > binomial_log_tail(64, d as u32) + 3.0, "d={d}");
    }
}

#[test]
fn odd_distances_take_the_value_of_the_even_below() {
    let hist = synthetic(256, 1e9, 0.5, 0.01);
    let fit = fit_tail(&hist, &even_split(&hist, 300));
    assert_table_shape(&fit.values);
    for d in (1..256).step_by(2) {
        assert_eq!(fit.values[d], fit.values[d - 1], "d={d}");
    }
}

#[test]
fn a_few_close_pairs_below_the_dense_region_lift_the_tail() {
    // A binomial-like bulk plus 3 pairs at distance 0 and 2 at distance 2 (as duplicates
    // or flat crops give): the table must not fall below what was seen there.
    let mut hist = synthetic(64, 1e9, 0.5, 1e-6);
    let plain = fit_tail(&hist, &even_split(&hist, 200));
    hist[0] += 3;
    hist[2] += 2;
    let fit = fit_tail(&hist, &even_split(&hist, 200));
    assert_table_shape(&fit.values);
    assert!(!fit.dense[0] && !fit.dense[2], "{:?}", &fit.counts[..6]);
    for d in 0..=8 {
        assert!(fit.values[d] >= fit.upper[d], "d={d}");
        assert!(fit.values[d] >= fit.counts[d] as f64 / fit.pairs as f64, "d={d}");
    }
    assert!(
        fit.values[0] > 3.0 / 1e9 && fit.values[0] > 10.0 * plain.values[0],
        "{} vs {}",
        fit.values[0],
        plain.values[0]
    );
    // Their own bounds lift them; the dense fit is not moved by them.
    assert!((fit.scale / plain.scale - 1.0).abs() < 0.5, "{} vs {}", fit.scale, plain.scale);
}

#[test]
fn thin_distances_use_the_design_effect_of_the_first_dense_one() {
    let hist = synthetic(64, 1e8, 0.5, 1e-6);
    // Half the photos hold all the close pairs: a design effect well above 1.
    let mut skewed = even_split(&hist, 100);
    for (s, h) in skewed.iter_mut().enumerate() {
        for d in 0..30 {
            h[d] = if s < 50 { 4 * hist[d] / 100 } else { 0 };
        }
    }
    let fit = fit_tail(&hist, &skewed);
    let first = fit.dense.iter().position(|&x| x).unwrap();
    assert!(first > 0 && fit.design_effect[first] > 1.5, "{first} {}", fit.design_effect[first]);
    assert!(fit.design_effect[..first].iter().all(|&e| e == fit.design_effect[first]));
    assert!(fit.design_effect.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn sparse_data_still_gives_a_valid_table() {
    let mut hist = vec![0u64; 65];
    hist[30] = 3;
    hist[32] = 10;
    hist[40] = 2;
    let fit = fit_tail(&hist, &even_split(&hist, 3));
    assert_table_shape(&fit.values);
}

#[test]
fn dependence_between_photos_widens_the_bound() {
    let hist = synthetic(64, 1e8, 0.45, 0.03);
    let even = fit_tail(&hist, &even_split(&hist, 100));
    // Same totals, but half the photos hold all the close pairs.
    let mut skewed = even_split(&hist, 100);
    for (s, h) in skewed.iter_mut().enumerate() {
        for d in 0..20 {
            h[d] = if s < 50 { 4 * hist[d] / 100 } else { 0 };
        }
    }
    let wide = fit_tail(&hist, &skewed);
    let d = (0..=64).find(|&d| even.dense[d]).unwrap();
    assert!(
        wide.design_effect[d] > 10.0 * even.design_effect[d],
        "{} vs {}",
        wide.design_effect[d],
        even.design_effect[d]
    );
    assert!(wide.upper[d] > even.upper[d]);
}

fn joint_of(ph: &[u64], pq: &[u64], total: f64) -> Vec<u64> {
    // Independent joint from two histograms over the same number of pairs.
    let mut j = vec![0u64; 65 * 257];
    for a in 0..65 {
        for b in 0..257 {
            j[a * 257 + b] = (ph[a] as f64 * pq[b] as f64 / total).round() as u64;
        }
    }
    j
}

#[test]
fn joint_is_monotone_clipped_and_above_dense_bounds() {
    let total = 1e9;
    let ph = synthetic(64, total, 0.45, 0.03);
    let pq = synthetic(256, total, 0.48, 0.01);
    let mut joint = joint_of(&ph, &pq, total);
    // Strong dependence in the close corner.
    joint[4 * 257 + 60] += 500;
    let (fh, fq) = (fit_tail(&ph, &even_split(&ph, 200)), fit_tail(&pq, &even_split(&pq, 200)));
    let fit = fit_joint(&joint, &fh, &fq);
    assert!(fit.dependence > 1.0);
    for a in 0..=JOINT_PHASH_MAX {
        for b in 0..=JOINT_PDQ_MAX {
            let v = fit.at(a, b);
            assert!(v > 0.0 && v <= fh.values[a].min(fq.values[b]), "({a},{b})");
            if a > 0 {
                assert!(v >= fit.at(a - 1, b));
            }
            if b > 0 {
                assert!(v >= fit.at(a, b - 1));
            }
            if fit.count_at(a, b) >= 1 {
                let bound = fit.upper[a * (JOINT_PDQ_MAX + 1) + b].min(fh.values[a]).min(fq.values[b]);
                assert!(v >= bound, "({a},{b})");
            }
        }
    }
    assert_eq!(
        fit.count_at(4, 60),
        (0..=4).map(|a| (0..=60).map(|b| joint[a * 257 + b]).sum::<u64>()).sum::<u64>()
    );
}

#[test]
fn table_lines_parse_in_the_contract_format() {
    let ph = synthetic(64, 1e8, 0.45, 0.03);
    let pq = synthetic(256, 1e8, 0.48, 0.01);
    let (fh, fq) = (fit_tail(&ph, &even_split(&ph, 50)), fit_tail(&pq, &even_split(&pq, 50)));
    let fj = fit_joint(&joint_of(&ph, &pq, 1e8), &fh, &fq);
    let mut out = Vec::new();
    write_table(&mut out, &["provenance".into()], &fh, &fq, &fj).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# provenance");
    assert_eq!(lines[1], "version\t1");
    assert_eq!(lines.len(), 2 + 65 + 257 + 25 * 129);
    let pdq0: Vec<&str> = lines[2 + 65].split('\t').collect();
    assert_eq!(&pdq0[..3], ["tail", "pdq", "0"]);
    assert_eq!(pdq0[3].parse::<f64>().unwrap(), fq.values[0]);
    let last: Vec<&str> = lines.last().unwrap().split('\t').collect();
    assert_eq!(&last[..3], ["joint", "24", "128"]);
}
