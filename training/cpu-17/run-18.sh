#!/usr/bin/env bash
# Session 9, run 2: from run 1's snow stage; blur last, night-like and wide-view identity samples.
cd "$(dirname "$0")/../.."
COMMON="--tasks snow,rain,lowlight,blur --strategy review --rho0 0.5 --share-kind constant --seed-memory \
  --lr 3e-4 --stage-lr-decay 0.85 --stage-weights snow=0.3,blur=2,lowlight=1.5 \
  --identity-dark-fraction 0.3 --identity-night-fraction 0.4 --identity-zoom 1,6 --dark-share blur=0.35 \
  --highpass-weights rain=1,snow=1,lowlight=1 \
  --consolidation-weight 1.5 --consolidation-share 0.5 --seed 18 --crop 128 --pool 1024 --identity-pool 512 \
  --q 256 --val-size 640x360 --val-dark-side 512 --threads 1 --budget-s 4100"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
nice -n 15 /usr/bin/python3 scripts/gpu/train_gpu.py --preset base --init training/cpu-17/base-17.json --batch 12 --identity-share 0.25 $COMMON --out training/cpu-17/base-18.json > training/cpu-17/base-18.log 2>&1 &
nice -n 15 /usr/bin/python3 scripts/gpu/train_gpu.py --preset tiny --init training/cpu-17/tiny-17.json --batch 8 --identity-share 0.3 $COMMON --out training/cpu-17/tiny-18.json > training/cpu-17/tiny-18.log 2>&1 &
wait
