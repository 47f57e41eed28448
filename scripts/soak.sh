#!/usr/bin/env bash
# Long-run check: streams SECONDS of audio (default 3600) from a model at full
# speed and watches it. Usage:
#   scripts/soak.sh [-m MODEL] [-s SECONDS] [-o OUTDIR] [-i INTERVAL]
# Default model: the bundled default (models/sequnet-piano.safetensors).
#
# - `sequnet stream` checks every sample's logits and stops with an error on
#   a NaN or infinity, so a clean exit (status 0) means none occurred;
# - the reader at the other end of the pipe counts the bytes, which must be
#   exactly 2 x 16000 x SECONDS;
# - resident memory (VmRSS of /proc/PID/status) is sampled every INTERVAL
#   seconds (default 5) into OUTDIR/rss.csv.
# At the end it prints the start and end RSS, the largest, and whether it
# stayed flat (end within 1 MB of the first sample after warm-up), and writes
# the same to OUTDIR/summary.txt. Exit status 0 only if all checks hold.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=""; seconds=3600; outdir=""; interval=5
while getopts "m:s:o:i:" opt; do
    case $opt in
        m) model=$OPTARG ;; s) seconds=$OPTARG ;; o) outdir=$OPTARG ;; i) interval=$OPTARG ;;
        *) echo "usage: $0 [-m MODEL] [-s SECONDS] [-o OUTDIR] [-i INTERVAL]" >&2; exit 64 ;;
    esac
done
bin=${SEQUNET_BINARY:-$root/.build/release/sequnet}
[ -x "$bin" ] || { echo "no sequnet at $bin: run 'swift build -c release' or set SEQUNET_BINARY" >&2; exit 1; }
outdir=${outdir:-$root/scripts/soak-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$outdir"
args=(stream --seconds "$seconds")
[ -n "$model" ] && args+=(-m "$model")

fifo=$outdir/.bytes
rm -f "$fifo"
echo "soak: $bin ${args[*]} -> $outdir" | tee "$outdir/summary.txt"
start=$(date +%s)
# The reader counts bytes as they arrive (like a player would consume them).
( "$bin" "${args[@]}" 2> "$outdir/stream.stderr"; echo $? > "$outdir/.status" ) | wc -c > "$fifo" &
pipeline=$!
# Find the sequnet process of the pipeline.
pid=""
for _ in $(seq 100); do
    pid=$(pgrep -n -f -- "$bin ${args[*]}" || true)
    [ -n "$pid" ] && break
    sleep 0.1
done
echo "elapsed_s,rss_kb" > "$outdir/rss.csv"
while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    [ -n "$rss" ] && echo "$(( $(date +%s) - start )),$rss" >> "$outdir/rss.csv"
    sleep "$interval"
done
wait $pipeline
elapsed=$(( $(date +%s) - start ))
status=$(cat "$outdir/.status" 2>/dev/null || echo "?")
bytes=$(cat "$fifo" 2>/dev/null | tr -d ' ')
expected=$(( 2 * 16000 * seconds ))
rm -f "$fifo" "$outdir/.status"

# Skip the first minute (or first quarter of a short run) as warm-up.
awk -F, -v warm=$(( seconds < 240 ? elapsed / 4 : 60 )) -v status="$status" -v bytes="$bytes" \
    -v expected="$expected" -v elapsed="$elapsed" -v seconds="$seconds" '
    NR == 1 { next }
    { if (first == "") first = $2; last = $2; if ($2 > peak) peak = $2
      if (warmed == "" && $1 >= warm) warmed = $2 }
    END {
        if (warmed == "") warmed = first
        flat = (last - warmed <= 1024)
        printf "streamed %d s of audio in %d s (%.2fx real time)\n", seconds, elapsed, seconds / (elapsed > 0 ? elapsed : 1)
        printf "bytes received %s (expected %d): %s\n", bytes, expected, bytes == expected ? "ok" : "MISMATCH"
        printf "sequnet exit status %s: %s\n", status, status == 0 ? "ok (no NaN or infinite logit)" : "FAILED"
        printf "RSS start %d kB, after warm-up %d kB, end %d kB, peak %d kB: %s\n", first, warmed, last, peak, flat ? "flat" : "GREW"
        exit !(flat && status == 0 && bytes == expected)
    }' "$outdir/rss.csv" | tee -a "$outdir/summary.txt"
result=${PIPESTATUS[0]}
tail -n 3 "$outdir/stream.stderr" >> "$outdir/summary.txt"
exit $result
