//! Conservative lower tails of the null distance distributions ([`super::null`]), and
//! the versioned table that ships them (`src/significance/null-v1.tsv`).
//!
//! For one kind, `tail(d)` bounds P(distance <= d) for an unrelated pair:
//!
//! 1. **Empirical upper bound.** With `C(d)` the pairs at distance `<= d` among `N`, the
//!    one-sided [`CONFIDENCE`] Chernoff (Kullback-Leibler) bound: the largest `q >= C/N`
//!    with `N' KL(C/N || q) <= ln(1 / (1 - CONFIDENCE))`. Pairs that share a photo are
//!    not independent, so `N'` is not `N` but `N / deff`: the design effect `deff` compares
//!    the variance of `C(d)/N` estimated over the source photos (each photo's share of its
//!    own pairs; a U-statistic's variance is `4 Var / photos`) with the binomial variance;
//!    it is taken as the running maximum from the first dense distance up (below it, the
//!    value there), and at least 1.
//! 2. **Model.** `d / 2` (both kinds set exactly half their bits, so distances are even;
//!    an odd distance counts with the even one below) is fitted with a beta-binomial, an
//!    overdispersed binomial (bits of natural-image hashes are correlated), over the
//!    *dense* distances (at least [`DENSE`] pairs) of the lower half of the distribution:
//!    least squares on the log of the cumulative distribution, over a grid of mean and
//!    overdispersion. Of the fits whose root-mean-square log error is within
//!    [`FIT_SLACK`] of the best, the one with the heaviest scaled tail at `d = 0` is kept.
//!    It is then multiplied by the smallest `scale >= 1` that puts it at or above the
//!    empirical upper bound at every dense distance of the lower half.
//! 3. **Table value**: `max(model, empirical bound)` where any pair lies at or below the
//!    distance, the model where none does (there the empirical bound of zero pairs,
//!    `~ 4.6 deff / pairs`, says only that the data is too small); then at most 1, at
//!    least [`FLOOR`], non-decreasing, and 1 at the largest distance.
//!
//! The joint tail P(pHash `<= a` and PDQ `<= b`) follows the same idea: the empirical
//! bound where any pair was seen (with the larger of the two marginal design effects);
//! elsewhere `c P_h(a) P_q(b)` with `c >= 1` the largest ratio of the joint bound to the
//! product of the (shipped) marginals over the dense cells; always at most
//! `min(P_h(a), P_q(b))` and non-decreasing in both.

use std::io::{self, Write};

/// Confidence of the one-sided empirical upper bounds.
pub const CONFIDENCE: f64 = 0.99;

/// A distance (or cell) is dense when at least this many pairs lie at or below it.
pub const DENSE: u64 = 20;

/// The smallest probability the table holds.
pub const FLOOR: f64 = 1e-300;

/// Fits whose RMS log error is within this of the best are candidates (see the module docs).
pub const FIT_SLACK: f64 = 0.05;

/// The largest pHash distance of the joint table.
pub const JOINT_PHASH_MAX: usize = 24;

/// The largest PDQ distance of the joint table.
pub const JOINT_PDQ_MAX: usize = 128;

/// Version of the table format (the `version` line).
pub const TABLE_VERSION: u32 = 1;

/// ln P(Binomial(n, 1/2) <= d): the tail of independent uniform n-bit hashes.
pub fn binomial_log_tail(n: u32, d: u32) -> f64 {
    let mut ln_choose = 0.0;
    let mut terms = Vec::new();
    for k in 0..=d.min(n) {
        terms.push(ln_choose - f64::from(n) * std::f64::consts::LN_2);
        ln_choose += (f64::from(n - k) / f64::from(k + 1)).ln();
    }
    log_sum_exp(&terms)
}

fn log_sum_exp(terms: &[f64]) -> f64 {
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
}

