//! Decoded pixels: the one buffer type that flows from the decoder to the hashers.

/// The samples of a decoded image, 8 bits per sample, row-major, no padding.
///
/// The decoder converts every source mode the way Pillow's `convert("RGB")` /
/// `convert("L")` would see it, because that is what the reference implementations
/// hash: alpha is dropped (not composited), palettes are expanded, 16-bit grey is
/// clipped to 255, 16-bit colour keeps the high byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pixels {
    /// One grey sample per pixel.
    Gray(Vec<u8>),
    /// Three samples (R, G, B) per pixel.
    Rgb(Vec<u8>),
}

/// A decoded image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels (at least 1).
    pub width: u32,
    /// Height in pixels (at least 1).
    pub height: u32,
    /// The samples; their length is `width * height` (grey) or `3 * width * height` (RGB).
    pub pixels: Pixels,
}

impl Image {
    /// A grey image; `None` if the buffer length does not match the size or a side is 0.
    pub fn gray(width: u32, height: u32, samples: Vec<u8>) -> Option<Image> {
        let n = (width as usize).checked_mul(height as usize)?;
        (n > 0 && samples.len() == n).then_some(Image { width, height, pixels: Pixels::Gray(samples) })
    }

    /// An RGB image; `None` if the buffer length does not match the size or a side is 0.
    pub fn rgb(width: u32, height: u32, samples: Vec<u8>) -> Option<Image> {
        let n = (width as usize).checked_mul(height as usize)?.checked_mul(3)?;
        (n > 0 && samples.len() == n).then_some(Image { width, height, pixels: Pixels::Rgb(samples) })
    }

    /// Number of pixels.
    pub fn pixel_count(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Samples per pixel: 1 (grey) or 3 (RGB).
    pub fn channels(&self) -> usize {
        match self.pixels {
            Pixels::Gray(_) => 1,
            Pixels::Rgb(_) => 3,
        }
    }

    /// The samples, row-major.
    pub fn samples(&self) -> &[u8] {
        match &self.pixels {
            Pixels::Gray(s) | Pixels::Rgb(s) => s,
        }
    }

    /// A `width` x `height` image of the same mode as this one holding `samples` (the
    /// caller keeps the length right; [`Image::gray`] and [`Image::rgb`] check it).
    pub fn same_mode(&self, width: u32, height: u32, samples: Vec<u8>) -> Image {
        let pixels = match self.pixels {
            Pixels::Gray(_) => Pixels::Gray(samples),
            Pixels::Rgb(_) => Pixels::Rgb(samples),
        };
        Image { width, height, pixels }
    }
}
