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
//! A *line* (one row or one column of the current rectangle) is **nearly flat** when at
//! least [`BorderOptions::flat_share`] of its pixels lie within
//! [`BorderOptions::tolerance`] (per channel) of the line's own per-channel median, and
//! **exactly flat** when that share lies within [`BorderOptions::strict_tolerance`]
//! (ignoring the line's ends, where JPEG ringing from the crossing edges of the frame
//! reaches). The median and the share make the tests robust to stray pixels.
//!
//! Each edge is scanned inward up to its first line that is not nearly flat, and the
//! lines are grouped into layers of one colour (a status bar, a title bar, a side
//! frame, a one-pixel outline). A layer belongs to the frame when it has an exactly
//! flat line, followed by at most [`BorderOptions::max_transition`] nearly flat lines
//! (the JPEG ringing spreading from the content), or when it is an inner layer at most
//! [`BorderOptions::max_thin_layer`] lines thick (an outline). This is what keeps real
//! content: a flat synthetic bar survives JPEG untouched inside, while a sky, a wall
//! or a studio backdrop carries gradients and noise of more than one level, so it is
//! at most *nearly* flat and never starts a border, nor extends one by more than a
//! JPEG block. The price: a frame thinner than about one JPEG block (8 to 16 px) that
//! was JPEG-compressed with the content has no untouched line and is left in place;
//! it moves the hashes little.
//!
//! Edges are peeled in turn (top, bottom, left, right), each within the rectangle the
//! earlier edges left, and the round is repeated until nothing changes: a title bar
//! that spans only the inside of the side frames is found once the sides are gone, and
//! side frames that run only between a full-width title bar and status bar are found
//! once those are gone.
//!
//! Further guards: an edge whose border would be thinner than
//! [`BorderOptions::min_border_px`] or [`BorderOptions::min_border_fraction`] of the
//! side is left alone, and when the remaining content would be smaller than
//! [`BorderOptions::min_content_fraction`] of a side or [`BorderOptions::min_content_px`]
//! the image is left alone ([`find_content`] returns `None`).
//!
//! Measured (`tests/border.rs`): frames of six kinds around 160 corpus photos,
//! re-encoded as JPEG at quality 75, are found within 2 px in 95% of cases and within
//! 8 px in 99.7%; of the 484 corpus photos without an added frame, 6 (1.2%) are
//! trimmed, one of them rightly (it has black bars of its own), the others by at most
//! 6% of their area.
//!
//! This improves on python-threatexchange's `unletterbox`, which only removes rows and
//! columns in which *every* pixel is at most a threshold away from black: that misses
//! white and coloured frames, layered frames, and any frame that JPEG noise has touched.

use crate::image::pixels::Image;

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
/// around the shared photo corpus re-encoded as JPEG at quality 75, and on the corpus
/// photos themselves (see `tests/border.rs`, which measures both the rectangle error and
/// over-trimming).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BorderOptions {
    /// Largest per-channel difference from the line's median for a pixel to count as
    /// exactly the line's colour. Default 1: JPEG codes a block of one flat colour
    /// exactly, while the smoothest skies of the corpus still vary by more (at 3, clear
    /// skies were trimmed as frames).
    pub strict_tolerance: u8,
    /// Largest per-channel difference for a pixel to count as nearly the line's colour,
    /// in the transition lines where JPEG ringing spreads from an edge. Default 24
    /// (20 cut saturated frames short by a few pixels; 32 let more content in).
    pub tolerance: u8,
    /// Share of a line's pixels (0 to 1) that must be within the tolerance of its
    /// median for the line to count as (exactly or nearly) flat. Default 0.985: a few
    /// stray pixels are forgiven, a real edge in the content is not.
    pub flat_share: f64,
    /// Longest run of merely nearly flat lines of a layer's colour accepted after its
    /// last exactly flat line. Default 16, the size of a JPEG MCU with 4:2:0 chroma
    /// subsampling, the farthest JPEG ringing from the content reaches; a longer run is
    /// content that happens to share the frame's colour, and is kept.
    pub max_transition: u32,
    /// Thickest outermost layer accepted without an exactly flat line. Default 0: at 8
    /// (a JPEG block, so that very thin frames are found too) 3.5% of the corpus
    /// photos lost a strip of real content at some edge.
    pub max_thin_frame: u32,
    /// Thickest inner layer (inside another layer of the frame) accepted without an
    /// exactly flat line. Default 2: a thin outline around the picture, or a ringing
    /// line whose colour JPEG shifted.
    pub max_thin_layer: u32,
    /// Thinnest border (in pixels) trimmed from an edge. Default 2.
    pub min_border_px: u32,
    /// Thinnest border trimmed from an edge, as a share of the image side across which
    /// it is measured (height for top and bottom). Default 0.01.
    pub min_border_fraction: f64,
    /// Smallest content left, as a share of each side; below it the image is left
    /// alone. Default 0.25: a landscape photo shown in a portrait phone screenshot
    /// keeps about a third of the height.
    pub min_content_fraction: f64,
    /// Smallest content left, in pixels on each side; below it the image is left
    /// alone. Default 32 (PDQ and pHash both look at a 32 to 64 pixel grid).
    pub min_content_px: u32,
}

