"""Review Learning on a GPU: the PyTorch mirror of src/core/review/trainer.ts for borrowed GPU machines.

Same method as the TypeScript trainer (which stays the reference): tasks trained one stage after
another; per-sample loss history over a fixed pool of samples per task; at the end of each stage the
Q samples whose loss fluctuated most (window 6, detrended spread + last rise over the mean, as
history.ts) enter a balanced memory; later stages replay the memory with share rho_t; Adam, cosine
learning rate with warm-up per stage, L1 + 0.5 edge loss, global-norm clipping at 1.

The step count is fixed after a short calibration so that the run fits `--budget-s` seconds; the
run then writes one JSON with the weights in the TypeScript layout (scripts/import-torch-weights.ts
turns it into a weight file), the replay memory in pixels (docs/online-learning.md's format), the loss
curve, the validation after every stage, and a parity fixture (input and output of the final weights).

  python scripts/gpu/train_gpu.py --preset base --tasks snow,blur,rain,lowlight --strategy review \
      --budget-s 420 --out OUT/base.json
"""
from __future__ import annotations

import argparse
import base64
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import degrade_torch as dg  # noqa: E402
from simpleir_torch import PRESETS, SimpleIR, param_count, per_sample_loss  # noqa: E402

WINDOW = 6


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def review_share(stage: int, rho0: float, kind: str, stages: int) -> float:
    """schedule.ts reviewShare."""
    if stage == 0:
        return 0.0
    if kind == "inverse":
        return rho0 / stage
    if kind == "constant":
        return rho0
    t = stage + 1
    return rho0 * (stages - t + 1) / (stages - 1)


def batch_composition(batch: int, share: float, memory_size: int) -> int:
    """schedule.ts batchComposition: how many of the batch come from the memory."""
    n = round(share * batch)
    if share > 0 and batch > 1:
        n = max(1, n)
    if share < 1:
        n = min(n, batch - 1)
    return min(n, memory_size)


def cosine_lr(step: int, total: int, lr0: float, warmup: int, min_lr: float) -> float:
    if step < warmup:
        return lr0 * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_lr + (lr0 - min_lr) * (1 + math.cos(math.pi * p)) / 2


class History:
    """Per-sample loss windows of one task's pool, on the device (history.ts, vectorised)."""

    def __init__(self, n: int, device: torch.device):
        self.losses = torch.zeros(n, WINDOW, device=device)
        self.count = torch.zeros(n, dtype=torch.long, device=device)

    def record(self, idx: torch.Tensor, loss: torch.Tensor) -> None:
        # A sample drawn twice in one batch keeps its last loss, as sequential records would.
        self.losses[idx] = torch.roll(self.losses[idx], -1, dims=1)
        self.losses[idx, -1] = loss.detach().float()
        self.count[idx] += 1

    def fluctuation(self) -> torch.Tensor:
        """(spread about a fitted line + last rise) / mean over each sample's last <= WINDOW losses."""
        n = self.count.clamp(max=WINDOW)
        out = torch.zeros(self.losses.shape[0], device=self.losses.device)
        for k in range(2, WINDOW + 1):
            sel = n == k
            if not bool(sel.any()):
                continue
            xs = self.losses[sel][:, WINDOW - k:]
            mean = xs.mean(dim=1, keepdim=True)
            t = torch.arange(k, device=xs.device, dtype=xs.dtype) - (k - 1) / 2
            slope = ((xs - mean) * t).sum(dim=1, keepdim=True) / (t * t).sum()
            spread = ((xs - mean - slope * t) ** 2).mean(dim=1).sqrt()
            rise = (xs[:, -1] - xs[:, -2]).clamp(min=0)
            out[sel] = (spread + rise) / mean.squeeze(1).clamp(min=1e-8)
        return out

    def scored(self) -> torch.Tensor:
        return self.count >= 2