/// The one-sided upper confidence bound of a proportion, `k` successes in `n` trials
/// (both may be fractional, as after a design effect): the largest `q >= k/n` with
/// `n KL(k/n || q) <= ln(1 / (1 - confidence))` (the Chernoff bound on the lower tail).
pub fn chernoff_upper(k: f64, n: f64, confidence: f64) -> f64 {
    if n <= 0.0 {
        return 1.0;
    }
    let p = (k / n).clamp(0.0, 1.0);
    if p >= 1.0 {
        return 1.0;
    }
    let target = -(1.0 - confidence).ln() / n;
    let kl = |q: f64| {
        let a = if p > 0.0 { p * (p / q).ln() } else { 0.0 };
        a + (1.0 - p) * ((1.0 - p) / (1.0 - q)).ln()
    };
    let (mut lo, mut hi) = (p, 1.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if kl(mid) <= target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// A beta-binomial distribution: `trials` Bernoulli trials whose probability is Beta(alpha, beta).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BetaBinomial {
    /// Number of trials.
    pub trials: u32,
    /// First shape parameter.
    pub alpha: f64,
    /// Second shape parameter.
    pub beta: f64,
}

impl BetaBinomial {
    /// The distribution with mean `mean * trials` and intra-class correlation `rho`.
    pub fn from_mean(trials: u32, mean: f64, rho: f64) -> BetaBinomial {
        let s = 1.0 / rho - 1.0;
        BetaBinomial { trials, alpha: mean * s, beta: (1.0 - mean) * s }
    }

    /// ln P(X <= k) for k = 0..=trials.
    pub fn log_cdf(&self) -> Vec<f64> {
        let (n, a, b) = (self.trials, self.alpha, self.beta);
        let mut log_pmf = (0..n).map(|i| ((b + f64::from(i)) / (a + b + f64::from(i))).ln()).sum::<f64>();
        let mut out = Vec::with_capacity(n as usize + 1);
        let mut acc = f64::NEG_INFINITY;
        for k in 0..=n {
            acc = log_sum_exp(&[acc, log_pmf]);
            out.push(acc.min(0.0));
            if k < n {
                let (k, nf) = (f64::from(k), f64::from(n));
                log_pmf += ((nf - k) / (k + 1.0) * (k + a) / (nf - k - 1.0 + b)).ln();
            }
        }
        out
    }
}

/// The fitted, bounded tail of one kind.
#[derive(Clone, Debug, PartialEq)]
pub struct TailFit {
    /// Pairs measured.
    pub pairs: u64,
    /// `counts[d]`: pairs at distance `<= d`.
    pub counts: Vec<u64>,
    /// The design effect used at each distance (at least 1).
    pub design_effect: Vec<f64>,
    /// The empirical upper bound at each distance (where no pair was seen it is only
    /// `~ 4.6 deff / pairs` and is not used).
    pub upper: Vec<f64>,
    /// Whether at least [`DENSE`] pairs lie at or below the distance.
    pub dense: Vec<bool>,
    /// The fitted model of `distance / 2`.
    pub model: BetaBinomial,
    /// The factor (at least 1) the model is multiplied by.
    pub scale: f64,
    /// The scaled model at each distance (at most 1).
    pub modelled: Vec<f64>,
    /// The table values.
    pub values: Vec<f64>,
}

/// Fits the tail of a histogram of distances `0..=bits` (`hist.len() - 1` bits; even).
/// `by_source[s]` holds the histogram of the pairs photo `s` is part of.
pub fn fit_tail(hist: &[u64], by_source: &[Vec<u64>]) -> TailFit {
    let bits = hist.len() - 1;
    let counts = cumulative(hist);
    let pairs = counts[bits];
    let dense: Vec<bool> = counts.iter().map(|&c| c >= DENSE).collect();
    let design_effect = design_effects(&counts, by_source, &dense);
    let upper: Vec<f64> = (0..=bits)
        .map(|d| {
            chernoff_upper(counts[d] as f64 / design_effect[d], pairs as f64 / design_effect[d], CONFIDENCE)
        })
        .collect();
    // The model is of k = d / 2; an odd distance counts with the even one below.
    let half = bits / 2;
    let k_counts: Vec<u64> = (0..=half).map(|k| counts[(2 * k + 1).min(bits)]).collect();
    let region: Vec<usize> =
        (0..=half).filter(|&k| k_counts[k] >= DENSE && 2 * k_counts[k] <= pairs.max(1)).collect();
    let at_k = |d: usize| (d / 2).min(half);
    // The scale lifts the model over the bound at every dense distance of the lower half
    // (thin ones get their own bound below: one pair of look-alike photos must not lift
    // the whole curve).
    let scale_for = |log_cdf: &[f64]| {
        region.iter().map(|&k| (upper[(2 * k + 1).min(bits)].ln() - log_cdf[k]).exp()).fold(1.0, f64::max)
    };
    let model = fit_beta_binomial(half as u32, &k_counts, pairs, &region, &scale_for);
    let log_cdf = model.log_cdf();
    let scale = scale_for(&log_cdf);
    let modelled: Vec<f64> = (0..=bits).map(|d| (scale * log_cdf[at_k(d)].exp()).min(1.0)).collect();
    let mut values: Vec<f64> =
        (0..=bits).map(|d| if counts[d] >= 1 { modelled[d].max(upper[d]) } else { modelled[d] }).collect();
    finish(&mut values);
    TailFit { pairs, counts, design_effect, upper, dense, model, scale, modelled, values }
}

/// Clamps to `[FLOOR, 1]`, makes non-decreasing, and sets the last value to 1.
fn finish(values: &mut [f64]) {
    let mut run = FLOOR;
    for v in values.iter_mut() {
        run = run.max(v.clamp(FLOOR, 1.0));
        *v = run;
    }
    if let Some(last) = values.last_mut() {
        *last = 1.0;
    }
}

fn cumulative(hist: &[u64]) -> Vec<u64> {
    hist.iter()
        .scan(0u64, |acc, &n| {
            *acc += n;
            Some(*acc)
        })
        .collect()
}

/// The design effect of `counts[d] / pairs` from the spread of the photos' own shares,
/// as a running maximum over the dense distances (before the first, the value there).
fn design_effects(counts: &[u64], by_source: &[Vec<u64>], dense: &[bool]) -> Vec<f64> {
    let pairs = *counts.last().unwrap_or(&0) as f64;
    let own: Vec<(Vec<u64>, f64)> = by_source
        .iter()
        .filter_map(|h| {
            let c = cumulative(h);
            let n = *c.last()? as f64;
            (n > 0.0).then_some((c, n))
        })
        .collect();
    let photos = own.len() as f64;
    let mut run: f64 = 1.0;
    let mut effects: Vec<f64> = (0..counts.len())
        .map(|d| {
            let p = counts[d] as f64 / pairs.max(1.0);
            if dense[d] && photos >= 2.0 && p < 1.0 {
                let shares: Vec<f64> = own.iter().map(|(c, n)| c[d] as f64 / n).collect();
                let mean = shares.iter().sum::<f64>() / photos;
                let var = shares.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (photos - 1.0);
                let var_p = 4.0 * var / photos;
                let binomial = p * (1.0 - p) / pairs;
                run = run.max(var_p / binomial);
            }
            run
        })
        .collect();
    // Below the first dense distance the spread cannot be measured: use the first measured one.
    if let Some(first) = dense.iter().position(|&x| x) {
        let at_first = effects[first];
        effects[..first].iter_mut().for_each(|e| *e = at_first);
    }
    effects
}

/// Grid search of (mean, overdispersion) minimising the squared log error of the CDF over
/// `region` (values of k), then the heaviest scaled tail at 0 among the near-best fits.
fn fit_beta_binomial(
    trials: u32,
    k_counts: &[u64],
    pairs: u64,
    region: &[usize],
    scale_for: &dyn Fn(&[f64]) -> f64,
) -> BetaBinomial {
    let target: Vec<f64> = region.iter().map(|&k| (k_counts[k] as f64 / pairs as f64).ln()).collect();
    let mut fits = Vec::new();
    for m in 1..100 {
        for t in 0..=140 {
            let bb =
                BetaBinomial::from_mean(trials, f64::from(m) / 100.0, (-14.0 + 0.1 * f64::from(t)).exp());
            let cdf = bb.log_cdf();
            let sq = region.iter().zip(&target).map(|(&k, y)| (cdf[k] - y).powi(2)).sum::<f64>();
            let rms = (sq / region.len().max(1) as f64).sqrt();
            fits.push((rms, bb, cdf));
        }
    }
    let best = fits.iter().map(|f| f.0).fold(f64::INFINITY, f64::min);
    fits.iter()
        .filter(|f| f.0 <= best + FIT_SLACK)
        .map(|(_, bb, cdf)| (cdf[0] + scale_for(cdf).ln(), *bb))
        .fold((f64::NEG_INFINITY, fits[0].1), |acc, x| if x.0 > acc.0 { x } else { acc })
        .1
}

/// The fitted, bounded joint tail P(pHash `<= a` and PDQ `<= b`), a in 0..=24, b in 0..=128.
#[derive(Clone, Debug, PartialEq)]
pub struct JointFit {
    /// Pairs measured (both PDQ hashes good).
    pub pairs: u64,
    /// `counts[a * 129 + b]`: pairs with pHash `<= a` and PDQ `<= b`.
    pub counts: Vec<u64>,
    /// The empirical upper bounds, same layout.
    pub upper: Vec<f64>,
    /// The dependence factor `c >= 1` of the model.
    pub dependence: f64,
    /// The table values, same layout.
    pub values: Vec<f64>,
}

impl JointFit {
    /// The table value at (a, b).
    pub fn at(&self, a: usize, b: usize) -> f64 {
        self.values[a * (JOINT_PDQ_MAX + 1) + b]
    }

    /// The pair count at or below (a, b).
    pub fn count_at(&self, a: usize, b: usize) -> u64 {
        self.counts[a * (JOINT_PDQ_MAX + 1) + b]
    }
}

/// Fits the joint tail from `joint[a * 257 + b]` (pHash distance a, PDQ distance b) and the
/// two fitted marginals.
pub fn fit_joint(joint: &[u64], phash: &TailFit, pdq: &TailFit) -> JointFit {
    let cols = pdq.values.len();
    let (na, nb) = (JOINT_PHASH_MAX + 1, JOINT_PDQ_MAX + 1);
    let pairs: u64 = joint.iter().sum();
    let mut counts = vec![0u64; na * nb];
    for a in 0..na {
        let mut row = 0;
        for b in 0..nb {
            row += joint[a * cols + b];
            counts[a * nb + b] = row + if a > 0 { counts[(a - 1) * nb + b] } else { 0 };
        }
    }
    let mut upper = vec![1.0; na * nb];
    let mut dependence: f64 = 1.0;
    for a in 0..na {
        for b in 0..nb {
            let deff = phash.design_effect[a].max(pdq.design_effect[b]);
            let u = chernoff_upper(counts[a * nb + b] as f64 / deff, pairs as f64 / deff, CONFIDENCE);
            upper[a * nb + b] = u;
            if counts[a * nb + b] >= DENSE {
                dependence = dependence.max(u / (phash.values[a] * pdq.values[b]));
            }
        }
    }
    let mut values = vec![0.0; na * nb];
    for a in 0..na {
        for b in 0..nb {
            let i = a * nb + b;
            let (ph, pq) = (phash.values[a], pdq.values[b]);
            let model = dependence * ph * pq;
            let v = if counts[i] >= 1 { model.max(upper[i]) } else { model };
            let mut v = v.min(ph).min(pq).max(FLOOR);
            if a > 0 {
                v = v.max(values[i - nb]);
            }
            if b > 0 {
                v = v.max(values[i - 1]);
            }
            values[i] = v;
        }
    }
    JointFit { pairs, counts, upper, dependence, values }
}

/// Writes the table: `# ` comment lines, then `version`, the `tail` lines of both kinds and
/// the `joint` lines, tab-separated, probabilities in Rust's `{:e}` form.
pub fn write_table(
    out: &mut impl Write,
    comments: &[String],
    phash: &TailFit,
    pdq: &TailFit,
    joint: &JointFit,
) -> io::Result<()> {
    for c in comments {
        writeln!(out, "# {c}")?;
    }
    writeln!(out, "version\t{TABLE_VERSION}")?;
    for (kind, fit) in [("phash", phash), ("pdq", pdq)] {
        for (d, p) in fit.values.iter().enumerate() {
            writeln!(out, "tail\t{kind}\t{d}\t{p:e}")?;
        }
    }
    for a in 0..=JOINT_PHASH_MAX {
        for b in 0..=JOINT_PDQ_MAX {
            writeln!(out, "joint\t{a}\t{b}\t{:e}", joint.at(a, b))?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tail_tests.rs"]
mod tests;
