//! pHash, bit-compatible with Python `imagehash.phash` (hash_size 8, highfreq_factor 4).

use super::Phash;
use crate::pixels::Image;

/// The pHash of `image` (the stored pixels, no EXIF rotation).
pub fn hash(image: &Image) -> Phash {
    hash_dihedral(image)[0]
}

/// The pHash of `image` and of its 7 other dihedral transforms, in [`super::Variant::ALL`] order.
pub fn hash_dihedral(_image: &Image) -> [Phash; 8] {
    todo!("phash")
}