def plan_stages(tasks: list[str], strategy: str, rho0: float, kind: str, weights: dict[str, float]) -> list[dict]:
    if strategy == "mixed":
        return [{"tasks": list(tasks), "share": 0.0, "selection": "none", "weight": 1.0}]
    reviews = strategy in ("review", "random-review")
    sel = "difficult" if strategy == "review" else "random" if strategy == "random-review" else "none"
    return [
        {"tasks": [t], "share": review_share(i, rho0, kind, len(tasks)) if reviews else 0.0, "selection": sel, "weight": weights.get(t, 1.0)}
        for i, t in enumerate(tasks)
    ]


def to_u8_hwc(x: torch.Tensor) -> np.ndarray:
    return (x.float().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="tiny", choices=list(PRESETS))
    ap.add_argument("--tasks", default="snow,blur,rain,lowlight")
    ap.add_argument("--strategy", default="review", choices=["review", "sequential", "mixed", "random-review"])
    ap.add_argument("--budget-s", type=float, default=300)
    ap.add_argument("--steps", type=int, default=0, help="fixed step count (skips the time calibration)")
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--pool", type=int, default=4096)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr", type=float, default=1e-5)
    ap.add_argument("--warmup", type=float, default=0.05)
    ap.add_argument("--stage-lr-decay", type=float, default=1.0, help="stage i starts at lr * decay**i (1: every stage at lr, as the TypeScript trainer)")
    ap.add_argument("--rho0", type=float, default=0.9)
    ap.add_argument("--share-kind", default="inverse", choices=["inverse", "constant", "linear-decay"])
    ap.add_argument("--q", type=int, default=256)
    ap.add_argument("--stage-weights", default="blur=1.5")
    ap.add_argument("--edge-weight", type=float, default=0.5)
    ap.add_argument("--clip-norm", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--photos", default=".cache/photos")
    ap.add_argument("--val-size", default="1920x1080")
    ap.add_argument("--memory-crop", type=int, default=48)
    ap.add_argument("--memory-per-domain", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", default="", help="start from the weights of an earlier run's JSON")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    cfg = PRESETS[a.preset]
    tasks = a.tasks.split(",")
    stage_weights = {kv.split("=")[0]: float(kv.split("=")[1]) for kv in a.stage_weights.split(",") if kv}
    t_start = time.time()
    name = os.path.splitext(os.path.basename(a.out))[0]
    log(f"{name}: {a.preset} ({param_count(cfg)} params) {a.strategy} on {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'})")

    # Data: a fixed pool per task (deterministic), and the validation frames.
    train_photos = dg.load_photos(a.photos, "train")
    pools: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for ti, task in enumerate(tasks):
        try:
            deg, clean, _ = dg.make_pool(train_photos, task, a.pool, crop=a.crop, seed=a.seed * 1000 + ti, device=device)
        except Exception as e:  # a GPU-only failure of the generators: make the pool on the CPU instead
            log(f"{name}: pool of {task} failed on {device} ({e!r}); making it on the CPU")
            deg, clean, _ = dg.make_pool(train_photos, task, a.pool, crop=a.crop, seed=a.seed * 1000 + ti, device="cpu")
        pools[task] = (deg.to(device), clean.to(device))
    log(f"{name}: pools {a.pool} x {len(tasks)} of {a.crop}px ready in {time.time() - t_start:.1f} s")
    vw, vh = (int(v) for v in a.val_size.split("x"))
    val = make_validation(a.photos, tasks, vw, vh, device)
    log(f"{name}: validation {sum(len(v) for v in val.values())} frames of {vw}x{vh} ready at {time.time() - t_start:.1f} s")

    model = SimpleIR(cfg, seed=a.seed)
    if a.init:
        with open(a.init) as f:
            model.load_ts_weights(json.load(f)["weights"])
        log(f"{name}: initialised from {a.init}")
    model = model.to(device)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, foreach=True)
    hist = {t: History(a.pool, device) for t in tasks}
    memory: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # task -> (indices, scores)
    plan = plan_stages(tasks, a.strategy, a.rho0, a.share_kind, stage_weights)
    gen = torch.Generator(device="cpu").manual_seed(a.seed * 7 + 3)
    task_index = {t: i for i, t in enumerate(tasks)}

    def draw(stage: dict, step_seed: int) -> tuple[torch.Tensor, torch.Tensor, list[tuple[str, torch.Tensor]]]:
        mem_size = sum(len(m[0]) for m in memory.values())
        from_mem = batch_composition(a.batch, stage["share"], mem_size)
        from_task = a.batch - from_mem
        parts: list[tuple[str, torch.Tensor]] = []
        if len(stage["tasks"]) == 1:
            parts.append((stage["tasks"][0], torch.randint(0, a.pool, (from_task,), generator=gen)))
        else:
            which = torch.randint(0, len(stage["tasks"]), (from_task,), generator=gen)
            for i, t in enumerate(stage["tasks"]):
                k = int((which == i).sum())
                if k:
                    parts.append((t, torch.randint(0, a.pool, (k,), generator=gen)))
        if from_mem > 0:
            entries = [(t, int(i)) for t, (idx, _) in memory.items() for i in idx.tolist()]
            picks = torch.randperm(len(entries), generator=gen)[:from_mem].tolist()
            by_task: dict[str, list[int]] = {}
            for p in picks:
                t, i = entries[p]
                by_task.setdefault(t, []).append(i)
            parts += [(t, torch.tensor(ix)) for t, ix in by_task.items()]
        parts = [(t, ix.to(device)) for t, ix in parts]
        deg = torch.cat([pools[t][0][ix] for t, ix in parts]).float()
        clean = torch.cat([pools[t][1][ix] for t, ix in parts]).float()
        return deg, clean, parts

    def train_step(stage: dict, lr: float, step_seed: int) -> float:
        deg, clean, parts = draw(stage, step_seed)
        for g in opt.param_groups:
            g["lr"] = lr
        pred = model(deg)
        losses = per_sample_loss(pred, clean, a.edge_weight)
        loss = losses.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, a.clip_norm)
        opt.step()
        o = 0
        for t, ix in parts:
            hist[t].record(ix, losses[o:o + len(ix)])
            o += len(ix)
        return loss

    # Step counts per stage. With --steps, fixed in proportion to the stage weights. Otherwise by time:
    # each stage gets its weight's share of the budget left, at the step time measured so far (other
    # jobs may share the GPU, so the time is measured again at every stage).
    stage_w = [s["weight"] for s in plan]
    wsum = sum(stage_w)
    stage_steps = [max(1, round(a.steps * w / wsum)) for w in stage_w] if a.steps > 0 else [0] * len(plan)
    if a.steps > 0:
        stage_steps[-1] = max(1, a.steps - sum(stage_steps[:-1]))

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    calib_steps = 0
    per_step = 0.0
    if a.steps <= 0:
        for i in range(10):  # warm-up (cudnn autotuning), training at a low rate on the first stage
            train_step(plan[0], a.lr * 0.05, i)
        sync()
        t0 = time.time()
        for i in range(20):
            train_step(plan[0], a.lr * 0.1, 10 + i)
        sync()
        per_step = (time.time() - t0) / 20
        calib_steps = 30
    val_cost = estimate_val_cost(model, val, device)
    log(f"{name}: {per_step * 1000:.1f} ms/step, validation {val_cost:.1f} s")

    def write_result() -> None:
        """Writes the run's JSON (after every stage, so that an interrupted run leaves its last stage)."""
        # Replay memory in pixels for the online learner (replay.ts ReplayMemoryJSON).
        domains = []
        for t in tasks:
            if t in memory:
                idx, sc = memory[t]
                sel = list(zip(idx.tolist(), sc.tolist()))[: a.memory_per_domain]
            else:
                fl = hist[t].fluctuation()
                top = torch.argsort(fl, descending=True)[: a.memory_per_domain].cpu()
                sel = list(zip(top.tolist(), fl.cpu()[top].tolist()))
            crops = []
            c0 = (a.crop - a.memory_crop) // 2
            for i, score in sel:
                d = pools[t][0][i, :, c0:c0 + a.memory_crop, c0:c0 + a.memory_crop]
                c = pools[t][1][i, :, c0:c0 + a.memory_crop, c0:c0 + a.memory_crop]
                crops.append({
                    "id": f"{t}#{i}", "score": float(score), "width": a.memory_crop, "height": a.memory_crop,
                    "degraded": base64.b64encode(to_u8_hwc(d).tobytes()).decode(),
                    "clean": base64.b64encode(to_u8_hwc(c).tobytes()).decode(),
                })
            domains.append({"domain": t, "crops": crops})
        replay = {"format": "simpleir-replay-memory", "version": 1, "encoding": "rgb8-base64", "cropSize": a.memory_crop, "perDomain": a.memory_per_domain, "domains": domains}

        # Parity fixture: a fixed input through the final weights (checked against TypeScript in test/).
        g = torch.Generator(device="cpu").manual_seed(11)
        px = torch.rand(1, 3, 32, 48, generator=g)
        model_cpu = SimpleIR(cfg).eval()
        model_cpu.load_ts_weights(model.export_weights())
        with torch.no_grad():  # the shipped file stores float16: the fixture uses the same rounded values
            for prm in model_cpu.parameters():
                prm.copy_(prm.half().float())
        with torch.no_grad():
            py = model_cpu(px, clip=True)
        enc = lambda t: {"shape": list(t.permute(0, 2, 3, 1).shape), "data": base64.b64encode(t.permute(0, 2, 3, 1).contiguous().numpy().astype("<f4").tobytes()).decode()}

        result = {
            "format": "simpleir-torch-run", "version": 1, "name": name, "preset": a.preset, "config": cfg.__dict__,
            "args": vars(a), "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
            "torch": torch.__version__, "plan": [{**s, "steps": stage_steps[i]} for i, s in enumerate(plan)],
            "steps": step, "seconds": time.time() - t_start, "curve": curve, "validation": validation,
            "weights": model.export_weights(), "memory": replay, "parity": {"input": enc(px), "output": enc(py)},
        }
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(result, f)

    curve: list[dict] = []
    validation: list[dict] = [{"step": 0, "afterTask": None, "scores": validate(model, val)}]
    train_end = t_start + a.budget_s - 15
    step = calib_steps
    for si, stage in enumerate(plan):
        ts = time.time()
        if a.steps > 0:
            n = stage_steps[si]
            stage_deadline = float("inf")
        else:
            stage_time = max(1.0, (train_end - ts - val_cost * (len(plan) - si)) * stage_w[si] / sum(stage_w[si:]))
            n = max(10, int(stage_time / per_step))
            stage_steps[si] = n
            stage_deadline = ts + 1.3 * stage_time
        warm = max(1, round(n * a.warmup))
        acc, acc_n = 0.0, 0
        done = 0
        for local in range(n):
            lr = cosine_lr(local, n, a.lr * a.stage_lr_decay ** si, warm, a.min_lr)
            loss = train_step(stage, lr, step)
            step += 1
            done += 1
            if step % 10 == 0:
                acc += float(loss.detach())
                acc_n += 1
            if step % 100 == 0:
                curve.append({"step": step, "stage": si, "loss": acc / max(1, acc_n)})
                acc, acc_n = 0.0, 0
            if local % 50 == 49 and time.time() > stage_deadline:
                log(f"{name}: stage {si} ran past its time; ending it at {local + 1}/{n} steps")
                break
        sync()
        if done > 0 and a.steps <= 0:
            per_step = (time.time() - ts) / done
        stage_steps[si] = done
        # Close the stage: difficult (or random) samples of its tasks enter the memory.
        if stage["selection"] != "none" and a.q > 0:
            for t in stage["tasks"]:
                h = hist[t]
                scored = torch.nonzero(h.scored()).squeeze(1)
                if stage["selection"] == "difficult":
                    fl = h.fluctuation()[scored]
                    order = torch.argsort(fl, descending=True)[: a.q]
                    memory[t] = (scored[order].cpu(), fl[order].cpu())
                else:
                    perm = torch.randperm(len(scored), generator=gen)[: a.q]
                    memory[t] = (scored.cpu()[perm], h.fluctuation()[scored].cpu()[perm])
        scores = validate(model, val)
        validation.append({"step": step, "afterTask": "+".join(stage["tasks"]), "scores": scores})
        gains = {t: round(s["psnr"] - s["psnrDegraded"], 2) for t, s in scores.items()}
        log(f"{name}: stage {si} ({'+'.join(stage['tasks'])}, share {stage['share']:.2f}) {done} steps in {time.time() - ts:.0f} s ({per_step * 1000:.1f} ms/step); gains {gains}")
        write_result()

    last = validation[-1]["scores"]
    log(f"{name}: done, {step} steps in {time.time() - t_start:.0f} s; final gains " + ", ".join(f"{t} {last[t]['psnr'] - last[t]['psnrDegraded']:+.2f}" for t in tasks))


