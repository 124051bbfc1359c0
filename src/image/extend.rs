//! Edge extension: a guess at a cropped copy's original framing.
//!
//! A copy cut by a few percent on every side is a zoomed-in view of the original, and a
//! zoom moves every low-frequency coefficient that pHash and PDQ keep: on the corpus a
//! copy cut by 5% on each side is found by pHash at 8 only 43% of the time and by PDQ at
//! 31 almost never. The known side holds only hashes, so nothing can be re-cropped
//! there; instead the input is *extended*: its edges are continued outward by
//! [`EXTEND_DIVISOR`]-th of each side, putting the content it still has back where the
//! original had it, and the cut-off strips are filled with a plausible continuation of
//! the edges ([`Fill`]). The hashes of the extended image are queried next to those of
//! the image as given (see `docs/thresholds.md` for what this finds and what it costs).
//!
//! The guess is approximate by nature, so it is computed on a reduced copy (box
//! average to at most [`WORKING_SIDE`] pixels on the longer side), which keeps its cost
//! small next to hashing the full-resolution image. The hashes of extended images are
//! never bit-compatible with anything: they are queries, not list entries.

use crate::hash::phash::luma;
use crate::image::pixels::{Image, Pixels};

/// Each side is extended by its length divided by this (rounded): 18 restores the framing
/// of a copy that lost 5% of the original's width on the left and on the right, and 5% of
/// its height on top and at the bottom (the copy keeps 90% of each side, and 5/90 = 1/18).
pub const EXTEND_DIVISOR: u32 = 18;

/// The longer side of the reduced copy the extension is computed on. Both hashes look at
/// far coarser grids (pHash 32x32, PDQ 64x64 after its blur), and on the corpus 128, 192,
/// 256 and 512 found crops equally well (within one photo of 484), so the smallest keeps
/// the extra hashing cheap.
pub const WORKING_SIDE: u32 = 128;

/// How the extended strips are filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fill {
    /// Repeat the outermost row or column.
    Edge,
    /// Mirror the content at the edge (the edge pixel is repeated once, as numpy's
    /// `symmetric` padding does).
    Mirror,
}

impl Fill {
    /// Both fills, in the order they are hashed.
    pub const ALL: [Fill; 2] = [Fill::Edge, Fill::Mirror];

    /// `edge` or `mirror`.
    pub fn name(self) -> &'static str {
        match self {
            Fill::Edge => "edge",
            Fill::Mirror => "mirror",
        }
    }
}

/// `image` in grey (Pillow's luma), reduced to at most [`WORKING_SIDE`] pixels on its
/// longer side, then extended by `1/EXTEND_DIVISOR` of each (reduced) side on every side,
/// once per fill of [`Fill::ALL`]. Both hashes look at luma only, so nothing is lost by
/// dropping colour first, and everything after is a third of the work.
pub fn extended(image: &Image) -> [(Fill, Image); 2] {
    let grey = reduce_grey(image, WORKING_SIDE);
    Fill::ALL.map(|fill| (fill, pad(&grey, fill, margin(grey.width), margin(grey.height))))
}

/// The margin added on each side of a side of `len` pixels.
fn margin(len: u32) -> u32 {
    (len + EXTEND_DIVISOR / 2) / EXTEND_DIVISOR
}

/// `image` in grey (Pillow's luma for RGB), box-averaged by the smallest integer factor
/// that brings its longer side to at most `max_side` (1 when it is that small already; the
/// partial boxes at the right and bottom edges average the pixels they have, as Pillow's
/// `Image.reduce` does). An image whose buffer does not match its size comes back as a
/// single black pixel (decoded images always match).
pub fn reduce_grey(image: &Image, max_side: u32) -> Image {
    let (w, h) = (image.width as usize, image.height as usize);
    let (ch, src) = (image.channels(), image.samples());
    if w == 0 || h == 0 || src.len() != w * h * ch {
        return Image { width: 1, height: 1, pixels: Pixels::Gray(vec![0]) };
    }
    let factor = w.max(h).div_ceil(max_side.max(1) as usize).max(1);
    let (ow, oh) = (w.div_ceil(factor), h.div_ceil(factor));
    let mut out = Vec::with_capacity(ow * oh);
    // Per output row: the luma of each column summed over the box's rows, then those
    // column sums summed over each box's columns.
    let mut column = vec![0u32; w];
    for oy in 0..oh {
        let rows = oy * factor..((oy + 1) * factor).min(h);
        let box_h = rows.len();
        column.iter_mut().for_each(|c| *c = 0);
        for y in rows {
            let row = &src[y * w * ch..(y + 1) * w * ch];
            if ch == 3 {
                for (c, px) in column.iter_mut().zip(row.chunks_exact(3)) {
                    *c += u32::from(luma(px[0], px[1], px[2]));
                }
            } else {
                for (c, &v) in column.iter_mut().zip(row) {
                    *c += u32::from(v);
                }
            }
        }
        for ox in 0..ow {
            let xs = ox * factor..((ox + 1) * factor).min(w);
            let n = (xs.len() * box_h) as u32;
            let sum: u32 = column[xs].iter().sum();
            // The average of u8 samples fits in u8.
            out.push(((sum + n / 2) / n) as u8);
        }
    }
    Image { width: ow as u32, height: oh as u32, pixels: Pixels::Gray(out) }
}

