#!/usr/bin/env bash
# A scan against a list-sized index beside the same scan against the known photos alone:
# the cost of 10M more entries (5M pHash + 5M PDQ, random) on a one-thread scan.
#
#   bash benches/scan_large.sh [N]      # N extra entries in all (default 10000000)
#
# The known photos are every other photo of ../shared/corpus (its manifest's pHash and PDQ);
# the scan covers the whole corpus (484 photos), `-j 1`, default thresholds; files/s from
# the JSON summary, best of 2. Prints both and their ratio (target: >= 0.7).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpus
[ -f "$corpus/manifest.tsv" ] || { echo "SKIPPED: $corpus missing"; exit 0; }
n=${1:-10000000}
cargo build --release --quiet
bin=target/release/mediamatch
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$corpus/manifest.tsv" "$work" "$n" <<'PY'
import csv, random, sys
manifest, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = sorted(csv.DictReader(open(manifest), delimiter="\t"), key=lambda r: r["file"])
with open(f"{work}/known.csv", "w") as f:
    f.write("kind,hash,id,label\n")
    for r in rows[::2]:
        f.write(f"pdq,{r['pdq']},{r['file']},known\n")
        f.write(f"phash,{r['phash']},{r['file']},known\n")
rng = random.Random(14)
with open(f"{work}/random.txt", "w") as f:
    for i in range(n // 2):
        f.write(f"phash:{rng.getrandbits(64):016x}\n")
        f.write(f"pdq:{rng.getrandbits(256):064x}\n")
PY

"$bin" build -o "$work/small.mmi" "$work/known.csv" 2>/dev/null
"$bin" build -o "$work/large.mmi" "$work/known.csv" "$work/random.txt" 2>/dev/null

rate() {
  local best=0
  for _ in 1 2; do
    local r
    r=$("$bin" scan "$corpus" --index "$1" --format json -j 1 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    rec = json.loads(line)
    if rec.get("type") == "summary":
        print(rec["files_per_s"])
' || true)
    best=$(python3 -c "print(max($best, ${r:-0}))")
  done
  echo "$best"
}
small=$(rate "$work/small.mmi")
large=$(rate "$work/large.mmi")
echo "scan of $corpus, one thread: known photos alone $small files/s; plus $n random entries $large files/s"
python3 -c "print(f'ratio: {$large / $small:.2f} (target >= 0.7)')"
