#!/usr/bin/env bash
# The one prepared GPU benchmark, for a lent GPU machine: at most BUDGET_S seconds (9 minutes) in all, inside
# one 10-minute device command; every step has its own cap, and a step that would start too late is skipped.
#
# The model is a random-weight release of Vicuna-7B's exact shape (built from config, no download) with AudioMAE
# ViT-B and the BERT-mini Q-Former, written once (RELEASE) and loaded through the real loading code. In order:
#   1. bench/engine.py --what kv_cache: the dynamic KV cache (eager) against the static one (its decoding step
#      compiled by transformers), at batch 1 and 8, the pipeline against bare generate on the same inputs
#      (tokens/s per answer and in total, time to first token), the warm-up at load and each configuration's
#      first run, and the whole-recording scan of a 3-minute take with each cache;
#   2. bench/memory.py, each configuration in a fresh process: one answer, 8 concurrent answers and the
#      3-minute scan, at fp16 and with a 4-bit LLM (weights, KV cache, activations, peak);
#   3. in the time left, the CUDA tests (pytest -m gpu: the compiled static cache, the 8-bit and 4-bit LLM).
# It installs the `gpu` extra of pyproject.toml (bitsandbytes) when missing, as before; the machine reaches no
# registry, so it carries what it needs. ALSO="batching transkun" adds the earlier engine and batching
# measurements and the Lite transcriber at fp32/TF32/bf16: they were measured on 2026-11-28
# (bench/RESULTS.md) and do not fit the 9 minutes with the rest.
#
#   bash bench/gpu.sh                       # on the GPU machine; results in $OUT (or bench/out)
#   SIZE=tiny DEVICE=cpu bash bench/gpu.sh  # end to end on a CPU
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-7b}
DEVICE=${DEVICE:-cuda}
OUT_DIR=${OUT:-bench/out}
BUDGET_S=${BUDGET_S:-540}
ALSO=${ALSO:-}
RELEASE=${RELEASE:-${TMPDIR:-/tmp}/llaqo-release-$SIZE}
mkdir -p "$OUT_DIR"
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
start=$SECONDS

# step CAP COMMAND...: runs COMMAND for at most CAP seconds and never past the budget; a failure is reported,
# not fatal, so that the later steps still run.
step() {
  local cap=$1 left=$(( BUDGET_S - (SECONDS - start) ))
  shift
  (( left < cap )) && cap=$left
  if (( cap < 15 )); then
    echo "== skipped, out of time: $*"
    return 0
  fi
  echo "== [$(( SECONDS - start )) s] $* (at most $cap s)"
  timeout "$cap" "$@" || echo "== stopped or failed (status $?): $*"
}

quant=(none)
if [ "$DEVICE" != cpu ]; then
  if ! "$PYTHON" -c "import bitsandbytes" 2>/dev/null; then
    gpu_extra=$("$PYTHON" -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["gpu"])')
    "$PYTHON" -m pip install -q $gpu_extra || echo "could not install $gpu_extra"
  fi
  if "$PYTHON" -c "import bitsandbytes" 2>/dev/null; then
    quant+=(4bit)
  else
    echo "bitsandbytes missing: no 4-bit runs"
  fi
fi
engine=("$PYTHON" bench/engine.py --size "$SIZE" --release "$RELEASE" --device "$DEVICE")

step 150 "${engine[@]}" --what release
step 270 "${engine[@]}" --what kv_cache --new-tokens 128 --repeats 3 --batches 1 8 --scan-seconds 180 \
  --out "$OUT_DIR/kv-cache-$SIZE-$DEVICE.json"
memory="$OUT_DIR/memory-$SIZE-$DEVICE.jsonl"
rm -f "$memory"
for case in one batch8 scan; do
  for q in "${quant[@]}"; do
    step 60 "$PYTHON" bench/memory.py --size "$SIZE" --release "$RELEASE" --device "$DEVICE" --quantization "$q" \
      --case "$case" --new-tokens 64 --out "$memory"
  done
done
echo "wrote $OUT_DIR/kv-cache-$SIZE-$DEVICE.json and $memory"

if [ "$DEVICE" != cpu ]; then  # last, in whatever time is left: the CUDA tests (static cache, 8-bit, 4-bit)
  step 90 "$PYTHON" -m pytest -q -m gpu -p no:cacheprovider tests/test_coach.py
fi
if [[ " $ALSO " == *" batching "* ]]; then
  step 380 "${engine[@]}" --quantization "${quant[@]}" --new-tokens 64 --repeats 3 --beam --what engine batching \
    --scan-seconds 180 --out "$OUT_DIR/gpu-$SIZE-$DEVICE.json"
fi
if [[ " $ALSO " == *" transkun "* ]] && "$PYTHON" -c "import transkun" 2>/dev/null; then
  minutes=(0.5 3)
  [ "$SIZE" = tiny ] && minutes=(0.2)
  step 100 "$PYTHON" bench/transcribe_speed.py --device "$DEVICE" --minutes "${minutes[@]}" --repeats 2 \
    --precision fp32 tf32 bf16 --out "$OUT_DIR/transkun-$DEVICE.json"
fi
echo "== done in $(( SECONDS - start )) s"
