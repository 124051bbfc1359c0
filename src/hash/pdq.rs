//! PDQ, bit-compatible with Meta's reference core (`pdqhash`, python-threatexchange).
//!
//! The steps, each reproducing the reference's `f32` arithmetic in the same order:
//!
//! 1. **Luma.** `pdqhash` computes `R*0.299 + G*0.587 + B*0.114` in `f64` (NumPy) and
//!    rounds it to `f32`. Grey images are hashed as Pillow's `convert("RGB")` sees them,
//!    R = G = B, through the same formula.
//! 2. **Jarosz filter.** Two rounds of a box filter along rows then columns, with window
//!    `ceil(side / 128)` ([`jarosz`]).
//! 3. **Decimation** to 64x64 by taking the sample at the centre of each output cell.
//! 4. **Quality**: the sum of truncated `|difference| * 100 / 255` between neighbours of
//!    the 64x64 block, divided by 90, at most 100.
//! 5. **DCT**: coefficients (1..=16)x(1..=16) of the 64x64 block ([`dct16`]).
//! 6. **Bits**: bit `16i + j` is set when coefficient `(i, j)` is greater than the median
//!    of the 256 (the 128th smallest, as Meta's Torben median returns).
//!
//! The 8 dihedral hashes come from the one 16x16 block: a transform of the pixels is a
//! sign pattern and possibly a transpose of the coefficients ([`Variant`]).
//!
//! Two special cases follow the reference: an image with a side under 5 pixels hashes to
//! all zeros with quality 0, and an image of exactly 64x64 is not filtered (it already is
//! the 64x64 block).
//!
//! Meta's C++ command-line tool first squashes images over 512 pixels to 512x512; that is
//! not part of the core and is not done here (as in `pdqhash`).

mod dct16;
mod jarosz;

use super::{Pdq, Variant};
use crate::pixels::{Image, Pixels};

/// A PDQ hash with its quality (0-100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdqHash {
    /// The hash.
    pub hash: Pdq,
    /// Meta's quality metric: gradient energy, 0 (flat) to 100.
    pub quality: u8,
}

/// Images with a side shorter than this hash to zero with quality 0 (Meta's `MIN_HASHABLE_DIM`).
const MIN_SIDE: usize = 5;

/// The PDQ hash and quality of `image` at full resolution.
pub fn hash(image: &Image) -> PdqHash {
    match coefficients(image) {
        Some((block, quality)) => PdqHash { hash: bits(&block), quality },
        None => PdqHash { hash: Pdq::default(), quality: 0 },
    }
}

/// The 8 dihedral PDQ hashes of `image` (in [`super::Variant::ALL`] order) and its quality.
///
/// Entry 0 (`orig`) always equals [`hash`]. Variant `v` is the hash Meta's
/// `pdqDihedralHash256esFromFloatLuma` computes for it: derived from the coefficients of the
/// stored image, which is close to, but not always bit-identical with, hashing the
/// transformed pixels. One deliberate difference: for an image of exactly 64x64 pixels
/// Meta's dihedral entry point filters where its plain one does not; here both skip the
/// filter, so that `orig` is the hash that lists carry.
pub fn hash_dihedral(image: &Image) -> ([Pdq; 8], u8) {
    match coefficients(image) {
        Some((block, quality)) => (Variant::ALL.map(|v| bits(&transform(&block, v))), quality),
        None => ([Pdq::default(); 8], 0),
    }
}

/// The 16x16 DCT block and the quality, or `None` for an image too small to hash.
fn coefficients(image: &Image) -> Option<([[f32; 16]; 16], u8)> {
    let (width, height) = (image.width as usize, image.height as usize);
    if width < MIN_SIDE || height < MIN_SIDE {
        return None;
    }
    let luma = luma(image);
    let block = if width == 64 && height == 64 {
        let mut block = [[0.0f32; 64]; 64];
        for (dst, src) in block.iter_mut().zip(luma.chunks_exact(64)) {
            dst.copy_from_slice(src);
        }
        block
    } else {
        downsample(luma, width, height)
    };
    Some((dct16::dct64_to_16(&block), quality(&block)))
}

