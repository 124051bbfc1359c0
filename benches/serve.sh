#!/usr/bin/env bash
# `mediamatch serve` under load on loopback, beside HMA's recorded figures
# (../shared/reference/hma/README.md: 175 req/s at 1M PDQ hashes, 64 connections, p99 408 ms,
# ~796 MB RSS per worker). The load generator is wrk (keep-alive; HMA's sync workers close
# each connection) with benches/serve_wrk.lua, sharing the machine's cores with the server,
# as ab shared them with HMA.
#
#   bash benches/serve.sh                  # ~6 minutes with a cached index, +80 s to build it
#   SOAK_SECONDS=600 bash benches/serve.sh # the 10-minute soak
#
# The index holds PHASH_N random pHash, PDQ_N random PDQ and MD5_N random MD5 entries (lists
# `phash`, `pdq`, `md5`; each perceptual kind is its own section, so a lookup of one kind
# searches PHASH_N or PDQ_N entries) plus 200 planted entries of each kind (list `planted`).
# It is built with `mediamatch build` in SERVE_BENCH_DIR and reused by the next run with the
# same sizes. The server runs with `[reload] verify = false, poll_seconds = 0` unless said.
#
#  1. build (or reuse) the index (wall time and peak RSS of the build);
#  2. GET /m/lookup?signal_type=pdq|phash|md5 and POST /v1/lookup with one hash per request
#     (10,000 rotating queries per kind: 10% planted hashes, 10% planted hashes with a few
#     bits flipped (within the threshold), 80% random misses); CONNECTIONS connections,
#     THREADS wrk threads, DURATION s each; GET /m/lookup pdq on one connection (latency
#     without queueing); then GET /m/lookup pdq again with the audit trail on (records =
#     matches, fsync = always: one fdatasync per answer that matched); POST /v1/reload idle;
#  3. POST /v1/check of a ~1 MP JPEG (raw body; it matches nothing, as most uploads, and a miss
#     explores the most candidates) with CHECK_CONNECTIONS connections, beside the same checks
#     in process: `mediamatch scan --threads 2 --no-verify` of CHECK_COPIES copies of the file
#     against the same index (benches/matcher.rs measures check_bytes only on its own 200k-entry
#     in-memory index, so it is not the same job), best of 2; the ratio server / in-process;
#  4. overload: 4 x CONNECTIONS connections against POST /v1/check with `[limits]
#     max_in_flight = 16, hash_queue = 4`: the share of 503s, and the p99 of the 200s from the
#     server's access log (wrk's latencies mix both statuses); then again with max_in_flight =
#     hash_workers + hash_queue, so that uploads are shed before their body is read;
#  5. soak: SOAK_SECONDS of GET /m/lookup (all three kinds) under CONNECTIONS connections on a
#     hard link of the index, while a delta (1,000 new entries, 500 deletions of the previous
#     delta) is imported every IMPORT_EVERY s and the server polls every second; the server's
#     RSS (VmRSS, RssAnon), threads, fds and mapped index files every 5 s; after each import,
#     how long until the server answers with the new version, and whether a new entry is
#     found and a deleted one gone; POST /v1/reload idle on the segmented index at the end.
#
# Every run prints the CPU of the server, of wrk and of other processes: a busy machine
# (another build) lowers every figure, and `others` above a few % says so.
#
# Environment (defaults): PHASH_N=10000000 PDQ_N=10000000 MD5_N=1000000 DURATION=15
# CONNECTIONS=64 THREADS=2 CHECK_CONNECTIONS=8 CHECK_COPIES=200 SOAK_SECONDS=60
# IMPORT_EVERY=10 AUDIT_RUN=1 SERVE_BENCH_DIR=${TMPDIR:-/tmp}/mediamatch-serve-bench
# MEDIAMATCH_LOG=info (the server's log level; its access log is written at info, one line a
# request, to a file in the scratch dir).
#
# Needs wrk (`apt-get install -y wrk`), curl and python3. The ~1 MP JPEG is
# fixtures/photos/china.jpg resized to 1224x816 at quality 90 (as in benches/matcher.rs) when
# Pillow or ImageMagick is there, else the corpus photo sunhays_0067.jpg (1024x905) as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

