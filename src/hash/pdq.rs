//! PDQ, bit-compatible with Meta's reference core (`pdqhash`, python-threatexchange).

use super::Pdq;
use crate::pixels::Image;

/// A PDQ hash with its quality (0-100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdqHash {
    /// The hash.
    pub hash: Pdq,
    /// Meta's quality metric: gradient energy, 0 (flat) to 100.
    pub quality: u8,
}

/// The PDQ hash and quality of `image` at full resolution.
pub fn hash(image: &Image) -> PdqHash {
    let (h, quality) = hash_dihedral(image);
    PdqHash { hash: h[0], quality }
}

/// The 8 dihedral PDQ hashes of `image` (in [`super::Variant::ALL`] order) and its quality.
pub fn hash_dihedral(_image: &Image) -> ([Pdq; 8], u8) {
    todo!("pdq")
}