/// The `f32` luma of every pixel, row-major, as `pdqhash` computes it.
fn luma(image: &Image) -> Vec<f32> {
    let weights = |v: u8| {
        let v = f64::from(v);
        (v * 0.299, v * 0.587, v * 0.114)
    };
    match &image.pixels {
        Pixels::Gray(samples) => {
            let table: Vec<f32> = (0..=255u8)
                .map(|v| {
                    let (r, g, b) = weights(v);
                    (r + g + b) as f32
                })
                .collect();
            samples.iter().map(|&v| table[usize::from(v)]).collect()
        }
        Pixels::Rgb(samples) => samples
            .chunks_exact(3)
            .map(|p| (f64::from(p[0]) * 0.299 + f64::from(p[1]) * 0.587 + f64::from(p[2]) * 0.114) as f32)
            .collect(),
    }
}

/// Blur (Jarosz filter, two rounds) and decimate the luma to the 64x64 block.
fn downsample(mut buf1: Vec<f32>, width: usize, height: usize) -> [[f32; 64]; 64] {
    let along_rows = jarosz::window_size(width, 64);
    let along_cols = jarosz::window_size(height, 64);
    let mut buf2 = vec![0.0f32; buf1.len()];
    let mut sums = Vec::new();
    for _ in 0..2 {
        jarosz::box_rows(&buf1, &mut buf2, width, along_rows);
        jarosz::box_cols(&buf2, &mut buf1, width, along_cols, &mut sums);
    }
    let mut block = [[0.0f32; 64]; 64];
    for (i, row) in block.iter_mut().enumerate() {
        let r = jarosz::sample_index(i, height, 64);
        for (j, v) in row.iter_mut().enumerate() {
            *v = buf1[r * width + jarosz::sample_index(j, width, 64)];
        }
    }
    block
}

/// Meta's image-domain quality metric on the 64x64 block.
fn quality(block: &[[f32; 64]; 64]) -> u8 {
    let step = |u: f32, v: f32| (((u - v) * 100.0) / 255.0) as i32;
    let mut sum: i32 = 0;
    for pair in block.windows(2) {
        for (&u, &v) in pair[0].iter().zip(&pair[1]) {
            sum += step(u, v).abs();
        }
    }
    for row in block {
        for pair in row.windows(2) {
            sum += step(pair[0], pair[1]).abs();
        }
    }
    (sum / 90).min(100) as u8
}

/// The coefficients of the image transformed by `v`, from those of the image: for a
/// row-major 16x16 block, a mirror negates the odd-frequency coefficients along its axis
/// and a quarter turn or diagonal mirror also transposes (Meta's `dct16OriginalTo*`).
fn transform(a: &[[f32; 16]; 16], v: Variant) -> [[f32; 16]; 16] {
    let mut b = [[0.0f32; 16]; 16];
    for (i, row) in a.iter().enumerate() {
        for (j, &x) in row.iter().enumerate() {
            let (odd_i, odd_j) = (i % 2 == 1, j % 2 == 1);
            // (keep the sign?, transpose?)
            let (keep, transpose) = match v {
                Variant::Orig => (true, false),
                Variant::Rot90 => (odd_j, true),
                Variant::Rot180 => (odd_i == odd_j, false),
                Variant::Rot270 => (odd_i, true),
                Variant::FlipX => (odd_i, false),
                Variant::FlipY => (odd_j, false),
                Variant::FlipP => (true, true),
                Variant::FlipM => (odd_i == odd_j, true),
            };
            let y = if keep { x } else { -x };
            if transpose {
                b[j][i] = y;
            } else {
                b[i][j] = y;
            }
        }
    }
    b
}

/// Bit `16i + j` set when coefficient `(i, j)` is above the median.
fn bits(block: &[[f32; 16]; 16]) -> Pdq {
    let median = median(block);
    let mut hash = Pdq::default();
    for (k, &v) in block.iter().flatten().enumerate() {
        if v > median {
            hash.set_bit(k);
        }
    }
    hash
}

