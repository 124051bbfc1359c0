//! Finding and trimming uniform borders before perceptual hashing.
//!
//! Re-shared images often carry a frame the original did not have: letterbox bars
//! (top and bottom), pillarbox bars (left and right), padding to a square, or the flat
//! chrome of a screenshot (a title bar, a status bar, a thin outline). Such a frame
//! moves every DCT coefficient, so pHash and PDQ of the framed copy land far from the
//! original. [`find_content`] finds the rectangle inside the frame; [`crop`] cuts it
//! out, and the caller hashes both the image as given and the cropped content.
//!
//! # How it works
//!
//! A *line* (one row or one column of the current rectangle) is **flat** when at least
//! [`BorderOptions::flat_share`] of its pixels lie within [`BorderOptions::tolerance`]
//! (per channel) of the line's own per-channel median. The median and the share make
//! the test robust to JPEG ringing and to the odd stray pixel; comparing each line with
//! its own median (not with one edge colour) lets a frame be made of several flat
//! layers of different colours, such as a dark status bar above a light title bar, or
//! a one-pixel outline of another colour around the picture.
//!
//! Each edge is peeled inward until its first non-flat line. Edges are peeled in turn
//! (top, bottom, left, right), each within the rectangle the earlier edges left, and
//! the round is repeated until nothing changes: a title bar that spans only the inside
//! of the side frames is found once the sides are gone, and side frames that run only
//! between a full-width title bar and status bar are found once those are gone.
//!
//! Guards against trimming real content (a night sky, a studio backdrop, snow):
//! an edge whose border would be thinner than [`BorderOptions::min_border_px`] or
//! [`BorderOptions::min_border_fraction`] of the side is left alone (JPEG edge
//! artefacts, a one-pixel scanner line), and when the remaining content would be smaller than
//! [`BorderOptions::min_content_fraction`] of a side or [`BorderOptions::min_content_px`]
//! the image is left alone ([`find_content`] returns `None`).
//!
//! This improves on python-threatexchange's `unletterbox`, which only removes rows and
//! columns in which *every* pixel is at most a threshold away from black: that misses
//! white and coloured frames, layered frames, and any frame that JPEG noise has touched.

use crate::pixels::{Image, Pixels};

/// A rectangle of pixels inside an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Rect {
    /// The rectangle covering all of `image`.
    pub fn full(image: &Image) -> Rect {
        Rect { x: 0, y: 0, width: image.width, height: image.height }
    }

    /// One past the right-most column.
    pub fn right(&self) -> u32 {
        self.x.saturating_add(self.width)
    }

    /// One past the bottom row.
    pub fn bottom(&self) -> u32 {
        self.y.saturating_add(self.height)
    }

    /// Number of pixels.
    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Thresholds of the border detector. The defaults were chosen on generated frames
/// around the shared photo corpus re-encoded as JPEG at quality 75 (see
/// `tests/border.rs`, which measures both the rectangle error and over-trimming).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BorderOptions {
    /// Largest per-channel difference from the line's median for a pixel to count as
    /// the line's colour. Default 20: JPEG at quality 75 rarely moves a flat area by
    /// more, natural textures usually do.
    pub tolerance: u8,
    /// Share of a line's pixels (0 to 1) that must be within `tolerance` of its median
    /// for the line to be flat. Default 0.985: a few JPEG-ringing or stray pixels are
    /// forgiven, a real edge in the content is not.
    pub flat_share: f64,
    /// Thinnest border (in pixels) trimmed from an edge. Default 2.
    pub min_border_px: u32,
    /// Thinnest border trimmed from an edge, as a share of the image side across which
    /// it is measured (height for top and bottom). Default 0.01.
    pub min_border_fraction: f64,
    /// Smallest content left, as a share of each side; below it the image is left
    /// alone. Default 0.25: a landscape photo shown in a portrait phone screenshot
    /// keeps about 30% of the height.
    pub min_content_fraction: f64,
    /// Smallest content left, in pixels on each side; below it the image is left
    /// alone. Default 32 (PDQ and pHash both look at a 32 to 64 pixel grid).
    pub min_content_px: u32,
}

impl Default for BorderOptions {
    fn default() -> BorderOptions {
        BorderOptions {
            tolerance: 20,
            flat_share: 0.985,
            min_border_px: 2,
            min_border_fraction: 0.01,
            min_content_fraction: 0.25,
            min_content_px: 32,
        }
    }
}

/// How many peeling rounds at most; each round can only shrink the rectangle, and
/// real frames settle in two or three.
const MAX_ROUNDS: usize = 6;

