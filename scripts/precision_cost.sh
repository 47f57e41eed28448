#!/usr/bin/env bash
# What each weight precision costs, for the README's precision table:
#  - on every golden fixture, the next-sample distribution in bf16 and int8
#    against fp32 (mean and max KL divergence over the fixture's rows, in
#    bits), from `sequnet logits`, plus fp32's own distance to the reference;
#  - on the bundled models, bits/sample on all held-out test pieces
#    (data/test.wav, made by `make data`) in each precision, from `sequnet score`.
# Writes docs/precision-table.md and the raw files under docs/precision/.
#   scripts/precision_cost.sh            both parts
#   SKIP_SCORE=1 scripts/precision_cost.sh   the fixtures only (seconds, no data needed)
#   RESCORE=1 scripts/precision_cost.sh      score again even where a score is written
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/usr/bin/python3}
swift build -c release >&2
bin=.build/release/sequnet
out=docs/precision          # score JSON, kept
logits=$(mktemp -d)         # fixture logits, not kept
trap 'rm -rf "$logits"' EXIT
mkdir -p "$out"
precisions=(fp32 bf16 int8)

for fixture in sequnet_c16_l4_d1_k5 sequnet_c24_l5_d2_k3 wavenet_l4_b2_r16_d16_s32; do
  layers=$("$python" -c "import json; print(json.load(open('Tests/Fixtures/$fixture.json')).get('layers', ''))")
  extra=()
  [ -n "$layers" ] && extra=(--wavenet-layers "$layers")
  for p in "${precisions[@]}"; do
    "$bin" logits -m "Tests/Fixtures/$fixture.pt" "${extra[@]}" --precision "$p" \
      --prompt-classes "Tests/Fixtures/$fixture.prompt.u8" --feed-classes "Tests/Fixtures/$fixture.steps.u8" \
      -o "$logits/$fixture.$p.f32" 2>/dev/null
  done
done

if [ -z "${SKIP_SCORE:-}" ]; then
  [ -f data/test.u8 ] || { echo "precision_cost.sh: data/test.u8 is missing: run 'make data' first" >&2; exit 1; }
  # The exact test classes, decoded losslessly to a float WAV (as scripts/score_models.sh does).
  [ -f data/test.wav ] || "$python" tools/u8_to_wav.py data/test.u8 data/test.wav
  # Two runs at a time, one per core. A score already written is kept unless RESCORE=1.
  running=0
  for model in sequnet-piano wavenet-piano; do
    for p in "${precisions[@]}"; do
      file="$out/$model.$p.score.json"
      [ -s "$file" ] && [ -z "${RESCORE:-}" ] && continue
      "$bin" score -m "models/$model.safetensors" --precision "$p" data/test.wav --json > "$file" &
      running=$((running + 1))
      if [ "$running" -eq 2 ]; then wait; running=0; fi
    done
  done
  wait
fi

"$python" - "$out" "$logits" "${SKIP_SCORE:-}" > docs/precision-table.md <<'PY'
import json, os, sys
import numpy as np
out, logits, skip = sys.argv[1], sys.argv[2], sys.argv[3]
def logsoftmax(x):
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))
print("| golden fixture | rows | fp32 vs reference: max abs logit diff | bf16 vs fp32: mean / max KL (bits) | int8 vs fp32: mean / max KL (bits) | int8: max abs logit diff |")
print("|---|---|---|---|---|---|")
for f in ["sequnet_c16_l4_d1_k5", "sequnet_c24_l5_d2_k3", "wavenet_l4_b2_r16_d16_s32"]:
    ref = np.fromfile(f"Tests/Fixtures/{f}.logits.f32", dtype="<f4").reshape(-1, 256)
    lp = {p: logsoftmax(np.fromfile(f"{logits}/{f}.{p}.f32", dtype="<f4").reshape(-1, 256).astype(np.float64)) for p in ["fp32", "bf16", "int8"]}
    raw = {p: np.fromfile(f"{logits}/{f}.{p}.f32", dtype="<f4").reshape(-1, 256) for p in ["fp32", "int8"]}
    def kl(p):  # KL(fp32 || p) per row, in bits
        return (np.exp(lp["fp32"]) * (lp["fp32"] - lp[p])).sum(axis=1) / np.log(2)
    kb, ki = kl("bf16"), kl("int8")
    print(f"| {f} | {len(ref)} | {np.abs(raw['fp32'] - ref).max():.2e} | {kb.mean():.2e} / {kb.max():.2e} | "
          f"{ki.mean():.2e} / {ki.max():.2e} | {np.abs(raw['int8'] - raw['fp32']).max():.2e} |")
if not skip:
    print()
    print("| bundled model | fp32 bits/sample | bf16 bits/sample (cost) | int8 bits/sample (cost) | test audio |")
    print("|---|---|---|---|---|")
    for m in ["sequnet-piano", "wavenet-piano"]:
        s = {p: json.load(open(f"{out}/{m}.{p}.score.json")) for p in ["fp32", "bf16", "int8"]}
        b = {p: s[p]["bits_per_sample"] for p in s}
        print(f"| {m} | {b['fp32']:.4f} | {b['bf16']:.4f} ({b['bf16'] - b['fp32']:+.4f}) | {b['int8']:.4f} ({b['int8'] - b['fp32']:+.4f}) | "
              f"{s['fp32']['samples']:,} samples ({s['fp32']['seconds'] / 60:.1f} min) |")
print()
print("Written by `scripts/precision_cost.sh`; KL is KL(fp32 || reduced) of the next-sample distribution.")
PY
cat docs/precision-table.md