impl Default for BorderOptions {
    fn default() -> BorderOptions {
        BorderOptions {
            strict_tolerance: 1,
            tolerance: 24,
            flat_share: 0.985,
            max_transition: 16,
            max_thin_frame: 0,
            max_thin_layer: 2,
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
            let n = view.border_run(r, edge, options);
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
    let channels = image.channels();
    let src = image.samples();
    let stride = w as usize * channels;
    let mut out = Vec::with_capacity(cw as usize * ch as usize * channels);
    for row in y as usize..(y + ch) as usize {
        let start = row * stride + x as usize * channels;
        out.extend_from_slice(&src[start..start + cw as usize * channels]);
    }
    image.same_mode(cw, ch, out)
}

/// The thinnest peel kept for an edge across a side of `side` pixels.
fn min_border(side: u32, options: &BorderOptions) -> u32 {
    let fraction = (options.min_border_fraction * f64::from(side)).ceil();
    // `fraction` is at most `side` for sane options; the cast saturates otherwise.
    options.min_border_px.max(fraction as u32).max(1)
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
        let (channels, samples) = (image.channels(), image.samples());
        let n = (image.width as usize).checked_mul(image.height as usize)?.checked_mul(channels)?;
        (n > 0 && samples.len() == n).then_some(View { samples, channels, width: image.width as usize })
    }

    /// How many lines at `edge` of `r`, going inward, belong to the border.
    ///
    /// The lines up to the first one that is not nearly flat are grouped into layers
    /// of one colour each. A layer counts as frame when it has an exactly flat line
    /// (the inside of a synthetic bar: JPEG leaves it untouched), or when it is thin:
    /// the outermost layer up to [`BorderOptions::max_transition`] lines (a frame so
    /// thin that JPEG ringing from the content reaches all of it), an inner one up to
    /// [`BorderOptions::max_thin_layer`] lines (a one-pixel outline, a shifted ringing
    /// line). The border ends before the first layer that counts as neither: a thick,
    /// merely nearly flat area is sky, wall or backdrop, not a frame.
    fn border_run(&self, r: Rect, edge: Edge, options: &BorderOptions) -> u32 {
        let extent = match edge {
            Edge::Top | Edge::Bottom => r.height,
            Edge::Left | Edge::Right => r.width,
        };
        let mut scratch = Scratch::default();
        let loose = options.tolerance;
        let mut open: Option<Layer> = None;
        let mut stop = extent;
        for i in 0..extent {
            let line = match edge {
                Edge::Top => Line::Row { y: r.y + i, x0: r.x, x1: r.right() },
                Edge::Bottom => Line::Row { y: r.bottom() - 1 - i, x0: r.x, x1: r.right() },
                Edge::Left => Line::Col { x: r.x + i, y0: r.y, y1: r.bottom() },
                Edge::Right => Line::Col { x: r.right() - 1 - i, y0: r.y, y1: r.bottom() },
            };
            let f = self.flatness(line, options, &mut scratch);
            if !f.near {
                stop = i;
                break;
            }
            let last_exact = f.exact.then_some(i);
            open = match open {
                Some(l) if distance(l.colour, f.median) <= loose => {
                    Some(Layer { last_exact: last_exact.or(l.last_exact), ..l })
                }
                Some(l) => match l.extent(i, options) {
                    Extent::Whole => Some(Layer { colour: f.median, start: i, last_exact }),
                    Extent::Until(n) => return n,
                },
                None => Some(Layer { colour: f.median, start: i, last_exact }),
            };
        }
        match open.map(|l| l.extent(stop, options)) {
            Some(Extent::Whole) => stop,
            Some(Extent::Until(n)) => n,
            None => 0,
        }
    }

    /// How flat a line is: exactly (within the strict tolerance of its median) and
    /// nearly (within the loose tolerance).
    fn flatness(&self, line: Line, o: &BorderOptions, scratch: &mut Scratch) -> Flatness {
        scratch.hist = [[0; 256]; 3];
        let mut count = 0u32;
        self.for_each_pixel(line, |px| {
            for (c, &v) in px.iter().enumerate() {
                scratch.hist[c][usize::from(v)] += 1;
            }
            count += 1;
        });
        let mut median = [0u8; 3];
        for (c, m) in median.iter_mut().enumerate().take(self.channels) {
            *m = median_of(&scratch.hist[c], count);
        }
        let (strict, loose) = (o.strict_tolerance, o.tolerance);
        // Exactness ignores the ends of the line, where JPEG ringing from the frame's
        // edges across the line (a title bar's lower edge, for a side frame) reaches.
        let margin = if count > 4 * o.max_transition { o.max_transition } else { 0 };
        let inner = margin..count - margin;
        let (mut exact, mut near, mut at) = (0u32, 0u32, 0u32);
        self.for_each_pixel(line, |px| {
            let d = px.iter().zip(median).map(|(&v, m)| v.abs_diff(m)).max().unwrap_or(0);
            exact += u32::from(d <= strict && inner.contains(&at));
            near += u32::from(d <= loose);
            at += 1;
        });
        let enough = |n: u32, of: u32| of > 0 && f64::from(n) >= o.flat_share * f64::from(of);
        Flatness { median, exact: enough(exact, count - 2 * margin), near: enough(near, count) }
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

/// A run of nearly flat lines of one colour at an edge.
#[derive(Clone, Copy, Debug)]
struct Layer {
    colour: [u8; 3],
    /// Its first line, counted from the edge.
    start: u32,
    /// Its last exactly flat line, if any.
    last_exact: Option<u32>,
}

/// How much of a layer belongs to the frame.
#[derive(Clone, Copy, Debug)]
enum Extent {
    /// All of it; the next layer may belong to the frame too.
    Whole,
    /// The frame ends at this line (counted from the edge).
    Until(u32),
}

impl Layer {
    /// How much of the layer, which ends before line `end`, belongs to the frame.
    fn extent(&self, end: u32, o: &BorderOptions) -> Extent {
        match self.last_exact {
            // A bar with an untouched inside, followed by a short ringing tail, or by a
            // long nearly flat area of its colour that is content.
            Some(e) if end - (e + 1) <= o.max_transition => Extent::Whole,
            Some(e) => Extent::Until(e + 1),
            None => {
                let thin = if self.start == 0 { o.max_thin_frame } else { o.max_thin_layer };
                if end - self.start <= thin {
                    Extent::Whole
                } else {
                    Extent::Until(self.start)
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Flatness {
    median: [u8; 3],
    exact: bool,
    near: bool,
}

/// The largest per-channel difference between two colours.
fn distance(a: [u8; 3], b: [u8; 3]) -> u8 {
    a.iter().zip(b).map(|(&x, y)| x.abs_diff(y)).max().unwrap_or(0)
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
    use crate::image::pixels::Pixels;

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
        img.samples()[(y * img.width + x) as usize]
    }
}
