//! One file's bytes in, all requested hashes out.
//!
//! The bytes are read once by the caller; the digests are computed from them and the
//! same buffer feeds the decoder, whose pixels feed pHash and PDQ.

use std::io::Read;

use crate::decode::{self, DecodeError, ImageFormat, Limits};
use crate::hash::digest::digests;
use crate::hash::pdq::{self, PdqHash};
use crate::hash::{phash, Kind, KindSet, Md5, Pdq, Phash, Sha1, Sha256};
use crate::image::border::{self, BorderOptions, Rect};
use crate::image::extend::{self, Fill};
use crate::image::pixels::Image;
use crate::image::rotate;

/// What to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashOptions {
    /// The kinds to compute.
    pub kinds: KindSet,
    /// Also compute the 8 dihedral variants of each perceptual hash.
    pub dihedral: bool,
    /// Decoder limits.
    pub limits: Limits,
    /// Also hash the content inside a uniform border (letterbox, pillarbox, screenshot
    /// frame) when [`border::find_content`] finds one; see [`ImageHashes::trimmed`].
    pub border: bool,
    /// Also hash the image extended at its edges ([`extend::extended`], one per [`Fill`]):
    /// a guess at the framing of the original a cropped copy was cut from; see
    /// [`ImageHashes::extended`]. The extended images are hashed in their stored
    /// orientation only (no dihedral variants).
    pub extend: bool,
    /// Also hash the image turned back by each angle of [`rotate::ANGLES`]
    /// ([`rotate::rotated`]): a guess at the original of a copy turned by a few degrees;
    /// see [`ImageHashes::extended`]. Like the edge extension, in the stored orientation
    /// only.
    pub rotate: bool,
    /// Also hash the later frames of an animated GIF, WebP or PNG (distinct frames only,
    /// at most [`Limits::max_frames`], within [`Limits::max_time`]; see
    /// [`decode::decode_frames`]); see [`ImageHashes::frames`]. Each frame gets the kinds
    /// and dihedral variants asked for, no border trimming and no edge extension.
    pub frames: bool,
}

impl Default for HashOptions {
    /// Every kind, no dihedral variants, default limits, no border removal, no edge
    /// extension, no rotation guesses and the first frame only (the reference
    /// implementations' behaviour).
    fn default() -> HashOptions {
        HashOptions {
            kinds: KindSet::all(),
            dihedral: false,
            limits: Limits::default(),
            border: false,
            extend: false,
            rotate: false,
            frames: false,
        }
    }
}

/// The perceptual side of one file's hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageHashes {
    /// Sniffed container format.
    pub format: ImageFormat,
    /// Width of the stored pixels.
    pub width: u32,
    /// Height of the stored pixels.
    pub height: u32,
    /// EXIF orientation tag, when present (reported, not applied).
    pub orientation: Option<u8>,
    /// pHash, when asked for.
    pub phash: Option<Phash>,
    /// The 8 dihedral pHashes (index 0 = `phash`), when asked for with `dihedral`.
    pub phash_dihedral: Option<[Phash; 8]>,
    /// PDQ and quality, when asked for.
    pub pdq: Option<PdqHash>,
    /// The 8 dihedral PDQ hashes (index 0 = `pdq`), when asked for with `dihedral`.
    pub pdq_dihedral: Option<[Pdq; 8]>,
    /// With [`HashOptions::border`]: the hashes of the content inside a uniform border,
    /// when one was found (the image as given is hashed above either way).
    pub trimmed: Option<Box<Trimmed>>,
    /// The query-only guesses: with [`HashOptions::extend`] the hashes of the image as
    /// given extended at its edges, one per [`Fill`] in [`Fill::ALL`] order; then with
    /// [`HashOptions::rotate`] those of the image turned back, one per angle of
    /// [`rotate::ANGLES`] in that order (empty when neither is asked for). Queries only:
    /// these never reproduce a reference implementation's hash of anything.
    pub extended: Vec<Extended>,
    /// With [`HashOptions::frames`]: the hashes of the later distinct frames of an
    /// animation, in display order (empty otherwise, and for still images). The fields
    /// above are always those of frame 0, the image the references hash. For a video
    /// ([`hash_video`]): its later sampled frames, numbered in decoding order.
    pub frames: Vec<FrameHashes>,
    /// A video's frames per second (`frame / frame_rate` is a frame's time); `None` for
    /// images and animations.
    pub frame_rate: Option<f64>,
    /// With [`Kind::Vpdq`] asked for: the vPDQ of a video (its sampled frames, see
    /// [`hash_video`]) or of an animation with [`HashOptions::frames`] (frame 0 and every
    /// later distinct frame, timestamps 0); empty for still images and in derived hash sets.
    /// Frames are hashed as Meta's `vpdq` does ([`crate::video::vpdq::hash_frame`]), not
    /// with the photo rules of [`ImageHashes::pdq`].
    pub vpdq: Vec<crate::video::vpdq::Frame>,
    /// With [`HashOptions::border`] too: the vPDQ of the content inside a uniform border
    /// (letterbox, pillarbox) of each frame of `vpdq` that has one, with that frame's
    /// number, in frame order; queries only (Meta's `vpdq` hashes whole frames).
    pub vpdq_trimmed: Vec<crate::video::vpdq::Frame>,
}

