#!/usr/bin/env python3
"""Plots the null-model tails of src/significance/null-v1.tsv against the binomial.

Usage: python3 docs/null_model_plot.py [TABLE] [PNG]
(defaults: src/significance/null-v1.tsv and docs/null-model.png; needs matplotlib).

Reads the table's `tail` lines (the shipped, conservative values) and its `# measured ...`
and `# cross-photo pairs` comment lines (the raw counts), so the plot is made from the
table alone.
"""
import math
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    tails = {"phash": {}, "pdq": {}}
    counts = {}
    pairs = {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("# cross-photo pairs:"):
            for kind, n in re.findall(r"(phash|pdq) (\d+)", line):
                pairs[kind] = int(n)
        m = re.match(r"# measured (phash|pdq) pairs at distance <= d: (.*)", line)
        if m:
            counts[m.group(1)] = {int(d): int(n) for d, n in (c.split(":") for c in m.group(2).split())}
        f = line.split("\t")
        if f[0] == "tail":
            tails[f[1]][int(f[2])] = float(f[3])
    return tails, counts, pairs


def binomial_tail(n, d):
    return sum(math.comb(n, k) for k in range(d + 1)) / 2**n


def main():
    table = sys.argv[1] if len(sys.argv) > 1 else "src/significance/null-v1.tsv"
    png = sys.argv[2] if len(sys.argv) > 2 else "docs/null-model.png"
    tails, counts, pairs = read(table)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, kind, bits, xmax in [(axes[0], "phash", 64, 40), (axes[1], "pdq", 256, 136)]:
        ds = list(range(0, xmax + 1, 2))
        ax.semilogy(ds, [tails[kind][d] for d in ds], "-", color="C3", lw=2, label="shipped table (conservative)")
        emp = [(d, counts[kind][d] / pairs[kind]) for d in ds if counts[kind].get(d, 0) > 0]
        ax.semilogy([d for d, _ in emp], [p for _, p in emp], "o", ms=3, color="C0",
                    label=f"measured, {pairs[kind]:.2e} cross-photo pairs")
        ax.semilogy(ds, [binomial_tail(bits, d) for d in ds], "--", color="0.4",
                    label=f"uniform random hashes, Binomial({bits}, 1/2)")
        ax.axhline(1 / pairs[kind], color="0.7", lw=0.8)
        ax.set_title(f"{kind}: P(distance <= d) between unrelated images")
        ax.set_xlabel("Hamming distance d")
        ax.set_ylabel("tail probability")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    main()
