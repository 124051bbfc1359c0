//! pHash, bit-compatible with Python `imagehash.phash` (hash_size 8, highfreq_factor 4).
//!
//! imagehash 4.3.2 computes, with Pillow and scipy:
//!
//! ```text
//! image = image.convert("L").resize((32, 32), Image.LANCZOS)
//! dct = scipy.fftpack.dct(scipy.fftpack.dct(numpy.asarray(image), axis=0), axis=1)
//! low = dct[:8, :8]
//! bits = low > numpy.median(low)        # row-major, first bit most significant
//! ```
//!
//! The thumbnail comes from the private `pillow` module, which repeats Pillow's integer
//! luma and fixed-point Lanczos resampling exactly, so decoded pixels identical to Pillow's
//! give identical hashes. The DCT is [`super::dct::Dct2`] in `f64`.
//!
//! # Dihedral variants
//!
//! Mirroring the 32x32 thumbnail left to right negates the DCT coefficients of odd
//! horizontal frequency; top to bottom, those of odd vertical frequency; transposing it
//! transposes the coefficient block. Every [`Variant`] is a composition of these, so all
//! 8 hashes come from one DCT: transform the 8x8 block, take its median again, threshold.
//! With `D[k][l]` the coefficient of vertical frequency `k` and horizontal frequency `l`:
//!
//! | variant | Pillow transform | coefficient `[k][l]` of the variant |
//! | --- | --- | --- |
//! | `orig` | none | `D[k][l]` |
//! | `rot90` | `ROTATE_90` | `(-1)^k D[l][k]` |
//! | `rot180` | `ROTATE_180` | `(-1)^(k+l) D[k][l]` |
//! | `rot270` | `ROTATE_270` | `(-1)^l D[l][k]` |
//! | `flipx` | `FLIP_TOP_BOTTOM` | `(-1)^k D[k][l]` |
//! | `flipy` | `FLIP_LEFT_RIGHT` | `(-1)^l D[k][l]` |
//! | `flipp` | `TRANSPOSE` | `D[l][k]` |
//! | `flipm` | `TRANSVERSE` | `(-1)^(k+l) D[l][k]` |
//!
//! These are exact for the thumbnail. For the full image they are exact up to the resize:
//! Pillow's resampling of a transformed image is not bit for bit the transform of its
//! resampling, so a variant can differ from imagehash's hash of the transformed file by a
//! few bits (the conformance tests measure it).

mod pillow;
pub(crate) use pillow::luma;

use super::dct::Dct2;
use super::{Phash, Variant};
use crate::image::pixels::Image;

/// Side of imagehash's thumbnail (hash_size 8 x highfreq_factor 4).
const THUMB: usize = 32;

/// Side of the low-frequency block that becomes the hash.
const LOW: usize = 8;

/// The low-frequency DCT block, `[vertical frequency][horizontal frequency]`.
type Block = [[f64; LOW]; LOW];

/// The pHash of `image` (the stored pixels, no EXIF rotation).
pub fn hash(image: &Image) -> Phash {
    threshold(&low_frequencies(image))
}

/// The pHash of `image` and of its 7 other dihedral transforms, in [`super::Variant::ALL`] order.
pub fn hash_dihedral(image: &Image) -> [Phash; 8] {
    let block = low_frequencies(image);
    Variant::ALL.map(|v| threshold(&transform(&block, v)))
}

/// The 8x8 top-left block of imagehash's 2-D DCT of the Pillow thumbnail.
fn low_frequencies(image: &Image) -> Block {
    let thumb = pillow::grey_lanczos(image, THUMB, THUMB);
    dct_block(&thumb)
}

/// `scipy.fftpack.dct(scipy.fftpack.dct(thumb, axis=0), axis=1)[:8, :8]` of a 32x32
/// row-major thumbnail: columns first, then the rows of the result.
fn dct_block(thumb: &[u8]) -> Block {
    debug_assert_eq!(thumb.len(), THUMB * THUMB);
    // THUMB is a power of two, so the plan always exists.
    let Some(dct) = Dct2::new(THUMB) else { unreachable!("{THUMB} is a power of two") };

    // Axis 0: the first LOW vertical frequencies of every column.
    let mut vertical = [[0.0f64; THUMB]; LOW];
    let mut column = [0.0f64; THUMB];
    let mut coeffs = [0.0f64; LOW];
    for x in 0..THUMB {
        for (y, c) in column.iter_mut().enumerate() {
            *c = f64::from(thumb[y * THUMB + x]);
        }
        dct.transform(&column, &mut coeffs);
        for (k, &v) in coeffs.iter().enumerate() {
            vertical[k][x] = v;
        }
    }
    // Axis 1: the first LOW horizontal frequencies of those rows.
    let mut block = [[0.0f64; LOW]; LOW];
    for (row, out) in vertical.iter().zip(block.iter_mut()) {
        dct.transform(row, out);
    }
    block
}

