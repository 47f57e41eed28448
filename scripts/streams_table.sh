#!/usr/bin/env bash
# The README's many-streams table: aggregate samples/s against the number of
# streams stepped as one batch (1, 2, 4, 8, 16, 32), for the paper Seq-U-Net
# (random weights) and the default model, in fp32 and in int8 (the fastest
# reduced precision), each product's rows on two threads; and, in the same
# run, OpenBLAS sgemm on two threads: the fp32 compute bound.
# Writes docs/streams-table.md and the raw JSON in docs/streams/.
#   scripts/streams_table.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
swift build -c release >&2
bin=.build/release/sequnet
# OpenBLAS 0.3.21 does not recognise some virtual CPUs (this machine's "Intel(R) Xeon(R)
# Processor") and falls back to its Prescott kernels, 20 GFLOP/s instead of 150: name the
# core when the CPU has AVX-512, so that the sgemm bound is the machine's and not the fallback's.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi
out=docs/streams
mkdir -p "$out"
models=(
  "paper Seq-U-Net|--arch sequnet:features=180,levels=11,depth=2,kernel=5"
  "default model (sequnet-piano)|-m models/sequnet-piano.safetensors"
)
table=docs/streams-table.md
{
  echo "| model | precision | streams | samples/s, all streams | per stream | real-time streams | share of the sgemm bound |"
  echo "|---|---|---|---|---|---|---|"
} > "$table"
sgemm=""
for entry in "${models[@]}"; do
  name=${entry%%|*}; source=${entry#*|}
  for precision in fp32 int8; do
    for streams in 1 2 4 8 16 32; do
      slug=$(printf '%s' "$name-$precision-$streams" | tr -c 'a-zA-Z0-9-' '_')
      extra=()
      [ -z "$sgemm" ] && extra=(--sgemm-peak)
      echo "== $name, $precision, $streams streams" >&2
      # shellcheck disable=SC2086
      "$bin" bench $source --precision "$precision" --threads 2 --streams "$streams" --repeats "$repeats" \
        --no-replay --json "${extra[@]}" > "$out/$slug.json"
      if [ -z "$sgemm" ]; then
        sgemm=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sgemm_gflops"])' "$out/$slug.json")
      fi
      python3 - "$out/$slug.json" "$name" "$sgemm" >> "$table" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); name = sys.argv[2]; gflops = float(sys.argv[3])
bound = gflops * 1e9 / (2 * r["multiply_adds_per_sample"])
agg = r["samples_per_second"]
share = f"{100 * agg / bound:.0f}%" if r["precision"] == "fp32" else f"({100 * agg / bound:.0f}% of fp32's)"
print(f"| {name} | {r['precision']} | {r['streams']} | {agg:,.0f} | {r['samples_per_second_per_stream']:,.0f} "
      f"| {agg / 16000:.2f} | {share} |")
PY
    done
  done
done
python3 - "$sgemm" "$out" >> "$table" <<'PY'
import json, sys, glob
gflops = float(sys.argv[1])
r = json.load(open(sorted(glob.glob(sys.argv[2] + "/paper*fp32-1.json"))[0]))
print()
import os
print(f"sgemm on 2 threads (OpenBLAS core {os.environ.get('OPENBLAS_CORETYPE', 'as detected')}, 2048 x 2048 x 2048, median of 5): {gflops:.1f} GFLOP/s, which caps fp32 at "
      f"{gflops * 1e9 / (2 * r['multiply_adds_per_sample']):,.0f} samples/s for the paper Seq-U-Net "
      f"({r['multiply_adds_per_sample'] / 1e6:.2f} M multiply-adds per sample). Machine: {r['machine']}.")
PY
cat "$table"
