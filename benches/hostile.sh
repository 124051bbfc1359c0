#!/usr/bin/env bash
# Times the hostile corpus file by file: each file is scanned alone by the release binary under
# a 4 GB address-space cap, one thread, and its wall time and peak RSS are printed, worst first.
# Usage: bash benches/hostile.sh [DIR]   (DIR: where the corpus is written; a temp dir by default)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo build --release --quiet --example hostile_corpus
dir=${1:-$(mktemp -d)}
./target/release/examples/hostile_corpus "$dir/corpus" >&2
bin=./target/release/mediamatch
list=fixtures/demo/known.csv
printf '%-40s %8s %10s %5s  %s\n' file seconds max_rss_MB exit first_message
find "$dir/corpus" -type f -print0 | while IFS= read -r -d '' f; do
  /usr/bin/time -o "$dir/time" -f '%e %M %x' prlimit --as=4000000000 "$bin" scan "$f" --list "$list" \
      --threads 1 --quiet >/dev/null 2>"$dir/stderr" || true
  read -r secs rss code < <(tail -1 "$dir/time")
  msg=$(grep -a -v '^scanned' "$dir/stderr" | head -1 | cut -c1-70 || true)
  awk -v f="$(basename "$f" | cut -c1-40)" -v s="$secs" -v r="$rss" -v c="$code" -v m="$msg" \
      'BEGIN { printf "%-40s %8s %10.1f %5s  %s\n", f, s, r / 1024, c, m }'
done | sort -k2 -n -r
