#!/usr/bin/env bash
# One GPU session (the device tool's `run`, from the repo root, with `.cache/photos` carried):
# trains the shipped presets with the PyTorch mirror of the Review Learning trainer, several runs in
# parallel on one GPU, each for BUDGET seconds; writes each run's JSON and one combined log to $OUT.
# Then, here: npm run import-torch-weights -- RUN.json --name base --parity test/fixtures/torch-parity.json
set -u
OUT=${OUT:-/tmp/simpleir-gpu}
BUDGET=${BUDGET:-420}
mkdir -p "$OUT"
LOG="$OUT/train.log"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
  ls .cache/photos | wc -l
} >> "$LOG" 2>&1
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
run() {
  local name=$1; shift
  python3 scripts/gpu/train_gpu.py --budget-s "$BUDGET" --threads 2 --out "$OUT/$name.json" "$@" >> "$LOG" 2>&1 &
}
T=snow,blur,rain,lowlight   # the entropy-difference order of the TypeScript trainer on these photos
S="--stage-weights blur=2 --stage-lr-decay 0.7 --q 256"
# The shipped weights: review, share rho_t = 0.6 / (t - 1) (0.6, 0.3, 0.2 after the first stage).
run base --preset base --tasks $T --strategy review --rho0 0.6 $S
run tiny --preset tiny --tasks $T --strategy review --rho0 0.6 $S
# A second review schedule for base (low light first, constant share 0.5), kept if it validates better.
run base-llfirst --preset base --tasks lowlight,snow,rain,blur --strategy review --rho0 0.5 --share-kind constant $S --seed 2
# The baselines at the same budget, for docs/review-learning.md.
run tiny-sequential --preset tiny --tasks $T --strategy sequential $S
run tiny-mixed --preset tiny --tasks $T --strategy mixed $S
wait
nvidia-smi --query-gpu=memory.used --format=csv,noheader >> "$LOG" 2>&1
ls -la "$OUT" >> "$LOG"
