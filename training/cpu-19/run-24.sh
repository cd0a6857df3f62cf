#!/usr/bin/env bash
# Session 12, run 24 (`base`, shipped): no training, a weight-space consolidation of two Review Learning runs of
# one lineage: 0.75 x run 21a (session 11's shipped `base`: blur at strength 0 met, night-like identity 34.9 dB)
# + 0.25 x run 22 (from 21a: night-like 46.7 dB in its report, blur -0.90). docs/review-learning.md, "Run on
# this CPU, session 12", has the evaluation along the line (0.25, 0.3, 0.4, 0.5; those three averaged from the
# float16 weights/base.json of commit f24b7cd, i.e. run 21a as shipped) and why 0.25.
cd "$(dirname "$0")/../.."
/usr/bin/python3 scripts/gpu/average_runs.py training/cpu-18/base-21a.json training/cpu-18/base-22.json --alpha 0.25 --out training/cpu-19/base-24.json
# then: npx tsx scripts/import-torch-weights.ts training/cpu-19/base-24.json --name base --parity test/fixtures/torch-parity.json
#       npm run export-onnx
