#!/usr/bin/env bash
# Shows that generation allocates nothing per sample: counts every call to
# glibc's allocators (uprobes via perf; needs root and linux-perf) for a short
# and a 20x longer `sequnet generate`. Equal counts mean the per-sample loop
# (step, sampler, WAV writing) never allocates.
#   scripts/count_allocations.sh [MODEL [EXTRA ARGS...]]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-Tests/Fixtures/sequnet_c24_l5_d2_k3.pt}; shift || true
libc=$(ldconfig -p | awk '/libc.so.6 .*x86-64/ {print $NF; exit}')
for f in malloc calloc realloc posix_memalign aligned_alloc; do
  perf probe -q -x "$libc" "$f" 2>/dev/null || true
done
[ -x .build/release/sequnet ] || swift build -c release >&2
for n in 2000 40000; do
  counts=$(perf stat -x, -e 'probe_libc:*' .build/release/sequnet generate -m "$model" "$@" --samples "$n" -o /tmp/count-allocations.wav 2>&1 \
    | awk -F, '/probe_libc/ {sub("probe_libc:", "", $3); printf "%s=%s ", $3, $1}')
  echo "$n samples: $counts"
done
