//! Border detection on generated frames around real photos, and over-trimming of
//! photos that have no frame.
//!
//! Each framed photo is re-encoded as JPEG at quality 75 before detection, as a
//! platform would store it, so the detector must cope with JPEG ringing at the frame's
//! inner edge. Run with `--nocapture` to see the error distributions.
#![cfg(feature = "eval")]

mod common;

use std::path::{Path, PathBuf};

use mediamatch::decode::{decode, Limits};
use mediamatch::eval::transform::{encode, Encoding, Transform};
use mediamatch::image::border::{crop, find_content, BorderOptions, Rect};
use mediamatch::{Image, Pixels};
use rayon::prelude::*;

fn fixture_photos() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("photos");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/photos")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "png")))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "fixtures/photos has {} photos", files.len());
    files
}

/// Every corpus photo named in the manifest, or `None` (loudly) without `../shared`.
fn corpus_photos() -> Option<Vec<PathBuf>> {
    let shared = common::shared_dir()?;
    let corpus = shared.join("corpus");
    let rows = common::read_tsv(&corpus.join("manifest.tsv"));
    let files: Vec<PathBuf> = rows.iter().map(|r| corpus.join(&r["file"])).collect();
    assert_eq!(files.len(), 484, "the corpus should hold 484 photos");
    Some(files)
}

fn load(path: &Path) -> Image {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display())).image
}

fn rgb_samples(img: &Image) -> Vec<u8> {
    match &img.pixels {
        Pixels::Rgb(s) => s.clone(),
        Pixels::Gray(s) => s.iter().flat_map(|&v| [v, v, v]).collect(),
    }
}

/// A frame drawn around a photo: the canvas colour, flat bars painted over it, and
/// where the photo goes.
struct Frame {
    name: &'static str,
    canvas: (u32, u32),
    colour: [u8; 3],
    bars: Vec<(Rect, [u8; 3])>,
    content: Rect,
}

fn fill(buf: &mut [u8], width: u32, r: Rect, colour: [u8; 3]) {
    for y in r.y..r.bottom() {
        for x in r.x..r.right() {
            let at = 3 * (y * width + x) as usize;
            buf[at..at + 3].copy_from_slice(&colour);
        }
    }
}

fn draw(photo: &Image, f: &Frame) -> Image {
    let (w, h) = f.canvas;
    let mut buf = vec![0u8; 3 * (w * h) as usize];
    fill(&mut buf, w, Rect { x: 0, y: 0, width: w, height: h }, f.colour);
    for &(r, c) in &f.bars {
        fill(&mut buf, w, r, c);
    }
    let src = rgb_samples(photo);
    let c = f.content;
    for y in 0..c.height {
        let s = 3 * (y * photo.width) as usize;
        let d = 3 * ((c.y + y) * w + c.x) as usize;
        buf[d..d + 3 * c.width as usize].copy_from_slice(&src[s..s + 3 * c.width as usize]);
    }
    Image::rgb(w, h, buf).expect("canvas size")
}

fn pct(side: u32, p: u32) -> u32 {
    (side * p + 50) / 100
}

