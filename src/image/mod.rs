//! Pixels and what is done to them before hashing: the decoded buffer type, finding and
//! trimming borders, and extending an image at its edges.
//!
//! * [`pixels`]: the one buffer type that flows from the decoder to the hashers.
//! * [`border`]: finding and trimming letterbox / screenshot borders.
//! * [`extend`]: extending an image at its edges, a guess at the framing a cropped copy lost.
//!
//! This module knows nothing of hashing rules or the index.

pub mod border;
pub mod extend;
pub mod pixels;
