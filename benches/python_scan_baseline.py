#!/usr/bin/env python3
"""The job of `mediamatch scan` done in Python, to compare with `cargo bench --bench scan`.

    python3 -m venv .venv
    .venv/bin/pip install pillow==13.0.0 imagehash==4.3.2 pdqhash==0.2.8 numpy
    .venv/bin/python benches/python_scan_baseline.py [CORPUS_DIR]

CORPUS_DIR defaults to ../shared/corpus. The known hashes are those of every other photo of
the corpus manifest (sorted by file name, indexes 0, 2, 4, ...): PDQ and pHash from the
manifest, MD5 of the file bytes; benches/scan.rs builds its index from the same half.

Per file, on one process and one core (OMP_NUM_THREADS=1): one read; MD5 of the bytes, looked up
in a set; Pillow open and RGB conversion; `pdqhash.compute_dihedral` (the 8 dihedral variants,
as `mediamatch scan` queries by default) matched when the quality is at least 50;
`imagehash.phash` of the 8 dihedral variants (Pillow `transpose`); each hash matched by brute
force against all known hashes (numpy XOR and `bitwise_count`), PDQ <= 31 and pHash <= 8 as the
scan's defaults. Prints files/s (best of --runs passes over all files; wall clock, with the
process CPU time beside it, since a shared machine inflates wall time) and the match count.
`--phash-orig` hashes only the stored orientation for pHash (a cheaper, weaker job).
"""
import argparse
import csv
import hashlib
import io
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import imagehash  # noqa: E402
import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
from PIL import Image  # noqa: E402

PDQ_MAX = 31
PHASH_MAX = 8
MIN_QUALITY = 50
TRANSPOSES = [
    None,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_270,
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
]


def load_known(corpus):
    with open(os.path.join(corpus, "manifest.tsv"), newline="") as f:
        rows = sorted(csv.DictReader(f, delimiter="\t"), key=lambda r: r["file"])
    if not rows:
        sys.exit("manifest.tsv has no rows")
    known = rows[::2]
    pdq = np.array([np.frombuffer(bytes.fromhex(r["pdq"]), dtype=np.uint8) for r in known])
    phash = np.array([int(r["phash"], 16) for r in known], dtype=np.uint64)
    md5 = set()
    for r in known:
        with open(os.path.join(corpus, r["file"]), "rb") as f:
            md5.add(hashlib.md5(f.read()).hexdigest())
    files = [os.path.join(corpus, r["file"]) for r in rows]
    return files, pdq, phash, md5


def check(path, pdq_known, phash_known, md5_known, phash_dihedral):
    """Returns the number of matches (kinds) of one file."""
    with open(path, "rb") as f:
        data = f.read()
    matches = int(hashlib.md5(data).hexdigest() in md5_known)
    try:
        img = Image.open(io.BytesIO(data))
        rgb = img.convert("RGB")
    except Exception:  # not an image, corrupt: counted, never fatal
        return matches
    vectors, quality = pdqhash.compute_dihedral(np.asarray(rgb))
    if quality >= MIN_QUALITY:
        queries = np.array([np.packbits(v.astype(np.uint8)) for v in vectors])  # (8, 32)
        dist = np.bitwise_count(queries[:, None, :] ^ pdq_known[None, :, :]).sum(axis=2)
        matches += int(dist.min() <= PDQ_MAX)
    variants = TRANSPOSES if phash_dihedral else TRANSPOSES[:1]
    hashes = []
    for t in variants:
        h = imagehash.phash(rgb if t is None else rgb.transpose(t))
        hashes.append(int(str(h), 16))
    q = np.array(hashes, dtype=np.uint64)
    dist = np.bitwise_count(q[:, None] ^ phash_known[None, :])
    matches += int(dist.min() <= PHASH_MAX)
    return matches


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default="../shared/corpus")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--phash-orig", action="store_true", help="pHash of the stored orientation only")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.corpus, "manifest.tsv")):
        sys.exit(f"SKIPPED: {args.corpus}/manifest.tsv not found")
    files, pdq, phash, md5 = load_known(args.corpus)
    best = None
    best_cpu = None
    for run in range(args.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        matched = 0
        for f in files:
            matched += check(f, pdq, phash, md5, not args.phash_orig) > 0
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        best = dt if best is None else min(best, dt)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
        print(f"run {run + 1}: {len(files)} files in {dt:.2f} s ({cpu:.2f} s CPU), {matched} matched files")
    job = "pHash orig only" if args.phash_orig else "pHash 8 variants"
    print(f"python scan ({job}, 1 process): {len(files) / best:.1f} files/s, {len(files) / best_cpu:.1f} files/CPU-s")
    print(f"known: {len(pdq)} photos (pdq+phash+md5); {len(files)} files scanned")


if __name__ == "__main__":
    main()
