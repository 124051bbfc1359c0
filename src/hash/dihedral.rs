//! The 8 symmetries of a square (rotations by 90 degrees and mirror images).
//!
//! Both perceptual hashes are built from a 2-D DCT, and the DCT of a rotated or mirrored
//! image is the original DCT with some coefficients negated and, for quarter turns, the
//! axes swapped. So all 8 variants come from one DCT at almost no extra cost, and a query
//! with all 8 finds rotated and mirrored uploads of a known image.

use std::fmt;
use std::str::FromStr;

/// One of the 8 dihedral transforms, in Meta's order and with Meta's names.
///
/// | variant | Pillow transform of the pixels |
/// | --- | --- |
/// | `orig` | none |
/// | `rot90` | `ROTATE_90` (counter-clockwise) |
/// | `rot180` | `ROTATE_180` |
/// | `rot270` | `ROTATE_270` (clockwise) |
/// | `flipx` | `FLIP_TOP_BOTTOM` |
/// | `flipy` | `FLIP_LEFT_RIGHT` |
/// | `flipp` | `TRANSPOSE` |
/// | `flipm` | `TRANSVERSE` |
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// The image as stored.
    Orig,
    /// Rotated 90 degrees counter-clockwise.
    Rot90,
    /// Rotated 180 degrees.
    Rot180,
    /// Rotated 270 degrees counter-clockwise (90 clockwise).
    Rot270,
    /// Mirrored top to bottom.
    FlipX,
    /// Mirrored left to right.
    FlipY,
    /// Transposed (mirrored about the main diagonal).
    FlipP,
    /// Transversed (mirrored about the anti-diagonal).
    FlipM,
}

impl Variant {
    /// All variants in Meta's order; index `i` of a dihedral hash array is `ALL[i]`.
    pub const ALL: [Variant; 8] = [
        Variant::Orig,
        Variant::Rot90,
        Variant::Rot180,
        Variant::Rot270,
        Variant::FlipX,
        Variant::FlipY,
        Variant::FlipP,
        Variant::FlipM,
    ];

    /// Meta's name for the variant.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Orig => "orig",
            Variant::Rot90 => "rot90",
            Variant::Rot180 => "rot180",
            Variant::Rot270 => "rot270",
            Variant::FlipX => "flipx",
            Variant::FlipY => "flipy",
            Variant::FlipP => "flipp",
            Variant::FlipM => "flipm",
        }
    }

    /// Position in [`Variant::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = String;
    fn from_str(s: &str) -> Result<Variant, String> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown dihedral variant {s:?}"))
    }
}
