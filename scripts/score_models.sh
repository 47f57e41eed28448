#!/usr/bin/env bash
# Scores the bundled models on the held-out test pieces with `sequnet score`,
# on exactly the classes the baselines use (data/test.u8, decoded losslessly
# to a float WAV). Both models run at once, one per core.
# Writes models/scores/NAME.json.
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
cat models/scores/*.json