/// The content rectangle inside a uniform border, or `None` when `image` has no border
/// (or the border found would leave an implausibly small content area, or the pixel
/// buffer does not match the size).
pub fn find_content(image: &Image, options: &BorderOptions) -> Option<Rect> {
    let view = View::new(image)?;
    let full = Rect::full(image);
    let min_top_bottom = min_border(image.height, options);
    let min_left_right = min_border(image.width, options);
    let mut r = full;
    // Lines trimmed so far at each edge: once an edge has a border of the minimum
    // width, thinner layers found in later rounds (a one-pixel outline) join it.
    let mut trimmed = [0u32; 4];
    for _ in 0..MAX_ROUNDS {
        let before = r;
        for (i, edge) in [Edge::Top, Edge::Bottom, Edge::Left, Edge::Right].into_iter().enumerate() {
            let min = match edge {
                Edge::Top | Edge::Bottom => min_top_bottom,
                Edge::Left | Edge::Right => min_left_right,
            };
            let n = view.flat_run(r, edge, options);
            if n > 0 && trimmed[i] + n >= min {
                r = edge.trim(r, n);
                trimmed[i] += n;
            }
            if r.width == 0 || r.height == 0 {
                return None;
            }
        }
        if r == before {
            break;
        }
    }
    if r == full {
        return None;
    }
    let enough = |content: u32, side: u32| {
        content >= options.min_content_px
            && f64::from(content) >= options.min_content_fraction * f64::from(side)
    };
    (enough(r.width, image.width) && enough(r.height, image.height)).then_some(r)
}

/// The pixels of `image` inside `rect`.
///
/// The rectangle is clamped to the image and to at least one pixel on each side, so
/// any rectangle gives a valid image; an image whose pixel buffer does not match its
/// size is returned unchanged.
pub fn crop(image: &Image, rect: Rect) -> Image {
    let (w, h) = (image.width, image.height);
    if View::new(image).is_none() {
        return image.clone();
    }
    let x = rect.x.min(w - 1);
    let y = rect.y.min(h - 1);
    let cw = rect.width.clamp(1, w - x);
    let ch = rect.height.clamp(1, h - y);
    let channels = match image.pixels {
        Pixels::Gray(_) => 1,
        Pixels::Rgb(_) => 3,
    };
    let src = samples(image);
    let stride = w as usize * channels;
    let mut out = Vec::with_capacity(cw as usize * ch as usize * channels);
    for row in y as usize..(y + ch) as usize {
        let start = row * stride + x as usize * channels;
        out.extend_from_slice(&src[start..start + cw as usize * channels]);
    }
    let pixels = match image.pixels {
        Pixels::Gray(_) => Pixels::Gray(out),
        Pixels::Rgb(_) => Pixels::Rgb(out),
    };
    Image { width: cw, height: ch, pixels }
}

/// The thinnest peel kept for an edge across a side of `side` pixels.
fn min_border(side: u32, options: &BorderOptions) -> u32 {
    let fraction = (options.min_border_fraction * f64::from(side)).ceil();
    // `fraction` is at most `side` for sane options; the cast saturates otherwise.
    options.min_border_px.max(fraction as u32).max(1)
}

fn samples(image: &Image) -> &[u8] {
    match &image.pixels {
        Pixels::Gray(s) | Pixels::Rgb(s) => s,
    }
}

#[derive(Clone, Copy, Debug)]
enum Edge {
    Top,
    Bottom,
    Left,
    Right,
}

impl Edge {
    /// `r` with `n` lines removed at this edge (`n` is at most the rectangle's extent).
    fn trim(self, r: Rect, n: u32) -> Rect {
        match self {
            Edge::Top => Rect { y: r.y + n, height: r.height - n, ..r },
            Edge::Bottom => Rect { height: r.height - n, ..r },
            Edge::Left => Rect { x: r.x + n, width: r.width - n, ..r },
            Edge::Right => Rect { width: r.width - n, ..r },
        }
    }
}

/// A checked view of an image's samples.
struct View<'a> {
    samples: &'a [u8],
    channels: usize,
    width: usize,
}