/// The coefficient block of the thumbnail transformed by `variant` (see the module docs).
fn transform(block: &Block, variant: Variant) -> Block {
    let (transpose, negate_odd_k, negate_odd_l) = match variant {
        Variant::Orig => (false, false, false),
        Variant::Rot90 => (true, true, false),
        Variant::Rot180 => (false, true, true),
        Variant::Rot270 => (true, false, true),
        Variant::FlipX => (false, true, false),
        Variant::FlipY => (false, false, true),
        Variant::FlipP => (true, false, false),
        Variant::FlipM => (true, true, true),
    };
    let mut out = [[0.0; LOW]; LOW];
    for (k, row) in out.iter_mut().enumerate() {
        for (l, v) in row.iter_mut().enumerate() {
            let c = if transpose { block[l][k] } else { block[k][l] };
            let negate = (negate_odd_k && k % 2 == 1) != (negate_odd_l && l % 2 == 1);
            *v = if negate { -c } else { c };
        }
    }
    out
}

/// `numpy.median` of 64 values: the mean of the two middle ones, computed as numpy does
/// (`(a + b) / 2`).
fn median(values: &[f64; LOW * LOW]) -> f64 {
    let mut sorted = *values;
    sorted.sort_unstable_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    (sorted[mid - 1] + sorted[mid]) / 2.0
}

/// Bit `i` (row-major, `i = 0` most significant) is set when coefficient `i` exceeds the
/// block's median.
fn threshold(block: &Block) -> Phash {
    let mut flat = [0.0; LOW * LOW];
    for (dst, src) in flat.chunks_exact_mut(LOW).zip(block) {
        dst.copy_from_slice(src);
    }
    let med = median(&flat);
    Phash(flat.iter().fold(0u64, |acc, &c| (acc << 1) | u64::from(c > med)))
}

/// The steps of [`hash`] one at a time, for `benches/stages.rs` (not a stable API).
///
/// [`hash`] fuses the first two (each source row becomes grey on its way into the
/// horizontal pass); run one after the other, they give the same thumbnail and hash.
#[doc(hidden)]
pub mod stages {
    use super::{pillow, Image, Phash, THUMB};

    /// Pillow's `convert("L")` of `image`: `width * height` grey samples, row-major.
    pub fn luma(image: &Image) -> Vec<u8> {
        pillow::grey(image)
    }

    /// Pillow's `resize((32, 32), Image.LANCZOS)` of a grey image (from [`luma`]): the
    /// thumbnail, 1024 samples row-major.
    pub fn resize(grey: &Image) -> Vec<u8> {
        pillow::grey_lanczos(grey, THUMB, THUMB)
    }

