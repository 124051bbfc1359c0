#!/usr/bin/env bash
# Memory of `build` and of segment merges (`compact`): wall time and peak RSS
# (`/usr/bin/time -v`) at a large N of random pHash entries.
#
#   bash benches/build_memory.sh [N] [PARTS]
#
# N entries (default 10000000) in PARTS list files (default 1). The first part is
# `build`-ed; the others are imported one by one (each a segment: merges above 8M entries
# are left to `compact`); a 10,000-line and a 100,000-line delta are imported last (issue
# 14's delta targets), so there are always two segments or more; then `compact` merges all
# N + 110,000 entries into one segment.
# BIN=path/to/mediamatch compares another build (e.g. an older commit's) on the same lists.
# Needs about 60 bytes of disk per entry for the index and 23 per entry for the lists
# (N = 1e8: about 9 GB), in TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
parts=${2:-1}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/mediamatch
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$n" "$parts" <<'PY'
import random, sys
work, n, parts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(14)
per = n // parts
for p in range(parts):
    count = per if p + 1 < parts else n - per * (parts - 1)
    with open(f"{work}/part{p}.txt", "w") as f:
        for s in range(0, count, 1 << 16):
            k = min(1 << 16, count - s)
            f.write("".join(f"phash:{rng.getrandbits(64):016x}\n" for _ in range(k)))
with open(f"{work}/delta10k.txt", "w") as f:
    f.write("".join(f"phash:{rng.getrandbits(64):016x}\n" for _ in range(10_000)))
with open(f"{work}/delta.txt", "w") as f:
    f.write("".join(f"phash:{rng.getrandbits(64):016x}\n" for _ in range(100_000)))
PY

# Wall time and peak RSS of a command, and the peak of its anonymous memory (RssAnon,
# sampled every 0.1 s): RSS also counts the pages of mapped index files, which are page
# cache the kernel can drop, not memory the command allocated.
measure() {
  local what=$1; shift
  /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" &
  local timer=$! child="" anon=0 a
  while kill -0 "$timer" 2>/dev/null; do
    [ -n "$child" ] || child=$(pgrep -P "$timer" | head -1 || true)
    if [ -n "$child" ]; then
      a=$(awk '/RssAnon/ {print $2}' "/proc/$child/status" 2>/dev/null || true)
      if [ -n "$a" ] && [ "$a" -gt "$anon" ]; then anon=$a; fi
    fi
    sleep 0.1
  done
  wait "$timer" || { cat "$work/time.txt"; exit 1; }
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$work/time.txt" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$work/time.txt" | awk '{print $NF}')
  printf '%-48s %10s %8.0f MB %8.0f MB\n' "$what" "$wall" "$((rss / 1024))" "$((anon / 1024))"
}

echo "N = $n pHash entries in $parts part(s); $BIN"
printf '%-48s %10s %11s %11s\n' "step" "wall" "peak RSS" "anonymous"
measure "build part 0 ($(wc -l <"$work/part0.txt") entries)" "$BIN" build -o "$work/big.mmi" "$work/part0.txt"
for ((p = 1; p < parts; p++)); do
  measure "import part $p" "$BIN" import "$work/big.mmi" --list part0 "$work/part$p.txt"
done
measure "import 10k-line delta" "$BIN" import "$work/big.mmi" --list part0 "$work/delta10k.txt"
measure "import 100k-line delta" "$BIN" import "$work/big.mmi" --list part0 "$work/delta.txt"
"$BIN" info "$work/big.mmi" --no-verify 2>/dev/null | grep -E "^(entries|segments)"
measure "compact (merge every segment)" "$BIN" compact "$work/big.mmi"
"$BIN" info "$work/big.mmi" --no-verify 2>/dev/null | grep -E "^(size|entries|segments)"
