#!/usr/bin/env bash
# How noisy are the bundled models' continuations at each sampling temperature?
#
# For every model and temperature: continue the first 2 s of three held-out test
# pieces for 4 s, with two seeds each (SEEDS="1 2 3 4" for more); then
# tools/audio_stats.py measures the continuations alone (spectral flatness: ~0.007
# for the real test pieces, higher is hissier; rows for the test pieces with white
# noise added say how much hiss a flatness means; in_tune, whether the partials
# under it sit on the training data's equal-tempered pitches). Prints one row per model and
# temperature (medians over the continuations) and writes them to
# models/scores/temperature-sweep.txt.
#
# usage: scripts/temperature_sweep.sh [TEMPERATURE...]   (default 1.0 0.95 0.9 0.85 0.8)
#        MODELS="a.safetensors b.safetensors" OUT=file scripts/temperature_sweep.sh   (other models)
#        MIN_P="0 0.05 0.1" scripts/temperature_sweep.sh ...   (each temperature at each min-p; default 0)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/usr/bin/python3}
bin=.build/release/sequnet
[ -x "$bin" ] || swift build -c release
temperatures=("$@")
[ ${#temperatures[@]} -gt 0 ] || temperatures=(1.0 0.95 0.9 0.85 0.8)
mapfile -t pieces < <(ls data/test_wav/*.wav 2>/dev/null | sort | head -n 3)
[ ${#pieces[@]} -eq 3 ] || { echo "error: needs data/test_wav (run make data)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for p in "${!pieces[@]}"; do sox "${pieces[$p]}" "$work/prompt$p.wav" trim 0 2; done

read -r -a min_ps <<< "${MIN_P:-0}"
read -r -a seeds <<< "${SEEDS:-1 2}"
read -r -a models <<< "${MODELS:-models/sequnet-piano.safetensors models/wavenet-piano.safetensors}"
out=${OUT:-models/scores/temperature-sweep.txt}
mkdir -p "$(dirname "$out")"
{
  printf '%-16s %11s %6s %9s %9s %7s %7s\n' model temperature min_p loud flatness hf_db in_tune
  for model in "${models[@]}"; do
    name=$(basename "$model" .safetensors)
    for t in "${temperatures[@]}"; do
      for min_p in "${min_ps[@]}"; do
        rm -f "$work"/gen-*.wav
        for p in "${!pieces[@]}"; do
          for seed in "${seeds[@]}"; do
            "$bin" generate -m "$model" --prompt "$work/prompt$p.wav" --seconds 4 \
              --temperature "$t" --min-p "$min_p" --seed "$seed" -o "$work/gen-$p-$seed.wav" 2>/dev/null
          done
        done
        "$python" tools/audio_stats.py --skip 2 --no-reference "$work"/gen-*.wav |
          awk -v n="$name" -v t="$t" -v m="$min_p" \
            '/^median of these/ {printf "%-16s %11s %6s %9s %9s %7s %7s\n", n, t, m, $(NF-3), $(NF-2), $(NF-1), $NF}'
      done
    done
  done
  # the real test pieces in 4 s windows (the continuations' length), for scale, and the same
  # with white noise added at several SNRs, to read a flatness as a hiss level
  "$python" tools/audio_stats.py --skip 2 --calibrate "$work"/gen-*.wav | sed -n '/^test pieces/,$p'
} | tee "$out"