/// The value Meta's Torben median returns for 256 values: the 128th smallest.
fn median(block: &[[f32; 16]; 16]) -> f32 {
    let mut values: Vec<f32> = block.iter().flatten().copied().collect();
    let (_, m, _) = values.select_nth_unstable_by(127, f32::total_cmp);
    *m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> Image {
        let samples =
            (0..height).flat_map(|y| (0..width).map(move |x| (x, y))).map(|(x, y)| f(x, y)).collect();
        Image::gray(width, height, samples).expect("valid size")
    }

    #[test]
    fn flat_image_has_quality_zero() {
        for (w, h) in [(64, 64), (100, 70), (1000, 7)] {
            let q = hash(&gray(w, h, |_, _| 137)).quality;
            assert_eq!(q, 0, "{w}x{h}");
        }
    }

    #[test]
    fn textured_image_has_quality() {
        let img = gray(300, 200, |x, y| if (x / 10 + y / 10) % 2 == 0 { 250 } else { 5 });
        assert_eq!(hash(&img).quality, 100);
    }

    #[test]
    fn tiny_images_hash_to_zero_without_panicking() {
        for (w, h) in [(1, 1), (2, 3), (4, 100), (100, 4)] {
            let img = gray(w, h, |x, y| (x * 40 + y * 7) as u8);
            assert_eq!(hash(&img), PdqHash { hash: Pdq::default(), quality: 0 }, "{w}x{h}");
            let (d, q) = hash_dihedral(&img);
            assert_eq!((d, q), ([Pdq::default(); 8], 0));
            let rgb = Image::rgb(w, h, vec![9; (w * h * 3) as usize]).expect("valid size");
            assert_eq!(hash(&rgb).quality, 0);
        }
        // The smallest hashable size works and sets half the bits.
        let img = gray(5, 5, |x, y| (x * 50 + y * 13) as u8);
        let h = hash(&img).hash;
        assert_eq!(h.words.iter().map(|w| w.count_ones()).sum::<u32>(), 128);
    }

    #[test]
    fn median_is_the_128th_smallest() {
        let mut block = [[0.0f32; 16]; 16];
        for (k, v) in block.iter_mut().flatten().enumerate() {
            *v = ((k * 97) % 256) as f32; // a permutation of 0..256
        }
        assert_eq!(median(&block), 127.0);
        assert_eq!(bits(&block).words.iter().map(|w| w.count_ones()).sum::<u32>(), 128);
    }

    #[test]
    fn grey_luma_equals_replicated_rgb_luma() {
        let g = gray(16, 16, |x, y| (x * 16 + y) as u8);
        let Pixels::Gray(samples) = &g.pixels else { unreachable!() };
        let rgb = Image::rgb(16, 16, samples.iter().flat_map(|&v| [v, v, v]).collect()).expect("valid");
        assert_eq!(luma(&g), luma(&rgb));
    }

    /// Applies a dihedral transform to a square grey image's pixels, as Pillow would.
    fn transform_pixels(img: &Image, v: Variant) -> Image {
        let n = img.width;
        assert_eq!(n, img.height);
        let Pixels::Gray(s) = &img.pixels else { unreachable!() };
        let m = n - 1;
        gray(n, n, |x, y| {
            // (x, y) in the output comes from (sx, sy) in the input.
            let (sx, sy) = match v {
                Variant::Orig => (x, y),
                Variant::Rot90 => (m - y, x), // ROTATE_90, counter-clockwise
                Variant::Rot180 => (m - x, m - y),
                Variant::Rot270 => (y, m - x),    // ROTATE_270, clockwise
                Variant::FlipX => (x, m - y),     // FLIP_TOP_BOTTOM
                Variant::FlipY => (m - x, y),     // FLIP_LEFT_RIGHT
                Variant::FlipP => (y, x),         // TRANSPOSE
                Variant::FlipM => (m - y, m - x), // TRANSVERSE
            };
            s[(sy * n + sx) as usize]
        })
    }

    #[test]
    fn dihedral_variants_equal_hashes_of_transformed_pixels() {
        // A 64x64 image is its own 64x64 block, so transforming the pixels transforms the
        // block exactly, and each variant must equal the hash of the transformed image.
        let img = gray(64, 64, |x, y| {
            let (x, y) = (x as f64, y as f64);
            (128.0 + 60.0 * (x * 0.21 + y * 0.07).sin() + 50.0 * (x * 0.05 - y * 0.31).cos()) as u8
        });
        let (variants, q) = hash_dihedral(&img);
        assert!(q > 0);
        for v in Variant::ALL {
            let direct = hash(&transform_pixels(&img, v)).hash;
            assert_eq!(variants[v.index()], direct, "variant {v}");
        }
        // The variants are distinct for an asymmetric image.
        for a in 0..8 {
            for b in a + 1..8 {
                assert!(variants[a].distance(&variants[b]) > 0);
            }
        }
        assert_eq!(variants[0], hash(&img).hash);
    }
}
