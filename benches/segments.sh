#!/usr/bin/env bash
# Delta imports into a large index: what a segmented index costs per import, beside the
# full rebuild every import used to be (a `build` of the same list in the same run).
#
#   bash benches/segments.sh [N]        # N entries in the base list (default 10000000)
#
# Prints wall time and peak RSS (`/usr/bin/time -v`) of: build of N pHash entries (the
# old cost of any import), a 1-line delta, two 10,000-line deltas (each also removing
# 1,000 entries by deleted records), `compact`, and a query against the result.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
cargo build --release --quiet
bin=target/release/mediamatch
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$n" <<'PY'
import random, sys
work, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(14)
with open(f"{work}/big.txt", "w") as f:
    for i in range(n):
        f.write(f"phash:{rng.getrandbits(64):016x}\n")
with open(f"{work}/one.txt", "w") as f:
    f.write(f"phash:{rng.getrandbits(64):016x}\n")
# Deleted records name values of the base list (the first 1,000 and the next 1,000).
rng2 = random.Random(14)
base = [rng2.getrandbits(64) for _ in range(2000)]
for k, name in enumerate(["delta1.csv", "delta2.csv"]):
    with open(f"{work}/{name}", "w") as f:
        f.write("kind,hash,id,label,deleted\n")
        for _ in range(9000):
            f.write(f"phash,{rng.getrandbits(64):016x},,,\n")
        for v in base[k * 1000:(k + 1) * 1000]:
            f.write(f"phash,{v:016x},,,true\n")
PY

measure() {
  local what=$1; shift
  /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || { cat "$work/time.txt"; exit 1; }
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$work/time.txt" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$work/time.txt" | awk '{print $NF}')
  printf '%-44s %10s %8.0f MB\n' "$what" "$wall" "$((rss / 1024))"
}

echo "N = $n pHash entries"
printf '%-44s %10s %11s\n' "step" "wall" "peak RSS"
measure "build N (a full rebuild: the old import)" "$bin" build -o "$work/big.mmi" "$work/big.txt"
measure "import 1-line delta" "$bin" import "$work/big.mmi" --list big "$work/one.txt"
measure "import 10k-line delta (1k deletions)" "$bin" import "$work/big.mmi" --list big "$work/delta1.csv"
measure "import 10k-line delta again (1k deletions)" "$bin" import "$work/big.mmi" --list big "$work/delta2.csv"
"$bin" info "$work/big.mmi" --no-verify 2>/dev/null | grep -E "^(size|entries|segments)"
measure "query (verify every segment, 1 hash)" "$bin" query --index "$work/big.mmi" "phash:$(sed -n 3001p "$work/big.txt" | cut -d: -f2)"
measure "compact" "$bin" compact "$work/big.mmi"
"$bin" info "$work/big.mmi" --no-verify 2>/dev/null | grep -E "^(size|entries|segments)"
du -sh "$work/big.mmi.segments" | awk '{print "segments on disk: " $1}'
