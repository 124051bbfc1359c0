#!/usr/bin/env bash
# What counting item pairs (the corroboration search space of the E-values, counted when an
# index is opened for matching: every `Matcher` load and reload) costs on a segmented index,
# beside the same entries compacted into one segment, in the same run.
#
#   bash benches/item_pairs.sh [N]      # N items in the base list (default 5000000), each
#                                       # one pHash and one PDQ entry under one id
#
# Two 10,000-item deltas follow, a tenth of whose ids are base items (their new kinds land in
# another segment: the cross-segment case), each also deleting 1,000 base entries. Prints the
# wall time of `mediamatch info --no-verify` (open, count item pairs, print) on 3 segments
# with tombstones, then after `compact`.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5000000}
cargo build --release --quiet
bin=${MEDIAMATCH_BIN:-target/release/mediamatch}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$n" <<'PY'
import random, sys
work, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(15)
first = []
with open(f"{work}/base.csv", "w") as f:
    f.write("kind,hash,id\n")
    for i in range(n):
        h = rng.getrandbits(64)
        if i < 2000:
            first.append(h)
        f.write(f"phash,{h:016x},item{i}\npdq,{rng.getrandbits(256):064x},item{i}\n")
for k in range(2):
    with open(f"{work}/delta{k}.csv", "w") as f:
        f.write("kind,hash,id,deleted\n")
        for j in range(10000):
            i = rng.randrange(2000, n) if j % 10 == 0 else n + k * 10000 + j
            f.write(f"phash,{rng.getrandbits(64):016x},item{i},\npdq,{rng.getrandbits(256):064x},item{i},\n")
        for i in range(k * 1000, (k + 1) * 1000):
            f.write(f"phash,{first[i]:016x},item{i},true\n")
PY

time_info() {
  local best=999999
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s%N)
    "$bin" info "$work/base.mmi" --no-verify >"$work/info.txt" 2>/dev/null
    t1=$(date +%s%N)
    best=$(( (t1 - t0) / 1000000 < best ? (t1 - t0) / 1000000 : best ))
  done
  echo "$best"
}

"$bin" build -o "$work/base.mmi" "$work/base.csv" 2>/dev/null
"$bin" import "$work/base.mmi" --list base "$work/delta0.csv" >/dev/null 2>&1
"$bin" import "$work/base.mmi" --list base "$work/delta1.csv" >/dev/null 2>&1
segmented=$(time_info)
grep -E "^(entries|segments|item pairs)" "$work/info.txt" || true
"$bin" compact "$work/base.mmi" >/dev/null 2>&1
single=$(time_info)
grep -E "^(entries|segments|item pairs)" "$work/info.txt" || true
echo "info (open + item pairs), best of 3: segmented ${segmented} ms, one segment ${single} ms"
awk -v a="$segmented" -v b="$single" 'BEGIN { printf "segmented / one segment: %.2f\n", a / b }'