PHASH_N=${PHASH_N:-10000000}
PDQ_N=${PDQ_N:-10000000}
MD5_N=${MD5_N:-1000000}
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
CHECK_CONNECTIONS=${CHECK_CONNECTIONS:-8}
CHECK_COPIES=${CHECK_COPIES:-200}
SOAK_SECONDS=${SOAK_SECONDS:-60}
IMPORT_EVERY=${IMPORT_EVERY:-10}
AUDIT_RUN=${AUDIT_RUN:-1}
export MEDIAMATCH_LOG=${MEDIAMATCH_LOG:-info}
work=${SERVE_BENCH_DIR:-${TMPDIR:-/tmp}/mediamatch-serve-bench}
case "$(realpath -m "$work")/" in
  "$repo"/*) echo "SERVE_BENCH_DIR must be outside the repository" >&2; exit 2 ;;
esac
lua=$repo/benches/serve_wrk.lua

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 2; }

t0=$(date +%s)
phase() { echo; echo "=== $* (at $(( $(date +%s) - t0 )) s)"; }

phase "release build"
cargo build --release --quiet
mkdir -p "$work/bin" "$work/run"
# A private copy: the target dir may be shared, and a rebuild must not swap the binary mid-run.
cp target/release/mediamatch "$work/bin/mediamatch.new"
mv -f "$work/bin/mediamatch.new" "$work/bin/mediamatch"
bin=$work/bin/mediamatch
run=$work/run
rm -rf "${run:?}"/*
echo "binary: $("$bin" --version), $(nproc) cores; scratch dir $work"
echo "wrk: $(wrk -v 2>&1 | head -1); load average before the run: $(cut -d" " -f1-3 /proc/loadavg)"

server_pid=
wrk_pid=
importer_pid=
cleanup() {
  for p in $wrk_pid $importer_pid $server_pid; do
    kill "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
phase "1. the index: $PHASH_N pHash + $PDQ_N PDQ + $MD5_N MD5 random entries + 600 planted"
idx=$work/index
params="phash=$PHASH_N pdq=$PDQ_N md5=$MD5_N seed=14 $("$bin" --version)"
index=$idx/base.mmi
if [ -f "$idx/params" ] && [ "$(cat "$idx/params")" = "$params" ] && [ -f "$index" ] \
    && "$bin" info "$index" --no-verify >/dev/null 2>&1; then
  echo "reusing $index ($(du -h "$index" | cut -f1); built by an earlier run: $(cat "$idx/build.txt"))"
else
  rm -rf "$idx"
  mkdir -p "$idx"
  start=$(date +%s)
  python3 - "$idx" "$PHASH_N" "$PDQ_N" "$MD5_N" <<'PY'
import random, sys
out, n_phash, n_pdq, n_md5 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(14)
with open(f"{out}/planted.csv", "w") as f:
    f.write("kind,hash,id,label\n")
    ident = 0
    for kind, nbytes in (("phash", 8), ("pdq", 32), ("md5", 16)):
        for _ in range(200):
            ident += 1
            f.write(f"{kind},{rng.randbytes(nbytes).hex()},{ident},planted\n")
for kind, nbytes, n in (("phash", 8, n_phash), ("pdq", 32, n_pdq), ("md5", 16, n_md5)):
    with open(f"{out}/{kind}.txt", "w") as f:
        w, chunk = 2 * nbytes, 200_000
        for start in range(0, n, chunk):
            k = min(chunk, n - start)
            h = rng.randbytes(nbytes * k).hex()
            f.write("".join(f"{kind}:{h[j * w:(j + 1) * w]}\n" for j in range(k)))
PY
  echo "lists written in $(( $(date +%s) - start )) s: $(du -ch "$idx"/*.txt | tail -1 | cut -f1)"
  /usr/bin/time -v "$bin" build -o "$index" "$idx/planted.csv" "$idx/phash.txt" "$idx/pdq.txt" "$idx/md5.txt" \
      >/dev/null 2>"$idx/time.txt" || { cat "$idx/time.txt"; exit 1; }
  wall=$(grep "Elapsed (wall clock)" "$idx/time.txt" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$idx/time.txt" | awk '{print $NF}')
  echo "build: wall $wall, peak RSS $(( rss / 1024 )) MB" > "$idx/build.txt"
  rm -f "$idx"/phash.txt "$idx"/pdq.txt "$idx"/md5.txt
  echo "$params" > "$idx/params"
  echo "built $index ($(du -h "$index" | cut -f1)) in $(( $(date +%s) - start )) s in all; $(cat "$idx/build.txt")"
fi
"$bin" info "$index" --no-verify 2>/dev/null | awk '/^(size|entries):/ || /^kind / { p = 1 } /^lists:/ { p = 0 } p' || true

# The queries (10,000 per kind), the soak's deltas, and the expected hit share.
n_imports=$(( SOAK_SECONDS / IMPORT_EVERY + 1 ))
python3 - "$idx/planted.csv" "$run" "$n_imports" <<'PY'
import csv, random, sys
planted_csv, out, n_imports = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(15)
planted = {"phash": [], "pdq": [], "md5": []}
for r in csv.DictReader(open(planted_csv)):
    planted[r["kind"]].append(r["hash"])
nbytes = {"phash": 8, "pdq": 32, "md5": 16}
maxflip = {"phash": 6, "pdq": 24, "md5": 0}
def flip(h, bits):
    v = int(h, 16)
    for b in rng.sample(range(len(h) * 4), bits):
        v ^= 1 << b
    return f"{v:0{len(h)}x}"
mixed = []
for kind in planted:
    gets, posts = [], []
    for i in range(10_000):
        if i % 10 == 0 or (i % 10 == 5 and maxflip[kind] == 0):
            h = rng.choice(planted[kind])
        elif i % 10 == 5:
            h = flip(rng.choice(planted[kind]), rng.randint(1, maxflip[kind]))
        else:
            h = rng.randbytes(nbytes[kind]).hex()
        gets.append(f"/m/lookup?signal_type={kind}&signal={h}")
        posts.append(f'{{"hashes":["{kind}:{h}"]}}')
    open(f"{out}/get_{kind}.txt", "w").write("\n".join(gets) + "\n")
    open(f"{out}/v1_{kind}.txt", "w").write("\n".join(posts) + "\n")
    mixed += gets
rng.shuffle(mixed)
open(f"{out}/get_mixed.txt", "w").write("\n".join(mixed) + "\n")
open(f"{out}/hit_phash.txt", "w").write(planted["phash"][0] + "\n")
# Soak deltas: k adds 500 pHash + 500 PDQ entries and deletes half of delta k-1's of each.
prev = []
for k in range(n_imports):
    rows = [("phash" if j % 2 == 0 else "pdq", rng.randbytes(8 if j % 2 == 0 else 32).hex(), f"d{k}-{j}") for j in range(1000)]
    with open(f"{out}/delta_{k}.csv", "w") as f:
        f.write("kind,hash,id,label,deleted\n")
        for kind, h, i in rows:
            f.write(f"{kind},{h},{i},delta,\n")
        for kind, h, i in prev[:500]:
            f.write(f"{kind},{h},{i},delta,true\n")
    open(f"{out}/delta_{k}.first", "w").write(rows[0][1] + "\n")
    open(f"{out}/delta_{k}.gone", "w").write((prev[0][1] if prev else "") + "\n")
    prev = rows
PY
echo "queries: 10,000 per kind, 20% planted (exact, or pHash 1-6 / PDQ 1-24 bits off), 80% random"

# ---------------------------------------------------------------------------------------------
# Servers and wrk runs.

write_config() { # FILE [EXTRA TOML...]
  local f=$1; shift
  { echo "[reload]"; echo "poll_seconds = ${POLL:-0}"; echo "verify = false"; printf '%s\n' "$@"; } > "$f"
}

start_server() { # NAME CONFIG INDEX
  local name=$1 config=$2 index=$3
  server_log=$run/$name.log
  : > "$run/$name.out"
  "$bin" serve --index "$index" --listen 127.0.0.1:0 --config "$config" >"$run/$name.out" 2>>"$server_log" &
  server_pid=$!
  local t=$(date +%s%N)
  until grep -q '^listening on' "$run/$name.out"; do
    kill -0 "$server_pid" 2>/dev/null || { echo "server exited at start:"; tail -5 "$server_log"; exit 1; }
    sleep 0.05
  done
  base=http://$(sed -n 's/^listening on //p' "$run/$name.out")
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base/status")
  echo "server $name: pid $server_pid on $base, /status $code, listening after $(( ($(date +%s%N) - t) / 1000000 )) ms;" \
       "RSS $(rss_mb "$server_pid") MB"
  [ "$code" = 200 ] || { echo "the index did not load:"; tail -5 "$server_log"; exit 1; }
}

stop_server() {
  local rc=0
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" || rc=$?
  [ "$rc" = 0 ] || echo "!! server exited with status $rc on SIGTERM"
  if grep -a -q -i 'panicked' "$server_log"; then
    echo "!! the server panicked:"; grep -a -i -m3 'panicked' "$server_log"
  fi
  server_pid=
}

rss_mb() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

declare -A R
run_wrk() { # LABEL CONNECTIONS SECONDS URL MODE FILE [CONTENT_TYPE]
  local label=$1 c=$2 d=$3 url=$4; shift 4
  local t=$THREADS
  [ "$t" -le "$c" ] || t=$c
  local before
  before="$(cpu_ticks "$server_pid") $(busy_ticks)"
  /usr/bin/time -f '%U %S' -o "$run/wrk_time.txt" \
    wrk -t "$t" -c "$c" -d "${d}s" --timeout 30s --latency -s "$lua" "$url" -- "$@" > "$run/wrk_$label.txt" 2>&1 || true
  R[$label]="$(grep '^RESULT' "$run/wrk_$label.txt" || echo "RESULT requests=0") $(cpu_fields "$before" "$d")"
  if [ "$label" != warmup ]; then
    echo "--- wrk -t $t -c $c -d ${d}s --latency $url ($1 $(basename "$2"))"
    cat "$run/wrk_$label.txt"
    echo "cpu over the run: server $(field "$label" server_cpu)%, wrk $(field "$label" wrk_cpu)%," \
         "other processes $(field "$label" others_cpu)% (of $(( 100 * $(nproc) ))%)"
  fi
}
# CPU time (clock ticks) of a process so far, of the whole machine (busy), and the shares
# of the last run: the server's, wrk's and everything else's (another job on the machine
# skews every figure: `others` says so).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
cpu_fields() { # "SERVER_TICKS BUSY_TICKS" (before) SECONDS
  local hz
  hz=$(getconf CLK_TCK)
  python3 -c "
import sys
(before, busy0), secs, hz = map(int, sys.argv[1].split()), float(sys.argv[2]), int(sys.argv[3])
now, busy1 = int(sys.argv[4]), int(sys.argv[5])
u, s = map(float, open(sys.argv[6]).read().split()[-2:])
server, wrk, busy = (now - before) / hz, u + s, (busy1 - busy0) / hz
print(f'server_cpu={100 * server / secs:.0f} wrk_cpu={100 * wrk / secs:.0f} others_cpu={max(0, 100 * (busy - server - wrk) / secs):.0f}')
" "$1" "$2" "$hz" "$(cpu_ticks "$server_pid")" "$(busy_ticks)" "$run/wrk_time.txt" 2>/dev/null \
    || echo "server_cpu=? wrk_cpu=? others_cpu=?"
}
field() { # LABEL KEY
  local v
  v=$(tr ' ' '\n' <<< "${R[$1]:-}" | sed -n "s/^$2=//p")
  echo "${v:-?}"
}
status_count() { # LABEL CODE
  local n
  n=$(tr ',' '\n' <<< "$(field "$1" statuses)" | sed -n "s/^$2://p")
  echo "${n:-0}"
}
non200() { # LABEL: requests answered with another status than 200
  tr ',' '\n' <<< "$(field "$1" statuses)" | awk -F: '$1 != 200 && $2 != "" { n += $2 } END { print n + 0 }'
}

# Percentiles of the server's own time (access log `micros`) per status, for one route.
access_stats() { # LOG ROUTE
  python3 - "$1" "$2" <<'PY'
import json, sys
log, route = sys.argv[1], sys.argv[2]
by = {}
for line in open(log, errors="replace"):
    if '"mediamatch::access"' not in line:
        continue
    try:
        f = json.loads(line).get("fields", {})
    except ValueError:
        continue
    if f.get("route") == route:
        by.setdefault(f["status"], []).append(f["micros"] / 1e3)
for status, t in sorted(by.items()):
    t.sort()
    q = lambda p: t[min(len(t) - 1, int(p * len(t)))]
    print(f"status={status} n={len(t)} p50_ms={q(0.5):.1f} p99_ms={q(0.99):.1f} max_ms={t[-1]:.1f}")
PY
}

# ---------------------------------------------------------------------------------------------
phase "2. lookups: GET /m/lookup and POST /v1/lookup, $CONNECTIONS connections, $THREADS threads, $DURATION s each"
write_config "$run/plain.toml"
start_server plain "$run/plain.toml" "$index"
hit=$(cat "$run/hit_phash.txt")
echo "probe: GET /m/lookup phash planted -> $(curl -s "$base/m/lookup?signal_type=phash&signal=$hit")"
echo "probe: GET /m/lookup phash random  -> $(curl -s "$base/m/lookup?signal_type=phash&signal=0123456789abcdef")"
echo "probe: POST /v1/lookup planted     -> $(curl -s -X POST -H 'Content-Type: application/json' \
    -d "{\"hashes\":[\"phash:$hit\"]}" "$base/v1/lookup" | cut -c1-300)"
for kind in pdq phash md5; do
  run_wrk warmup "$CONNECTIONS" 3 "$base/m/lookup" get "$run/get_$kind.txt"
  run_wrk "get_$kind" "$CONNECTIONS" "$DURATION" "$base/m/lookup" get "$run/get_$kind.txt"
done
for kind in pdq phash md5; do
  run_wrk "v1_$kind" "$CONNECTIONS" "$DURATION" "$base/v1/lookup" json "$run/v1_$kind.txt"
done
run_wrk get_pdq_1 1 "$DURATION" "$base/m/lookup" get "$run/get_pdq.txt"
rss_lookups=$(rss_mb "$server_pid")
reload_one=$(curl -s -o /dev/null -w '%{time_total}' -X POST "$base/v1/reload")
echo "POST /v1/reload of the one-file index, idle: $reload_one s"
echo "server RSS after the lookups: $rss_lookups MB"
stop_server
rm -f "$server_log"

if [ "$AUDIT_RUN" = 1 ]; then
  write_config "$run/audit.toml" "[audit]" "file = \"$run/audit.jsonl\""
  start_server audit "$run/audit.toml" "$index"
  run_wrk get_pdq_audit "$CONNECTIONS" "$DURATION" "$base/m/lookup" get "$run/get_pdq.txt"
  echo "audit records written: $(wc -l < "$run/audit.jsonl")"
  stop_server
  rm -f "$server_log" "$run/audit.jsonl"
fi

# ---------------------------------------------------------------------------------------------
phase "3. upload checks: POST /v1/check of a ~1 MP JPEG beside the in-process matcher"
jpeg=$run/upload.jpg
if python3 -c 'import PIL' 2>/dev/null; then
  python3 -c '
import sys
from PIL import Image
Image.open(sys.argv[1]).convert("RGB").resize((1224, 816), Image.BICUBIC).save(sys.argv[2], quality=90)
' fixtures/photos/china.jpg "$jpeg"
  jpeg_from="fixtures/photos/china.jpg resized to 1224x816, quality 90 (Pillow)"
elif convert -version 2>/dev/null | grep -q ImageMagick; then
  convert fixtures/photos/china.jpg -resize '1224x816!' -quality 90 "$jpeg"
  jpeg_from="fixtures/photos/china.jpg resized to 1224x816, quality 90 (ImageMagick)"
elif [ -f ../shared/corpus/sunhays_0067.jpg ]; then
  cp ../shared/corpus/sunhays_0067.jpg "$jpeg"
  jpeg_from="../shared/corpus/sunhays_0067.jpg as it is (no Pillow or ImageMagick here)"
else
  cp fixtures/photos/china.jpg "$jpeg"
  jpeg_from="fixtures/photos/china.jpg as it is (640x427: no Pillow, ImageMagick or corpus here)"
fi
echo "upload: $jpeg_from: $(file -b "$jpeg" | grep -oE '[0-9]+x[0-9]+' | tail -1), $(stat -c %s "$jpeg") bytes"

write_config "$run/plain.toml"
start_server check "$run/plain.toml" "$index"
echo "probe: POST /v1/check -> $(curl -s --data-binary @"$jpeg" -H 'Content-Type: image/jpeg' "$base/v1/check" | cut -c1-400)"
run_wrk warmup "$CHECK_CONNECTIONS" 3 "$base/v1/check" body "$jpeg" image/jpeg
: > "$server_log"
run_wrk check "$CHECK_CONNECTIONS" "$DURATION" "$base/v1/check" body "$jpeg" image/jpeg
echo "server-side time of /v1/check (access log):"
access_stats "$server_log" /v1/check
rss_check=$(rss_mb "$server_pid")
stop_server
rm -f "$server_log"

mkdir -p "$run/copies"
for i in $(seq 1 "$CHECK_COPIES"); do cp "$jpeg" "$run/copies/$i.jpg"; done
inproc=0
for _ in 1 2; do
  r=$("$bin" scan "$run/copies" --index "$index" --no-verify --threads 2 --format json --quiet 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    rec = json.loads(line)
    if rec.get("type") == "summary":
        print(rec["files_per_s"], rec.get("matched", rec.get("matches", "?")))
' || true)
  echo "mediamatch scan $CHECK_COPIES copies --threads 2 --no-verify: ${r:-failed} (files/s, matched)"
  inproc=$(python3 -c "print(max($inproc, ${r%% *}))" 2>/dev/null || echo "$inproc")
done
rm -rf "$run/copies"

# ---------------------------------------------------------------------------------------------
over_c=$(( 4 * CONNECTIONS ))
phase "4. overload: $over_c connections against POST /v1/check, max_in_flight = 16, hash_queue = 4"
write_config "$run/overload.toml" "[limits]" "max_in_flight = 16" "hash_queue = 4"
start_server overload "$run/overload.toml" "$index"
: > "$server_log"
run_wrk overload "$over_c" "$DURATION" "$base/v1/check" body "$jpeg" image/jpeg
echo "server-side time of /v1/check (access log):"
over_stats=$(access_stats "$server_log" /v1/check)
echo "$over_stats"
echo "shed counters: $(curl -s "$base/metrics" | grep -E '^mediamatch_shed_total' | tr '\n' ' ')"
echo "after the overload: /status $(curl -s -o /dev/null -w '%{http_code}' "$base/status"), one check" \
     "$(curl -s -o /dev/null -w '%{http_code} in %{time_total} s' --data-binary @"$jpeg" "$base/v1/check")"
over_p99_200=$(sed -n 's/^status=200 .*p99_ms=\([0-9.]*\).*/\1/p' <<< "$over_stats")
over_shed=$(curl -s "$base/metrics" | sed -n 's/^mediamatch_shed_total{reason="\([a-z_]*\)"} \([0-9]*\)/\1 \2/p' | tr '\n' ' ')
stop_server
rm -f "$server_log"

