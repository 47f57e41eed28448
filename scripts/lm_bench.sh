#!/usr/bin/env bash
# Tokens per second and per-token latency of the paper-size Penn Treebank
# language models (random weights; the paper's sizes, tools/lm_models.py
# PAPER_CONFIGS), one stream, fp32, one thread. Writes docs/lm-bench.md.
#   scripts/lm_bench.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
swift build -c release >&2
bin=.build/release/sequnet
mkdir -p docs/lm-bench
models=(
  "characters, Seq-U-Net|sequnet-plain:vocabulary=49,embedding=100,features=390,levels=4,kernel=3"
  "characters, TCN|tcn:vocabulary=49,embedding=100,features=600,levels=4,kernel=3"
  "words, Seq-U-Net|sequnet-plain:vocabulary=10000,embedding=600,features=390,levels=4,kernel=3"
  "words, TCN|tcn:vocabulary=10000,embedding=600,features=600,levels=4,kernel=3"
)
{
  echo "| model | parameters | tokens/s | p50 / p99 / max latency (us) |"
  echo "|---|---|---|---|"
} > docs/lm-bench.md
for entry in "${models[@]}"; do
  name=${entry%%|*}; spec=${entry#*|}
  slug=$(printf '%s' "$name" | tr -c 'a-zA-Z0-9' '_')
  echo "== $name: $spec" >&2
  "$bin" bench --arch "$spec" --repeats "$repeats" --no-replay --json > "docs/lm-bench/$slug.json"
  python3 - "docs/lm-bench/$slug.json" "$name" "$spec" >> docs/lm-bench.md <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); l = r["latency_us"]
print(f"| {sys.argv[2]} (`{sys.argv[3]}`) | {r['parameters'] / 1e6:.1f} M | {r['samples_per_second']:,.0f} "
      f"| {l['p50']:.0f} / {l['p99']:.0f} / {l['max']:.0f} |")
PY
done
echo >> docs/lm-bench.md
python3 -c "import json,glob,sys; print(\"Machine: \" + json.load(open(sorted(glob.glob(\"docs/lm-bench/*.json\"))[0]))[\"machine\"] + \"; one stream, fp32, one thread, \" + sys.argv[1] + \" repeats, medians.\")" "$repeats" >> docs/lm-bench.md
cat docs/lm-bench.md
