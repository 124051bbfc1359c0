//! PDQ, bit-compatible with Meta's reference core (`pdqhash`, python-threatexchange).
//!
//! The steps, each reproducing the reference's `f32` arithmetic in the same order:
//!
//! 1. **Luma.** `pdqhash` computes `R*0.299 + G*0.587 + B*0.114` in `f64` (NumPy) and
//!    rounds it to `f32`. Grey images are hashed as Pillow's `convert("RGB")` sees them,
//!    R = G = B, through the same formula.
//! 2. **Jarosz filter.** Two rounds of a box filter along rows then columns, with window
//!    `ceil(side / 128)`.
//! 3. **Decimation** to 64x64 by taking the sample at the centre of each output cell.
//! 4. **Quality**: the sum of truncated `|difference| * 100 / 255` between neighbours of
//!    the 64x64 block, divided by 90, at most 100.
//! 5. **DCT**: coefficients (1..=16)x(1..=16) of the 64x64 block, as two `f32` matrix
//!    products summed in Meta's order.
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

use super::simd::kernel;
use super::{Pdq, Variant};
use crate::image::pixels::{Image, Pixels};

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
///
/// An image with a side under 5 pixels hashes to all zeros with quality 0, as in Meta's core.
///
/// # Panics
///
/// If `image.pixels` holds fewer samples than `width * height` pixels need, which the
/// [`Image`] constructors and the decoder rule out.
pub fn hash(image: &Image) -> PdqHash {
    hash_with(image, LumaRule::Pdqhash)
}

/// How RGB becomes the luma PDQ filters: the references differ in the last bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LumaRule {
    /// Python `pdqhash` (what photo lists are hashed with): `R*0.299 + G*0.587 + B*0.114`
    /// in `f64` (NumPy), then cast to `f32`.
    #[default]
    Pdqhash,
    /// Meta's C++ `fillFloatLumaFromRGB` (what vPDQ hashes video frames with): the same
    /// sum with `f32` weights, in `f32`.
    MetaCpp,
}