# The same with max_in_flight = the hashing capacity (2 workers + a queue of 4): uploads are
# then shed before their body is read, not after.
hash_cap=$(( $(nproc) + 4 ))
echo "--- again with max_in_flight = $hash_cap (hash_workers + hash_queue)"
write_config "$run/overload2.toml" "[limits]" "max_in_flight = $hash_cap" "hash_queue = 4"
start_server overload2 "$run/overload2.toml" "$index"
: > "$server_log"
run_wrk overload2 "$over_c" "$DURATION" "$base/v1/check" body "$jpeg" image/jpeg
echo "server-side time of /v1/check (access log):"
over2_stats=$(access_stats "$server_log" /v1/check)
echo "$over2_stats"
over2_p99_200=$(sed -n 's/^status=200 .*p99_ms=\([0-9.]*\).*/\1/p' <<< "$over2_stats")
over2_shed=$(curl -s "$base/metrics" | sed -n 's/^mediamatch_shed_total{reason="\([a-z_]*\)"} \([0-9]*\)/\1 \2/p' | tr '\n' ' ')
echo "shed counters: $over2_shed"
stop_server
rm -f "$server_log"

# ---------------------------------------------------------------------------------------------
phase "5. soak: $SOAK_SECONDS s of GET /m/lookup (mixed kinds), a delta import every $IMPORT_EVERY s, poll every 1 s"
soak=$work/soak
rm -rf "$soak"
mkdir -p "$soak"
ln "$index" "$soak/index.mmi" 2>/dev/null || cp "$index" "$soak/index.mmi"
POLL=1 write_config "$run/soak.toml"
start_server soak "$run/soak.toml" "$soak/index.mmi"
soak_ticks="$(cpu_ticks "$server_pid") $(busy_ticks)"
/usr/bin/time -f '%U %S' -o "$run/wrk_time.txt" \
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "${SOAK_SECONDS}s" --timeout 30s --latency -s "$lua" "$base/m/lookup" \
    -- get "$run/get_mixed.txt" > "$run/wrk_soak.txt" 2>&1 &
