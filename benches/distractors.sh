#!/usr/bin/env bash
# The distractor benchmark (issue 13, item 4): recall and false matches of the corpus eval
# when the index also holds N unrelated entries (real-image-derived items plus random
# entries), at N = 0 (the known photos alone), 1e4, 1e5, 1e6 and 1e7.
#
#   benches/distractors.sh [CORPUS] [OUT_DIR]
#
# CORPUS defaults to ../shared/corpus, OUT_DIR to target/distractors. Writes
# OUT_DIR/distractors.json (the report) and OUT_DIR/distractors.md (the tables pasted into
# docs/thresholds.md). Builds the release binary first. Takes tens of minutes on 2 cores;
# the 1e7 run holds about 10M entries in memory (a few GB).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus}
out=${2:-target/distractors}
sizes=${SIZES:-0,1e4,1e5,1e6,1e7}
mkdir -p "$out"
cargo build --release --quiet
start=$(date +%s)
nice -n 5 target/release/mediamatch eval "$corpus" --distractors "$sizes" --format json > "$out/distractors.json"
echo "benchmark took $(( $(date +%s) - start )) s" >&2
python3 - "$out/distractors.json" > "$out/distractors.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
runs = r["distractors"]
pct = lambda x: "-" if x is None else f"{x * 100:.1f}%"
thr = lambda t: "none" if t is None else str(t)
def size(n):
    return "0 (known only)" if n == 0 else f"{n:.0e}".replace("e+0", "e")
print(f"{r['photos']} photos ({r['known']} known); {r['items_derived']} items derived from "
      f"{r['distractor_photos']} photos; caps pdq {r['settings']['pdq']} phash {r['settings']['phash']}, "
      f"corroboration {r['settings']['corroborate']}.\n")
print("| transform | " + " | ".join(f"recall at N={size(x['entries'])}" for x in runs) + " |")
print("|---|" + "---:|" * len(runs))
for i, t in enumerate(runs[0]["transforms"]):
    print(f"| {t['transform']} | " + " | ".join(pct(x["transforms"][i]["recall"]["recall"]) for x in runs) + " |")
print("| **all** | " + " | ".join(pct(x["overall"]["recall"]["recall"]) for x in runs) + " |\n")
print("| N | items | random | effective pdq / phash | checks | false | of which known copies | per million uploads | wrong-id | weak | projected per 10M uploads | build s | checks s |")
print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for x in runs:
    o, p = x["overall"], x["projected"]
    print(f"| {size(x['entries'])} | {x['items']} | {x['random']} | {thr(p['pdq'])} / {thr(p['phash'])} | "
          f"{o['unrelated']} | {o['false_matches']} | {o['false_known']} | {o['false_per_million']:.0f} | "
          f"{o['wrong_id']} | {o['weak']} | {p['per_upload'] * 1e7:.3f} | {x['build_s']:.1f} | {x['elapsed_s']:.1f} |")
p = r["projection"]
print(f"| 1e8 (projected) | | | {thr(p['pdq'])} / {thr(p['phash'])} | | | | | | | {p['per_upload'] * 1e7:.3f} | | |\n")
for t in r["targets"]:
    print(f"- [{'met' if t['met'] else 'NOT met'}] {t['name']}: {t['measured']}")
PY
echo "wrote $out/distractors.json and $out/distractors.md" >&2
