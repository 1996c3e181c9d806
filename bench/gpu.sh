#!/usr/bin/env bash
# The one prepared GPU benchmark (at most ~9.5 minutes on one H100/H200, inside one 10-minute device command),
# for a lent GPU machine:
# a random-weight model of Vicuna-7B's exact shape (built from config, no download) with AudioMAE
# ViT-B and the BERT-mini Q-Former, loaded through the real loading code. It measures time to first
# token for a 10 s clip, greedy tokens/s against bare generate, faithful beam-5 latency, peak GPU
# memory at fp16 and with a 4-bit LLM, a static cache with torch.compile, and batching: 8 concurrent
# greedy answers batched vs one after another, a whole scan of a 3-minute take batched vs window by
# window (the batching result comes first in "results"). Writes JSON to $OUT
# (or bench/out). Needs torch and transformers; it installs the `gpu` extra of pyproject.toml
# (bitsandbytes) when missing and runs the quantized tests (pytest -m gpu) first. Last, when transkun is
# installed, the Lite coach's transcriber on the GPU at fp32, TF32 and bf16 (bench/transcribe_speed.py).
#
#   bash bench/gpu.sh                       # on the GPU machine
#   SIZE=tiny DEVICE=cpu bash bench/gpu.sh  # end to end on a CPU in seconds
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-7b}
DEVICE=${DEVICE:-cuda}
OUT_DIR=${OUT:-bench/out}
mkdir -p "$OUT_DIR"
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

quant=(none)
extra=()
if [ "$DEVICE" != cpu ]; then
  if ! "$PYTHON" -c "import bitsandbytes" 2>/dev/null; then
    gpu_extra=$("$PYTHON" -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["gpu"])')
    "$PYTHON" -m pip install -q $gpu_extra || echo "could not install $gpu_extra"
  fi
  if "$PYTHON" -c "import bitsandbytes" 2>/dev/null; then
    quant+=(4bit)
    timeout 90 "$PYTHON" -m pytest -q -m gpu -p no:cacheprovider tests/test_coach.py | tee "$OUT_DIR/gpu-tests.txt" || true
  else
    echo "bitsandbytes missing: no 4-bit run, no quantized tests"
  fi
  extra+=(--compile)
fi
timeout 380 "$PYTHON" bench/engine.py --size "$SIZE" --device "$DEVICE" --quantization "${quant[@]}" \
  --new-tokens 64 --repeats 3 --beam "${extra[@]}" --what engine batching --scan-seconds 180 \
  --out "$OUT_DIR/gpu-$SIZE-$DEVICE.json" || echo "engine benchmark stopped: its printed results above stand"
echo "wrote $OUT_DIR/gpu-$SIZE-$DEVICE.json"
if "$PYTHON" -c "import transkun" 2>/dev/null; then
  minutes=(0.5 3)
  [ "$SIZE" = tiny ] && minutes=(0.2)
  timeout 100 "$PYTHON" bench/transcribe_speed.py --device "$DEVICE" --minutes "${minutes[@]}" --repeats 2 \
    --precision fp32 tf32 bf16 --out "$OUT_DIR/transkun-$DEVICE.json" || echo "transcriber benchmark stopped"
fi
