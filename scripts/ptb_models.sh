#!/usr/bin/env bash
# The paper's character-level Penn Treebank systems, from trained state dicts
# to what the repository ships: models/ptb-char-{sequnet,tcn}.safetensors
# (with the vocabulary rebuilt from the PTB files), their test bits per
# character from `sequnet score` (the official windows, and one continuous
# stream) next to PyTorch's evaluation of the same weights
# (NAME.result.json, written by tools/train_lm.py; tools/eval_lm.py gives the
# same), text samples in samples/, and the learning curves. Writes
# docs/ptb-table.md, a row for every family whose score is on record.
#   scripts/ptb_models.sh            (after `make train-lm`: both families)
#   scripts/ptb_models.sh tcn        (ship only the TCN again; the other row is kept)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/usr/bin/python3}
swift build -c release >&2
bin=.build/release/sequnet
training=models/training/ptb
declare -A paper=([sequnet]=1.30 [tcn]=1.31)
ptb=datasets/ptb
{
  echo "| model | parameters | budget | epochs | test bits/char, official windows (\`sequnet score\`) | one continuous stream | PyTorch eval of the same weights | paper | target |"
  echo "|---|---|---|---|---|---|---|---|---|"
} > docs/ptb-table.md
# Both families at once, one core each: scoring a 5.9 M-parameter model over
# the test text, windowed and continuous, is about a million steps.
ship() {
  local family=$1 name=char-$1
  local model=models/ptb-$name.safetensors
  "$bin" convert "$training/$name.best.state.pt" "$model" --token-level characters \
    --vocab-from-text $ptb/ptb.train.txt $ptb/ptb.valid.txt $ptb/ptb.test.txt
  "$bin" score -m "$model" $ptb/ptb.test.txt --json > "$training/$name.score.json"
  for seed in 1 2; do
    "$bin" generate -m "$model" --prompt "the company said" --tokens 400 --seed "$seed" -o "samples/ptb-$name-seed$seed.txt"
  done
}
requested=("$@")
[ ${#requested[@]} -gt 0 ] || requested=(sequnet tcn)
families=()
for family in "${requested[@]}"; do
  case $family in sequnet|tcn) ;; *) echo "ptb_models.sh: unknown family '$family' (sequnet or tcn)" >&2; exit 2 ;; esac
  if [ -e "$training/char-$family.best.state.pt" ]; then families+=("$family"); else echo "skipping char-$family: no best.state.pt" >&2; fi
done
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for family in "${families[@]}"; do ship "$family" & pids+=($!); done
for pid in "${pids[@]}"; do wait "$pid"; done
for family in sequnet tcn; do
  name=char-$family
  [ -e "$training/$name.score.json" ] && [ -e "$training/$name.result.json" ] || continue
  "$python" - "$training/$name.score.json" "$training/$name.result.json" "$family" "${paper[$family]}" >> docs/ptb-table.md <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
restart = r.get("restarted_from")
threads = "one thread" if r["threads"] == 1 else f"{r['threads']} threads"
budget = (f"{r['wall_minutes']:.0f} min over several runs (see models/training/ptb/README.md)" if restart
          else f"{r['wall_minutes']:.0f} min, {threads}")
family = "Seq-U-Net" if sys.argv[3] == "sequnet" else "TCN"
print(f"| {family} (`models/ptb-char-{sys.argv[3]}.safetensors`) | {r['parameters']:,} | {budget} | {r['epochs']:.2f} "
      f"| {s['value']:.4f} | {s['continuous_value']:.4f} | {r['test_bpc']:.4f} | {sys.argv[4]} | <= 1.50 |")
PY
done
echo >> docs/ptb-table.md
echo "Made by \`scripts/ptb_models.sh\` on $(date -u +%Y-%m-%d)." >> docs/ptb-table.md
"$python" tools/plot_lm_curves.py -o $training/curves.svg
cat docs/ptb-table.md