impl<'a> View<'a> {
    fn new(image: &'a Image) -> Option<View<'a>> {
        let channels = match image.pixels {
            Pixels::Gray(_) => 1,
            Pixels::Rgb(_) => 3,
        };
        let samples = samples(image);
        let n = (image.width as usize).checked_mul(image.height as usize)?.checked_mul(channels)?;
        (n > 0 && samples.len() == n).then_some(View { samples, channels, width: image.width as usize })
    }

    /// How many consecutive flat lines there are at `edge` of `r`, going inward.
    fn flat_run(&self, r: Rect, edge: Edge, options: &BorderOptions) -> u32 {
        let extent = match edge {
            Edge::Top | Edge::Bottom => r.height,
            Edge::Left | Edge::Right => r.width,
        };
        let mut scratch = Scratch::default();
        for i in 0..extent {
            let line = match edge {
                Edge::Top => Line::Row { y: r.y + i, x0: r.x, x1: r.right() },
                Edge::Bottom => Line::Row { y: r.bottom() - 1 - i, x0: r.x, x1: r.right() },
                Edge::Left => Line::Col { x: r.x + i, y0: r.y, y1: r.bottom() },
                Edge::Right => Line::Col { x: r.right() - 1 - i, y0: r.y, y1: r.bottom() },
            };
            if !self.is_flat(line, options, &mut scratch) {
                return i;
            }
        }
        extent
    }

    /// Whether enough of the line's pixels are within the tolerance of its median.
    fn is_flat(&self, line: Line, options: &BorderOptions, scratch: &mut Scratch) -> bool {
        scratch.hist = [[0; 256]; 3];
        let mut count = 0u32;
        self.for_each_pixel(line, |px| {
            for (c, &v) in px.iter().enumerate() {
                scratch.hist[c][usize::from(v)] += 1;
            }
            count += 1;
        });
        if count == 0 {
            return false;
        }
        let mut median = [0u8; 3];
        for (c, m) in median.iter_mut().enumerate().take(self.channels) {
            *m = median_of(&scratch.hist[c], count);
        }
        let tol = i16::from(options.tolerance);
        let mut near = 0u32;
        self.for_each_pixel(line, |px| {
            let ok = px.iter().zip(median).all(|(&v, m)| (i16::from(v) - i16::from(m)).abs() <= tol);
            near += u32::from(ok);
        });
        f64::from(near) >= options.flat_share * f64::from(count)
    }

    fn for_each_pixel(&self, line: Line, mut f: impl FnMut(&[u8])) {
        let ch = self.channels;
        match line {
            Line::Row { y, x0, x1 } => {
                let start = (y as usize * self.width + x0 as usize) * ch;
                let end = (y as usize * self.width + x1 as usize) * ch;
                for px in self.samples[start..end].chunks_exact(ch) {
                    f(px);
                }
            }
            Line::Col { x, y0, y1 } => {
                for y in y0..y1 {
                    let at = (y as usize * self.width + x as usize) * ch;
                    f(&self.samples[at..at + ch]);
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Line {
    Row { y: u32, x0: u32, x1: u32 },
    Col { x: u32, y0: u32, y1: u32 },
}

struct Scratch {
    hist: [[u32; 256]; 3],
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch { hist: [[0; 256]; 3] }
    }
}

/// The lower median of `count` samples given as a histogram.
fn median_of(hist: &[u32; 256], count: u32) -> u8 {
    let half = count.div_ceil(2);
    let mut seen = 0;
    for (v, &n) in hist.iter().enumerate() {
        seen += n;
        if seen >= half {
            // `v` < 256.
            return v as u8;
        }
    }
    255
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(w: u32, h: u32, rect: Rect, frame: u8) -> Image {
        let mut s = vec![frame; (w * h) as usize];
        for y in rect.y..rect.bottom() {
            for x in rect.x..rect.right() {
                s[(y * w + x) as usize] = ((x * 7 + y * 13) % 256) as u8;
            }
        }
        Image::gray(w, h, s).unwrap()
    }

    #[test]
    fn finds_an_exact_frame() {
        let rect = Rect { x: 10, y: 5, width: 80, height: 60 };
        assert_eq!(find_content(&framed(100, 80, rect, 0), &BorderOptions::default()), Some(rect));
    }

    #[test]
    fn no_border_is_none() {
        let rect = Rect { x: 0, y: 0, width: 100, height: 80 };
        assert_eq!(find_content(&framed(100, 80, rect, 0), &BorderOptions::default()), None);
    }

    #[test]
    fn flat_image_is_none() {
        let img = Image::gray(64, 64, vec![9; 64 * 64]).unwrap();
        assert_eq!(find_content(&img, &BorderOptions::default()), None);
    }

    #[test]
    fn inconsistent_buffer_is_none_and_crop_returns_it() {
        let img = Image { width: 10, height: 10, pixels: Pixels::Gray(vec![0; 7]) };
        assert_eq!(find_content(&img, &BorderOptions::default()), None);
        assert_eq!(crop(&img, Rect { x: 1, y: 1, width: 3, height: 3 }), img);
    }

    #[test]
    fn crop_clamps() {
        let img = framed(10, 8, Rect { x: 0, y: 0, width: 10, height: 8 }, 0);
        let c = crop(&img, Rect { x: 20, y: 3, width: 50, height: 0 });
        assert_eq!((c.width, c.height), (1, 1));
        assert_eq!(c.pixels, Pixels::Gray(vec![img_at(&img, 9, 3)]));
        let c = crop(&img, Rect { x: 2, y: 3, width: 4, height: 2 });
        assert_eq!((c.width, c.height), (4, 2));
        let want: Vec<u8> = [3, 4]
            .iter()
            .flat_map(|&y| (2..6).map(move |x| (x, y)))
            .map(|(x, y)| img_at(&img, x, y))
            .collect();
        assert_eq!(c.pixels, Pixels::Gray(want));
    }

    fn img_at(img: &Image, x: u32, y: u32) -> u8 {
        samples(img)[(y * img.width + x) as usize]
    }
}
