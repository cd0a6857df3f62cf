#!/usr/bin/env bash
# Session 10: from the shipped weights; session 9's recipe plus smooth dusky samples (a blurred overcast
# sky is not low light): 30 % of the blur pool degraded from smooth_dusky crops, 20 % of the identity pool.
cd "$(dirname "$0")/../.."
COMMON="--tasks snow,rain,lowlight,blur --strategy review --rho0 0.5 --share-kind constant --seed-memory \
  --lr 3e-4 --stage-lr-decay 0.85 --stage-weights snow=0.3,blur=2,lowlight=1.5 \
  --identity-dark-fraction 0.25 --identity-night-fraction 0.35 --identity-smooth-fraction 0.2 --identity-zoom 1,6 \
  --dark-share blur=0.25 --smooth-share blur=0.3 --highpass-weights rain=1,snow=1,lowlight=1 \
  --consolidation-weight 1.5 --consolidation-share 0.5 --seed 19 --crop 128 --pool 1024 --identity-pool 512 \
  --q 256 --val-size 640x360 --val-dark-side 512 --threads 1 --budget-s 4300"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
nice -n 15 /usr/bin/python3 scripts/gpu/train_gpu.py --preset base --init weights/base.json --batch 12 --identity-share 0.25 $COMMON --out training/cpu-18/base-19.json > training/cpu-18/base-19.log 2>&1 &
nice -n 15 /usr/bin/python3 scripts/gpu/train_gpu.py --preset tiny --init weights/tiny.json --batch 8 --identity-share 0.3 $COMMON --out training/cpu-18/tiny-19.json > training/cpu-18/tiny-19.log 2>&1 &
wait
