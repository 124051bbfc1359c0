//! Negatives: many images derived from each of a set of photos, each one remembering the
//! photo it came from, so that pairs from *different* photos are unrelated by construction.
//!
//! A derived image is a crop of a photo (random position, 20-100% of each side, so random
//! size and aspect ratio), possibly scaled down (to 25-100%), and one of the 8 dihedral
//! variants of the result (the query side of the matcher hashes all 8, so a turned or
//! mirrored unrelated photo is a negative too). It is hashed with the crate's own code:
//! the pHash and PDQ of the crop's pixels, the variant taken from their dihedral hashes
//! exactly as [`crate::hashing::hash_image`] computes them for a query.
//!
//! Everything is deterministic for a seed: derived image `i` of photo `s` depends only on
//! `(seed, s, i)` and the photo, never on thread scheduling.
//!
//! The null model ([`super::null`]) compares the hashes of images of different photos; the
//! distractor benchmark can use [`derive()`] to make list items that are real-image-like but
//! unrelated to a query set.

use image::imageops::FilterType;
use image::{DynamicImage, ImageBuffer};
use rayon::prelude::*;

use crate::hash::pdq::PdqHash;
use crate::hash::{pdq, phash, Phash, Variant};
use crate::image::pixels::{Image, Pixels};

/// Smallest side of a derived image in pixels (smaller crops are widened to it).
pub const MIN_SIDE: u32 = 16;

/// Largest side of a derived image: bigger ones are scaled down to it, which keeps hashing
/// 100k images to minutes.
pub const MAX_SIDE: u32 = 1024;

/// How one image is derived from its photo. Coordinates are in the photo's pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Derivation {
    /// Left edge of the crop.
    pub x: u32,
    /// Top edge of the crop.
    pub y: u32,
    /// Width of the crop (at least 1).
    pub width: u32,
    /// Height of the crop (at least 1).
    pub height: u32,
    /// Width after scaling (the crop is resized to `out_width` x `out_height`).
    pub out_width: u32,
    /// Height after scaling.
    pub out_height: u32,
    /// The dihedral variant whose hashes are taken.
    pub variant: Variant,
}

/// One derived image: where it came from and its hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Derived {
    /// Position of the source photo in the slice given to [`derive()`].
    pub source: u32,
    /// Position among the images derived from that photo.
    pub index: u32,
    /// How it was made.
    pub derivation: Derivation,
    /// Its pHash.
    pub phash: Phash,
    /// Its PDQ hash and quality (compare only hashes of quality at least the matcher's
    /// minimum, [`crate::matcher::DEFAULT_MIN_QUALITY`]).
    pub pdq: PdqHash,
}

/// splitmix64: small, well mixed and the same on every platform (the negatives', the
/// distractors' and the eval transforms' noise).
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal sample approximated by the sum of 12 uniforms minus 6
    /// (Irwin-Hall): only additions, so the same on every platform (the eval's noise).
    pub(crate) fn normal(&mut self) -> f64 {
        let sum: f64 = (0..12).map(|_| self.unit()).sum();
        sum - 6.0
    }

    /// Uniform in `lo..=hi` (`lo <= hi`).
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        let span = u64::from(hi - lo) + 1;
        lo + (self.next() % span) as u32
    }
}

/// The derivation of image `index` of a `width` x `height` photo. Image 0 is the whole
/// photo as it is (scaled down only if larger than [`MAX_SIDE`]).
pub fn derivation(width: u32, height: u32, seed: u64, source: u32, index: u32) -> Derivation {
    let mut rng =
        SplitMix64(seed ^ (u64::from(source) << 32 | u64::from(index)).wrapping_mul(0xD605_BBB5_8C8A_BBCB));
    rng.next();
    let (w, h, x, y, scale, variant) = if index == 0 {
        (width, height, 0, 0, 1.0, Variant::Orig)
    } else {
        let side = |rng: &mut SplitMix64, full: u32| {
            let f = 0.2 + 0.8 * rng.unit();
            ((f64::from(full) * f).round() as u32).clamp(MIN_SIDE.min(full), full)
        };
        let (w, h) = (side(&mut rng, width), side(&mut rng, height));
        let (x, y) = (rng.range(0, width - w), rng.range(0, height - h));
        // Half keep their size, half are scaled to 25-100%.
        let scale = if rng.unit() < 0.5 { 1.0 } else { 0.25 + 0.75 * rng.unit() };
        let variant = Variant::ALL[(rng.next() % 8) as usize];
        (w, h, x, y, scale, variant)
    };
    let cap = f64::from(MAX_SIDE) / f64::from(w.max(h));
    let scale = scale.min(cap);
    let out = |s: u32| ((f64::from(s) * scale).round() as u32).clamp(MIN_SIDE.min(s), s.max(1));
    Derivation { x, y, width: w, height: h, out_width: out(w), out_height: out(h), variant }
}

impl Derivation {
    /// The derived pixels before the dihedral variant: the crop of `photo`, resized. The
    /// derivation must have been made for a photo of this size (else the crop is clipped).
    pub fn pixels(&self, photo: &Image) -> Image {
        let ch = photo.channels();
        let pw = photo.width as usize;
        let x0 = (self.x.min(photo.width - 1)) as usize;
        let y0 = (self.y.min(photo.height - 1)) as usize;
        let w = (self.width as usize).min(pw - x0);
        let h = (self.height as usize).min(photo.height as usize - y0);
        let src = photo.samples();
        let mut data = Vec::with_capacity(w * h * ch);
        for row in y0..y0 + h {
            let start = (row * pw + x0) * ch;
            data.extend_from_slice(&src[start..start + w * ch]);
        }
        let crop = photo.same_mode(w as u32, h as u32, data);
        if (self.out_width as usize, self.out_height as usize) == (w, h) {
            return crop;
        }
        resize(crop, self.out_width, self.out_height)
    }
}

