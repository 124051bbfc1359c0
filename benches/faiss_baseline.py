#!/usr/bin/env python3
"""FAISS baselines for `cargo bench --bench index`: exact range search over random binary
hashes with IndexBinaryFlat and IndexBinaryMultiHash, single-threaded, queries per second.

    pip install faiss-cpu numpy
    python3 benches/faiss_baseline.py            # N = 1e5, 1e6
    MM_BENCH_N=10000000 python3 benches/faiss_baseline.py

The data follow the benchmark's `random` set: uniform hashes; half the queries are an
entry with up to 4 (pHash) or 16 (PDQ) bits flipped, half uniform. FAISS's binary
range_search returns distances strictly below the radius, so it is given radius + 1;
IndexBinaryMultiHash gets nflip = floor(radius / nhash), which makes it exact.
"""
import os
import time

import faiss
import numpy as np

faiss.omp_set_num_threads(1)
SECONDS = float(os.environ.get("MM_BENCH_SECONDS", "0.4"))


def data(bits, n, noise, rng):
    nbytes = bits // 8
    values = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    queries = rng.integers(0, 256, size=(2000, nbytes), dtype=np.uint8)
    near = values[rng.integers(0, n, size=1000)].copy()
    for row in near:
        for _ in range(rng.integers(0, noise + 1)):
            b = rng.integers(0, bits)
            row[b // 8] ^= np.uint8(1 << (b % 8))
    queries[0::2] = near
    return values, queries


def qps(index, queries, radius, batch):
    start = time.perf_counter()
    done = 0
    while time.perf_counter() - start < SECONDS or done == 0:
        for i in range(0, len(queries), batch):
            index.range_search(queries[i : i + batch], radius + 1)
            done += min(batch, len(queries) - i)
            if time.perf_counter() - start >= SECONDS:
                break
    return done / (time.perf_counter() - start)


def main():
    sizes = [int(s) for s in os.environ.get("MM_BENCH_N", "100000,1000000").split(",")]
    rng = np.random.default_rng(7)
    for n in sizes:
        for kind, bits, radii, noise, nhash in (("phash", 64, (4, 8, 10, 12), 4, 3), ("pdq", 256, (31, 63), 16, 16)):
            values, queries = data(bits, n, noise, rng)
            flat = faiss.IndexBinaryFlat(bits)
            flat.add(values)
            t = time.perf_counter()
            mh = faiss.IndexBinaryMultiHash(bits, nhash, bits // nhash)
            mh.add(values)
            build = time.perf_counter() - t
            print(f"{kind}/random/{n}: IndexBinaryMultiHash({nhash} x {bits // nhash} bits) build {n / build / 1e6:.2f} M entries/s")
            for r in radii:
                f1 = qps(flat, queries, r, 1)
                fb = qps(flat, queries, r, 256)
                # nflip bits flipped per substring probe: floor(r / nhash) makes it exact.
                mh.nflip = r // nhash
                m1 = qps(mh, queries, r, 1)
                print(f"{kind}/random/{n:<10} r={r:<3} IndexBinaryFlat {f1:10.0f} q/s (batch 256: {fb:10.0f})  IndexBinaryMultiHash {m1:10.0f} q/s")


if __name__ == "__main__":
    main()
