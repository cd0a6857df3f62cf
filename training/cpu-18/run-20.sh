#!/usr/bin/env bash
# Session 10, run 20: run 19's consolidation stage undid blur (tiny blur at strength 0: -0.24 after the blur
# stage, -3.31 after consolidation), so: from run 19's weights after its blur stage, the blur stage once more
# (replay of every task from the seeded memory, identity samples), with wider identity views (zoom 2..8: small
# frames show dark textured scenes at a finer scale, taken for low-light noise) and more dark identity crops.
cd "$(dirname "$0")/../.."
COMMON="--tasks snow,rain,lowlight,blur --skip-stages 3 --consolidation-weight 0 --strategy review --rho0 0.5 --share-kind constant --seed-memory \
  --lr 1.8e-4 --stage-weights blur=2 \
  --identity-dark-fraction 0.35 --identity-night-fraction 0.3 --identity-smooth-fraction 0.2 --identity-zoom 2,8 \
  --dark-share blur=0.25 --smooth-share blur=0.3 --highpass-weights rain=1,snow=1,lowlight=1 \
  --seed 20 --crop 128 --pool 1024 --identity-pool 512 --q 256 --val-size 640x360 --val-dark-side 512 --threads 1 --budget-s 1500"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
nice -n 15 /usr/bin/python3 scripts/gpu/train_gpu.py --preset base --init training/cpu-18/base-19-after-blur.json --batch 12 --identity-share 0.3 $COMMON --out training/cpu-18/base-20.json > training/cpu-18/base-20.log 2>&1 &
nice -n 15 /usr/bin/python3 scripts/gpu/train_gpu.py --preset tiny --init training/cpu-18/tiny-19-after-blur.json --batch 8 --identity-share 0.35 $COMMON --out training/cpu-18/tiny-20.json > training/cpu-18/tiny-20.log 2>&1 &
wait