/// Resizes with a triangle (bilinear) filter.
fn resize(img: Image, width: u32, height: u32) -> Image {
    let (w, h) = (img.width, img.height);
    let dynamic = match img.pixels {
        Pixels::Gray(s) => ImageBuffer::from_raw(w, h, s).map(DynamicImage::ImageLuma8),
        Pixels::Rgb(s) => ImageBuffer::from_raw(w, h, s).map(DynamicImage::ImageRgb8),
    };
    // `Image` keeps its length right, so the buffer always fits.
    let Some(dynamic) = dynamic else { return Image { width: 1, height: 1, pixels: Pixels::Gray(vec![0]) } };
    match dynamic.resize_exact(width, height, FilterType::Triangle) {
        DynamicImage::ImageLuma8(b) => Image { width, height, pixels: Pixels::Gray(b.into_raw()) },
        other => Image { width, height, pixels: Pixels::Rgb(other.into_rgb8().into_raw()) },
    }
}

/// Derives and hashes one image (`index` of photo `source`).
pub fn derive_one(photo: &Image, source: u32, index: u32, seed: u64) -> Derived {
    let derivation = derivation(photo.width, photo.height, seed, source, index);
    let img = derivation.pixels(photo);
    let v = derivation.variant.index();
    let phash = phash::hash_dihedral(&img)[v];
    let (pdqs, quality) = pdq::hash_dihedral(&img);
    Derived { source, index, derivation, phash, pdq: PdqHash { hash: pdqs[v], quality } }
}

/// Derives `per_photo` images from each photo (in parallel; the result is in order of
/// source, then index, whatever the thread count). `source` is the photo's position.
pub fn derive(photos: &[Image], per_photo: u32, seed: u64) -> Vec<Derived> {
    photos
        .par_iter()
        .enumerate()
        .flat_map_iter(|(s, photo)| {
            let s = s as u32;
            (0..per_photo).map(move |i| (s, i, photo))
        })
        .map(|(s, i, photo)| derive_one(photo, s, i, seed))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(w: u32, h: u32, salt: u32) -> Image {
        let data = (0..w * h * 3).map(|i| ((i * 7 + salt * 13 + (i / (3 * w)) * 5) % 251) as u8).collect();
        Image::rgb(w, h, data).unwrap()
    }

    #[test]
    fn derivations_stay_inside_the_photo_and_cover_sizes_and_variants() {
        let mut variants = [false; 8];
        let (mut small, mut large) = (false, false);
        for i in 0..400 {
            let d = derivation(300, 200, 7, 3, i);
            assert!(d.x + d.width <= 300 && d.y + d.height <= 200, "{d:?}");
            assert!(d.width >= MIN_SIDE && d.height >= MIN_SIDE, "{d:?}");
            assert!(d.out_width <= d.width && d.out_height <= d.height, "{d:?}");
            variants[d.variant.index()] = true;
            small |= d.width < 80;
            large |= d.width > 280;
        }
        assert!(variants.iter().all(|&v| v), "{variants:?}");
        assert!(small && large);
        assert_eq!(
            derivation(300, 200, 7, 3, 0),
            Derivation {
                x: 0,
                y: 0,
                width: 300,
                height: 200,
                out_width: 300,
                out_height: 200,
                variant: Variant::Orig
            }
        );
    }

    #[test]
    fn large_photos_are_capped() {
        let d = derivation(4000, 3000, 1, 0, 0);
        assert_eq!((d.out_width, d.out_height), (1024, 768));
    }

    #[test]
    fn derive_is_deterministic_for_a_seed_and_differs_across_seeds() {
        let photos = [photo(120, 90, 1), photo(64, 100, 2)];
        let a = derive(&photos, 5, 42);
        let b = derive(&photos, 5, 42);
        let c = derive(&photos, 5, 43);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 10);
        let sources: Vec<u32> = a.iter().map(|d| d.source).collect();
        assert_eq!(sources, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
        // The same image whichever way it is reached.
        assert_eq!(a[7], derive_one(&photos[1], 1, 2, 42));
    }

    #[test]
    fn image_zero_is_the_photo_hashed_as_the_hasher_does() {
        let p = photo(120, 90, 3);
        let d = derive_one(&p, 0, 0, 9);
        assert_eq!(d.phash, phash::hash(&p));
        assert_eq!(d.pdq, pdq::hash(&p));
    }

    #[test]
    fn pixels_are_the_crop() {
        let p = photo(50, 40, 4);
        let d = Derivation {
            x: 10,
            y: 5,
            width: 20,
            height: 16,
            out_width: 20,
            out_height: 16,
            variant: Variant::Orig,
        };
        let img = d.pixels(&p);
        assert_eq!((img.width, img.height), (20, 16));
        let at = |img: &Image, x: usize, y: usize| img.samples()[(y * img.width as usize + x) * 3];
        assert_eq!(at(&img, 0, 0), at(&p, 10, 5));
        assert_eq!(at(&img, 19, 15), at(&p, 29, 20));
        let scaled = Derivation { out_width: 10, out_height: 8, ..d }.pixels(&p);
        assert_eq!((scaled.width, scaled.height), (10, 8));
    }
}
