//! mediamatch finds re-uploads of known illegal media (child sexual abuse material,
//! terrorist content, non-consensual imagery) by comparing files with the hash lists that
//! clearing houses share with platforms.
//!
//! # A tour
//!
//! Data flows one way:
//!
//! ```text
//! bytes ─> decode ─> pixels ─> pHash, PDQ (+ 8 dihedral variants, + border-trimmed content,
//!   │                                       + edge-extended guesses at a cropped copy's framing) ─┐
//!   └───────────────────────> MD5, SHA-1, SHA-256 ──────────────────────────────────────────────┴─> Hashes
//! list files ─> lists (parse, validate, delta) ─> Catalog ─> index builder ─> index file (mmap)
//! Hashes + Index ─> Matcher (thresholds, dihedral, corroboration, fused verdict) ─> Verdict
//! ```
//!
//! | concept | where |
//! | --- | --- |
//! | opening and sniffing media, decode limits, Pillow-identical pixels, animation frames | [`decode`] (the only door to the image decoders) |
//! | the pixel buffer; border finding and trimming; edge extension; small rotations | [`image`] ([`image::pixels`], [`image::border`], [`image::extend`], [`image::rotate`]) |
//! | hash values, hex, distance; the algorithms; sets of kinds | [`hash`] ([`hash::phash`] imagehash-compatible, [`hash::pdq`] Meta-compatible, [`hash::digest`], [`hash::dihedral`], [`hash::KindSet`]) |
//! | one input's bytes in, all requested [`Hashes`] out | [`hashing`] |
//! | list file formats, kind aliases, statuses, tombstones, rejects | [`lists`] ([`lists::ListFile`], [`lists::ListFormat`], [`lists::kind`], [`lists::status`]) |
//! | applying list files to a list as a delta or a replacement | [`lists::delta`] |
//! | the logical content of an index: lists with provenance, entries | [`catalog`] |
//! | the index file's format, each record's encoder and decoder | [`index::format`] (labelled reads in `index::wire`) |
//! | opening, mapping, atomic writes, the writer's lock, stale temporary files | [`index::store`] ([`index::WriteLock`], [`index::IndexData`]) |
//! | open-time checks of an index | `index::layout`; full checks: [`index::Index::verify`] |
//! | search structures (sorted values, multi-index hashing, BK-tree) and the planner that picks one | `index::values`, [`index::mih`], [`index::bktree`], `index::plan` |
//! | building an index from a catalog | [`index::build`] |
//! | opening files that must be regular without blocking on a FIFO | [`regular`] |
//! | [`Matcher`], [`Config`], [`Verdict`]: checking uploads, reloading | [`matcher`] |
//! | the one matching rule: thresholds, fusion policy, corroboration | [`matcher::rule`] |
//! | how surprising a match is at this index size: E-values, the null model | [`significance`] ([`significance::null`]) |
//! | transforms, measurements, reports, sweeps and targets for choosing thresholds | `eval` (cargo feature `eval`, on by default; judged by [`matcher::rule`]) |
//! | the command-line tool: one module per subcommand, one record type and one printer per format | the binary's `src/cli/` (`record.rs`, `print/`) |
//!
//! ## Hash an image
//!
//! ```
//! use mediamatch::{hash_bytes, HashOptions};
//!
//! let bytes = include_bytes!("../fixtures/photos/coins.png");
//! let hashes = hash_bytes(bytes, &HashOptions::default());
//! let image = hashes.image.expect("perceptual kinds were asked for").expect("a PNG decodes");
//! // The same values as Python `imagehash.phash` and `pdqhash` (fixtures/photos/reference.tsv).
//! assert_eq!(image.phash.unwrap().to_string(), "e4d5b5a92b54523a");
//! assert_eq!(image.pdq.unwrap().quality, 100);
//! assert_eq!(hashes.md5.unwrap().to_string().len(), 32);
//! ```
//!
//! ## Check an upload
//!
//! A [`matcher::Matcher`] is `Send + Sync`; an upload handler shares one between threads
//! (open it from an index file with [`matcher::Matcher::open`]). Here the index is built in
//! memory from a list:
//!
//! ```
//! use mediamatch::catalog::Catalog;
//! use mediamatch::index::{build, BuildOptions, Index};
//! use mediamatch::lists::delta::{apply, ApplyOptions};
//! use mediamatch::lists::{ParseOptions, ListFile};
//! use mediamatch::matcher::{CheckError, IndexData};
//! use mediamatch::{Config, Matcher};
//!
//! let list = include_bytes!("../fixtures/demo/known.csv");
//! let source = ListFile::from_bytes("known.csv", list, &ParseOptions::default())?;
//! let mut catalog = Catalog::default();
//! apply(&mut catalog, "demo", &[source], &ApplyOptions::default());
//! let index = Index::from_bytes(IndexData::Owned(build(&catalog, &BuildOptions::default())?))?;
//! let matcher = Matcher::from_index(index, Config::default());
//!
//! // A mirrored, re-encoded copy of a known photo is blocked ...
//! let copy = include_bytes!("../fixtures/demo/scan/coins-mirrored.jpg");
//! let verdict = matcher.check_bytes(copy).expect("decodes");
//! assert!(verdict.is_match());
//! assert_eq!(verdict.matches[0].id, "coins");
//! // ... an unrelated photo is not, and bytes that are no image are a typed error.
//! let other = include_bytes!("../fixtures/demo/scan/china-unrelated.jpg");
//! assert!(!matcher.check_bytes(other).expect("decodes").is_match());
//! assert!(matches!(matcher.check_bytes(b"hello"), Err(CheckError::NotAnImage(_))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Import a list update
//!
//! What `mediamatch import` does, without its reporting: take the index's writer lock
//! (so two imports never interleave), read the index's catalog, apply the file as a delta,
//! write a new index and rename it over the old one.
//!
//! ```
//! use mediamatch::catalog::Catalog;
//! use mediamatch::index::{build, write_atomic, BuildOptions, Index, WriteLock};
//! use mediamatch::lists::delta::{apply, ApplyOptions};
//! use mediamatch::lists::{ParseOptions, ListFile};
//!
//! let dir = std::env::temp_dir().join(format!("mediamatch-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("known.mmi");
//! for update in ["md5:0123456789abcdef0123456789abcdef\n", "md5:fedcba9876543210fedcba9876543210\n"] {
//!     let lock = WriteLock::acquire(&path)?;
//!     lock.remove_stale_temps();
//!     let mut catalog = match Index::open(&path) {
//!         Ok(index) => index.catalog()?,
//!         Err(_) => Catalog::default(),
//!     };
//!     let source = ListFile::from_bytes("update.txt", update.as_bytes(), &ParseOptions::default())?;
//!     let outcome = apply(&mut catalog, "local", &[source], &ApplyOptions::default());
//!     assert_eq!(outcome.counts.added, 1);
//!     write_atomic(&path, &build(&catalog, &BuildOptions::default())?)?;
//!     drop(lock);
//! }
//! assert_eq!(Index::open(&path)?.len(), 2);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Scan a directory
//!
//! The `mediamatch scan` command walks directories and calls
//! [`matcher::Matcher::check_bytes`] for every file on a rayon pool; a library user does
//! the same with [`matcher::Matcher::check_batch`] or `check_path`:
//!
//! ```
//! # use mediamatch::catalog::Catalog;
//! # use mediamatch::index::{build, BuildOptions, Index};
//! # use mediamatch::lists::delta::{apply, ApplyOptions};
//! # use mediamatch::lists::{ParseOptions, ListFile};
//! # use mediamatch::matcher::{Config, IndexData, Matcher};
//! # let list = include_bytes!("../fixtures/demo/known.csv");
//! # let source = ListFile::from_bytes("known.csv", list, &ParseOptions::default())?;
//! # let mut catalog = Catalog::default();
//! # apply(&mut catalog, "demo", &[source], &ApplyOptions::default());
//! # let index = Index::from_bytes(IndexData::Owned(build(&catalog, &BuildOptions::default())?))?;
//! # let matcher = Matcher::from_index(index, Config::default());
//! let mut paths: Vec<_> = std::fs::read_dir("fixtures/demo/scan")?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
//! paths.sort();
//! let matched = paths.iter().filter(|p| matcher.check_path(p).is_ok_and(|v| v.is_match())).count();
//! assert_eq!(paths.len(), 18);
//! assert!(matched >= 12, "most transformed copies match, unrelated photos do not");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod base64;
pub mod catalog;
pub mod decode;
pub mod error;
#[cfg(feature = "eval")]
pub mod eval;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod hash;
pub mod hashing;
pub mod image;
pub mod index;
pub mod lists;
pub mod matcher;
pub mod regular;
#[cfg(feature = "serve")]
pub mod serve;
pub mod significance;
pub mod timestamp;
pub mod video;

pub use error::{Error, Result};
pub use hash::KindSet;
pub use hash::{HashValue, Kind, Md5, Pdq, Phash, Sha1, Sha256, Variant};
pub use hashing::{hash_bytes, FrameHashes, HashOptions, Hashes, ImageHashes};
pub use image::pixels::{Image, Pixels};
pub use matcher::{Config, Matcher, Verdict};

/// Compiles and runs the README's Rust examples as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