/// The perceptual hashes of one later frame of an animation.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameHashes {
    /// The frame's number (frame 0 is the image hashed in [`ImageHashes`] itself; see
    /// [`decode::decode_frames`]).
    pub frame: u32,
    /// The hashes of the composed frame (its `trimmed`, `extended` and `frames` empty).
    pub hashes: ImageHashes,
}

/// The perceptual hashes of one query-only guess at the original of a copy: the image
/// extended at its edges ([`extend::extended`]) or turned back ([`rotate::rotated`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Extended {
    /// What the guess did to the image.
    pub guess: Guess,
    /// The hashes of the guess (its `trimmed` is `None`, its `extended` empty).
    pub hashes: ImageHashes,
}

/// What a query-only guess ([`Extended`]) did to the image as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Guess {
    /// Extended at its edges, the added strips filled so ([`extend::extended`]).
    Extend(Fill),
    /// Turned by `degrees` counter-clockwise (as seen; negative is clockwise), cut to its
    /// inner rectangle and extended back to its framing ([`rotate::rotated`]).
    Rotate {
        /// The angle turned by, one of [`rotate::ANGLES`].
        degrees: i8,
    },
}

/// The perceptual hashes of an image's content with its border removed.
#[derive(Clone, Debug, PartialEq)]
pub struct Trimmed {
    /// Where the content is, in the stored pixels.
    pub rect: Rect,
    /// The hashes of that content (its `trimmed` is `None`).
    pub hashes: ImageHashes,
}

/// All hashes of one input.
#[derive(Debug)]
pub struct Hashes {
    /// MD5 of the bytes, when asked for.
    pub md5: Option<Md5>,
    /// SHA-1 of the bytes, when asked for.
    pub sha1: Option<Sha1>,
    /// SHA-256 of the bytes, when asked for.
    pub sha256: Option<Sha256>,
    /// The perceptual hashes; `None` when no perceptual kind was asked for, an error
    /// when the bytes could not be decoded (the digests are still valid then).
    pub image: Option<Result<ImageHashes, DecodeError>>,
}