wrk_pid=$!

version() { curl -s "$base/v1/info" | grep -o '"index_version":"[0-9a-f]*"' | cut -d'"' -f4 || echo "?"; }
soak_start=$(date +%s)
(
  k=0
  while [ "$k" -lt "$n_imports" ]; do
    # Imports at fixed times (k + 1) * IMPORT_EVERY from the start, however long reloads take.
    wait_s=$(( soak_start + (k + 1) * IMPORT_EVERY - $(date +%s) ))
    [ "$wait_s" -le 0 ] || sleep "$wait_s"
    kill -0 "$wrk_pid" 2>/dev/null || break
    before=$(version)
    s=$(date +%s%N)
    out=$("$bin" import "$soak/index.mmi" --list delta "$run/delta_$k.csv" 2>&1) || echo "import $k FAILED: $out"
    imported=$(( ($(date +%s%N) - s) / 1000000 ))
    v=$before
    for _ in $(seq 1 300); do
      v=$(version)
      [ "$v" != "$before" ] && break
      sleep 0.1
      [ $(( ($(date +%s%N) - s) / 1000000000 )) -lt 30 ] || break
    done
    seen=$(( ($(date +%s%N) - s) / 1000000 - imported ))
    new=$(curl -s "$base/m/lookup?signal_type=phash&signal=$(cat "$run/delta_$k.first")")
    gone_hash=$(cat "$run/delta_$k.gone")
    gone="-"
    if [ -n "$gone_hash" ]; then
      gone=$(curl -s "$base/m/lookup?signal_type=phash&signal=$gone_hash")
    fi
    new_ok=no; grep -q '"delta"' <<< "$new" && new_ok=yes
    gone_ok=n/a; [ "$gone" = "-" ] || { gone_ok=yes; grep -q '"delta"' <<< "$gone" && gone_ok=no; }
    printf 'import %d: %d ms (%s); new version %s %s ms later; new entry found: %s; deleted entry gone: %s\n' \
      "$k" "$imported" "$(tail -1 <<< "$out" | sed 's/ (.*//')" "$v" \
      "$([ "$v" != "$before" ] && echo "$seen" || echo "NOT within 30 s:")" "$new_ok" "$gone_ok"
    k=$(( k + 1 ))
  done
) > "$run/imports.txt" 2>&1 &
importer_pid=$!