/// The frames tried around each photo of size `w` x `h`.
fn frames(w: u32, h: u32) -> Vec<Frame> {
    let at = |x, y| Rect { x, y, width: w, height: h };
    let (lb, pb) = (pct(h, 12).max(4), pct(w, 15).max(4));
    let (t, b, l, r) = (pct(h, 6).max(3), pct(h, 9).max(3), pct(w, 5).max(3), pct(w, 11).max(3));
    let s = pct(w.min(h), 8).max(3);
    // Screenshot: dark status bar and blue title bar across the top, light side and
    // bottom frame, a one-pixel mid-grey outline around the photo.
    let (status, title, side, bottom) =
        (pct(h, 4).max(6), pct(h, 9).max(10), pct(w, 4).max(4), pct(h, 6).max(4));
    let (sw, sh) = (w + 2 * side + 2, h + status + title + bottom + 2);
    // A landscape photo shown in a portrait phone screenshot: about a third of the height.
    let tall = (w * 2).max(h * 3);
    vec![
        Frame {
            name: "letterbox-black",
            canvas: (w, h + 2 * lb),
            colour: [0, 0, 0],
            bars: vec![],
            content: at(0, lb),
        },
        Frame {
            name: "pillarbox-white",
            canvas: (w + 2 * pb, h),
            colour: [255, 255, 255],
            bars: vec![],
            content: at(pb, 0),
        },
        Frame {
            name: "unequal-grey",
            canvas: (w + l + r, h + t + b),
            colour: [128, 128, 128],
            bars: vec![],
            content: at(l, t),
        },
        Frame {
            name: "all-sides-crimson",
            canvas: (w + 2 * s, h + 2 * s),
            colour: [220, 20, 60],
            bars: vec![],
            content: at(s, s),
        },
        Frame {
            name: "screenshot",
            canvas: (sw, sh),
            colour: [245, 245, 245],
            bars: vec![
                (Rect { x: 0, y: 0, width: sw, height: status }, [20, 20, 20]),
                (Rect { x: 0, y: status, width: sw, height: title }, [59, 89, 152]),
                (Rect { x: side, y: status + title, width: w + 2, height: h + 2 }, [150, 150, 150]),
            ],
            content: at(side + 1, status + title + 1),
        },
        Frame {
            name: "phone-portrait-black",
            canvas: (w, tall),
            colour: [0, 0, 0],
            bars: vec![],
            content: at(0, (tall - h) / 2),
        },
    ]
}

/// Found minus true position of the left, top, right and bottom edges.
fn edge_deltas(found: Option<Rect>, truth: Rect) -> Option<[i64; 4]> {
    let f = found?;
    let d = |a: u32, b: u32| i64::from(a) - i64::from(b);
    Some([d(f.x, truth.x), d(f.y, truth.y), d(f.right(), truth.right()), d(f.bottom(), truth.bottom())])
}

/// Largest distance between the found and the true rectangle's edges; `None` if none was found.
fn edge_error(found: Option<Rect>, truth: Rect) -> Option<u32> {
    let f = found?;
    let d = |a: u32, b: u32| a.abs_diff(b);
    Some(
        d(f.x, truth.x)
            .max(d(f.y, truth.y))
            .max(d(f.right(), truth.right()))
            .max(d(f.bottom(), truth.bottom())),
    )
}

fn reencode_q75(img: &Image) -> Image {
    let bytes = encode(img, Encoding::Jpeg { quality: 75, orientation: None }).expect("encode");
    decode(&bytes, &Limits::default()).expect("decode our own JPEG").image
}