/// Hashes `bytes` as `options` say: digests of the bytes, then (if a perceptual kind is
/// asked for) decode and perceptual hashes of the stored pixels.
pub fn hash_bytes(bytes: &[u8], options: &HashOptions) -> Hashes {
    let k = options.kinds;
    let d = digests(bytes, k.contains(Kind::Md5), k.contains(Kind::Sha1), k.contains(Kind::Sha256));
    let image = k.needs_pixels().then(|| {
        let mut frames = Vec::new();
        let (mut vpdq, mut vpdq_trimmed) = (Vec::new(), Vec::new());
        let with_vpdq = k.contains(Kind::Vpdq);
        let decoded = if options.frames {
            let plain = HashOptions { border: false, extend: false, rotate: false, ..*options };
            decode::decode_frames(bytes, &options.limits, |frame, image| {
                if with_vpdq {
                    vpdq_frame(u64::from(frame), image, 1.0, options.border, &mut vpdq, &mut vpdq_trimmed);
                }
                frames.push(FrameHashes { frame, hashes: hash_pixels(image, &plain) });
            })
        } else {
            decode::decode(bytes, &options.limits)
        };
        decoded.map(|decoded| {
            let mut h = hash_image(&decoded.image, options);
            if !vpdq.is_empty() {
                // An animation: frame 0 too; its frames carry no times.
                vpdq_frame(0, &decoded.image, 1.0, options.border, &mut vpdq, &mut vpdq_trimmed);
                for v in [&mut vpdq, &mut vpdq_trimmed] {
                    v.sort_by_key(|f| f.frame);
                    v.iter_mut().for_each(|f| f.timestamp = 0.0);
                }
                h.vpdq = vpdq;
                h.vpdq_trimmed = vpdq_trimmed;
            }
            h.frames = frames;
            h.format = decoded.format;
            h.orientation = decoded.orientation;
            let derived = h.trimmed.iter_mut().map(|t| &mut t.hashes);
            let derived = derived.chain(h.extended.iter_mut().map(|e| &mut e.hashes));
            for d in derived.chain(h.frames.iter_mut().map(|f| &mut f.hashes)) {
                d.format = decoded.format;
                d.orientation = decoded.orientation;
            }
            h
        })
    });
    Hashes { md5: d.md5, sha1: d.sha1, sha256: d.sha256, image }
}

/// The perceptual hashes of a video's sampled frames, to check against photo entries: one
/// frame every `sampling.seconds_per_frame` (decoded by ffmpeg in a child process, see
/// [`crate::video::ffmpeg`]). The first sampled frame (frame 0) gets everything `options`
/// asks for (border trimming, guesses) as a still image would; each later one that differs
/// from the frame kept before it is a [`FrameHashes`] with its decoding-order number, as
/// the later frames of an animation are. Frames are hashed with the photo rules (pHash as
/// imagehash, PDQ as `pdqhash`), since the entries they are compared with are photos'.
pub fn hash_video<'a>(
    source: impl Into<crate::video::ffmpeg::Source<'a>>,
    options: &HashOptions,
    sampling: &crate::video::FrameSampling,
) -> Result<ImageHashes, DecodeError> {
    let source = source.into();
    use crate::video::{ffmpeg, vpdq};
    let failed = |message: String| DecodeError::Corrupt { format: ImageFormat::Video, message };
    let info = ffmpeg::probe_source(source, &sampling.limits).map_err(|e| failed(e.to_string()))?;
    let step = vpdq::frame_step(sampling.seconds_per_frame, info.frame_rate);
    let plain = HashOptions { border: false, extend: false, rotate: false, ..*options };
    let (w, h) = (info.width, info.height);
    let mut first: Option<ImageHashes> = None;
    let mut frames: Vec<FrameHashes> = Vec::new();
    let mut vpdq_frames = Vec::new();
    let mut vpdq_trimmed = Vec::new();
    let mut bad_frame = None;
    ffmpeg::frames_every(source, &info, &sampling.limits, step, |n, rgb| {
        if n % step != 0 {
            return true;
        }
        let Some(image) = Image::rgb(w, h, rgb.to_vec()) else {
            bad_frame = Some(n);
            return false;
        };
        if options.kinds.contains(Kind::Vpdq) {
            let fps = info.frame_rate as f32;
            vpdq_frame(n, &image, fps, options.border, &mut vpdq_frames, &mut vpdq_trimmed);
        }
        match &first {
            None => first = Some(hash_image(&image, options)),
            Some(f) => {
                let hashes = hash_pixels(&image, &plain);
                let previous = frames.last().map_or(f, |p| &p.hashes);
                let same = hashes.phash == previous.phash
                    && hashes.pdq.map(|p| p.hash) == previous.pdq.map(|p| p.hash);
                if !same {
                    frames.push(FrameHashes { frame: u32::try_from(n).unwrap_or(u32::MAX), hashes });
                }
            }
        }
        true
    })
    .map_err(|e| failed(e.to_string()))?;
    if let Some(n) = bad_frame {
        return Err(failed(format!("frame {n} is not {w}x{h} RGB")));
    }
    let mut out = first.ok_or_else(|| failed("the video has no frame".into()))?;
    out.format = ImageFormat::Video;
    for f in &mut frames {
        f.hashes.format = ImageFormat::Video;
        f.hashes.frame_rate = Some(info.frame_rate);
    }
    out.frames = frames;
    out.frame_rate = Some(info.frame_rate);
    out.vpdq = vpdq_frames;
    out.vpdq_trimmed = vpdq_trimmed;
    Ok(out)
}

