//! MD5, SHA-1 and SHA-256 of a file's bytes (RustCrypto's `md-5`, `sha1`, `sha2`).

use md5::Digest as _;

use super::{Md5, Sha1, Sha256};

/// The three digests of one byte string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digests {
    /// MD5, when asked for.
    pub md5: Option<Md5>,
    /// SHA-1, when asked for.
    pub sha1: Option<Sha1>,
    /// SHA-256, when asked for.
    pub sha256: Option<Sha256>,
}

/// Computes the requested digests of `bytes` (each only if its flag is set).
pub fn digests(bytes: &[u8], md5: bool, sha1: bool, sha256: bool) -> Digests {
    Digests {
        md5: md5.then(|| Md5(md5::Md5::digest(bytes).into())),
        sha1: sha1.then(|| Sha1(sha1::Sha1::digest(bytes).into())),
        sha256: sha256.then(|| Sha256(sha2::Sha256::digest(bytes).into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // RFC 1321 / FIPS 180 test vector "abc".
        let d = digests(b"abc", true, true, true);
        assert_eq!(d.md5.unwrap().to_string(), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(d.sha1.unwrap().to_string(), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            d.sha256.unwrap().to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let none = digests(b"abc", false, false, false);
        assert!(none.md5.is_none() && none.sha1.is_none() && none.sha256.is_none());
    }
}
