#!/usr/bin/env python3
"""Times the Python reference hashers on the same files the Rust hashing bench uses.

    python3 -m venv .venv && .venv/bin/pip install pillow==13.0.0 imagehash==4.3.2 pdqhash==0.2.8 numpy
    .venv/bin/python benches/python_hash_baseline.py [DIR ...]

Defaults to fixtures/photos and, when present, ../shared/corpus (every 8th file, as
benches/hashing.rs; MEDIAMATCH_BENCH_FULL=1 takes all). Prints images/second for:
decode only (Pillow, to RGB), imagehash.phash (decode included), pdqhash (decode + RGB
conversion included), on one core. Compare with `cargo bench --bench hashing` (same files).
"""
import glob
import os
import sys
import time

import imagehash
import numpy as np
import pdqhash
from PIL import Image


def files_in(dirs):
    out = []
    for d in dirs:
        out += sorted(p for p in glob.glob(os.path.join(d, "*")) if p.lower().endswith((".jpg", ".jpeg", ".png")))
    return out


def rate(name, files, fn, min_seconds=5.0):
    n = 0
    t0 = time.perf_counter()
    while True:
        for f in files:
            fn(f)
            n += 1
        dt = time.perf_counter() - t0
        if dt >= min_seconds:
            break
    print(f"{name:<28} {n / dt:8.2f} images/s  ({n} images in {dt:.1f} s)")


def main():
    dirs = sys.argv[1:] or [d for d in ["fixtures/photos", "../shared/corpus"] if os.path.isdir(d)]
    for d in dirs:
        files = files_in([d])
        if "corpus" in d and not os.environ.get("MEDIAMATCH_BENCH_FULL"):
            files = files[::8]  # the same every-8th sample as benches/hashing.rs
        if not files:
            sys.exit(f"{d}: no images")
        print(f"== {d}: {len(files)} files")
        rate("pillow decode to RGB", files, lambda f: Image.open(f).convert("RGB").load())
        rate("imagehash.phash", files, lambda f: imagehash.phash(Image.open(f)))
        rate("pdqhash.compute", files, lambda f: pdqhash.compute(np.asarray(Image.open(f).convert("RGB"))))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
