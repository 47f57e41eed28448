#!/usr/bin/env bash
# Installs the Debian packages sequnet needs, if any are missing.
#   scripts/install-deps.sh          build + run: libsndfile, OpenBLAS, libsamplerate,
#                                    FluidSynth and the GM soundfont (piano-roll rendering)
#   scripts/install-deps.sh --tools  also PyTorch (CPU), SciPy (.mat files) for the Python reference tools,
#                                    and Chromium for the browser test of `sequnet serve`
#   scripts/install-deps.sh --data   also the fluidsynth command and sox (training data)
set -euo pipefail
packages=(pkg-config libsndfile1-dev libopenblas-dev libsamplerate0-dev libfluidsynth-dev fluid-soundfont-gm)
for arg in "$@"; do
  case "$arg" in
    --tools) packages+=(python3 python3-torch python3-numpy python3-scipy chromium) ;;
    --data) packages+=(fluidsynth fluid-soundfont-gm sox python3-pip) ;;
    *) echo "install-deps.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
