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

Fine-tuning options (issue 15; docs/review-learning.md "Issue 15 recipe"): `--init weights/base.json`
starts from the shipped weights; `--identity-share` mixes identity samples (clean input = target, half
of them naturally dark crops from the dark photo set) into every batch; `--dark-share blur=0.3` makes
part of a task's pool from dark photographs; `--highpass-weights rain=1,snow=1` adds the L1 of the
high-pass band of the error (image minus its gaussian blur at sigma 2) to those tasks' loss;
`--consolidation-weight` appends one stage over all tasks that replays the memory. The JSON's
`report` holds, for the initial and the final weights, PSNR/SSIM/high-pass gains per task and
strength on the validation photographs and the dark held-out photographs, and the identity PSNR.

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
from simpleir_torch import PRESETS, SimpleIR, param_count, parity_fixture, per_sample_loss, read_weights  # noqa: E402

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


def plan_stages(tasks: list[str], strategy: str, rho0: float, kind: str, weights: dict[str, float],
                consolidation_weight: float = 0.0, consolidation_share: float = 0.5) -> list[dict]:
    if strategy == "mixed":
        return [{"tasks": list(tasks), "share": 0.0, "selection": "none", "weight": 1.0}]
    reviews = strategy in ("review", "random-review")
    sel = "difficult" if strategy == "review" else "random" if strategy == "random-review" else "none"
    plan = [
        {"tasks": [t], "share": review_share(i, rho0, kind, len(tasks)) if reviews else 0.0, "selection": sel, "weight": weights.get(t, 1.0)}
        for i, t in enumerate(tasks)
    ]
    if consolidation_weight > 0:
        # A consolidation stage: every task in every batch, plus the memory of difficult samples at its share.
        plan.append({"tasks": list(tasks), "share": consolidation_share if reviews else 0.0, "selection": "none", "weight": consolidation_weight})
    return plan


def night_like(clean: torch.Tensor, seed: int) -> torch.Tensor:
    """Clean crops [N,3,H,W] made into scenes meant to be dark, deterministically: each whole crop becomes
    b * x^g (b in 0.15..0.7, g in 1..2.2), rounded to 8 bits; no noise (a low-light frame has sensor noise)."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    n = clean.shape[0]
    b = (0.15 + 0.55 * torch.rand(n, generator=gen)).view(-1, 1, 1, 1).to(clean.device)
    g = (1.0 + 1.2 * torch.rand(n, generator=gen)).view(-1, 1, 1, 1).to(clean.device)
    dark = b * clean.float().clamp(0, 1).pow(g)
    return (torch.round(dark * 255) / 255).to(clean.dtype)


def smooth_dusky(clean: torch.Tensor, seed: int) -> torch.Tensor:
    """Clean crops [N,3,H,W] made into smooth, dusky, low-texture scenes (overcast skies, dusk, fog-free
    haze of a plain wall), deterministically: a Gaussian blur of sigma U(1, 6) px, then b * x^g with the
    crop's mean level brought to U(0.2, 0.5) (g in 1..1.6), rounded to 8 bits; no noise. A blurred frame of
    such a scene is not a low-light frame: the blur samples made from them keep its exposure."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    n = clean.shape[0]
    sigma = (1.0 + 5.0 * torch.rand(n, generator=gen)).to(clean.device)
    g = (1.0 + 0.6 * torch.rand(n, generator=gen)).view(-1, 1, 1, 1).to(clean.device)
    target = (0.2 + 0.3 * torch.rand(n, generator=gen)).view(-1, 1, 1, 1).to(clean.device)
    smooth = dg._gaussian_blur(clean.float().clamp(0, 1), sigma).clamp(0, 1).pow(g)
    luma = torch.tensor([0.299, 0.587, 0.114], device=clean.device).view(1, 3, 1, 1)
    mean = (smooth * luma).sum(1, keepdim=True).mean((2, 3), keepdim=True).clamp(min=1e-3)
    dusky = (smooth * (target / mean)).clamp(0, 1)
    return (torch.round(dusky * 255) / 255).to(clean.dtype)


