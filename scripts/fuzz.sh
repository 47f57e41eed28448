#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (with AddressSanitizer) and runs each
# for a while, one at a time, at low priority. Usage:
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 600, all four)
# Targets: torch_zip torch_legacy safetensors pickle model_load prompt_reader. Each run starts from
# Fuzz/corpus/<target>/ (seeds, committed) and grows Fuzz/work/<target>/
# (git-ignored); crashes land in Fuzz/crashes/<target>/ and the script exits
# non-zero. Logs and a summary line per target go to Fuzz/logs/.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(torch_zip torch_legacy safetensors pickle model_load prompt_reader)

product() {
    case $1 in
        torch_zip) echo FuzzTorchZip ;; torch_legacy) echo FuzzTorchLegacy ;;
        safetensors) echo FuzzSafetensors ;; pickle) echo FuzzPickle ;;
        model_load) echo FuzzModelLoad ;; prompt_reader) echo FuzzPromptReader ;;
        *) echo "unknown target $1" >&2; exit 64 ;;
    esac
}

# Only the products asked for: the checkpoint targets then build even when
# the engine's sources (FuzzModelLoad's) do not, and less CPU is spent.
for target in "${targets[@]}"; do
    nice -n 5 swift build -c release -Xswiftc -sanitize=fuzzer,address --product "$(product "$target")" 2>&1 \
        | grep -E "error|Compiling|Build" || true
done
mkdir -p logs
status=0
for target in "${targets[@]}"; do
    exe=.build/release/$(product "$target")
    mkdir -p "work/$target" "crashes/$target"
    log=logs/$target.log
    echo "fuzzing $target for $seconds s (log $log)"
    # -rss_limit_mb: a reader that balloons is a finding too (the default 2 GB
    # is kept explicit); -timeout flags any input that takes over 10 s.
    if ! nice -n 5 "$exe" "work/$target" "corpus/$target" -max_total_time="$seconds" \
            -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
            -artifact_prefix="crashes/$target/" > "$log" 2>&1; then
        echo "  FOUND A CRASH: see $log and crashes/$target/"
        status=1
    fi
    # A run that stops on a finding prints no final stats: take the last status line.
    runs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{print $2}' || true)
    [ -n "$runs" ] || runs=$(grep -oE "^#[0-9]+" "$log" | tail -1 | tr -d '#' || true)
    cov=$(grep -oE "cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+" "$log" | tail -1 || true)
    echo "$(date -u +%FT%TZ) $target seconds=$seconds executions=${runs:-?} ${cov:-} status=$status" | tee -a logs/summary.txt
done
exit $status
