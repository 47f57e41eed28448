#!/usr/bin/env bash
# The model card's measured figures for the bundled models:
#  - bits/sample on the held-out test pieces with `sequnet score`, on exactly
#    the classes the baselines use (data/test.u8, decoded losslessly to a
#    float WAV); both models at once, one per core;
#  - engine speed with `sequnet bench -m`, one model at a time on an
#    otherwise idle machine.
# Writes models/scores/NAME.json and models/scores/NAME.bench.json.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/usr/bin/python3}
[ -f data/test.wav ] || "$python" tools/u8_to_wav.py data/test.u8 data/test.wav
mkdir -p models/scores
bin=.build/release/sequnet
[ -x "$bin" ] || swift build -c release
"$bin" score -m models/sequnet-piano.safetensors data/test.wav --json > models/scores/sequnet-piano.json &
"$bin" score -m models/wavenet-piano.safetensors data/test.wav --json > models/scores/wavenet-piano.json &
wait
for name in sequnet-piano wavenet-piano; do
  "$bin" bench -m "models/$name.safetensors" --repeats 5 --json > "models/scores/$name.bench.json"
done
for name in sequnet-piano wavenet-piano; do
  "$python" - "$name" <<'PY'
import json, sys
name = sys.argv[1]
s = json.load(open(f"models/scores/{name}.json"))
b = json.load(open(f"models/scores/{name}.bench.json"))
print(f"{name}: {s['bits_per_sample']:.3f} bits/sample on {s['seconds']:.0f} s of test audio; "
      f"{b['samples_per_second']:,.0f} samples/s ({b['real_time_factor']:.1f}x real time), "
      f"p50/p99 latency {b['latency_us']['p50']:.1f}/{b['latency_us']['p99']:.1f} us")
PY
done