def parse_task_values(text: str, what: str, tasks: list[str]) -> dict[str, float]:
    """`rain=1,snow=0.5` -> {'rain': 1.0, 'snow': 0.5}, each name one of `tasks`."""
    out: dict[str, float] = {}
    for kv in filter(None, text.split(",")):
        k, _, v = kv.partition("=")
        if k not in tasks or not v:
            raise SystemExit(f"{what}: '{kv}' is not TASK=VALUE with TASK one of {', '.join(tasks)}")
        out[k] = float(v)
    return out


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
    ap.add_argument("--init", default="", help="start from these weights: a weight manifest (weights/base.json) or an earlier run's JSON")
    ap.add_argument("--dark-photos", default=".cache/photos/dark", help="the dark photo set (npm run fetch-photos)")
    ap.add_argument("--dark-max-mean", type=float, default=0.25, help="a dark crop's mean BT.601 level is at most this")
    ap.add_argument("--identity-share", type=float, default=0.0, help="share of every batch that are identity samples (input = target)")
    ap.add_argument("--identity-pool", type=int, default=1024)
    ap.add_argument("--identity-dark-fraction", type=float, default=0.5, help="of the identity pool, the share of dark crops (the rest: any train crop)")
    ap.add_argument("--identity-night-fraction", type=float, default=0.0,
                    help="of the identity pool, the share of night-like crops: train crops darkened as a whole (b * x^g, "
                         "b in 0.15..0.7, g in 1..2.2, 8-bit), no noise, input = target (scenes meant to be dark)")
    ap.add_argument("--identity-zoom", default="1,1.6", help="LO,HI: identity crops cover crop * U(LO, HI) px of the photo "
                    "(above 1.6: wider views brought down to the crop, as small video frames show a scene)")
    ap.add_argument("--dark-zoom", default="", help="LO,HI: the dark identity crops' zoom (default: --identity-zoom); "
                    "wide views of dark textured scenes are what small frames show (the dark forest at 320x180)")
    ap.add_argument("--night-zoom", default="", help="LO,HI: the night-like identity crops' zoom (default: --identity-zoom)")
    ap.add_argument("--report-identity-sizes", default="320x180,480x270",
                    help="WxH,...: the report's identity check also on the clean validation photographs at these sizes")
    ap.add_argument("--identity-smooth-fraction", type=float, default=0.0,
                    help="of the identity pool, the share of smooth dusky crops (smooth_dusky: blurred, mean 0.2..0.5, no noise)")
    ap.add_argument("--smooth-share", default="", help="TASK=F,...: a share F of the task's pool degraded from smooth dusky crops "
                    "(smooth_dusky; e.g. blur=0.25: a blurred overcast sky is not low light)")
    ap.add_argument("--resample", default="bilinear", choices=["mix", *dg.RESAMPLERS],
                    help="how training crops are shrunk (bilinear: aliased, as the TS pool; area: antialiased; bicubic: "
                    "antialiased and sharpened, as Lanczos; mix: the three in turn). Session 11 found that a scene "
                    "resized by a sharpening kernel (sharp's Lanczos, as npm run evaluate does) reads as low light")
    ap.add_argument("--dark-share", default="", help="TASK=F,...: a share F of the task's pool made from dark crops (e.g. blur=0.3)")
    ap.add_argument("--highpass-weights", default="", help="TASK=W,...: add W * L1 of the high-pass band of the error to that task's loss")
    ap.add_argument("--highpass-sigma", type=float, default=2.0)
    ap.add_argument("--consolidation-weight", type=float, default=0.0, help="append a stage over all tasks with this stage weight (0: none)")
    ap.add_argument("--consolidation-share", type=float, default=0.5, help="the consolidation stage's review share")
    ap.add_argument("--skip-stages", type=int, default=0, help="leave out the plan's first N stages (resume a schedule)")
    ap.add_argument("--seed-memory", action="store_true",
                    help="start with Q random samples of every task in the memory, replayed at share rho0 from the first stage on "
                         "(a fine-tune from trained weights then rehearses all tasks from its first step)")
    ap.add_argument("--report-strengths", default="0,0.5,1")
    ap.add_argument("--report-native", type=int, default=1, help="1: the report's identity also on night-like native 512x512 crops")
    ap.add_argument("--report-only", action="store_true", help="write the report of the --init weights (0 steps) and stop")
    ap.add_argument("--val-dark-side", type=int, default=1024, help="the dark held-out photographs are validated at most this side")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    cfg = PRESETS[a.preset]
    tasks = a.tasks.split(",")
    stage_weights = {kv.split("=")[0]: float(kv.split("=")[1]) for kv in a.stage_weights.split(",") if kv}
    dark_share = parse_task_values(a.dark_share, "--dark-share", tasks)
    smooth_share = parse_task_values(a.smooth_share, "--smooth-share", tasks)
    hp_weights = parse_task_values(a.highpass_weights, "--highpass-weights", tasks)
    report_strengths = [float(v) for v in a.report_strengths.split(",") if v]
    t_start = time.time()
    name = os.path.splitext(os.path.basename(a.out))[0]
    log(f"{name}: {a.preset} ({param_count(cfg)} params) {a.strategy} on {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'})")

    # Data: a fixed pool per task (deterministic), and the validation frames.
    if a.report_only:
        report_weights(a, cfg, tasks, report_strengths, device, name, t_start)
        return
    train_photos = dg.load_photos(a.photos, "train")
    uses_dark = a.identity_share > 0 or bool(dark_share)
    # Dark crops come from the dark set and from the shadows of the ordinary train photographs.
    dark_sources = dg.load_photos(a.dark_photos, "train") + train_photos if uses_dark else []

    def zoom_range(text: str) -> tuple[float, ...]:
        return tuple(float(v) for v in text.split(","))

    identity_zoom = zoom_range(a.identity_zoom)
    dark_zoom = zoom_range(a.dark_zoom) if a.dark_zoom else identity_zoom
    night_zoom = zoom_range(a.night_zoom) if a.night_zoom else identity_zoom

    def pool_of(photos: list, task: str, n: int, seed: int, max_mean: float | None = None,
                zoom_range: tuple[float, ...] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        zoom = {"zoom_range": zoom_range or identity_zoom} if task == "identity" else {}
        try:
            deg, clean, _ = dg.make_pool(photos, task, n, crop=a.crop, seed=seed, device=device, max_mean=max_mean, resample=a.resample, **zoom)
        except ValueError:
            raise
        except Exception as e:  # a GPU-only failure of the generators: make the pool on the CPU instead
            log(f"{name}: pool of {task} failed on {device} ({e!r}); making it on the CPU")
            deg, clean, _ = dg.make_pool(photos, task, n, crop=a.crop, seed=seed, device="cpu", max_mean=max_mean, resample=a.resample, **zoom)
        return deg.to(device), clean.to(device)

    pools: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for ti, task in enumerate(tasks):
        n_dark = round(a.pool * dark_share.get(task, 0.0))
        n_smooth = min(round(a.pool * smooth_share.get(task, 0.0)), a.pool - n_dark)
        parts = [pool_of(train_photos, task, a.pool - n_dark - n_smooth, a.seed * 1000 + ti)]
        if n_dark > 0:
            parts.append(pool_of(dark_sources, task, n_dark, a.seed * 1000 + 500 + ti, a.dark_max_mean))
        if n_smooth > 0:
            smooth = smooth_dusky(pool_of(train_photos, "identity", n_smooth, a.seed * 1000 + 700 + ti)[1], a.seed * 1000 + 701 + ti)
            gen_s = torch.Generator(device=device).manual_seed(a.seed * 1000 + 702 + ti)
            strength = torch.rand(n_smooth, generator=gen_s, device=device)
            degraded = torch.cat([dg.degrade(task, smooth[i:i + 64].float(), strength[i:i + 64], gen_s) for i in range(0, n_smooth, 64)])
            parts.append((degraded.clamp(0, 1).to(smooth.dtype), smooth))
        pools[task] = (torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))
    if a.identity_share > 0:
        n_dark = round(a.identity_pool * a.identity_dark_fraction)
        n_night = min(round(a.identity_pool * a.identity_night_fraction), a.identity_pool - n_dark)
        n_smooth = min(round(a.identity_pool * a.identity_smooth_fraction), a.identity_pool - n_dark - n_night)
        parts = [pool_of(dark_sources, "identity", n_dark, a.seed * 1000 + 900, a.dark_max_mean, dark_zoom)] if n_dark > 0 else []
        if n_night > 0:
            night = night_like(pool_of(train_photos, "identity", n_night, a.seed * 1000 + 902, zoom_range=night_zoom)[1], a.seed * 1000 + 903)
            parts.append((night, night))
        if n_smooth > 0:
            smooth = smooth_dusky(pool_of(train_photos, "identity", n_smooth, a.seed * 1000 + 904)[1], a.seed * 1000 + 905)
            parts.append((smooth, smooth))
        if a.identity_pool - n_dark - n_night - n_smooth > 0:
            parts.append(pool_of(train_photos, "identity", a.identity_pool - n_dark - n_night - n_smooth, a.seed * 1000 + 901))
        pools["identity"] = (torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))
    log(f"{name}: pools of {a.crop}px ready in {time.time() - t_start:.1f} s: " + ", ".join(f"{t} {len(p[0])}" for t, p in pools.items())
        + (f" (dark shares {dark_share})" if dark_share else "") + (f" (smooth shares {smooth_share})" if smooth_share else ""))
    vw, vh = (int(v) for v in a.val_size.split("x"))
    val = make_validation(a.photos, tasks, vw, vh, device)
    log(f"{name}: validation {sum(len(v) for v in val.values())} frames of {vw}x{vh} ready at {time.time() - t_start:.1f} s")
    report_sets = make_report_sets(a, tasks, vw, vh, report_strengths, device)
    log(f"{name}: report frames ready at {time.time() - t_start:.1f} s")

    model = SimpleIR(cfg, seed=a.seed)
    if a.init:
        init_cfg, arrays = read_weights(a.init)
        if init_cfg != cfg:
            raise SystemExit(f"--init {a.init} holds a {init_cfg} network, not the {a.preset} preset's {cfg}")
        model.load_arrays(arrays)
        log(f"{name}: initialised from {a.init}")
    model = model.to(device)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, foreach=True)
    hist = {t: History(len(p[0]), device) for t, p in pools.items()}
    memory: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # task -> (indices, scores)
    plan = plan_stages(tasks, a.strategy, a.rho0, a.share_kind, stage_weights, a.consolidation_weight, a.consolidation_share)
    if a.skip_stages > 0:
        # Resume a schedule: the first stages were run already (e.g. only the blur stage again, from weights that
        # went through the others); the memory is still seeded from every task.
        if a.skip_stages >= len(plan):
            raise SystemExit(f"--skip-stages {a.skip_stages}: the plan has {len(plan)} stages")
        plan = plan[a.skip_stages:]
    if a.seed_memory and a.strategy in ("review", "random-review") and a.q > 0:
        for t in tasks:
            memory[t] = (torch.randperm(len(pools[t][0]), generator=torch.Generator().manual_seed(a.seed * 31 + tasks.index(t)))[: a.q], torch.zeros(min(a.q, len(pools[t][0]))))
        plan[0]["share"] = a.rho0
    gen = torch.Generator(device="cpu").manual_seed(a.seed * 7 + 3)
    task_index = {t: i for i, t in enumerate(tasks)}

    def draw(stage: dict, step_seed: int) -> tuple[torch.Tensor, torch.Tensor, list[tuple[str, torch.Tensor]]]:
        mem_size = sum(len(m[0]) for m in memory.values())
        from_mem = batch_composition(a.batch, stage["share"], mem_size)
        from_id = min(round(a.identity_share * a.batch), a.batch - from_mem - 1) if "identity" in pools else 0
        from_task = a.batch - from_mem - from_id
        parts: list[tuple[str, torch.Tensor]] = []
        if len(stage["tasks"]) == 1:
            t = stage["tasks"][0]
            parts.append((t, torch.randint(0, len(pools[t][0]), (from_task,), generator=gen)))
        else:
            which = torch.randint(0, len(stage["tasks"]), (from_task,), generator=gen)
            for i, t in enumerate(stage["tasks"]):
                k = int((which == i).sum())
                if k:
                    parts.append((t, torch.randint(0, len(pools[t][0]), (k,), generator=gen)))
        if from_id > 0:
            parts.append(("identity", torch.randint(0, len(pools["identity"][0]), (from_id,), generator=gen)))
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
        hp_w = torch.cat([torch.full((len(ix),), hp_weights.get(t, 0.0), device=device) for t, ix in parts])
        if bool((hp_w > 0).any()):
            # The error's high-pass band (streaks, flakes and noise left in the output, detail lost).
            losses = losses + hp_w * dg.highpass(pred - clean, a.highpass_sigma).abs().mean(dim=(1, 2, 3))
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
    t_report = time.time()
    report_init = report(model, report_sets, a.highpass_sigma)
    report_cost = time.time() - t_report
    log(f"{name}: {per_step * 1000:.1f} ms/step, validation {val_cost:.1f} s, report {report_cost:.1f} s")
    log(f"{name}: initial weights: {summarise(report_init)}")
    report_final: dict | None = None

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

        result = {
            "format": "simpleir-torch-run", "version": 1, "name": name, "preset": a.preset, "config": cfg.__dict__,
            "args": vars(a), "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
            "torch": torch.__version__, "plan": [{**s, "steps": stage_steps[i]} for i, s in enumerate(plan)],
            "steps": step, "seconds": time.time() - t_start, "curve": curve, "validation": validation,
            "report": {"strengths": report_strengths, "highpassSigma": a.highpass_sigma, "init": report_init, "final": report_final},
            "weights": model.export_weights(), "memory": replay, "parity": parity_fixture(cfg, model.export_weights()),
        }
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(result, f)

    curve: list[dict] = []
    validation: list[dict] = [{"step": 0, "afterTask": None, "scores": validate(model, val)}]
    train_end = t_start + a.budget_s - 15 - report_cost
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

    report_final = report(model, report_sets, a.highpass_sigma)
    write_result()
    log(f"{name}: final weights: {summarise(report_final)}")
    last = validation[-1]["scores"]
    log(f"{name}: done, {step} steps in {time.time() - t_start:.0f} s; final gains " + ", ".join(f"{t} {last[t]['psnr'] - last[t]['psnrDegraded']:+.2f}" for t in tasks))