/// `image` with `mx` columns added on the left and on the right and `my` rows on top and
/// at the bottom, filled as `fill` says.
pub fn pad(image: &Image, fill: Fill, mx: u32, my: u32) -> Image {
    let (w, h) = (image.width as usize, image.height as usize);
    let (ch, src) = (image.channels(), image.samples());
    if w == 0 || h == 0 || src.len() != w * h * ch {
        return image.clone();
    }
    let (mx, my) = (mx as usize, my as usize);
    let (ow, oh) = (w + 2 * mx, h + 2 * my);
    // Source coordinate of an output coordinate, clamped into the image (a mirror wider
    // than the image repeats its far edge).
    let source = |o: usize, margin: usize, len: usize| -> usize {
        let i = o as isize - margin as isize;
        let len = len as isize;
        let j = match fill {
            Fill::Edge => i,
            Fill::Mirror if i < 0 => -i - 1,
            Fill::Mirror if i >= len => 2 * len - i - 1,
            Fill::Mirror => i,
        };
        j.clamp(0, len - 1) as usize
    };
    let xs: Vec<usize> = (0..ow).map(|x| source(x, mx, w)).collect();
    let mut out = Vec::with_capacity(ow * oh * ch);
    for y in 0..oh {
        let sy = source(y, my, h);
        let row = &src[sy * w * ch..(sy + 1) * w * ch];
        for &sx in &xs {
            out.extend_from_slice(&row[sx * ch..(sx + 1) * ch]);
        }
    }
    image.same_mode(ow as u32, oh as u32, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> Image {
        let s = (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| f(x, y)).collect();
        Image::gray(w, h, s).expect("size matches")
    }

    fn at(image: &Image, x: u32, y: u32) -> u8 {
        image.samples()[(y * image.width + x) as usize]
    }

    #[test]
    fn edge_fill_repeats_the_outermost_pixels() {
        let img = gray(3, 2, |x, y| (10 * y + x) as u8);
        let p = pad(&img, Fill::Edge, 2, 1);
        assert_eq!((p.width, p.height), (7, 4));
        let rows: Vec<Vec<u8>> = (0..4).map(|y| (0..7).map(|x| at(&p, x, y)).collect()).collect();
        assert_eq!(rows[0], [0, 0, 0, 1, 2, 2, 2]);
        assert_eq!(rows[1], [0, 0, 0, 1, 2, 2, 2]);
        assert_eq!(rows[2], [10, 10, 10, 11, 12, 12, 12]);
        assert_eq!(rows[3], [10, 10, 10, 11, 12, 12, 12]);
    }

    #[test]
    fn mirror_fill_reflects_like_numpy_symmetric() {
        // numpy.pad([0, 1, 2, 3], 3, mode="symmetric") == [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]
        let img = gray(4, 1, |x, _| x as u8);
        let p = pad(&img, Fill::Mirror, 3, 0);
        let row: Vec<u8> = (0..p.width).map(|x| at(&p, x, 0)).collect();
        assert_eq!(row, [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
        // Wider than the image: clamped, never out of bounds.
        let p = pad(&gray(1, 1, |_, _| 7), Fill::Mirror, 5, 5);
        assert_eq!((p.width, p.height), (11, 11));
        assert!(p.samples().iter().all(|&v| v == 7));
    }

    #[test]
    fn rgb_pixels_stay_whole() {
        let img = Image::rgb(2, 1, vec![1, 2, 3, 4, 5, 6]).expect("size matches");
        let p = pad(&img, Fill::Edge, 1, 0);
        assert_eq!(p.samples(), [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
    }

    #[test]
    fn reduce_averages_boxes_and_partial_boxes() {
        // 5x1 by factor 2 (max side 3): boxes {0,1}, {2,3}, {4}.
        let img = gray(5, 1, |x, _| [10, 20, 30, 41, 90][x as usize]);
        let r = reduce_grey(&img, 3);
        assert_eq!((r.width, r.height), (3, 1));
        assert_eq!(r.samples(), [15, 36, 90]);
        // Small enough already: the same pixels.
        assert_eq!(reduce_grey(&img, 5), img);
        // 2x2 by factor 2, boxes of 2 rows.
        let r = reduce_grey(&gray(3, 2, |x, y| (10 * x + 100 * y) as u8), 2);
        assert_eq!((r.width, r.height, r.samples()), (2, 1, &[55u8, 70][..]));
    }

    #[test]
    fn reduce_turns_rgb_into_pillow_luma() {
        let img = Image::rgb(2, 1, vec![255, 0, 0, 10, 200, 30]).expect("size matches");
        let r = reduce_grey(&img, 8);
        assert_eq!(r.pixels, Pixels::Gray(vec![luma(255, 0, 0), luma(10, 200, 30)]));
        // Pillow: Image.new("RGB", (1, 1), c).convert("L") gives 76 and 124.
        assert_eq!(r.samples(), [76, 124]);
    }

    #[test]
    fn extended_size_follows_the_divisor() {
        let img = gray(1800, 900, |x, y| (x ^ y) as u8);
        // Reduced by 15 to 120x60, then 7 and 3 pixels added on each side.
        for (fill, e) in extended(&img) {
            assert_eq!((e.width, e.height), (134, 66), "{fill:?}");
        }
        let small = gray(36, 18, |x, _| x as u8);
        let [(_, edge), (_, mirror)] = extended(&small);
        assert_eq!((edge.width, edge.height), (40, 20));
        assert_eq!((mirror.width, mirror.height), (40, 20));
        // Column 0 of the extended image: edge repeats x=0 twice; mirror reflects x=1, 0.
        assert_eq!((at(&edge, 0, 0), at(&edge, 1, 0)), (0, 0));
        assert_eq!((at(&mirror, 0, 0), at(&mirror, 1, 0)), (1, 0));
    }
}
