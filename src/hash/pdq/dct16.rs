//! PDQ's partial 2-D DCT: 64x64 samples in, coefficients (1..=16)x(1..=16) out.
//!
//! Meta computes `B = D A Dᵀ` with `D` the 16x64 DCT-II matrix without its DC row, as two
//! plain matrix products in `f32`, each sum accumulated over `k = 0..64` in order from
//! zero. This keeps exactly that order (only the loops that do not affect rounding are
//! rearranged so that they run along memory), so the coefficients are bit-identical.

use std::sync::OnceLock;

/// The 16x64 matrix, row-major: `D[i][j] = sqrt(2/64) * cos(pi/128 * (i+1) * (2j+1))`,
/// computed as Meta does: the scale factor rounded to `f32`, the product in `f64`, the
/// result rounded to `f32`.
fn matrix() -> &'static [[f32; 64]; 16] {
    static D: OnceLock<[[f32; 64]; 16]> = OnceLock::new();
    D.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut d = [[0.0f32; 64]; 16];
        for (i, row) in d.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let angle = (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                *v = (f64::from(scale) * angle.cos()) as f32;
            }
        }
        d
    })
}

/// The 16x16 coefficients of the 64x64 block `a` (row-major), row-major.
pub(crate) fn dct64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = matrix();
    // T = D A: T[i][j] = sum over k of D[i][k] * A[k][j], k ascending.
    let mut t = [[0.0f32; 64]; 16];
    for (t_row, d_row) in t.iter_mut().zip(d) {
        for (a_row, &dik) in a.iter().zip(d_row) {
            for (tij, &akj) in t_row.iter_mut().zip(a_row) {
                *tij += dik * akj;
            }
        }
    }
    // B = T Dᵀ: B[i][j] = sum over k of T[i][k] * D[j][k], k ascending.
    let mut b = [[0.0f32; 16]; 16];
    for (b_row, t_row) in b.iter_mut().zip(&t) {
        for (bij, d_row) in b_row.iter_mut().zip(d) {
            let mut sum = 0.0f32;
            for (&tik, &djk) in t_row.iter().zip(d_row) {
                sum += tik * djk;
            }
            *bij = sum;
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_block_has_no_ac_energy() {
        // Without the DC row, a constant block maps to (nearly) zero coefficients.
        let a = [[100.0f32; 64]; 64];
        let b = dct64_to_16(&a);
        for row in &b {
            for &v in row {
                assert!(v.abs() < 1e-2, "{v}");
            }
        }
    }

    #[test]
    fn a_cosine_lands_in_its_own_coefficient() {
        // A pure DCT basis image (u = 3 down, v = 5 across) excites B[2][4] only.
        let mut a = [[0.0f32; 64]; 64];
        for (r, row) in a.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                let cu = (std::f64::consts::PI / 128.0 * 3.0 * (2 * r + 1) as f64).cos();
                let cv = (std::f64::consts::PI / 128.0 * 5.0 * (2 * c + 1) as f64).cos();
                *v = (100.0 * cu * cv) as f32;
            }
        }
        let b = dct64_to_16(&a);
        for (i, row) in b.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                if (i, j) == (2, 4) {
                    assert!((v - 3200.0).abs() < 1.0, "{v}");
                } else {
                    assert!(v.abs() < 0.1, "B[{i}][{j}] = {v}");
                }
            }
        }
    }
}
