#!/usr/bin/env bash
# The README's precision speed table, in one run: the paper's Seq-U-Net and
# WaveNet (random weights) in fp32, bf16 and int8 on 1 and 2 threads, one
# stream each: samples/s, real-time factor, share of the cache bound for that
# precision's bytes, the smallest playback buffer, p50/p99/p99.9/max step
# time and the cost of the deepest tick. Writes docs/precision-speed.md and
# the raw JSON under docs/speed/. Run it on an otherwise idle machine.
#   scripts/precision_speed.sh [REPEATS] [SAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
samples=${2:-32768}
python=${PYTHON:-/usr/bin/python3}
swift build -c release >&2
bin=.build/release/sequnet
out=docs/speed
mkdir -p "$out"
models=(
  "paper Seq-U-Net|sequnet:features=180,levels=11,depth=2,kernel=5"
  "paper WaveNet|wavenet:layers=13,blocks=4,residual=128,dilation=128,skip=512"
)
for entry in "${models[@]}"; do
  spec=${entry#*|}
  slug=$(echo "$spec" | tr ':=,' '___')
  for precision in fp32 bf16 int8; do
    for threads in 1 2; do
      echo "== $spec $precision $threads thread(s)" >&2
      "$bin" bench --arch "$spec" --precision "$precision" --threads "$threads" --repeats "$repeats" \
        --samples "$samples" --no-replay --json > "$out/$slug.$precision.t$threads.json"
    done
  done
done
"$python" - "$out" "${models[@]}" > docs/precision-speed.md <<'PY'
import json, sys
out, entries = sys.argv[1], sys.argv[2:]
rows = {}
print("| model | precision | threads | samples/s | real-time factor | share of the cache bound | min buffer (ms) | step p50 / p99 / p99.9 / max (us) | deepest tick (us) |")
print("|---|---|---|---|---|---|---|---|---|")
for entry in entries:
    name, spec = entry.split("|")
    slug = spec.replace(":", "_").replace("=", "_").replace(",", "_")
    for p in ["fp32", "bf16", "int8"]:
        for t in [1, 2]:
            e = json.load(open(f"{out}/{slug}.{p}.t{t}.json"))
            rows[(name, p, t)] = e
            l, sps = e["latency_us"], e["samples_per_second"]
            buf = f"{e['min_buffer_ms']:.1f}" if e["min_buffer_ms"] is not None else "never (slower than real time)"
            deepest = max(e["tick_cost_us"], key=lambda c: c["level"])
            print(f"| {name} | {p} | {t} | {sps:,.0f} | {e['real_time_factor']:.2f} | "
                  f"{100 * sps / e['bandwidth_bound_samples_per_second']:.0f}% of {e['bandwidth_bound_samples_per_second']:,.0f} | {buf} | "
                  f"{l['p50']:.0f} / {l['p99']:.0f} / {l['p999']:.0f} / {l['max']:.0f} | {deepest['mean_step_us']:,.0f} (level {deepest['level']}) |")
print()
names = [e.split("|")[0] for e in entries]
for p in ["fp32", "bf16", "int8"]:
    best = {n: max(rows[(n, p, t)]["samples_per_second"] for t in [1, 2]) for n in names}
    print(f"- {p}: {names[0]} / {names[1]} = {best[names[0]] / best[names[1]]:.2f} (best of 1 and 2 threads each); "
          f"2 threads / 1 thread: {names[0]} {rows[(names[0], p, 2)]['samples_per_second'] / rows[(names[0], p, 1)]['samples_per_second']:.2f}x, "
          f"{names[1]} {rows[(names[1], p, 2)]['samples_per_second'] / rows[(names[1], p, 1)]['samples_per_second']:.2f}x")
e = rows[(names[0], "fp32", 1)]
print()
print(f"Measured with `scripts/precision_speed.sh` on {e['machine']}, {e['kernel_path']} kernels, "
      f"{e['samples_timed']:,} samples x {e['repeats']} repeats per row (median repeat).")
PY
cat docs/precision-speed.md