printf '%8s %9s %9s %9s %8s %5s %6s\n' seconds VmRSS_MB RssAnon RssFile threads fds maps > "$run/rss.txt"
ts=$(date +%s)
while sleep 5 && kill -0 "$wrk_pid" 2>/dev/null; do
  st=/proc/$server_pid/status
  [ -r "$st" ] || { echo "!! the server is gone"; break; }
  printf '%8d %9d %9d %9d %8d %5d %6d\n' $(( $(date +%s) - ts )) \
    "$(awk '/^VmRSS/ {print int($2/1024)}' "$st")" "$(awk '/^RssAnon/ {print int($2/1024)}' "$st")" \
    "$(awk '/^RssFile/ {print int($2/1024)}' "$st")" "$(awk '/^Threads/ {print $2}' "$st")" \
    "$(ls "/proc/$server_pid/fd" | wc -l)" "$(grep -c -E '\.(seg|mmi)( \(deleted\))?$' "/proc/$server_pid/maps")" >> "$run/rss.txt"
done
wait "$wrk_pid" || true
wrk_pid=
wait "$importer_pid" || true
importer_pid=
R[soak]="$(grep '^RESULT' "$run/wrk_soak.txt" || echo "RESULT requests=0") $(cpu_fields "$soak_ticks" "$SOAK_SECONDS")"
echo "--- wrk -t $THREADS -c $CONNECTIONS -d ${SOAK_SECONDS}s --latency $base/m/lookup (mixed kinds)"
cat "$run/wrk_soak.txt"
cat "$run/imports.txt"
echo "server samples every 5 s (MB; maps = mappings of index files):"
cat "$run/rss.txt"
echo "access log: statuses of /m/lookup: $(access_stats "$server_log" /m/lookup | awk '{print $1, $2}' | tr '\n' ' ')"
echo "warnings and errors in the server log:"
grep -a -v '"level":"INFO"' "$server_log" | cut -c1-300 | sort | uniq -c | sort -rn | head -10 || true
reloads=$(grep -a -c '"index loaded"' "$server_log" || true)
echo "index loads logged: $reloads (the first one included)"
segments=$(curl -s "$base/v1/info" | grep -o '"segments":[0-9]*' | cut -d: -f2)
reload_many=$(curl -s -o /dev/null -w '%{time_total}' -X POST "$base/v1/reload")
echo "POST /v1/reload after the imports ($segments segments), idle: $reload_many s (the one-file index: $reload_one s)"
stop_server
rm -f "$server_log"
read -r rss_first rss_last rss_max anon_first anon_last anon_max < <(awk 'NR > 1 {
  if (NR == 2) { f = $2; af = $3 } l = $2; al = $3; if ($2 > m) m = $2; if ($3 > am) am = $3 }
  END { print f, l, m, af, al, am }' "$run/rss.txt")
