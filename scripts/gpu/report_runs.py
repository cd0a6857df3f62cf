#!/usr/bin/env python3
"""Tables of the `report` of train_gpu.py runs (issue 15's measures) and which runs meet its targets.

Plain Python (no PyTorch): runs on the GPU machine at the end of run-device-15.sh and here, on the JSONs
that came back, to choose the run to import.

  python3 scripts/gpu/report_runs.py OUT/*.json            # markdown tables, initial -> final weights
  python3 scripts/gpu/report_runs.py --json OUT/*.json      # the targets met per run, as JSON

Targets (issue 15, parts 2-4): identity worst PSNR >= 35 dB on the clean validation and the dark held-out
photographs; blur never worse than the input by more than 0.2 dB (worst photo) at any strength, on both;
high-pass gain >= +5 dB on rain and snow at strength 1 (asked of `base`); and the low-light gain at
strength 1 not more than 1 dB below the initial weights' (the fine-tune must not trade it away).
"""
from __future__ import annotations

import json
import sys


def load(path: str) -> dict:
    with open(path) as f:
        run = json.load(f)
    if run.get("format") != "simpleir-torch-run":
        raise SystemExit(f"{path} is not a run of scripts/gpu/train_gpu.py")
    if not run.get("report") or not run["report"].get("init"):
        raise SystemExit(f"{path} has no report (a run of train_gpu.py from before issue 15's options)")
    return run


def top(per_strength: dict) -> dict:
    return per_strength[max(per_strength, key=float)]


def targets(run: dict) -> dict[str, bool | None]:
    """Each target: True (met), False (missed), None (not measured: the run ended before its final report)."""
    r, init = run["report"]["final"], run["report"]["init"]
    if r is None:
        return {k: None for k in ("identity", "blur", "highpass", "lowlight")}
    tasks, dark = r["tasks"], r["darkTasks"]
    blur_worst = [v["worstGain"] for per in (tasks.get("blur", {}), dark.get("blur", {})) for v in per.values()]
    hp = [top(tasks[t])["highpassGain"] for t in ("rain", "snow") if t in tasks]
    ll = "lowlight" in tasks and "lowlight" in init["tasks"]
    return {
        "identity": min(v["worstPsnr"] for v in r["identity"].values()) >= 35,
        "blur": bool(blur_worst) and min(blur_worst) >= -0.2,
        "highpass": bool(hp) and min(hp) >= 5,
        "lowlight": (top(tasks["lowlight"])["gain"] >= top(init["tasks"]["lowlight"])["gain"] - 1) if ll else None,
    }


def table(run: dict) -> str:
    rep = run["report"]
    rows = [f"### {run['name']} ({run['preset']}, {run['steps']} steps, {run['seconds']:.0f} s on {run['device']})", "",
            "| set | task | strength | gain init -> final (dB) | worst photo | high-pass gain | SSIM final (degraded) |",
            "|---|---|---:|---:|---:|---:|---:|"]
    final = rep["final"] or {}
    for key, label in (("tasks", "val"), ("darkTasks", "dark")):
        for task, per in rep["init"][key].items():
            for s, v in per.items():
                f = final.get(key, {}).get(task, {}).get(s)
                fin = lambda k, fmt: format(f[k], fmt) if f else "-"
                rows.append(f"| {label} | {task} | {s} | {v['gain']:+.2f} -> {fin('gain', '+.2f')} | {v['worstGain']:+.2f} -> {fin('worstGain', '+.2f')} "
                            f"| {v['highpassGain']:+.2f} -> {fin('highpassGain', '+.2f')} | {fin('ssim', '.3f')} ({v['ssimDegraded']:.3f}) |")
    for key, v in rep["init"]["identity"].items():
        f = final.get("identity", {}).get(key)
        rows.append(f"| {key} | identity | - | worst {v['worstPsnr']:.2f} -> {f['worstPsnr'] if f else float('nan'):.2f} dB, "
                    f"mean {v['meanPsnr']:.2f} -> {f['meanPsnr'] if f else float('nan'):.2f} dB | level shift max "
                    f"{max(v['levelShift'], key=abs):+.3f} -> {max(f['levelShift'], key=abs) if f else float('nan'):+.3f} | | |")
    met = targets(run)
    rows += ["", "targets: " + ", ".join(f"{k} {'met' if ok else 'missed' if ok is False else 'not measured'}" for k, ok in met.items()), ""]
    return "\n".join(rows)


def main(argv: list[str]) -> None:
    as_json = "--json" in argv
    paths = [p for p in argv if p != "--json"]
    if not paths:
        raise SystemExit(__doc__)
    runs = [load(p) for p in paths]
    if as_json:
        print(json.dumps({r["name"]: targets(r) for r in runs}, indent=1))
    else:
        print("\n".join(table(r) for r in runs))


if __name__ == "__main__":
    main(sys.argv[1:])
