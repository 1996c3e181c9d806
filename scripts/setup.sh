#!/usr/bin/env bash
# Create .venv/ at the repository root and install everything LLaQo needs, CPU or GPU.
# Safe to run again: it only installs what is missing or out of date.
#   bash scripts/setup.sh          # the app, the CLI and the library
#   bash scripts/setup.sh --test   # also Debian's Chromium for the browser test (needs root or sudo)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${pip[@]}" install -r requirements.txt
# Transkun (piano transcription, MIT) ships its weights in the wheel. Its declared dependencies pull in its
# training and CLI tools (tensorboard, seaborn, torch-optimizer, pydub, sox, ncls, moduleconf, soxr), which
# inference through its Python API does not import, hence --no-deps; what it does import (torch, numpy,
# scipy, pretty_midi, mir_eval) is in requirements.txt.
"${pip[@]}" install --no-deps transkun==2.0.1
"${pip[@]}" install --no-deps -e .

if [ "${1:-}" = "--test" ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/fluidsynth ]; }; then
  # Playwright cannot download its own browser here: the browser test drives Debian's Chromium.
  sudo_=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  # FluidSynth and a GM SoundFont: tests/test_compare_perfbench.py renders a performance with a known warp.
  $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq chromium fluidsynth fluid-soundfont-gm >/dev/null
fi
