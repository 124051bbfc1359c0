#!/usr/bin/env python3
"""Times the Python references stage by stage on the same files as `cargo bench --bench stages`.

    python3 -m venv .venv && .venv/bin/pip install pillow==13.0.0 imagehash==4.3.2 pdqhash==0.2.8 numpy scipy
    taskset -c 0 .venv/bin/python benches/python_stages_baseline.py [DIR ...]

Defaults to fixtures/photos and, when present, ../shared/corpus (every 8th file, as
benches/stages.rs; MEDIAMATCH_BENCH_FULL=1 takes all). Each stage runs alone, on one
thread, on inputs the stage before it prepared, over every image of a set, repeated for
at least MEDIAMATCH_BENCH_SECONDS (default 2) and 5 times; the table gives the median
repetition in ms per megapixel (digests: ms per MB of file), as benches/stages.rs prints:

* decode: Pillow `Image.open(BytesIO(bytes)).convert("RGB")`, loaded;
* phash stages, as imagehash.phash runs them: `convert("L")`, `resize((32, 32), LANCZOS)`,
  then `numpy.asarray`, scipy.fftpack's 2-D DCT, `numpy.median` of the 8x8 low
  frequencies and the `ImageHash` of the comparison;
* pdq: `pdqhash.compute` on the RGB numpy array, whole (pdqhash exposes no stages);
* hashlib's MD5, SHA-1 and SHA-256 of the file bytes.
"""
import os

# Before numpy loads: one thread for its BLAS (scipy.fftpack and pdqhash are single-threaded).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import glob  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import imagehash  # noqa: E402
import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
import scipy.fftpack  # noqa: E402
from PIL import Image  # noqa: E402


def files_in(d):
    return sorted(p for p in glob.glob(os.path.join(d, "*")) if p.lower().endswith((".jpg", ".jpeg", ".png")))


def median_pass(fn, items, min_seconds, min_reps):
    """The median wall time of one pass of fn over items (after one warm-up pass)."""
    for x in items:
        fn(x)
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        for x in items:
            fn(x)
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def decode(b):
    image = Image.open(io.BytesIO(b)).convert("RGB")
    image.load()
    return image


def dct_bits(thumb):
    """imagehash.phash after its resize (hash_size 8, highfreq_factor 4)."""
    pixels = np.asarray(thumb)
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)
    low = dct[:8, :8]
    return imagehash.ImageHash(low > np.median(low))


def all_kinds(b):
    """What `hash_bytes` computes by default: one decode, both hashes, three digests."""
    rgb = decode(b)
    imagehash.phash(rgb)
    pdqhash.compute(np.asarray(rgb))
    hashlib.md5(b).digest()
    hashlib.sha1(b).digest()
    hashlib.sha256(b).digest()


def bench_set(name, paths, min_seconds, min_reps):
    blobs = []
    for p in paths:
        with open(p, "rb") as f:
            blobs.append(f.read())
    rgbs = [decode(b) for b in blobs]
    greys = [im.convert("L") for im in rgbs]
    thumbs = [g.resize((32, 32), Image.LANCZOS) for g in greys]
    arrays = [np.asarray(im) for im in rgbs]
    # The stages compose to imagehash's hash.
    for p, im, t in zip(paths, rgbs, thumbs):
        assert dct_bits(t) == imagehash.phash(im), p

    megapixels = sum(im.width * im.height for im in rgbs) / 1e6
    megabytes = sum(len(b) for b in blobs) / 1e6
    stages = [
        ("decode (to RGB)", decode, blobs, False),
        ("phash: luma (RGB to L)", lambda im: im.convert("L"), rgbs, False),
        ("phash: Lanczos resize to 32x32", lambda g: g.resize((32, 32), Image.LANCZOS), greys, False),
        ("phash: DCT + median bits", dct_bits, thumbs, False),
        ("phash (whole, from RGB)", imagehash.phash, rgbs, False),
        ("pdq (whole, from RGB array)", pdqhash.compute, arrays, False),
        ("all kinds (from file)", all_kinds, blobs, False),
        ("md5", lambda b: hashlib.md5(b).digest(), blobs, True),
        ("sha1", lambda b: hashlib.sha1(b).digest(), blobs, True),
        ("sha256", lambda b: hashlib.sha256(b).digest(), blobs, True),
    ]
    print()
    print(f"== python stages, {name}: {len(paths)} files, {megapixels:.1f} MP, {megabytes:.1f} MB; one thread; "
          f"Pillow {Image.__version__}, imagehash {imagehash.__version__}, numpy {np.__version__}")
    print(f"{'stage':<36} {'time':>10} {'per':<6} {'ms/image':>10}")
    for stage, fn, items, per_mb in stages:
        ms = median_pass(fn, items, min_seconds, min_reps) * 1e3
        per, unit = (megabytes, "ms/MB") if per_mb else (megapixels, "ms/MP")
        print(f"{stage:<36} {ms / per:>10.3f} {unit:<6} {ms / len(items):>10.4f}", flush=True)


def main():
    min_seconds = float(os.environ.get("MEDIAMATCH_BENCH_SECONDS", "2"))
    dirs = sys.argv[1:] or [d for d in ["fixtures/photos", "../shared/corpus"] if os.path.isdir(d)]
    for d in dirs:
        paths = files_in(d)
        if "corpus" in d and not os.environ.get("MEDIAMATCH_BENCH_FULL"):
            paths = paths[::8]  # the same every-8th sample as benches/stages.rs
        if not paths:
            sys.exit(f"{d}: no images")
        bench_set(d, paths, min_seconds, 5)


if __name__ == "__main__":
    main()