def make_validation(folder: str, tasks: list[str], w: int, h: int, device: torch.device) -> dict[str, list[tuple[torch.Tensor, torch.Tensor, float]]]:
    """Per task: each validation photo, cover-cropped to w x h, degraded at strength 0.5 and 1 (fixed seeds)."""
    photos = dg.load_photos(folder, "val")
    frames = []
    for p in photos:
        x = p.float().div(255).unsqueeze(0).to(device)
        _, _, ph, pw = x.shape
        s = max(w / pw, h / ph)
        nh, nw = max(h, round(ph * s)), max(w, round(pw * s))
        x = torch.nn.functional.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)
        y0, x0 = (nh - h) // 2, (nw - w) // 2
        frames.append(x[:, :, y0:y0 + h, x0:x0 + w].clamp(0, 1))
    out: dict[str, list[tuple[torch.Tensor, torch.Tensor, float]]] = {}
    for ti, task in enumerate(tasks):
        g = torch.Generator(device="cpu").manual_seed(9_000_000 + 1000 * ti)
        cases = []
        for c in frames:
            for strength in (0.5, 1.0):
                try:
                    d = dg.degrade(task, c, torch.tensor([strength], device=device), g)
                except Exception as e:  # a GPU-only failure: degrade on the CPU
                    log(f"validation {task} failed on {device} ({e!r}); degrading on the CPU")
                    d = dg.degrade(task, c.cpu(), torch.tensor([strength]), torch.Generator().manual_seed(9_000_000 + 1000 * ti)).to(device)
                cases.append((d.half(), c.half(), strength))
        out[task] = cases
    return out


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.float() - b.float()) ** 2).mean())
    return 10 * math.log10(1 / max(mse, 1e-12))


@torch.no_grad()
def validate(model: SimpleIR, val: dict) -> dict[str, dict]:
    model.eval()
    out = {}
    for task, cases in val.items():
        p, pd = [], []
        for d, c, _ in cases:
            y = model(d.float(), clip=True)
            p.append(psnr(y, c))
            pd.append(psnr(d, c))
        out[task] = {"psnr": float(np.mean(p)), "psnrDegraded": float(np.mean(pd))}
    model.train()
    return out


def estimate_val_cost(model: SimpleIR, val: dict, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.time()
    validate(model, val)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.time() - t0


if __name__ == "__main__":
    main()
