#!/usr/bin/env bash
# Speed of two builds of sequnet on the README's three speed rows, measured
# alternately in one run (the order flips every round), so that drift in the
# machine's state falls on both alike:
#   scripts/compare_builds.sh OLD_BINARY NEW_BINARY [ROUNDS]
# Prints, per row and build, the median over rounds of `bench`'s
# samples_per_second (each itself the median of 3 repeats), and new/old.
set -euo pipefail
old=${1:?old binary}; new=${2:?new binary}; rounds=${3:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
rows=("paper-sequnet|--arch sequnet:features=180,levels=11,depth=2,kernel=5"
      "paper-wavenet|--arch wavenet:layers=13,blocks=4,residual=128,dilation=128,skip=512"
      "default-model|-m $root/models/sequnet-piano.safetensors")
log=$(mktemp)
for ((r = 1; r <= rounds; r++)); do
  for row in "${rows[@]}"; do
    name=${row%%|*}; args=${row#*|}
    order=("old $old" "new $new")
    (( r % 2 == 0 )) && order=("new $new" "old $old")
    for entry in "${order[@]}"; do
      build=${entry%% *}; binary=${entry#* }
      # shellcheck disable=SC2086
      rate=$("$binary" bench $args --no-replay --repeats 3 --json 2>/dev/null |
             python3 -c 'import json,sys; print(json.load(sys.stdin)["samples_per_second"])')
      echo "$name $build $rate" | tee -a "$log" >&2
    done
  done
done
python3 - "$log" <<'PY'
import sys, statistics
# Lines come in pairs (old and new, back to back, order alternating by round).
rates, ratios, pending = {}, {}, {}
for line in open(sys.argv[1]):
    name, build, rate = line.split()
    rates.setdefault(name, {}).setdefault(build, []).append(float(rate))
    pending.setdefault(name, {})[build] = float(rate)
    if len(pending[name]) == 2:
        ratios.setdefault(name, []).append(pending[name]["new"] / pending[name]["old"])
        pending[name] = {}
rounds = len(next(iter(rates.values()))["old"])
print("%-14s %12s %12s %9s %12s   (samples/s, medians over %d rounds)" % ("row", "old", "new", "new/old", "paired", rounds))
for name, by in rates.items():
    o, n = statistics.median(by["old"]), statistics.median(by["new"])
    print("%-14s %12.0f %12.0f %9.3f %12.3f" % (name, o, n, n / o, statistics.median(ratios[name])))
print("paired: the median over rounds of new/old measured back to back, which a machine's drift between rounds does not move")
PY