    /// imagehash's 2-D DCT of the 32x32 thumbnail (from [`resize`]) and the bits above the
    /// median of its 8x8 low frequencies.
    ///
    /// # Panics
    ///
    /// If `thumb` holds fewer than 1024 samples.
    pub fn dct_bits(thumb: &[u8]) -> Phash {
        super::threshold(&super::dct_block(thumb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::pixels::Pixels;

    /// A deterministic pseudo-random grey image (xorshift), without symmetries.
    fn noise(w: u32, h: u32, seed: u64) -> Image {
        let mut s = seed.max(1);
        let px = (0..w * h)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect();
        Image::gray(w, h, px).unwrap()
    }

    /// Pillow's `Image.transpose(method)` for the method named by `variant`.
    fn transpose_pixels(img: &Image, variant: Variant) -> Image {
        let Pixels::Gray(px) = &img.pixels else { panic!("grey only") };
        let (w, h) = (img.width as usize, img.height as usize);
        let swaps = matches!(variant, Variant::Rot90 | Variant::Rot270 | Variant::FlipP | Variant::FlipM);
        let (nw, nh) = if swaps { (h, w) } else { (w, h) };
        let mut out = vec![0u8; w * h];
        for y in 0..nh {
            for x in 0..nw {
                // (sy, sx): the source pixel that lands at (y, x).
                let (sy, sx) = match variant {
                    Variant::Orig => (y, x),
                    Variant::Rot90 => (x, w - 1 - y),
                    Variant::Rot180 => (h - 1 - y, w - 1 - x),
                    Variant::Rot270 => (h - 1 - x, y),
                    Variant::FlipX => (h - 1 - y, x),
                    Variant::FlipY => (y, w - 1 - x),
                    Variant::FlipP => (x, y),
                    Variant::FlipM => (h - 1 - x, w - 1 - y),
                };
                out[y * nw + x] = px[sy * w + sx];
            }
        }
        Image::gray(nw as u32, nh as u32, out).unwrap()
    }

    #[test]
    fn bits_are_row_major_msb_first() {
        // Coefficient i is 100 - i: the first 32 are above the median (68.5), the rest below.
        let mut block = [[0.0; LOW]; LOW];
        for (i, v) in block.iter_mut().flatten().enumerate() {
            *v = 100.0 - i as f64;
        }
        assert_eq!(threshold(&block), Phash(0xffff_ffff_0000_0000));
        assert_eq!(threshold(&block).to_string(), "ffffffff00000000");
        // Only coefficient (0, 2) and the last row's first 31 bits: check single-bit placement.
        let mut block = [[0.0; LOW]; LOW];
        block[0][2] = 5.0;
        assert_eq!(threshold(&block).to_string(), "2000000000000000");
        block[7][7] = 5.0;
        assert_eq!(threshold(&block).to_string(), "2000000000000001");
        block[1][0] = 5.0;
        assert_eq!(threshold(&block).to_string(), "2080000000000001");
    }

    #[test]
    fn median_averages_the_middle_pair_and_ties_are_not_above() {
        let mut v = [0.0; 64];
        for (i, x) in v.iter_mut().enumerate() {
            *x = (63 - i) as f64;
        }
        assert_eq!(median(&v), 31.5);
        // 40 equal values straddle the middle: the median equals them and none is "above".
        let mut block = [[3.0; LOW]; LOW];
        for (i, v) in block.iter_mut().flatten().enumerate().take(12) {
            *v = 10.0 + i as f64;
        }
        for v in block.iter_mut().flatten().skip(52) {
            *v = -1.0;
        }
        let flat: Vec<f64> = block.iter().flatten().copied().collect();
        assert_eq!(median(&flat.try_into().unwrap()), 3.0);
        assert_eq!(threshold(&block), Phash(0xfff0_0000_0000_0000));
    }

    #[test]
    fn flat_images_hash_to_their_dc_bit() {
        // scipy's DCT of a flat image is exactly zero off DC, so the median is 0 and only DC
        // (positive unless the image is black) is above it.
        for (w, h, v) in [(32, 32, 128u8), (1600, 1000, 1), (5, 3, 255), (1, 1, 77)] {
            let img = Image::gray(w, h, vec![v; (w * h) as usize]).unwrap();
            assert_eq!(hash(&img), Phash(1 << 63), "{w}x{h} of {v}");
            assert_eq!(hash_dihedral(&img), [Phash(1 << 63); 8]);
        }
        let black = Image::rgb(40, 40, vec![0; 40 * 40 * 3]).unwrap();
        assert_eq!(hash(&black), Phash(0));
    }

    #[test]
    fn tiny_and_thin_images_hash_without_panicking() {
        for (w, h) in [(1, 1), (1, 2), (2, 1), (3, 3), (1, 500), (500, 1), (31, 33), (64, 1), (7, 4000)] {
            let img = noise(w, h, u64::from(w * 1000 + h));
            let d = hash_dihedral(&img);
            assert_eq!(d[0], hash(&img));
        }
    }

    #[test]
    fn variants_match_hashes_of_transformed_thumbnails() {
        // A 32x32 image is its own thumbnail, so the pixel transform and the DCT sign rules
        // must agree bit for bit.
        for seed in 1..40 {
            let img = noise(32, 32, seed);
            let variants = hash_dihedral(&img);
            for v in Variant::ALL {
                assert_eq!(variants[v.index()], hash(&transpose_pixels(&img, v)), "seed {seed} {v}");
            }
        }
    }

    #[test]
    fn variants_of_a_large_image_stay_close() {
        // Resizing does not commute exactly with the transforms, but nearly.
        let img = noise(64, 96, 7);
        let variants = hash_dihedral(&img);
        for v in Variant::ALL {
            let d = variants[v.index()].distance(&hash(&transpose_pixels(&img, v)));
            assert!(d <= 12, "{v}: {d} bits");
        }
    }

    #[test]
    fn stages_compose_to_the_hash() {
        // Wide, tall (Pillow 13's vertical-first order), square, thumbnail-sized; RGB and grey.
        for (i, (w, h)) in [(517, 389), (40, 1000), (300, 300), (32, 32), (7, 3)].into_iter().enumerate() {
            let grey = noise(w, h, 11 + i as u64);
            let rgb = {
                let Pixels::Gray(a) = &noise(w, h, 101 + i as u64).pixels else { unreachable!() };
                let Pixels::Gray(b) = &noise(w, h, 202 + i as u64).pixels else { unreachable!() };
                let Pixels::Gray(c) = &grey.pixels else { unreachable!() };
                let samples = (0..a.len()).flat_map(|k| [a[k], b[k], c[k]]).collect();
                Image::rgb(w, h, samples).unwrap()
            };
            for img in [grey, rgb] {
                let l = Image::gray(w, h, stages::luma(&img)).unwrap();
                let staged = stages::dct_bits(&stages::resize(&l));
                assert_eq!(staged, hash(&img), "{w}x{h} {:?}", img.channels());
            }
        }
    }
}
