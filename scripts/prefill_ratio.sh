#!/usr/bin/env bash
# Prefill against stepping for the paper Seq-U-Net in fp32 (random weights):
# ROUNDS runs of `sequnet bench --prompt-samples 32761` on 1 and on 2
# threads, alternating, each run measuring both in one process (stepping:
# 8,192 samples, median of 3; prefill: time to the first sample, median of
# 3). Prints every run's figures and, per thread count, the medians of the
# stepping rate, the prefill time and the per-run ratio. Both are noisy on a
# shared virtual machine: run it quiet and read the medians.
#   scripts/prefill_ratio.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
swift build -c release >&2
bin=.build/release/sequnet
prompt=32761
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
  for threads in 1 2; do
    "$bin" bench --arch sequnet:features=180,levels=11,depth=2,kernel=5 --precision fp32 \
      --prompt-samples "$prompt" --samples 8192 --repeats 3 --threads "$threads" --no-replay --json \
      | python3 -c "
import json, sys
d = json.load(sys.stdin)
step, ttfs = d['samples_per_second'], d['time_to_first_sample_ms']
print($threads, step, ttfs, $prompt / step / (ttfs / 1000))" >> "$results"
    tail -n 1 "$results" | awk -v r="$round" '{ printf "round %d, %d thread(s): stepping %.0f samples/s (%.2f s for the prompt), prefill %.1f ms: %.1fx\n", r, $1, $2, '"$prompt"' / $2, $3, $4 }'
  done
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
for threads in ("1", "2"):
    mine = [[float(v) for v in row[1:]] for row in rows if row[0] == threads]
    step, ttfs, ratio = (statistics.median(col) for col in zip(*mine))
    print(f"{threads} thread(s), median of {len(mine)}: stepping {step:,.0f} samples/s, "
          f"prefill {ttfs:,.1f} ms, ratio {ratio:.1f}x (range {min(r[2] for r in mine):.1f}-{max(r[2] for r in mine):.1f}x)")
PY