rm -rf "$soak"

# ---------------------------------------------------------------------------------------------
phase "summary"
ratio() { python3 -c "a, b = $1, $2; print(f'{a / b:.1f}x' if a and b else '-')" 2>/dev/null || echo "-"; }
echo "index: $PHASH_N pHash + $PDQ_N PDQ + $MD5_N MD5 random + 600 planted entries, $(du -h "$index" | cut -f1);" \
     "$(cat "$idx/build.txt")"
echo "load: wrk with keep-alive, $THREADS threads, on the same $(nproc) cores as the server; HMA: ab, 2 gunicorn" \
     "workers, 1M PDQ, no keep-alive"
printf '\n%-34s %5s %10s %9s %9s %8s %12s  %-17s %s\n' "route (requests)" conns "req/s" "p50 ms" "p99 ms" "non-200" \
    "cpu s/w/o" "req/s vs HMA 175" "p99 vs HMA 408 ms"
row() { # TITLE LABEL CONNS
  local rps p99
  rps=$(field "$2" rps)
  p99=$(field "$2" p99_ms)
  printf '%-34s %5s %10s %9s %9s %8s %12s  %-17s %s\n' "$1" "$3" "$rps" "$(field "$2" p50_ms)" "$p99" "$(non200 "$2")" \
    "$(field "$2" server_cpu)/$(field "$2" wrk_cpu)/$(field "$2" others_cpu)%" "$(ratio "$rps" 175)" "$(ratio 408 "$p99") lower"
}
row "GET /m/lookup pdq ($PDQ_N)" get_pdq "$CONNECTIONS"
row "GET /m/lookup phash ($PHASH_N)" get_phash "$CONNECTIONS"
row "GET /m/lookup md5 ($MD5_N)" get_md5 "$CONNECTIONS"
row "POST /v1/lookup pdq, 1 hash" v1_pdq "$CONNECTIONS"
row "POST /v1/lookup phash, 1 hash" v1_phash "$CONNECTIONS"
row "POST /v1/lookup md5, 1 hash" v1_md5 "$CONNECTIONS"
row "GET /m/lookup pdq, 1 connection" get_pdq_1 1
[ "$AUDIT_RUN" = 1 ] && row "GET /m/lookup pdq, audit fsync" get_pdq_audit "$CONNECTIONS"
row "soak GET /m/lookup mixed" soak "$CONNECTIONS"
echo "(cpu s/w/o: the server's, wrk's and other processes' CPU over the run, % of one core; other processes" \
     "above a few % mean the figures are low; HMA's one-connection figure: 160 req/s, p50 5 ms, at 100k)"
