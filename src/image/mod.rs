//! Pixels and what is done to them before hashing: the decoded buffer type, finding and
//! trimming borders, extending an image at its edges, turning it back by a few degrees.
//!
//! * [`pixels`]: the one buffer type that flows from the decoder to the hashers.
//! * [`border`]: finding and trimming letterbox / screenshot borders.
//! * [`extend`]: extending an image at its edges, a guess at the framing a cropped copy lost.
//! * [`rotate`]: turning an image back by a few degrees, a guess at the original of a copy
//!   turned by that much.
//!
//! This module knows nothing of hashing rules or the index.

pub mod border;
pub mod extend;
pub mod pixels;
pub mod rotate;
