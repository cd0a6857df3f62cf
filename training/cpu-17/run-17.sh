#!/usr/bin/env bash
# Session 9: blur-last fine-tune of the shipped weights (base, tiny), CPU, niced, one thread each.
cd "$(dirname "$0")/../.."
COMMON="--tasks snow,rain,lowlight,blur --strategy review --rho0 0.5 --share-kind constant --seed-memory \
  --lr 3e-4 --stage-lr-decay 0.85 --stage-weights blur=2,lowlight=1.5 \
  --identity-dark-fraction 0.6 --dark-share blur=0.35 --highpass-weights rain=1,snow=1,lowlight=1 \
  --consolidation-weight 1.5 --consolidation-share 0.5 --seed 17 --crop 128 --pool 1024 --identity-pool 512 \
  --q 256 --val-size 640x360 --val-dark-side 512 --threads 1 --budget-s 4500"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
nice -n 15 /usr/bin/python3 scripts/gpu/train_gpu.py --preset base --init weights/base.json --batch 12 --identity-share 0.25 $COMMON --out training/cpu-17/base-17.json > training/cpu-17/base-17.log 2>&1 &
nice -n 15 /usr/bin/python3 scripts/gpu/train_gpu.py --preset tiny --init weights/tiny.json --batch 8 --identity-share 0.3 $COMMON --out training/cpu-17/tiny-17.json > training/cpu-17/tiny-17.log 2>&1 &
wait
