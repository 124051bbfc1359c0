//! The unnormalised DCT-II that Python `imagehash.phash` takes of its 32x32 thumbnail.
//!
//! `scipy.fftpack.dct(x)` (type 2, no normalisation) is
//! `X[k] = 2 * sum(x[n] * cos(pi * k * (2n + 1) / (2N)) for n in 0..N)`, in `f64`.
//! pHash only compares coefficients with their median, so rounding matters only where two
//! coefficients tie. The ties that occur in practice are exact zeros that the symmetry of
//! the input forces (a flat image, a flat row, a mirror-symmetric or linear-ramp profile);
//! scipy's FFT-based DCT produces those zeros exactly and so does this one, because it
//! splits the input into its symmetric and antisymmetric halves first (the even/odd
//! decomposition of the DCT), recursively, and reads every cosine from one exactly
//! symmetric table. Zero inputs then give exact zero outputs, with no rounding noise that
//! could land on either side of a zero median.
//!
//! (PDQ uses its own DCT matrix and loop order, as Meta's code does.)

/// A DCT-II of one power-of-two length with its cosine table, built once and reused.
#[derive(Clone, Debug)]
pub struct Dct2 {
    n: usize,
    /// `cos(pi * j / (2n))` for `j` in `0..4n`, exactly symmetric (see [`cos_pi_ratio`]).
    cos: Vec<f64>,
}

impl Dct2 {
    /// A transform of length `n`; `None` unless `n` is a power of two.
    pub fn new(n: usize) -> Option<Dct2> {
        n.is_power_of_two().then(|| Dct2 { n, cos: (0..4 * n).map(|j| cos_pi_ratio(j, 2 * n)).collect() })
    }

    /// The transform length.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false: a transform has at least one sample.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the first `out.len()` coefficients of the unnormalised DCT-II of `x`
    /// (scipy's `fftpack.dct(x, type=2)`) to `out`.
    ///
    /// # Panics
    /// If `x.len()` is not the transform length or `out` is longer than `x`.
    pub fn transform(&self, x: &[f64], out: &mut [f64]) {
        assert_eq!(x.len(), self.n, "DCT input length");
        assert!(out.len() <= self.n, "asked for {} DCT coefficients of {} samples", out.len(), self.n);
        let mut scratch = vec![0.0; 2 * self.n];
        self.rec(x, out, &mut scratch);
    }

    fn rec(&self, x: &[f64], out: &mut [f64], scratch: &mut [f64]) {
        let m = x.len();
        if out.is_empty() {
            return;
        }
        if m == 1 {
            out[0] = 2.0 * x[0];
            return;
        }
        let half = m / 2;
        let (sum, rest) = scratch.split_at_mut(half);
        let (diff, rest) = rest.split_at_mut(half);
        for i in 0..half {
            sum[i] = x[i] + x[m - 1 - i];
            diff[i] = x[i] - x[m - 1 - i];
        }
        // Even outputs: X[2j] is the half-length DCT-II of the symmetric part.
        let mut even = vec![0.0; out.len().div_ceil(2)];
        self.rec(sum, &mut even, rest);
        for (j, &v) in even.iter().enumerate() {
            out[2 * j] = v;
        }
        // Odd outputs: X[k] = 2 * sum(diff[i] * cos(pi * k * (2i + 1) / (2m))), k odd.
        let stride = self.n / m;
        let period = 4 * self.n;
        for k in (1..out.len()).step_by(2) {
            let mut acc = 0.0;
            for (i, &d) in diff.iter().enumerate() {
                acc += d * self.cos[(k * (2 * i + 1) * stride) % period];
            }
            out[k] = 2.0 * acc;
        }
    }
}

/// `cos(pi * j / den)` with `j` reduced by the cosine's symmetries first, so that values
/// which are equal or opposite in exact arithmetic are bit for bit equal or opposite.
fn cos_pi_ratio(j: usize, den: usize) -> f64 {
    let j = j % (2 * den);
    let j = if j > den { 2 * den - j } else { j };
    // Now 0 <= j <= den; fold (den/2, den] onto [0, den/2) with a sign change.
    if 2 * j == den {
        0.0
    } else if 2 * j > den {
        -(std::f64::consts::PI * (den - j) as f64 / den as f64).cos()
    } else {
        (std::f64::consts::PI * j as f64 / den as f64).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f64], k: usize) -> f64 {
        let n = x.len() as f64;
        2.0 * x
            .iter()
            .enumerate()
            .map(|(i, &v)| v * (std::f64::consts::PI * k as f64 * (2.0 * i as f64 + 1.0) / (2.0 * n)).cos())
            .sum::<f64>()
    }

    #[test]
    fn agrees_with_the_definition() {
        let x: Vec<f64> = (0..32).map(|i| ((i * 37 + 11) % 256) as f64).collect();
        let dct = Dct2::new(32).unwrap();
        let mut out = [0.0; 32];
        dct.transform(&x, &mut out);
        for (k, &v) in out.iter().enumerate() {
            assert!((v - naive(&x, k)).abs() < 1e-9 * (1.0 + v.abs()), "k={k}: {v} vs {}", naive(&x, k));
        }
        // A prefix is the prefix of the full transform.
        let mut low = [0.0; 8];
        dct.transform(&x, &mut low);
        assert_eq!(low[..], out[..8]);
    }

    #[test]
    fn symmetric_inputs_give_exact_zeros() {
        let dct = Dct2::new(32).unwrap();
        let mut out = [0.0; 32];
        dct.transform(&[7.0; 32], &mut out);
        assert_eq!(out[0], 2.0 * 32.0 * 7.0);
        assert!(out[1..].iter().all(|&v| v == 0.0));

        let mirror: Vec<f64> = (0..32).map(|i| ((i.min(31 - i) * 13) % 256) as f64).collect();
        dct.transform(&mirror, &mut out);
        assert!(out.iter().skip(1).step_by(2).all(|&v| v == 0.0));

        let ramp: Vec<f64> = (0..32).map(|i| (3 * i) as f64).collect();
        dct.transform(&ramp, &mut out);
        assert!(out.iter().skip(2).step_by(2).all(|&v| v == 0.0));
        assert!(out[1] < 0.0);
    }

    #[test]
    fn only_powers_of_two() {
        assert!(Dct2::new(24).is_none());
        assert!(Dct2::new(0).is_none());
        assert_eq!(Dct2::new(1).map(|d| d.len()), Some(1));
    }
}
