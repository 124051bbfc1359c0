#!/usr/bin/env bash
# `mediamatch fetch` end to end from a mock NCMEC API on loopback (benches/fetch_mock.py:
# generated `queryResult` pages, basic authentication, `<next>` links) into a new index,
# beside `mediamatch import` of the same pages saved as files (the import path without the
# network: the fetch's overhead is the ratio). Records per second and peak RSS for RECORDS
# (default 1,000,000) and for a quarter of it: memory should follow the page and batch
# size, not the list size.
#
#   bash benches/fetch.sh                    # ~2 minutes
#   RECORDS=200000 PAGE=1000 BATCH=5000 bash benches/fetch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-1000000}
PAGE=${PAGE:-5000}
BATCH=${BATCH:-50000}
PORT=${PORT:-18481}
cargo build --release --quiet
BIN=target/release/mediamatch
WORK=$(mktemp -d)
MOCK=
trap 'if [ -n "$MOCK" ]; then kill $MOCK 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
printf 'username = user\npassword = bench\n' > "$WORK/cred"
chmod 600 "$WORK/cred"

run() { # records
  local n=$1
  local port=$((PORT + n % 1000))
  python3 benches/fetch_mock.py "$port" "$n" "$PAGE" "$WORK/pages-$n" > "$WORK/mock.log" &
  MOCK=$!
  until grep -q ready "$WORK/mock.log" 2>/dev/null; do sleep 0.2; done
  cat > "$WORK/fetch.toml" <<TOML
[batch]
records = $BATCH
[lists.ncmec]
source = "ncmec"
base_url = "http://127.0.0.1:$port"
start = 1704067200
credentials_file = "$WORK/cred"
TOML
  rm -rf "$WORK/f.idx"* "$WORK/i.idx"*
  /usr/bin/time -f '%e %M' -o "$WORK/t.fetch" "$BIN" fetch "$WORK/f.idx" --config "$WORK/fetch.toml" > "$WORK/fetch.out"
  kill $MOCK; wait $MOCK 2>/dev/null || true
  # The same pages as files, one import per batch of pages as the fetch commits them.
  local per=$(( (BATCH + PAGE - 1) / PAGE ))
  ls "$WORK/pages-$n"/*.xml | xargs -n "$per" > "$WORK/batches"
  local start=$(date +%s.%N) peak=0
  while read -r files; do
    /usr/bin/time -f '%M' -o "$WORK/t.one" "$BIN" import "$WORK/i.idx" --list ncmec $files > /dev/null
    local m; m=$(cat "$WORK/t.one"); [ "$m" -gt "$peak" ] && peak=$m
  done < "$WORK/batches"
  local secs; secs=$(echo "$(date +%s.%N) - $start" | bc)
  read -r fsecs fkb < "$WORK/t.fetch"
  local entries; entries=$("$BIN" info "$WORK/f.idx" --json --no-verify | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"])')
  echo "records $n (pages of $PAGE, batches of $BATCH): $(cat "$WORK/fetch.out")"
  python3 - "$n" "$fsecs" "$fkb" "$secs" "$peak" "$entries" <<'PY'
import sys
n, fs, fkb, isecs, ikb, entries = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
print(f"  fetch:  {fs:6.2f} s  {n / fs:9,.0f} records/s  peak RSS {fkb / 1024:6.0f} MB  ({entries:,} entries in the index)")
print(f"  import: {isecs:6.2f} s  {n / isecs:9,.0f} records/s  peak RSS {ikb / 1024:6.0f} MB  (same pages as files, same batches)")
print(f"  fetch / import throughput: {isecs / fs:.2f}")
PY
  rm -rf "$WORK/pages-$n"
}
run $((RECORDS / 4))
run "$RECORDS"