/// Frames every photo in `photos` every way, and returns (frame, photo, error) per case.
type Case = (&'static str, String, Option<u32>, Option<[i64; 4]>);

fn measure(photos: &[PathBuf]) -> Vec<Case> {
    let opts = BorderOptions::default();
    photos
        .par_iter()
        .flat_map_iter(|p| {
            let photo = load(p);
            // A photo with a flat frame of its own has no single true rectangle: the
            // detector rightly removes both frames. Such photos are counted by the
            // over-trimming test instead.
            if find_content(&photo, &opts).is_some() {
                return Vec::new();
            }
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            frames(photo.width, photo.height)
                .into_iter()
                .map(|f| {
                    let framed = reencode_q75(&draw(&photo, &f));
                    let found = find_content(&framed, &opts);
                    (f.name, name.clone(), edge_error(found, f.content), edge_deltas(found, f.content))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Prints the error distribution per frame and returns the shares of cases within
/// 2 px and within 8 px.
fn report(what: &str, results: &[Case]) -> (f64, f64) {
    let mut names: Vec<&str> = results.iter().map(|r| r.0).collect();
    names.sort_unstable();
    names.dedup();
    eprintln!("{what}: edge error of the found content rectangle (px), JPEG q75");
    eprintln!("  {:<22} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6}", "frame", "0", "1", "2", "3-8", ">8", "none");
    for n in names {
        let errs: Vec<Option<u32>> = results.iter().filter(|r| r.0 == n).map(|r| r.2).collect();
        let count = |f: &dyn Fn(Option<u32>) -> bool| errs.iter().filter(|e| f(**e)).count();
        eprintln!(
            "  {:<22} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6}",
            n,
            count(&|e| e == Some(0)),
            count(&|e| e == Some(1)),
            count(&|e| e == Some(2)),
            count(&|e| matches!(e, Some(3..=8))),
            count(&|e| matches!(e, Some(9..))),
            count(&|e| e.is_none()),
        );
    }
    for (frame, photo, _, deltas) in results.iter().filter(|r| !matches!(r.2, Some(0..=2))) {
        eprintln!("  off by more than 2 px: {frame} around {photo}: found - true (left, top, right, bottom) {deltas:?}");
    }
    let share = |max: u32| {
        results.iter().filter(|r| r.2.is_some_and(|e| e <= max)).count() as f64 / results.len() as f64
    };
    let (two, eight) = (share(2), share(8));
    eprintln!(
        "  {} cases: {:.2}% within 2 px, {:.2}% within 8 px",
        results.len(),
        100.0 * two,
        100.0 * eight
    );
    (two, eight)
}

// The bounds below are the measured figures (rounded down), kept as regression
// guards. What stays outside 2 px: JPEG ringing at a frame's inner edge that moves a
// line's colour by more than `tolerance` (under-trim by 3-6 px, mostly at a
// screenshot's title bar and around the saturated frame), and photos whose own edge
// continues the frame's colour (a black sky under a black letterbox: over-trim).

#[test]
fn frames_around_fixture_photos_are_found_within_2px() {
    let results = measure(&fixture_photos());
    assert_eq!(results.len(), 36, "6 fixture photos x 6 frames, none with a frame of its own");
    let (two, eight) = report("fixtures/photos", &results);
    assert!(two >= 0.85, "only {:.2}% within 2 px", 100.0 * two);
    assert_eq!(eight, 1.0, "every frame around the fixture photos is found within 8 px");
}

#[test]
fn frames_around_corpus_photos_are_found_within_2px() {
    let Some(photos) = corpus_photos() else { return };
    // Every third photo keeps the run short (6 frames x JPEG encode and decode each).
    let photos: Vec<PathBuf> = photos.into_iter().step_by(3).collect();
    let results = measure(&photos);
    assert!(results.len() >= 900, "{} cases", results.len());
    let (two, eight) = report("../shared/corpus", &results);
    assert!(two >= 0.94, "only {:.2}% of framed corpus photos found within 2 px", 100.0 * two);
    assert!(eight >= 0.99, "only {:.2}% of framed corpus photos found within 8 px", 100.0 * eight);
}

/// Photos without a frame must keep their content: at most 2% of the corpus is trimmed
/// at all, and no photo loses more than 10% of its area.
#[test]
fn corpus_photos_without_a_frame_are_not_over_trimmed() {
    let Some(photos) = corpus_photos() else { return };
    let opts = BorderOptions::default();
    let trimmed: Vec<(String, Image, Rect)> = photos
        .par_iter()
        .filter_map(|p| {
            let img = load(p);
            let r = find_content(&img, &opts)?;
            Some((p.file_name()?.to_string_lossy().into_owned(), img, r))
        })
        .collect();
    // Looked at by eye: this scan has black pillarbox bars of its own (66 and 84 px),
    // and removing them is right.
    const REALLY_FRAMED: [&str; 1] = ["bsds_0417.jpg"];
    let mut worst = 0.0f64;
    for (name, img, r) in &trimmed {
        let lost = 1.0 - r.area() as f64 / (u64::from(img.width) * u64::from(img.height)) as f64;
        if !REALLY_FRAMED.contains(&name.as_str()) {
            worst = worst.max(lost);
        }
        eprintln!(
            "  trimmed {name} ({}x{}): content {}x{} at ({}, {}), {:.2}% of the area removed",
            img.width,
            img.height,
            r.width,
            r.height,
            r.x,
            r.y,
            100.0 * lost
        );
    }
    let share = trimmed.len() as f64 / photos.len() as f64;
    eprintln!(
        "over-trimming: {} of {} corpus photos trimmed ({:.2}%), largest area removed from a photo without a real frame {:.2}%",
        trimmed.len(),
        photos.len(),
        100.0 * share,
        100.0 * worst
    );
    assert!(share <= 0.02, "{:.2}% of unframed corpus photos were trimmed", 100.0 * share);
    assert!(worst <= 0.10, "a photo lost {:.2}% of its area", 100.0 * worst);
}

/// The eval transforms that add a frame are undone by the detector (the geometry is
/// the one documented in `eval::transform`).
#[test]
fn eval_pad_and_screenshot_frames_are_found() {
    let opts = BorderOptions::default();
    for p in fixture_photos() {
        let photo = load(&p);
        let (w, h) = (photo.width, photo.height);
        let pad = Rect { x: pct(w, 10), y: pct(h, 10), width: w, height: h };
        let (side, status, title) = (pct(w, 3).max(4), pct(h, 4).max(6), pct(h, 8).max(10));
        let shot = Rect { x: side + 1, y: status + title + 1, width: w, height: h };
        for (t, truth) in [(Transform::Pad10, pad), (Transform::Screenshot, shot)] {
            let bytes = t.apply(&photo).expect("transform");
            let img = decode(&bytes, &Limits::default()).expect("decode").image;
            let err = edge_error(find_content(&img, &opts), truth);
            assert!(matches!(err, Some(0..=2)), "{t} around {}: error {err:?}", p.display());
        }
    }
}

#[test]
fn crop_returns_the_rectangle_pixels() {
    let photo = load(&fixture_photos()[0]);
    let r = Rect { x: 3, y: 5, width: 17, height: 11 };
    let c = crop(&photo, r);
    assert_eq!((c.width, c.height), (17, 11));
    let (src, out) = (rgb_samples(&photo), rgb_samples(&c));
    for y in 0..r.height {
        for x in 0..r.width {
            let s = 3 * ((r.y + y) * photo.width + r.x + x) as usize;
            let d = 3 * (y * r.width + x) as usize;
            assert_eq!(src[s..s + 3], out[d..d + 3], "pixel ({x}, {y})");
        }
    }
}

/// Runs `f`, or returns `None` (loudly) if it hits a `todo!()` of a hasher that another
/// branch is still writing. Any other panic fails the test.
fn unless_todo<T>(what: &str, f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Option<T> {
    match std::panic::catch_unwind(f) {
        Ok(v) => Some(v),
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            if msg.contains("not yet implemented") {
                eprintln!("SKIPPED: {what} is not implemented in this branch ({msg})");
                None
            } else {
                std::panic::resume_unwind(e)
            }
        }
    }
}

/// The reason for the detector: the trimmed content of a letterboxed copy hashes much
/// closer to the original than the letterboxed copy itself.
#[test]
fn trimmed_letterbox_hashes_closer_to_the_original() {
    use mediamatch::hash::{pdq, phash};
    let opts = BorderOptions::default();
    for p in fixture_photos() {
        let photo = load(&p);
        let f = frames(photo.width, photo.height).into_iter().next().expect("letterbox frame");
        let framed = reencode_q75(&draw(&photo, &f));
        let content = find_content(&framed, &opts).expect("letterbox found");
        let trimmed = crop(&framed, content);
        let (o, fr, tr) = (photo.clone(), framed.clone(), trimmed.clone());
        let Some((po, pf, pt)) =
            unless_todo("pdq::hash", move || (pdq::hash(&o), pdq::hash(&fr), pdq::hash(&tr)))
        else {
            return;
        };
        let (o, fr, tr) = (photo.clone(), framed.clone(), trimmed.clone());
        let Some((ho, hf, ht)) =
            unless_todo("phash::hash", move || (phash::hash(&o), phash::hash(&fr), phash::hash(&tr)))
        else {
            return;
        };
        let (d_pdq_framed, d_pdq_trim) = (po.hash.distance(&pf.hash), po.hash.distance(&pt.hash));
        let (d_ph_framed, d_ph_trim) = (ho.distance(&hf), ho.distance(&ht));
        eprintln!("{}: PDQ {d_pdq_framed} -> {d_pdq_trim}, pHash {d_ph_framed} -> {d_ph_trim}", p.display());
        assert!(d_pdq_trim < d_pdq_framed, "{}: PDQ {d_pdq_trim} vs {d_pdq_framed}", p.display());
        assert!(d_ph_trim < d_ph_framed, "{}: pHash {d_ph_trim} vs {d_ph_framed}", p.display());
    }
}
