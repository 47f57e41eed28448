#!/usr/bin/env bash
# The paper's music systems, from trained state dicts to what the repository
# ships: models/{jsb,nottingham}-{sequnet,tcn}.safetensors (with the data
# set's step duration recorded), their test NLL from `sequnet score` next to
# tools/eval_music.py's PyTorch figure for the same file, their streaming
# speed, and samples/ (a generated JSB chorale and a Nottingham tune from
# each Seq-U-Net: MIDI, WAV and a piano-roll picture). Writes
# docs/music-table.md.
#   scripts/music_models.sh            (after `make train-music`)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/usr/bin/python3}
swift build -c release >&2
bin=.build/release/sequnet
training=models/training/music
# Seconds per step when played: JSB's rolls step once a quarter note (about 60
# steps a chorale); Nottingham's tunes twice as fast relative to their length.
declare -A step=([jsb]=0.5 [nottingham]=0.25)
declare -A paper=([jsb-tcn]=8.154 [jsb-sequnet]=8.173 [nottingham-tcn]=2.783 [nottingham-sequnet]=2.97)
declare -A target=([jsb]=8.25 [nottingham]=3.10)

{
  echo "| data set | model | parameters | paper test NLL | our test NLL (sequnet score) | PyTorch eval of the same file | target | budget | frames/s (1 thread) |"
  echo "|---|---|---|---|---|---|---|---|---|"
} > docs/music-table.md
for data in jsb nottingham; do
  for family in sequnet tcn; do
    name=$data-$family
    state=$training/$name.best.state.pt
    [ -e "$state" ] || { echo "skipping $name: no $state" >&2; continue; }
    "$bin" convert "$state" "models/$name.safetensors" --step-duration "${step[$data]}"
    swift_nll=$("$bin" score -m "models/$name.safetensors" "datasets/music/${data}_test.txt" | awk '{print $1}')
    torch_nll=$("$python" tools/eval_music.py "$state" --data "$data" --split test | head -n 1 | awk '{print $1}')
    speed=$("$bin" bench -m "models/$name.safetensors" --repeats 3 --no-replay --json \
      | "$python" -c 'import json,sys; print(round(json.load(sys.stdin)["samples_per_second"]))')
    params=$("$bin" info -m "models/$name.safetensors" --json | "$python" -c 'import json,sys; print(json.load(sys.stdin)["parameters"])')
    budget=$("$python" - "$training/$name.result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("%d epochs (best %d), %.0f min, lr %g" % (r["epochs_run"], r["best_epoch"], r["wall_minutes"], r["lr"]))
PY
)
    echo "| $data | $family | $params | ${paper[$name]} | $swift_nll | $torch_nll | <= ${target[$data]} | $budget | $speed |" >> docs/music-table.md
  done
done
echo >> docs/music-table.md
echo "Made by \`scripts/music_models.sh\` on $(date -u +%Y-%m-%d); NLL in nats per predicted frame over the whole test split, frame-weighted as the paper reports it." >> docs/music-table.md

# Samples: a chorale and a tune from each Seq-U-Net, seeded, at temperature 1.
for data in jsb nottingham; do
  model=models/$data-sequnet.safetensors
  [ -e "$model" ] || continue
  steps=$([ "$data" = jsb ] && echo 64 || echo 128)
  for ext in mid wav txt; do
    "$bin" generate -m "$model" --steps "$steps" --seed 1 -o "samples/$data-sequnet.$ext"
  done
  "$python" tools/plot_pianoroll.py "samples/$data-sequnet.txt" -o "samples/$data-sequnet.png" \
    --title "$data-sequnet.safetensors, $steps generated steps, seed 1"
done
cat docs/music-table.md