def validation_frames(folder: str, w: int, h: int, device: torch.device) -> list[torch.Tensor]:
    """Each validation photo of `folder`, cover-cropped to w x h as `npm run evaluate` makes it (sharp's
    `resize({ fit: 'cover' })`, Lanczos 3, from the full-size photo, 8 bits): the decoded photo resized by
    PIL's Lanczos, then the centre taken. An antialiased bilinear resize (this function before session 11)
    gives smoother frames, on which the network keeps night-like scenes it lifts in the TS evaluation
    (shipped `tiny`, EveningGlow at 640x360: 43.3 dB here then, 24.8 dB in TS; 24.6 dB now)."""
    from PIL import Image
    frames = []
    for f in dg.photo_files(folder, "val"):
        p = dg.decode_photo(f, 1 << 30)
        ph, pw = int(p.shape[1]), int(p.shape[2])
        s = max(w / pw, h / ph)
        nh, nw = max(h, round(ph * s)), max(w, round(pw * s))
        im = Image.fromarray(p.permute(1, 2, 0).numpy()).resize((nw, nh), Image.LANCZOS)
        x = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float().div(255).unsqueeze(0).to(device)
        y0, x0 = (nh - h) // 2, (nw - w) // 2
        frames.append(x[:, :, y0:y0 + h, x0:x0 + w].clamp(0, 1))
    return frames


