#!/usr/bin/env python3
"""Times Meta's `vpdq` Python binding (PyPI `vpdq`, Cython over vpdq/cpp, FFmpeg's libraries
linked in) on videos, one hash a second, for benches/video_speed.sh.

    python3 -m venv /tmp/vpdqenv && /tmp/vpdqenv/bin/pip install vpdq==0.2.5
    taskset -c 0 /tmp/vpdqenv/bin/python benches/python_vpdq_baseline.py OUTDIR VIDEO...

(vpdq 0.2.5 has no wheel: pip builds it, which needs cmake (pulled in by pip) and FFmpeg's
development packages: libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
libswresample-dev libavdevice-dev libavfilter-dev.)

For each video, one `vpdq.computeHash(video, seconds_per_hash=SECONDS_PER_HASH,
thread_count=1)` (the hashing threads: 0 would start `hardware_concurrency()` of them, which
ignores the CPU affinity; FFmpeg's slice threads follow the affinity, so run it under
`taskset -c N`), timed in process with `time.perf_counter()` (the interpreter's start and the
import are not counted). Prints `VIDEO<TAB>SECONDS<TAB>FRAMES` per video and writes the
hashes to OUTDIR/<video name>.txt as `frame,quality,hash,timestamp` lines (the form of
`mediamatch video hash --format cpp`).
"""
import os
import sys
import time
from importlib.metadata import version

import vpdq


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, videos = sys.argv[1], sys.argv[2:]
    seconds = float(os.environ.get("SECONDS_PER_HASH", "1"))
    os.makedirs(out, exist_ok=True)
    print(f"# vpdq {version('vpdq')}, seconds_per_hash={seconds:g}, thread_count=1, "
          f"affinity {sorted(os.sched_getaffinity(0))}", flush=True)
    for v in videos:
        t0 = time.perf_counter()
        feats = vpdq.computeHash(v, seconds_per_hash=seconds, thread_count=1)
        dt = time.perf_counter() - t0
        name = os.path.basename(v)
        with open(os.path.join(out, name + ".txt"), "w") as f:
            for x in feats:
                f.write(f"{x.frame_number},{x.quality},{x.hex},{x.timestamp:.3f}\n")
        print(f"{v}\t{dt:.6f}\t{len(feats)}", flush=True)


if __name__ == "__main__":
    main()