/// The vPDQ of frame `n` into `whole`, and with `border` that of the content inside its
/// uniform border, if it has one, into `trimmed`.
fn vpdq_frame(
    n: u64,
    image: &Image,
    fps: f32,
    border: bool,
    whole: &mut Vec<crate::video::vpdq::Frame>,
    trimmed: &mut Vec<crate::video::vpdq::Frame>,
) {
    use crate::video::vpdq::hash_frame;
    whole.push(hash_frame(n, image, fps));
    if border {
        if let Some(rect) = border::find_content(image, &BorderOptions::default()) {
            trimmed.push(hash_frame(n, &border::crop(image, rect), fps));
        }
    }
}

/// Reads `reader` to the end (at most `max_bytes`) and hashes the bytes.
pub fn hash_reader<R: Read>(reader: R, max_bytes: u64, options: &HashOptions) -> std::io::Result<Hashes> {
    let bytes = read_at_most(reader, max_bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("input larger than the limit of {max_bytes} bytes"),
        ));
    }
    Ok(hash_bytes(&bytes, options))
}

/// Reads `reader` to its end but never more than `max_bytes + 1` bytes, so the caller can
/// tell an input over the limit (longer than `max_bytes`) without reading all of it.
pub fn read_at_most<R: Read>(reader: R, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(max_bytes.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The perceptual hashes of decoded pixels. `format` is reported as [`ImageFormat::Png`] and
/// `orientation` as `None` ([`hash_bytes`] fills in what the decoder found).
pub fn hash_image(image: &Image, options: &HashOptions) -> ImageHashes {
    let mut out = hash_pixels(image, options);
    if options.border {
        if let Some(rect) = border::find_content(image, &BorderOptions::default()) {
            let inner = border::crop(image, rect);
            let hashes = hash_pixels(&inner, options);
            out.trimmed = Some(Box::new(Trimmed { rect, hashes }));
        }
    }
    // The guesses in the stored orientation only: a cropped or slightly turned copy that
    // was also turned by 90 degrees or mirrored is rare, and each dihedral variant would
    // be one more wide pHash query per guess.
    let plain = HashOptions { dihedral: false, ..*options };
    if options.extend {
        let guesses = extend::extended(image).into_iter().map(|(fill, img)| (Guess::Extend(fill), img));
        out.extended
            .extend(guesses.map(|(guess, img)| Extended { guess, hashes: hash_pixels(&img, &plain) }));
    }
    if options.rotate {
        let guesses =
            rotate::rotated(image).into_iter().map(|(degrees, img)| (Guess::Rotate { degrees }, img));
        out.extended
            .extend(guesses.map(|(guess, img)| Extended { guess, hashes: hash_pixels(&img, &plain) }));
    }
    out
}

fn hash_pixels(image: &Image, options: &HashOptions) -> ImageHashes {
    let k = options.kinds;
    let mut out = ImageHashes {
        format: ImageFormat::Png,
        width: image.width,
        height: image.height,
        orientation: None,
        phash: None,
        phash_dihedral: None,
        pdq: None,
        pdq_dihedral: None,
        trimmed: None,
        extended: Vec::new(),
        frames: Vec::new(),
        frame_rate: None,
        vpdq: Vec::new(),
        vpdq_trimmed: Vec::new(),
    };
    if k.contains(Kind::Phash) {
        if options.dihedral {
            let d = phash::hash_dihedral(image);
            out.phash = Some(d[0]);
            out.phash_dihedral = Some(d);
        } else {
            out.phash = Some(phash::hash(image));
        }
    }
    if k.contains(Kind::Pdq) {
        if options.dihedral {
            let (d, quality) = pdq::hash_dihedral(image);
            out.pdq = Some(PdqHash { hash: d[0], quality });
            out.pdq_dihedral = Some(d);
        } else {
            out.pdq = Some(pdq::hash(image));
        }
    }
    out
}
