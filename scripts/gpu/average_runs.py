#!/usr/bin/env python3
"""Weight-space consolidation of two runs of one Review Learning lineage (issue 15, session 12).

    python3 scripts/gpu/average_runs.py A B --alpha 0.4 --out training/cpu-18/base-23.json

writes the run `(1 - alpha) * A + alpha * B`, parameter by parameter, as a train_gpu.py run JSON that
scripts/import-torch-weights.ts imports like any other. A and B are weight manifests (weights/base.json) or
train_gpu.py runs; B must have been fine-tuned from A (directly or through earlier runs), so both lie in one
basin and the straight line between them stays in it (the "WiSE-FT" observation: interpolating a fine-tune
with its starting point keeps what each end is good at, often better than either). Session 12 measured it on
`base`: run 21a (blur at strength 0 -0.18 dB, night-like identity 34.9 dB) and run 22 (night-like 46.7 dB in
its report but blur -0.90) were each short of one target; points between them met both
(docs/review-learning.md, "Session 12").

The result keeps B's replay memory, curve, validation and plan (it is B's lineage, consolidated towards A),
records `average: {a, b, alpha}`, and gets a new parity fixture (a fixed input through the averaged,
float16-rounded weights), so test/torch-parity.test.ts checks the imported file. No report: evaluate the
imported weights with `npm run evaluate`, or run train_gpu.py --report-only --init OUT.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simpleir_torch import parity_fixture, read_weights  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="the earlier weights (manifest or run JSON)")
    ap.add_argument("b", help="a run fine-tuned from A (run JSON: its memory and curve are kept)")
    ap.add_argument("--alpha", type=float, required=True, help="weight of B, in [0, 1]")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if not 0 <= a.alpha <= 1:
        sys.exit(f"--alpha must be in [0, 1], got {a.alpha}")
    cfg_a, wa = read_weights(a.a)
    cfg_b, wb = read_weights(a.b)
    if cfg_a != cfg_b:
        sys.exit(f"{a.a} and {a.b} are different networks ({cfg_a} against {cfg_b}): only runs of one preset average")
    with open(a.b) as f:
        run = json.load(f)
    if run.get("format") != "simpleir-torch-run":
        sys.exit(f"{a.b} is not a train_gpu.py run: B must be one (its replay memory goes into the result)")
    if set(wa) != set(wb):
        sys.exit(f"{a.a} and {a.b} hold different parameters")
    for n, e in run["weights"].items():
        if wa[n].shape != wb[n].shape:
            sys.exit(f"{n}: {wa[n].shape} in {a.a}, {wb[n].shape} in {a.b}")
        v = ((1 - a.alpha) * wa[n].astype(np.float64) + a.alpha * wb[n].astype(np.float64)).astype("<f4")
        if not np.isfinite(v).all():
            sys.exit(f"{n}: the average holds NaN or Inf")
        e["data"] = base64.b64encode(v.tobytes()).decode()

    run["parity"] = parity_fixture(cfg_b, run["weights"])
    run["name"] = os.path.splitext(os.path.basename(a.out))[0]
    run["average"] = {"a": a.a, "b": a.b, "alpha": a.alpha}
    run.pop("report", None)  # B's report is not this network's
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(run, f)
    print(f"wrote {a.out}: {1 - a.alpha:g} x {a.a} + {a.alpha:g} x {a.b}")


if __name__ == "__main__":
    main()