echo
check_rps=$(field check rps)
echo "POST /v1/check ($jpeg_from): $check_rps checks/s at $CHECK_CONNECTIONS connections," \
     "p50 $(field check p50_ms) ms, p99 $(field check p99_ms) ms, non-200 $(non200 check)," \
     "cpu s/w/o $(field check server_cpu)/$(field check wrk_cpu)/$(field check others_cpu)%;" \
     "in process (scan --threads 2) $inproc files/s; server / in-process = $(python3 -c "print(f'{$check_rps / $inproc:.2f}')" 2>/dev/null || echo '?')"
over_total=$(field overload requests)
over_503=$(status_count overload 503)
echo "overload ($over_c connections, max_in_flight 16, hash_queue 4): $over_total answers, $(status_count overload 200) x 200," \
     "$over_503 x 503 = $(python3 -c "print(f'{100 * $over_503 / $over_total:.1f}%')" 2>/dev/null || echo '?') shed;" \
     "other statuses: $(field overload statuses); socket errors connect/read/write/timeout" \
     "$(field overload connect)/$(field overload read)/$(field overload write)/$(field overload timeout);" \
     "p99 of the 200s ${over_p99_200:-?} ms (server side), wrk p99 of all answers $(field overload p99_ms) ms; shed: $over_shed;" \
     "cpu s/w/o $(field overload server_cpu)/$(field overload wrk_cpu)/$(field overload others_cpu)%"