def make_validation(folder: str, tasks: list[str], w: int, h: int, device: torch.device, strengths: tuple[float, ...] = (0.5, 1.0),
                    seed: int = 9_000_000, frames: list[torch.Tensor] | None = None) -> dict[str, list[tuple[torch.Tensor, torch.Tensor, float]]]:
    """Per task: each validation photo, cover-cropped to w x h, degraded at each strength (fixed seeds)."""
    frames = validation_frames(folder, w, h, device) if frames is None else frames
    out: dict[str, list[tuple[torch.Tensor, torch.Tensor, float]]] = {}
    for ti, task in enumerate(tasks):
        g = torch.Generator(device="cpu").manual_seed(seed + 1000 * ti)
        cases = []
        for c in frames:
            for strength in strengths:
                try:
                    d = dg.degrade(task, c, torch.tensor([strength], device=device), g)
                except Exception as e:  # a GPU-only failure: degrade on the CPU
                    log(f"validation {task} failed on {device} ({e!r}); degrading on the CPU")
                    d = dg.degrade(task, c.cpu(), torch.tensor([strength]), torch.Generator().manual_seed(seed + 1000 * ti)).to(device)
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


def report_weights(a: argparse.Namespace, cfg, tasks: list[str], strengths: list[float], device: torch.device, name: str, t_start: float) -> None:
    """--report-only: the report of the --init weights, written as a run of 0 steps whose initial and final
    weights are the same (so scripts/gpu/report_runs.py reads it like any run)."""
    if not a.init:
        raise SystemExit("--report-only needs --init WEIGHTS")
    init_cfg, arrays = read_weights(a.init)
    if init_cfg != cfg:
        raise SystemExit(f"--init {a.init} holds a {init_cfg} network, not the {a.preset} preset's {cfg}")
    model = SimpleIR(cfg)
    model.load_arrays(arrays)
    model = model.to(device)
    vw, vh = (int(v) for v in a.val_size.split("x"))
    r = report(model, make_report_sets(a, tasks, vw, vh, strengths, device), a.highpass_sigma)
    log(f"{name}: {a.init}: {summarise(r)}")
    result = {
        "format": "simpleir-torch-run", "version": 1, "name": name, "preset": a.preset, "config": cfg.__dict__, "args": vars(a),
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__, "plan": [],
        "steps": 0, "seconds": time.time() - t_start, "curve": [], "validation": [],
        "report": {"strengths": strengths, "highpassSigma": a.highpass_sigma, "init": r, "final": r},
        "weights": model.export_weights(),
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f)


