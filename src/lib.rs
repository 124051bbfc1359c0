//! mediamatch finds re-uploads of known illegal media.
//!
//! (Crate tour to be written.)
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod border;
pub mod catalog;
pub mod decode;
pub mod error;
pub mod eval;
pub mod hash;
pub mod hasher;
pub mod index;
pub mod lists;
pub mod matcher;
pub mod pixels;

pub use error::{Error, Result};
pub use hash::{HashValue, Kind, Md5, Pdq, Phash, Sha1, Sha256, Variant};
pub use hasher::{hash_bytes, HashOptions, Hashes, ImageHashes, Kinds};
pub use pixels::{Image, Pixels};
