#!/usr/bin/env bash
# Second GPU session of 2026-11-26 (what was left of the 15 minutes): a second Review Learning pass over
# the four tasks from the first pass's weights (training/gpu/*.json), with a larger review share
# (constant 0.75) and memory (Q = 1024); plus a mixed continuation of base as a reference.
set -u
OUT=${OUT:-/tmp/simpleir-gpu}
BUDGET=${BUDGET:-220}
mkdir -p "$OUT"
LOG="$OUT/train2.log"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
run() {
  local name=$1; shift
  python3 scripts/gpu/train_gpu.py --budget-s "$BUDGET" --threads 2 --out "$OUT/$name.json" "$@" >> "$LOG" 2>&1 &
}
T=snow,blur,rain,lowlight
S="--stage-weights blur=2 --stage-lr-decay 0.7 --lr 1e-3 --q 1024 --rho0 0.75 --share-kind constant --seed 3"
run base-pass2 --preset base --tasks $T --strategy review --init training/gpu/base.json $S
run tiny-pass2 --preset tiny --tasks $T --strategy review --init training/gpu/tiny.json $S
run base-llfirst-pass2 --preset base --tasks lowlight,snow,rain,blur --strategy review --init training/gpu/base-llfirst.json $S
run base-mixed2 --preset base --tasks $T --strategy mixed --init training/gpu/base.json --lr 1e-3 --seed 3
wait
ls -la "$OUT" >> "$LOG"
