//! Building blocks of `mediamatch eval`, which measures how well the hashes find
//! transformed copies of known photos.
//!
//! [`transform`] turns a photo into the encoded bytes a platform would receive after a
//! typical edit (re-encoding, resizing, cropping, framing, rotating, filtering).
//! [`run`] checks photos and their transformed copies against an index of the known
//! ones and turns what it measured into recall, wrong-id and false-match figures.

pub mod run;
pub mod transform;

pub use transform::{Encoding, Transform, TransformError};
