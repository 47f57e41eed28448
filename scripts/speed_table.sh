#!/usr/bin/env bash
# The README's speed table: for each model, in one run, the Swift engine, the
# bare-sgemv replay of its layer schedule (both from `sequnet bench`) and our
# PyTorch reference's own streaming step (tools/torch_stream_bench.py).
# One thread, fp32, batch 1. Writes docs/speed-table.md and the raw JSON; then
# scripts/precision_speed.sh writes the precision and threads table.
#   scripts/speed_table.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
python=${PYTHON:-/usr/bin/python3}
swift build -c release >&2
bin=.build/release/sequnet
out=docs/speed
mkdir -p "$out"
models=(
  "paper Seq-U-Net|sequnet:features=180,levels=11,depth=2,kernel=5"
  "paper WaveNet|wavenet:layers=13,blocks=4,residual=128,dilation=128,skip=512"
  "default model (sequnet-piano)|sequnet:features=48,levels=10,depth=1,kernel=5"
)
{
  echo "| model | params | weights read / sample | engine samples/s | real-time factor | sgemv replay samples/s | PyTorch step samples/s | engine / replay | engine / PyTorch | p50 / p99 / p99.9 latency (us) | bound |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
} > docs/speed-table.md
for entry in "${models[@]}"; do
  name=${entry%%|*}; spec=${entry#*|}
  slug=$(echo "$spec" | tr ':=,' '___')
  echo "== $name: $spec" >&2
  "$bin" bench --arch "$spec" --repeats "$repeats" --kernels --json --histogram "$out/$slug.svg" > "$out/$slug.engine.json"
  nice -n 0 "$python" tools/torch_stream_bench.py --arch "$spec" --repeats "$repeats" --json > "$out/$slug.torch.json"
  "$python" - "$name" "$out/$slug.engine.json" "$out/$slug.torch.json" >> docs/speed-table.md <<'PY'
import json, sys
name, e, t = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
sps, rep, tor = e["samples_per_second"], e["replay_samples_per_second"], t["samples_per_second"]
lat = e["latency_us"]
bound = e["bandwidth_bound_samples_per_second"]
print(f"| {name} | {e['parameters']/1e6:.2f} M | {e['weight_bytes_per_sample']/1e6:.2f} MB | {sps:,.0f} | {e['real_time_factor']:.3f} | "
      f"{rep:,.0f} | {tor:,.0f} | {sps/rep:.2f}x | {sps/tor:.1f}x | {lat['p50']:.1f} / {lat['p99']:.1f} / {lat['p999']:.1f} | "
      f"cache model allows {bound:,.0f}/s ({e['measured_read_bandwidth_gb_per_s']:.0f} GB/s overall); engine at {100*sps/bound:.0f}% |")
PY
done
# Which kernel each matrix shape is faster with: the engine's panel kernel or sgemv, in a hot loop.
{
  echo
  echo "| model | shape [rows x columns] | layers | panel kernel (ns) | OpenBLAS sgemv (ns) | sgemv time / panel time |"
  echo "|---|---|---|---|---|---|"
} >> docs/speed-table.md
for entry in "${models[@]}"; do
  name=${entry%%|*}; spec=${entry#*|}
  slug=$(echo "$spec" | tr ':=,' '___')
  "$python" - "$name" "$out/$slug.engine.json" >> docs/speed-table.md <<'PY'
import json, sys
name, e = sys.argv[1], json.load(open(sys.argv[2]))
for k in e["kernels"]:
    print(f"| {name} | [{k['rows']} x {k['columns']}] | {k['layers']} | {k['panel_ns']:,.0f} | {k['sgemv_ns']:,.0f} | {k['sgemv_ns'] / k['panel_ns']:.2f} |")
PY
done
{
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(uptime | sed 's/.*load average/load average/'), with \`scripts/speed_table.sh $repeats\`."
} >> docs/speed-table.md
cat docs/speed-table.md
scripts/precision_speed.sh "$repeats"