def make_report_sets(a: argparse.Namespace, tasks: list[str], w: int, h: int, strengths: list[float], device: torch.device) -> dict:
    """The frames of the report: every task at each strength on the validation photographs (w x h) and on the
    dark held-out photographs (square, at most --val-dark-side, multiples of 8), and both sets clean."""
    clean = validation_frames(a.photos, w, h, device)
    dark = [validation_frames_one(p, min(a.val_dark_side, int(p.shape[1]), int(p.shape[2])) // 8 * 8, device)
            for p in dg.load_photos(a.dark_photos, "val")]
    return {
        "tasks": make_validation(a.photos, tasks, w, h, device, tuple(strengths), seed=9_500_000, frames=clean),
        "darkTasks": make_validation(a.dark_photos, tasks, 0, 0, device, tuple(strengths), seed=9_700_000, frames=dark),
        "identity": {
            "clean": [c.half() for c in clean], "dark": [d.half() for d in dark],
            # night-like (0.6 x^2.2, as npm run evaluate's identity check) and the clean photographs at other sizes:
            # small frames show a scene at a coarser scale than the training crops.
            "night": [(0.6 * c.float().clamp(0, 1).pow(2.2)).half() for c in clean],
            **{f"clean {size}": [c.half() for c in validation_frames(a.photos, *(int(v) for v in size.split("x")), device)]
               for size in a.report_identity_sizes.split(",") if size},
            # the centre 512x512 of each full-size photo, not resized (npm run evaluate's native check): the
            # shipped `tiny` lifts night-like EveningGlow there (14.7 dB) more than at any resized size
            **({"night native": [(0.6 * c.float().pow(2.2)).half() for c in native_frames(a.photos, 512, device)]}
               if a.report_native else {}),
        },
    }


def native_frames(folder: str, side: int, device: torch.device) -> list[torch.Tensor]:
    """The centre `side` x `side` pixels of each full-size validation photo of `folder`, not resized."""
    frames = []
    for f in dg.photo_files(folder, "val"):
        p = dg.decode_photo(f, 1 << 30)
        ph, pw = int(p.shape[1]), int(p.shape[2])
        y0, x0 = (ph - side) // 2, (pw - side) // 2
        frames.append(p[:, y0:y0 + side, x0:x0 + side].float().div(255).unsqueeze(0).to(device))
    return frames


def validation_frames_one(p: torch.Tensor, side: int, device: torch.device) -> torch.Tensor:
    """The centre square of `side` px of one photo (shrunk first when its short side is larger than twice `side`)."""
    x = p.float().div(255).unsqueeze(0).to(device)
    _, _, ph, pw = x.shape
    if min(ph, pw) >= 2 * side:
        s = side / min(ph, pw)
        x = torch.nn.functional.interpolate(x, size=(round(ph * s), round(pw * s)), mode="bilinear", align_corners=False, antialias=True)
        _, _, ph, pw = x.shape
    y0, x0 = (ph - side) // 2, (pw - side) // 2
    return x[:, :, y0:y0 + side, x0:x0 + side].clamp(0, 1)


LUMA = (0.299, 0.587, 0.114)


def ssim_y(a: torch.Tensor, b: torch.Tensor) -> float:
    """SSIM on BT.601 luminance as src/core/quality.ts: gaussian window 11 (sigma 1.5), valid positions."""
    w = torch.tensor(LUMA, device=a.device).view(1, 3, 1, 1)
    x, y = (a.float() * w).sum(1, keepdim=True), (b.float() * w).sum(1, keepdim=True)
    i = torch.arange(-5, 6, device=a.device, dtype=torch.float32)
    g = torch.exp(-(i * i) / (2 * 1.5 ** 2))
    g = g / g.sum()
    win = lambda t: torch.nn.functional.conv2d(torch.nn.functional.conv2d(t, g.view(1, 1, 1, -1)), g.view(1, 1, -1, 1))
    mx, my, xx, yy, xy = (win(t) for t in (x, y, x * x, y * y, x * y))
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    num = (2 * mx * my + c1) * (2 * (xy - mx * my) + c2)
    den = (mx * mx + my * my + c1) * (xx - mx * mx + yy - my * my + c2)
    return float((num / den).mean())


@torch.no_grad()
def report(model: SimpleIR, sets: dict, sigma: float) -> dict:
    """Per task and strength, on the validation photographs ("tasks") and the dark held-out ones ("darkTasks"):
    mean PSNR and SSIM of the restored and the degraded frame, the mean and worst PSNR gain over the photos, and
    the high-pass gain (10 log10 of the high-pass band's error of the degraded frame over the restored one's:
    positive when streaks, flakes or noise are removed). "identity": PSNR of the output against its clean input
    (worst and mean) and the mean change of level, on the clean validation and dark held-out photographs."""
    model.eval()
    out: dict = {}
    for key in ("tasks", "darkTasks"):
        per: dict = {}
        for task, cases in sets[key].items():
            by_strength: dict[str, dict[str, list[float]]] = {}
            for d, c, strength in cases:
                y = model(d.float(), clip=True)
                hp_c = dg.highpass(c.float(), sigma)
                m = by_strength.setdefault(f"{strength:g}", {k: [] for k in ("psnr", "psnrDegraded", "ssim", "ssimDegraded", "highpassGain")})
                m["psnr"].append(psnr(y, c))
                m["psnrDegraded"].append(psnr(d, c))
                m["ssim"].append(ssim_y(y, c))
                m["ssimDegraded"].append(ssim_y(d, c))
                err_y = float(((dg.highpass(y, sigma) - hp_c) ** 2).mean())
                err_d = float(((dg.highpass(d.float(), sigma) - hp_c) ** 2).mean())
                m["highpassGain"].append(10 * math.log10(max(err_d, 1e-12) / max(err_y, 1e-12)))
            per[task] = {
                s: {
                    "psnr": float(np.mean(m["psnr"])), "psnrDegraded": float(np.mean(m["psnrDegraded"])),
                    "gain": float(np.mean(np.subtract(m["psnr"], m["psnrDegraded"]))),
                    "worstGain": float(np.min(np.subtract(m["psnr"], m["psnrDegraded"]))),
                    "ssim": float(np.mean(m["ssim"])), "ssimDegraded": float(np.mean(m["ssimDegraded"])),
                    "highpassGain": float(np.mean(m["highpassGain"])),
                }
                for s, m in by_strength.items()
            }
        out[key] = per
    ident: dict = {}
    for key, frames in sets["identity"].items():
        ps, shifts = [], []
        for c in frames:
            y = padded_forward(model, c.float())
            ps.append(psnr(y, c))
            shifts.append(float(y.mean() - c.float().mean()))
        ident[key] = {"worstPsnr": float(np.min(ps)), "meanPsnr": float(np.mean(ps)), "psnr": ps, "levelShift": shifts}
    out["identity"] = ident
    model.train()
    return out


def padded_forward(model: SimpleIR, x: torch.Tensor) -> torch.Tensor:
    """The network on [1,3,H,W] of any size: bottom and right padded by reflection to a multiple of the
    network's scale, as the TypeScript predict does (networkPadding), and cropped back."""
    s = model.cfg.scale
    h, w = x.shape[2], x.shape[3]
    ph, pw = -h % s, -w % s
    xp = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x
    return model(xp, clip=True)[:, :, :h, :w]


def summarise(r: dict) -> str:
    """One log line: gain / high-pass gain at the highest strength per task, dark blur's worst gain, identity worst."""
    top = lambda per: {t: v[max(v, key=float)] for t, v in per.items()}
    parts = [f"{t} {v['gain']:+.2f}/hp {v['highpassGain']:+.2f}" for t, v in top(r["tasks"]).items()]
    if "blur" in r["darkTasks"]:
        parts.append("dark blur worst " + "/".join(f"{v['worstGain']:+.2f}" for v in r["darkTasks"]["blur"].values()))
    parts.append("identity worst " + ", ".join(f"{k} {v['worstPsnr']:.1f} dB" for k, v in r["identity"].items()))
    return "; ".join(parts)


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