over2_total=$(field overload2 requests)
over2_503=$(status_count overload2 503)
echo "overload with max_in_flight $hash_cap: $over2_total answers, $(status_count overload2 200) x 200 ($(python3 -c "print(f'{$(status_count overload2 200) / $(field overload2 seconds):.1f}')" 2>/dev/null || echo '?') checks/s)," \
     "$over2_503 x 503 = $(python3 -c "print(f'{100 * $over2_503 / $over2_total:.1f}%')" 2>/dev/null || echo '?') shed;" \
     "socket errors $(field overload2 connect)/$(field overload2 read)/$(field overload2 write)/$(field overload2 timeout);" \
     "p99 of the 200s ${over2_p99_200:-?} ms (server side); shed: $over2_shed;" \
     "cpu s/w/o $(field overload2 server_cpu)/$(field overload2 wrk_cpu)/$(field overload2 others_cpu)%"
echo "(checks/s of 200s under overload: $(python3 -c "print(f'{$(status_count overload 200) / $(field overload seconds):.1f}')" 2>/dev/null || echo '?') with max_in_flight 16, against $check_rps unloaded)"
echo "soak ($SOAK_SECONDS s, $(grep -c '^import' "$run/imports.txt" || true) imports): VmRSS first $rss_first / last $rss_last / max $rss_max MB," \
     "of which anonymous $anon_first / $anon_last / $anon_max MB (the rest is the mapped index file, shared page cache);" \
     "HMA ~796 MB per worker (its own copy of the index); non-200 answers $(non200 soak) of $(field soak requests);" \
     "socket errors $(field soak connect)/$(field soak read)/$(field soak write)/$(field soak timeout)"
echo "reloads in the soak: new version seen $(sed -n 's/.* \([0-9]*\) ms later.*/\1/p' "$run/imports.txt" | tr '\n' ' ')ms after each import" \
     "(poll every 1 s); POST /v1/reload idle: one-file index $reload_one s, $segments segments $reload_many s"
echo "RSS after the lookups of phase 2: $rss_lookups MB; after the checks: $rss_check MB"
echo "total time $(( $(date +%s) - t0 )) s"