/// [`hash`] with the luma computed by `rule`.
pub fn hash_with(image: &Image, rule: LumaRule) -> PdqHash {
    match coefficients(image, rule) {
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
///
/// # Panics
///
/// As [`hash`].
pub fn hash_dihedral(image: &Image) -> ([Pdq; 8], u8) {
    match coefficients(image, LumaRule::Pdqhash) {
        Some((block, quality)) => (Variant::ALL.map(|v| bits(&transform(&block, v))), quality),
        None => ([Pdq::default(); 8], 0),
    }
}

/// The 16x16 DCT block and the quality, or `None` for an image too small to hash.
fn coefficients(image: &Image, rule: LumaRule) -> Option<([[f32; 16]; 16], u8)> {
    let (width, height) = (image.width as usize, image.height as usize);
    if width < MIN_SIDE || height < MIN_SIDE {
        return None;
    }
    let block = if width == 64 && height == 64 {
        let luma = luma(image, rule);
        let mut block = [[0.0f32; 64]; 64];
        for (dst, src) in block.iter_mut().zip(luma.chunks_exact(64)) {
            dst.copy_from_slice(src);
        }
        block
    } else {
        downsample(image, width, height, rule)
    };
    Some((dct16::dct64_to_16(&block), quality(&block)))
}

/// The `f32` luma of `image`'s pixels, row by row.
enum Luma<'a> {
    /// Grey samples (the formula applied to R = G = B = v).
    Gray(&'a [u8], LumaRule),
    /// RGB samples.
    Rgb(&'a [u8], LumaRule),
    /// Luma already computed, row-major ([`stages`]).
    Float(&'a [f32]),
}

impl<'a> Luma<'a> {
    fn new(image: &'a Image, rule: LumaRule) -> Luma<'a> {
        match &image.pixels {
            Pixels::Gray(samples) => Luma::Gray(samples, rule),
            Pixels::Rgb(samples) => Luma::Rgb(samples, rule),
        }
    }

    /// Writes the luma of row `y` of a `width`-wide image to `out`.
    #[inline]
    fn row(&self, y: usize, width: usize, out: &mut [f32]) {
        match *self {
            Luma::Gray(samples, rule) => luma_grey(&samples[y * width..(y + 1) * width], rule, out),
            Luma::Rgb(samples, rule) => luma_rgb(&samples[3 * y * width..3 * (y + 1) * width], rule, out),
            Luma::Float(luma) => out.copy_from_slice(&luma[y * width..(y + 1) * width]),
        }
    }
}

/// `f(r, g, b)` of each RGB pixel of `rgb` (3 bytes a pixel) into `out`. A plain loop
/// over `chunks_exact(3)` is what LLVM's loop vectoriser turns into byte shuffles that
/// deinterleave R, G and B (a fixed-size unrolled block is not: it gathers bytes one by one).
#[inline(always)]
fn map_rgb(rgb: &[u8], out: &mut [f32], f: impl Fn(u8, u8, u8) -> f32) {
    for (o, p) in out.iter_mut().zip(rgb.chunks_exact(3)) {
        *o = f(p[0], p[1], p[2]);
    }
}

/// `f(v, v, v)` of each grey sample of `grey` into `out`.
#[inline(always)]
fn map_grey(grey: &[u8], out: &mut [f32], f: impl Fn(u8, u8, u8) -> f32) {
    for (o, &v) in out.iter_mut().zip(grey) {
        *o = f(v, v, v);
    }
}

kernel! {
    /// The luma of each RGB pixel of `rgb` by `rule` into `out`: each lane evaluates
    /// [`rgb_luma`] or [`meta_luma`], operation for operation.
    fn luma_rgb(rgb: &[u8], rule: LumaRule, out: &mut [f32]) {
        match rule {
            LumaRule::Pdqhash => map_rgb(rgb, out, rgb_luma),
            LumaRule::MetaCpp => map_rgb(rgb, out, meta_luma),
        }
    }
}

kernel! {
    /// The luma of each grey sample of `grey` by `rule` into `out` (as RGB with R = G = B).
    fn luma_grey(grey: &[u8], rule: LumaRule, out: &mut [f32]) {
        match rule {
            LumaRule::Pdqhash => map_grey(grey, out, rgb_luma),
            LumaRule::MetaCpp => map_grey(grey, out, meta_luma),
        }
    }
}

/// `pdqhash`'s luma: NumPy evaluates `R*0.299 + G*0.587 + B*0.114` left to right in `f64`,
/// then the array is cast to `f32`.
#[inline]
fn rgb_luma(r: u8, g: u8, b: u8) -> f32 {
    (f64::from(r) * 0.299 + f64::from(g) * 0.587 + f64::from(b) * 0.114) as f32
}

/// Meta's C++ luma (`fillFloatLumaFromRGB`): `float` weights times the samples, summed
/// left to right in `float`.
#[inline]
fn meta_luma(r: u8, g: u8, b: u8) -> f32 {
    0.299f32 * f32::from(r) + 0.587f32 * f32::from(g) + 0.114f32 * f32::from(b)
}

/// The luma of every pixel, row-major.
fn luma(image: &Image, rule: LumaRule) -> Vec<f32> {
    let (width, height) = (image.width as usize, image.height as usize);
    let source = Luma::new(image, rule);
    let mut out = vec![0.0f32; width * height];
    for (y, row) in out.chunks_exact_mut(width).enumerate() {
        source.row(y, width, row);
    }
    out
}

/// Blur (Jarosz filter: box along rows, along columns, twice) and decimate to 64x64.
///
/// Equal, bit for bit, to running Meta's four full passes and then sampling, but streamed
/// so the working set stays in cache, and the second round only computes what the 64x64
/// samples depend on:
///
/// * round 1 along rows runs on [`jarosz::LANES`] rows of luma at once, interleaved so it
///   vectorises, into a ring of rows just large enough for the column pass;
/// * round 1 along columns hands each output row to round 2 along rows, which runs on
///   [`jarosz::LANES`] rows at once too and divides only at the 64 sampled columns;
/// * round 2 along columns runs over those 64 columns and divides only at the 64 sampled
///   rows.
fn downsample(image: &Image, width: usize, height: usize, rule: LumaRule) -> [[f32; 64]; 64] {
    downsample_luma(Luma::new(image, rule), width, height)
}

/// [`downsample`] of the luma rows of `source`, a `width` x `height` image.
fn downsample_luma(source: Luma<'_>, width: usize, height: usize) -> [[f32; 64]; 64] {
    use jarosz::LANES;
    let along_rows = jarosz::window_size(width, 64);
    let along_cols = jarosz::window_size(height, 64);
    let sample_cols: [usize; 64] = std::array::from_fn(|j| jarosz::sample_index(j, width, 64));
    let sample_rows: [usize; 64] = std::array::from_fn(|i| jarosz::sample_index(i, height, 64));

    let mut pass1 = RowPass::new(source, width, height, along_rows, along_cols);
    let mut batch = vec![0.0f32; LANES * width];
    let mut lanes = vec![[0.0f32; LANES]; width];
    let mut picked = [[0.0f32; LANES]; 64];
    let mut reduced = vec![0.0f32; height * 64];
    let (mut sums, mut row_buf) = (Vec::new(), Vec::new());
    jarosz::box_cols_each(
        &mut pass1,
        width,
        along_cols,
        &mut sums,
        &mut row_buf,
        |_| true,
        |y, row| {
            let l = y % LANES;
            batch[l * width..(l + 1) * width].copy_from_slice(row);
            if l == LANES - 1 || y == height - 1 {
                jarosz::to_lanes(&batch[..(l + 1) * width], width, &mut lanes);
                jarosz::box_lanes_sampled(&lanes, along_rows, &sample_cols, &mut picked);
                let first = y - l;
                for (ll, dst) in reduced[first * 64..(y + 1) * 64].chunks_exact_mut(64).enumerate() {
                    for (d, p) in dst.iter_mut().zip(&picked) {
                        *d = p[ll];
                    }
                }
            }
        },
    );

    let mut wanted = vec![false; height];
    for &r in &sample_rows {
        wanted[r] = true;
    }
    let mut block = [[0.0f32; 64]; 64];
    let mut next = 0;
    let mut reduced = jarosz::Matrix { data: &reduced, width: 64 };
    let wanted = |y: usize| wanted[y];
    jarosz::box_cols_each(&mut reduced, 64, along_cols, &mut sums, &mut row_buf, wanted, |y, row| {
        while next < 64 && sample_rows[next] == y {
            block[next].copy_from_slice(row);
            next += 1;
        }
    });
    block
}

/// Round 1 of the Jarosz filter along rows, produced [`jarosz::LANES`] rows at a time on
/// demand into a ring that holds the rows the column pass may still read.
struct RowPass<'a> {
    source: Luma<'a>,
    width: usize,
    height: usize,
    window: usize,
    /// Rows produced so far.
    produced: usize,
    /// Number of row slots in the ring, a multiple of [`jarosz::LANES`] so that a batch
    /// lands in consecutive slots.
    slots: usize,
    ring: Vec<f32>,
    /// The luma of the rows of one batch, row-major.
    batch: Vec<f32>,
    lanes_in: Vec<jarosz::Lane>,
    lanes_out: Vec<jarosz::Lane>,
}

impl<'a> RowPass<'a> {
    fn new(source: Luma<'a>, width: usize, height: usize, window: usize, col_window: usize) -> RowPass<'a> {
        use jarosz::LANES;
        // The column pass reads rows `r - col_window ..= r`; a batch writes LANES rows.
        let slots = (col_window + LANES).next_multiple_of(LANES).min(height.next_multiple_of(LANES));
        RowPass {
            source,
            width,
            height,
            window,
            produced: 0,
            slots,
            ring: vec![0.0; slots * width],
            batch: vec![0.0; LANES * width],
            lanes_in: vec![[0.0; LANES]; width],
            lanes_out: vec![[0.0; LANES]; width],
        }
    }
}

impl jarosz::Rows for RowPass<'_> {
    fn height(&self) -> usize {
        self.height
    }

    fn prepare(&mut self, r: usize) {
        let width = self.width;
        while self.produced <= r {
            let first = self.produced;
            let n = jarosz::LANES.min(self.height - first);
            for (l, row) in self.batch[..n * width].chunks_exact_mut(width).enumerate() {
                self.source.row(first + l, width, row);
            }
            jarosz::to_lanes(&self.batch[..n * width], width, &mut self.lanes_in);
            jarosz::box_lanes(&self.lanes_in, &mut self.lanes_out, self.window);
            // `first` is a multiple of LANES, and so is `slots`: the batch's slots follow
            // each other.
            let slot = first % self.slots;
            jarosz::from_lanes(&self.lanes_out, width, &mut self.ring[slot * width..(slot + n) * width]);
            self.produced += n;
        }
    }

    fn row(&self, r: usize) -> &[f32] {
        debug_assert!(r < self.produced && r + self.slots >= self.produced);
        let slot = r % self.slots;
        &self.ring[slot * self.width..(slot + 1) * self.width]
    }
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

/// The steps of [`hash`] one at a time, for `benches/stages.rs` (not a stable API).
///
/// [`hash`] fuses the first two (each row's luma is computed on its way into the first
/// box filter); run one after the other, they give the same block and hash.
#[doc(hidden)]
pub mod stages {
    use super::{Image, LumaRule, PdqHash};

    /// `pdqhash`'s `f32` luma of every pixel of `image`, row-major.
    pub fn luma(image: &Image) -> Vec<f32> {
        super::luma(image, LumaRule::Pdqhash)
    }

    /// The Jarosz filter (two rounds of box filters along rows and columns) of the
    /// `width` x `height` luma from [`luma`], decimated to the 64x64 block; for an image of
    /// exactly 64x64, the luma itself, as in [`super::hash`]. (That hashes images with a side
    /// under 5 to zero without filtering them; this filters whatever it is given.)
    ///
    /// # Panics
    ///
    /// If `luma` holds fewer than `width * height` values.
    pub fn jarosz(luma: &[f32], width: usize, height: usize) -> [[f32; 64]; 64] {
        if width == 64 && height == 64 {
            let mut block = [[0.0f32; 64]; 64];
            for (dst, src) in block.iter_mut().zip(luma.chunks_exact(64)) {
                dst.copy_from_slice(src);
            }
            block
        } else {
            super::downsample_luma(super::Luma::Float(luma), width, height)
        }
    }

    /// The DCT of the 64x64 block (from [`jarosz`]) to 16x16, the bits above its median,
    /// and the quality of the block.
    pub fn dct_bits(block: &[[f32; 64]; 64]) -> PdqHash {
        PdqHash { hash: super::bits(&super::dct16::dct64_to_16(block)), quality: super::quality(block) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> Image {
        let samples =
            (0..height).flat_map(|y| (0..width).map(move |x| (x, y))).map(|(x, y)| f(x, y)).collect();
        Image::gray(width, height, samples).expect("valid size")
    }

    /// Meta's order of work, literally: four full passes over two full buffers, then sampling.
    fn downsample_as_meta(image: &Image) -> [[f32; 64]; 64] {
        let (width, height) = (image.width as usize, image.height as usize);
        let mut buf1 = luma(image, LumaRule::Pdqhash);
        let mut buf2 = vec![0.0f32; buf1.len()];
        let mut sums = Vec::new();
        for _ in 0..2 {
            jarosz::box_rows(&buf1, &mut buf2, width, jarosz::window_size(width, 64));
            jarosz::box_cols(&buf2, &mut buf1, width, jarosz::window_size(height, 64), &mut sums);
        }
        std::array::from_fn(|i| {
            let r = jarosz::sample_index(i, height, 64);
            std::array::from_fn(|j| buf1[r * width + jarosz::sample_index(j, width, 64)])
        })
    }

    #[test]
    fn fused_downsample_equals_metas_four_passes() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (w, h) in [(5, 5), (7, 13), (65, 64), (64, 65), (129, 300), (300, 129), (517, 389), (1000, 9)] {
            let samples: Vec<u8> = (0..w * h * 3).map(|_| next() as u8).collect();
            let rgb = Image::rgb(w, h, samples).expect("valid");
            let grey = gray(w, h, |x, y| (x * 3 + y * 5 + (x * y) % 7) as u8);
            for img in [rgb, grey] {
                let fast = downsample(&img, w as usize, h as usize, LumaRule::Pdqhash);
                let meta = downsample_as_meta(&img);
                let same =
                    fast.iter().flatten().zip(meta.iter().flatten()).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{w}x{h}");
            }
        }
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
        for rule in [LumaRule::Pdqhash, LumaRule::MetaCpp] {
            assert_eq!(luma(&g, rule), luma(&rgb, rule), "{rule:?}");
        }
    }

    #[test]
    fn table_luma_equals_the_formula() {
        let samples: Vec<u8> =
            (0..3 * 4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let img = Image::rgb(64, 64, samples.clone()).expect("valid");
        let want: Vec<f32> = samples.chunks_exact(3).map(|p| rgb_luma(p[0], p[1], p[2])).collect();
        assert_eq!(luma(&img, LumaRule::Pdqhash), want);
        let meta: Vec<f32> = samples.chunks_exact(3).map(|p| meta_luma(p[0], p[1], p[2])).collect();
        assert_eq!(luma(&img, LumaRule::MetaCpp), meta);
        assert_ne!(meta, want, "the two rules differ in some last bits");
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

    #[test]
    fn stages_compose_to_the_hash() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (w, h) in [(64, 64), (65, 64), (129, 300), (517, 389), (1000, 9)] {
            let samples: Vec<u8> = (0..w * h * 3).map(|_| next() as u8).collect();
            let rgb = Image::rgb(w, h, samples).expect("valid");
            let grey = gray(w, h, |x, y| (x * 3 + y * 5 + (x * y) % 7) as u8);
            for img in [rgb, grey] {
                let block = stages::jarosz(&stages::luma(&img), w as usize, h as usize);
                assert_eq!(stages::dct_bits(&block), hash(&img), "{w}x{h}");
            }
        }
    }
}
