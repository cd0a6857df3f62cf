#!/usr/bin/env python3
"""PyTorch port of the SDK's training-data pipeline (src/core/degrade/*.ts, src/training/photo-pairs.ts).

Degrades batches of clean images (float NCHW in [0,1], CPU or CUDA) with per-sample random parameters drawn
from a torch.Generator, following the TypeScript generators: same parameter ranges, same mapping from
strength to parameters, same compositing. Random streams differ from the TS ones (torch RNG), so outputs are
not bit-equal, but the distributions are the same. Applied at time 0 (still images), as the TS trainer does.

    rain(x, strength, gen)      2-3 layers of sheared, tapered, widened streaks; mist; screen/add/over blend
    snow(x, strength, gen)      3-4 layers of soft, motion-smeared flakes; mist
    lowlight(x, strength, gen)  gamma + scale, colour cast, uneven light, sensor noise, 8-bit quantisation
    blur(x, strength, gen)      camera-shake trajectory and/or defocus disk, optional light sensor noise
    noise(x, strength, gen), haze(x, strength, gen)   (extras)

    load_photos(folder, split='train') -> list of uint8 [3,H,W] tensors (shrunk to fit 1920, as decodePhoto)
    make_pool(photos, task, n, crop=128, seed=1, device='cpu', ...) -> (degraded, clean, strengths)

`python scripts/gpu/degrade_torch.py --check` prints PSNR(degraded, clean) per kind and strength, timings,
and writes an example grid to /tmp/degrade_grid.png.
"""
from __future__ import annotations

import io
import json
import math
import os
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

Strength = Union[float, torch.Tensor]

# ----------------------------------------------------------------------------------------------------------
# Random draws and small helpers
# ----------------------------------------------------------------------------------------------------------


class _Draw:
    """Per-sample random draws from `gen` (drawn on the generator's device, then moved to `device`)."""

    def __init__(self, gen: Optional[torch.Generator], device: torch.device, batch: int):
        if gen is None:
            gen = torch.Generator(device=device)
            gen.seed()
        self.gen = gen
        self.device = device
        self.batch = batch

    def rand(self, *shape: int) -> torch.Tensor:
        shape = shape or (self.batch,)
        return torch.rand(shape, generator=self.gen, device=self.gen.device).to(self.device)

    def randn(self, *shape: int) -> torch.Tensor:
        shape = shape or (self.batch,)
        return torch.randn(shape, generator=self.gen, device=self.gen.device).to(self.device)

    def u(self, lo, hi, *shape: int) -> torch.Tensor:
        return lo + (hi - lo) * self.rand(*shape)

    def randint(self, lo: int, hi: int) -> torch.Tensor:
        """Integers in [lo, hi] inclusive, [B] float."""
        return lo + torch.floor(self.rand() * (hi - lo + 1))

    def chance(self, p: float) -> torch.Tensor:
        return self.rand() < p


def _lerp(a, b, t):
    return a + (b - a) * t


def _loglerp(a, b, t):
    la = math.log(a) if not torch.is_tensor(a) else torch.log(a)
    lb = math.log(b) if not torch.is_tensor(b) else torch.log(b)
    return torch.exp(_lerp(la, lb, t)) if torch.is_tensor(t) or torch.is_tensor(la) or torch.is_tensor(lb) else math.exp(_lerp(la, lb, t))


def _tidy(x: torch.Tensor) -> torch.Tensor:
    """TS tidyNumber: rounds to 4 decimals. It matters: tiny streak/flake densities round to 0.0001 or 0."""
    return torch.floor(x * 1e4 + 0.5) / 1e4


def _strength(strength: Strength, batch: int, device) -> torch.Tensor:
    s = torch.as_tensor(strength, dtype=torch.float32, device=device)
    if s.dim() == 0:
        s = s.expand(batch)
    return s.reshape(batch).clamp(0, 1)


def _prep(x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected a [B,3,H,W] batch, got {tuple(x.shape)}")
    return x.float()


def _col(v: torch.Tensor) -> torch.Tensor:
    """[B] -> [B,1,1,1]."""
    return v.view(-1, 1, 1, 1)


def _rgb(r: torch.Tensor, g: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Three [B] tensors -> [B,3,1,1]."""
    return torch.stack([r, g, b], 1).view(-1, 3, 1, 1)


# ----------------------------------------------------------------------------------------------------------
# Filtering (symmetric 'reflect' padding as tf.mirrorPad SYMMETRIC, per-sample kernels)
# ----------------------------------------------------------------------------------------------------------


def _sym_index(n: int, before: int, after: int, device) -> torch.Tensor:
    i = torch.arange(-before, n + after, device=device)
    m = torch.remainder(i, 2 * n)
    return torch.where(m < n, m, 2 * n - 1 - m)


def _pad_sym(x: torch.Tensor, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """Mirror padding that repeats the edge pixel (TS 'reflect'), any pad size."""
    h, w = x.shape[-2:]
    if top or bottom:
        x = x.index_select(-2, _sym_index(h, top, bottom, x.device))
    if left or right:
        x = x.index_select(-1, _sym_index(w, left, right, x.device))
    return x


def _gauss_taps(sigma: torch.Tensor, peak: bool = False) -> torch.Tensor:
    """Per-sample 1-D gaussians as TS gaussian1d ([B, 2R+1], radius ceil(3 sigma), delta when sigma < 0.2),
    normalised to sum 1, or to peak 1 when `peak`."""
    on = sigma >= 0.2
    big = float(sigma[on].max()) if bool(on.any()) else 0.0
    r_max = int(math.ceil(3 * big)) if big > 0 else 0
    i = torch.arange(-r_max, r_max + 1, device=sigma.device, dtype=torch.float32)
    sg = sigma.clamp(min=0.2).view(-1, 1)
    w = torch.exp(-(i * i) / (2 * sg * sg)) * (i.abs() <= torch.ceil(3 * sg)).float()
    w = w / (w.amax(1, keepdim=True) if peak else w.sum(1, keepdim=True))
    delta = (i == 0).float().expand_as(w)
    return torch.where(on.view(-1, 1), w, delta)


def _filter_rows_cols(x: torch.Tensor, kh: Optional[torch.Tensor], kw: Optional[torch.Tensor]) -> torch.Tensor:
    """Separable per-sample filtering of [B,C,H,W]: `kw` [B,K] along columns (horizontal), then `kh` along rows."""
    b, c, h, w = x.shape
    if kw is not None and kw.shape[1] > 1:
        r = (kw.shape[1] - 1) // 2
        xp = _pad_sym(x, 0, 0, r, r).reshape(1, b * c, h, w + 2 * r)
        wt = kw.repeat_interleave(c, 0).view(b * c, 1, 1, -1)
        x = F.conv2d(xp, wt, groups=b * c).view(b, c, h, w)
    if kh is not None and kh.shape[1] > 1:
        r = (kh.shape[1] - 1) // 2
        xp = _pad_sym(x, r, r, 0, 0).reshape(1, b * c, h + 2 * r, w)
        wt = kh.repeat_interleave(c, 0).view(b * c, 1, -1, 1)
        x = F.conv2d(xp, wt, groups=b * c).view(b, c, h, w)
    return x


def _gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """TS gaussianBlur with a per-sample sigma (identity where sigma < 0.2)."""
    g = _gauss_taps(sigma)
    return x if g.shape[1] == 1 else _filter_rows_cols(x, g, g)


def _to_domain(k: torch.Tensor, hp: int, wp: int) -> torch.Tensor:
    """A centred [B,kh,kw] kernel placed on a [B,hp,wp] periodic grid with its centre at (0, 0)."""
    kh, kw = k.shape[-2:]
    d = F.pad(k, (0, wp - kw, 0, hp - kh))
    return torch.roll(d, shifts=(-(kh // 2), -(kw // 2)), dims=(-2, -1))


def _filter_fft(x: torch.Tensor, kernels: Sequence[torch.Tensor]) -> torch.Tensor:
    """Cross-correlation of [B,C,H,W] with the successive centred per-sample kernels ([B,kh,kw], odd sizes),
    keeping the size, edges extended by symmetric padding (as TS filterSame(..., 'reflect'))."""
    b, c, h, w = x.shape
    py = sum((k.shape[-2] - 1) // 2 for k in kernels)
    px = sum((k.shape[-1] - 1) // 2 for k in kernels)
    if py == 0 and px == 0:
        out = x
        for k in kernels:
            out = out * k.view(b, 1, 1, 1)
        return out
    xp = _pad_sym(x, py, py, px, px)
    hp, wp = h + 2 * py, w + 2 * px
    spec = torch.fft.rfft2(xp)
    for k in kernels:
        spec = spec * torch.conj(torch.fft.rfft2(_to_domain(k, hp, wp))).unsqueeze(1)
    out = torch.fft.irfft2(spec, s=(hp, wp))
    return out[..., py:py + h, px:px + w]


def _centered_coords(n: int, device) -> torch.Tensor:
    """Signed distances from index 0 on a periodic axis of length n: 0, 1, ..., -1."""
    i = torch.arange(n, device=device, dtype=torch.float32)
    return torch.where(i < (n + 1) // 2, i, i - n)


def _disk_kernels(radius: torch.Tensor, half: Optional[int] = None) -> torch.Tensor:
    """TS diskKernel per sample on a common [B, 2*half+1, 2*half+1] grid: pixel coverage by 5x5 supersampling of
    a disk of max(radius, 0.5), normalised to sum 1."""
    r = radius.clamp(min=0.5).view(-1, 1, 1)
    if half is None:
        half = int(math.ceil(float(r.max())))
    dev = radius.device
    c = torch.arange(-half, half + 1, device=dev, dtype=torch.float32)
    yy, xx = c.view(-1, 1), c.view(1, -1)
    inside = torch.zeros(radius.shape[0], 2 * half + 1, 2 * half + 1, device=dev)
    for sy in range(5):
        for sx in range(5):
            px = xx + (sx + 0.5) / 5 - 0.5
            py = yy + (sy + 0.5) / 5 - 0.5
            inside += ((px * px + py * py) <= r * r).float()
    return inside / inside.sum((1, 2), keepdim=True)


def _splat(k: torch.Tensor, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, cx: float, cy: float, wrap: bool = False) -> None:
    """Bilinear splatting (TS splat) of points [B,M] (kernel centre at (cx, cy)) into k [B,H,W], in place."""
    b, h, w = k.shape
    fx_all = cx + x
    fy_all = cy + y
    x0 = torch.floor(fx_all)
    y0 = torch.floor(fy_all)
    fx = fx_all - x0
    fy = fy_all - y0
    flat = k.view(b, h * w)
    for dx, dy, wt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi = (x0 + dx).long()
        yi = (y0 + dy).long()
        if wrap:
            xi = torch.remainder(xi, w)
            yi = torch.remainder(yi, h)
            ok = torch.ones_like(wt)
        else:
            ok = ((xi >= 0) & (yi >= 0) & (xi < w) & (yi < h)).float()
            xi = xi.clamp(0, w - 1)
            yi = yi.clamp(0, h - 1)
        flat.scatter_add_(1, yi * w + xi, wt * weight * ok)


# ----------------------------------------------------------------------------------------------------------
# Sensor noise (noise.ts addSensorNoise), used by lowlight, blur and noise
# ----------------------------------------------------------------------------------------------------------


def _sensor_noise(x: torch.Tensor, read: torch.Tensor, shot: torch.Tensor, rho: torch.Tensor, grain: torch.Tensor, d: _Draw) -> torch.Tensor:
    """x + z * sqrt(shot * relu(x) + read^2), z unit-variance noise: grey/colour mix by `rho`, optionally grainy."""
    b, c, h, w = x.shape
    grey = d.randn(b, 1, h, w)
    colour = d.randn(b, c, h, w)
    rr = _col(rho.clamp(0, 1))
    z = grey * rr + colour * torch.sqrt(1 - rr * rr)
    g = _gauss_taps(grain)
    if g.shape[1] > 1:
        z = _filter_rows_cols(z, g, g)
        z = z / _col((g * g).sum(1))  # separable kernel: sqrt(sum of squares of the 2-D kernel) = sum g^2
    variance = F.relu(x) * _col(shot) + _col(read * read)
    return x + z * torch.sqrt(variance)


# ----------------------------------------------------------------------------------------------------------
# Rain (rain.ts)
# ----------------------------------------------------------------------------------------------------------


def _box_causal(x: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """Running sum over dim 1 of [B,R,C] with a per-sample length n [B] (long): out[r] = x[r-n+1] + ... + x[r]."""
    b, rows, cols = x.shape
    cs = torch.cat([torch.zeros(b, 1, cols, device=x.device, dtype=x.dtype), torch.cumsum(x, 1)], 1)
    hi = torch.arange(1, rows + 1, device=x.device).view(1, -1).expand(b, rows)
    lo = (hi - n.view(-1, 1)).clamp(min=0)
    return torch.gather(cs, 1, hi.unsqueeze(-1).expand(b, rows, cols)) - torch.gather(cs, 1, lo.unsqueeze(-1).expand(b, rows, cols))


def _rain_layer(h: int, w: int, angle: torch.Tensor, length: torch.Tensor, width: torch.Tensor, density: torch.Tensor,
                opacity: torch.Tensor, min_b: torch.Tensor, taper: torch.Tensor, d: _Draw) -> torch.Tensor:
    """One layer's streak opacity [B,1,H,W] at time 0: sparse seeds in sheared coordinates run through a trapezoid
    along the fall (two box sums), read with the shear (linear along x), widened by a peak-1 gaussian across."""
    dev = angle.device
    b = angle.shape[0]
    tan = torch.tan(angle * math.pi / 180)
    n_len = torch.floor(length + 0.5).clamp(min=1).long()
    fade = torch.floor(taper * n_len + 0.5).clamp(min=1).long()
    first = (n_len - fade + 1).clamp(min=1)
    l_max = int(n_len.max())
    rows = h + l_max - 1
    cols = w + int(math.ceil(float(tan.abs().max()) * (h - 1))) + 2
    seeds = (d.rand(b, rows, cols) < density.view(-1, 1, 1)).float()
    seeds = seeds * (min_b.view(-1, 1, 1) + (1 - min_b.view(-1, 1, 1)) * d.rand(b, rows, cols))
    streaks = _box_causal(_box_causal(seeds, first), fade) / fade.view(-1, 1, 1).float()
    field = streaks[:, l_max - 1:, :]  # [B,H,cols]: every visible row has its full history of seeds above
    yy = torch.arange(h, device=dev, dtype=torch.float32).view(1, -1, 1)
    xx = torch.arange(w, device=dev, dtype=torch.float32).view(1, 1, -1)
    offset = tan.clamp(min=0) * (h - 1)
    c = xx - tan.view(-1, 1, 1) * yy + offset.view(-1, 1, 1)  # [B,H,W] column read by output (x, y)
    c0 = torch.floor(c)
    f = c - c0
    i0 = c0.long()
    i1 = i0 + 1
    v0 = torch.gather(field, 2, i0.clamp(0, cols - 1)) * ((i0 >= 0) & (i0 < cols)).float()
    v1 = torch.gather(field, 2, i1.clamp(0, cols - 1)) * ((i1 >= 0) & (i1 < cols)).float()
    sampled = (v0 * (1 - f) + v1 * f).unsqueeze(1)
    across = _gauss_taps(width, peak=True)
    wide = _filter_rows_cols(sampled, None, across)
    return (wide * _col(opacity)).clamp(0, 1)


def rain(x: torch.Tensor, strength: Strength, gen: Optional[torch.Generator] = None,
         angle: Optional[torch.Tensor] = None, tint: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Rain as rain.ts: 2-3 streak layers at a shared angle in -30..30 degrees (far thin/short/dense, near
    wide/long/sparse), tint, mist veil, optional scene softening, screen/add/over blend. Returns [B,3,H,W] in [0,1].
    `angle` ([B], degrees) and `tint` ([B, 3]) override the sampled ones after sampling, as rain.ts overrides."""
    x = _prep(x)
    b, _, h, w = x.shape
    dev = x.device
    s = _strength(strength, b, dev)
    d = _Draw(gen, dev, b)
    count = d.randint(2, 3)
    coverage = _lerp(0.04, 0.22, s) * d.u(0.6, 1.4)
    sampled_angle = _tidy(d.u(-30, 30))
    angle = sampled_angle if angle is None else angle.to(dev).float()
    clear = torch.ones(b, 1, h, w, device=dev)
    for i in range(3):
        active = (i < count).float()
        z = (i / (count - 1)).clamp(max=1)
        length = _lerp(14, 70, z) * d.u(0.7, 1.4) * _lerp(0.85, 1.15, s)
        width = _lerp(0.3, 1.6, z) * d.u(0.8, 1.25)
        layer_cov = coverage * _lerp(1, 0.5, z) * d.u(0.6, 1.4)
        offset = _tidy(d.u(-4, 4))
        density = _tidy(layer_cov / (length * (1 + 2 * width))) * active
        opacity = _tidy((_lerp(0.35, 0.85, s) * d.u(0.7, 1.2) * _lerp(1, 0.75, z)).clamp(0.1, 1))
        min_b = _tidy(d.u(0.3, 0.7))
        taper = _tidy(d.u(0.15, 0.45))
        layer = _rain_layer(h, w, angle + offset, _tidy(length), _tidy(width), density, opacity, min_b, taper, d)
        clear = clear * (1 - layer * _col(active))
    grey = d.u(0.75, 1)
    blue = d.u(0, 0.06)
    mist = d.u(0.6, 0.95)
    sampled_tint = _tidy(_rgb(grey - blue + d.u(-0.03, 0.03), grey + d.u(-0.03, 0.03), grey + blue + d.u(-0.03, 0.03)).clamp(0, 1))
    tint = sampled_tint if tint is None else tint.to(dev).float().view(b, 3, 1, 1)
    pick = torch.floor(d.rand() * 6)  # ['screen', 'screen', 'screen', 'add', 'add', 'over']
    veil_amt = _tidy((_lerp(0.02, 0.2, s) * d.u(0.3, 1.3)).clamp(0, 0.35))
    veil_col = _tidy(_rgb(mist - blue, mist, mist + blue).clamp(0, 1))
    scene_blur = _tidy(torch.where(d.chance(0.3), d.u(0.4, 1.0), torch.zeros_like(s)))
    streaks = (1 - clear) * tint
    scene = _gaussian_blur(x, scene_blur)
    v = _col(veil_amt)
    scene = scene * (1 - v) + veil_col * v
    screen = 1 - (1 - scene) * (1 - streaks)
    add = scene + streaks
    over = scene * clear + streaks
    p = _col(pick)
    out = torch.where(p < 3, screen, torch.where(p < 5, add, over))
    return out.clamp(0, 1)


# ----------------------------------------------------------------------------------------------------------
# Snow (snow.ts)
# ----------------------------------------------------------------------------------------------------------


def _snow_layer(h: int, w: int, radius: torch.Tensor, softness: torch.Tensor, density: torch.Tensor, opacity: torch.Tensor,
                motion: torch.Tensor, angle: torch.Tensor, min_b: torch.Tensor, d: _Draw) -> torch.Tensor:
    """One layer's flake opacity [B,1,H,W] at time 0, rendered at full resolution on a periodic grid by FFT.

    TS draws a layer at 1/scale resolution (scale = clamp(floor(footprint / 3), 1, 8)) and upsamples it
    bilinearly; here the flake kernel is built at full resolution (disk (*) gaussian, peak 1, then the motion
    segment when motion / scale >= 1, as TS), and the bilinear upsampling is reproduced by a tent of half-width
    `scale` (a delta when scale = 1)."""
    dev = radius.device
    b = radius.shape[0]
    hp, wp = max(h + 32, 160), max(w + 32, 160)
    scale = torch.floor((radius + 2 * softness + motion / 2) / 3).clamp(1, 8)
    seeds = (d.rand(b, hp, wp) < density.view(-1, 1, 1)).float()
    seeds = seeds * (min_b.view(-1, 1, 1) + (1 - min_b.view(-1, 1, 1)) * d.rand(b, hp, wp))
    # Flake: disk (*) gaussian, normalised to peak 1.
    disk = _to_domain(_disk_kernels(radius), hp, wp)
    cy = _centered_coords(hp, dev)
    cx = _centered_coords(wp, dev)
    sg = softness.clamp(min=0.2).view(-1, 1)
    gy = torch.exp(-(cy * cy) / (2 * sg * sg)) * (cy.abs() <= torch.ceil(3 * sg)).float()
    gx = torch.exp(-(cx * cx) / (2 * sg * sg)) * (cx.abs() <= torch.ceil(3 * sg)).float()
    gy = gy / gy.sum(1, keepdim=True)
    gx = gx / gx.sum(1, keepdim=True)
    gauss = gy.unsqueeze(2) * gx.unsqueeze(1)
    spec = torch.fft.rfft2(disk) * torch.fft.rfft2(gauss)
    peak = torch.fft.irfft2(spec, s=(hp, wp)).amax((1, 2))
    spec = spec / peak.clamp(min=1e-12).view(-1, 1, 1)
    # Motion smear: a segment of `motion` px (TS: of motion/scale low-res px, only when that is >= 1).
    smear = (motion / scale) >= 1
    length = torch.where(smear, motion, torch.zeros_like(motion))
    steps = torch.clamp(torch.ceil(length * 4), min=2)
    m = int(steps.max()) + 1
    idx = torch.arange(m, device=dev, dtype=torch.float32).view(1, -1)
    valid = (idx <= steps.view(-1, 1)).float()
    t = (idx / steps.view(-1, 1) - 0.5) * length.view(-1, 1)
    line = torch.zeros(b, hp, wp, device=dev)
    _splat(line, t * torch.cos(angle).view(-1, 1), t * torch.sin(angle).view(-1, 1), valid, 0.0, 0.0, wrap=True)
    line = line / line.sum((1, 2), keepdim=True)
    spec = spec * torch.fft.rfft2(line)
    # Bilinear upsampling from the 1/scale grid ~ a tent of half-width scale.
    sc = scale.view(-1, 1)
    ty = (1 - cy.abs() / sc).clamp(min=0)
    tx = (1 - cx.abs() / sc).clamp(min=0)
    ty = ty / ty.sum(1, keepdim=True)
    tx = tx / tx.sum(1, keepdim=True)
    spec = spec * torch.fft.rfft2(ty.unsqueeze(2) * tx.unsqueeze(1))
    field = torch.fft.irfft2(torch.fft.rfft2(seeds) * spec, s=(hp, wp))[:, :h, :w]
    return (field.unsqueeze(1) * _col(opacity)).clamp(0, 1)


def snow(x: torch.Tensor, strength: Strength, gen: Optional[torch.Generator] = None) -> torch.Tensor:
    """Snow as snow.ts: 3-4 flake layers (far small and sharp, near big, soft and few), motion-smeared along the
    fall with wind, a white-blue flake colour and a mist veil. Returns [B,3,H,W] in [0,1]."""
    x = _prep(x)
    b, _, h, w = x.shape
    dev = x.device
    s = _strength(strength, b, dev)
    d = _Draw(gen, dev, b)
    count = d.randint(3, 4)
    wind = d.u(-0.6, 0.6)
    exposure = d.u(1 / 250, 1 / 30)
    coverage = _lerp(0.015, 0.1, s) * d.u(0.6, 1.4)
    near_size = torch.where(d.chance(0.3), d.u(1.3, 2), d.u(0.75, 1.3))
    clear = torch.ones(b, 1, h, w, device=dev)
    for i in range(4):
        active = (i < count).float()
        z = (i / (count - 1)).clamp(max=1)
        radius = _loglerp(torch.full_like(s, 0.6), 6 * near_size, z) * d.u(0.75, 1.35)
        softness = torch.maximum(torch.full_like(s, 0.3), radius * _lerp(0.3, 0.8, z) * d.u(0.7, 1.3))
        speed = _loglerp(40.0, 300.0, z) * d.u(0.7, 1.3)
        drift = speed * (wind + d.u(-0.15, 0.15))
        area = math.pi * (radius + softness) ** 2
        density = _tidy(coverage * _lerp(1, 0.35, z) * d.u(0.6, 1.4) / area) * active
        opacity = _tidy((_lerp(0.6, 0.95, s) * d.u(0.8, 1.1) * _lerp(1, 0.75, z)).clamp(0.2, 1))
        motion = _tidy(torch.clamp(torch.hypot(speed, drift) * exposure, max=12))
        min_b = _tidy(d.u(0.5, 0.9))
        speed, drift = _tidy(speed), _tidy(drift)
        layer = _snow_layer(h, w, _tidy(radius), _tidy(softness), density, opacity, motion, torch.atan2(speed, drift), min_b, d)
        clear = clear * (1 - layer * _col(active))
    grey = d.u(0.88, 1)
    blue = d.u(0, 0.04)
    mist = d.u(0.75, 0.95)
    color = _tidy(_rgb(grey - blue, grey, grey + blue / 2).clamp(0, 1))
    veil_amt = _col(_tidy((_lerp(0.03, 0.25, s) * d.u(0.3, 1.2)).clamp(0, 0.35)))
    veil_col = _tidy(_rgb(mist - blue, mist, mist + blue).clamp(0, 1))
    scene = x * (1 - veil_amt) + veil_col * veil_amt
    return (scene * clear + color * (1 - clear)).clamp(0, 1)


# ----------------------------------------------------------------------------------------------------------
# Low light (lowlight.ts) and the smooth field (fields.ts smoothField)
# ----------------------------------------------------------------------------------------------------------


def _smooth_field(b: int, h: int, w: int, cell: torch.Tensor, min_cell: float, d: _Draw) -> torch.Tensor:
    """[B,1,H,W] in [0,1], mean 0.5, std ~0.17, features ~`cell` px: uniform noise on a coarse grid, blurred
    (gaussian sigma 1, valid), standardised, upsampled bilinearly (grid point k+1 at pixel k*cell)."""
    dev = cell.device
    gh = int(math.ceil(h / min_cell)) + 3
    gw = int(math.ceil(w / min_cell)) + 3
    raw = d.u(-0.5, 0.5, b, 1, gh + 6, gw + 6)
    g = torch.exp(-torch.arange(-3, 4, device=dev, dtype=torch.float32) ** 2 / 2)
    g = g / g.sum()
    k2 = (g.view(-1, 1) * g.view(1, -1))
    grid = F.conv2d(raw, k2.view(1, 1, 7, 7))
    std = math.sqrt(float((k2 * k2).sum()) / 12)
    z = grid / std
    yy = torch.arange(h, device=dev, dtype=torch.float32).view(1, -1, 1)
    xx = torch.arange(w, device=dev, dtype=torch.float32).view(1, 1, -1)
    c = cell.view(-1, 1, 1)
    gy = (yy / c + 1).expand(b, h, w)
    gx = (xx / c + 1).expand(b, h, w)
    coords = torch.stack([2 * gx / (gw - 1) - 1, 2 * gy / (gh - 1) - 1], -1)
    up = F.grid_sample(z, coords, mode='bilinear', padding_mode='zeros', align_corners=True)
    return (0.5 + 0.2 * up).clamp(0, 1)


def lowlight(x: torch.Tensor, strength: Strength, gen: Optional[torch.Generator] = None) -> torch.Tensor:
    """Low light as lowlight.ts: brightness * cast * illumination * x^gamma (mid-grey to 0.22..0.03, gamma
    1.3..2.5), shot + read noise, clip, 8-bit quantisation for 60 % of samples. Returns [B,3,H,W] in [0,1]."""
    x = _prep(x)
    b, _, h, w = x.shape
    dev = x.device
    s = _strength(strength, b, dev)
    d = _Draw(gen, dev, b)
    tint = d.u(-0.15, 0.15)
    green = d.u(-0.06, 0.06)
    cast = torch.stack([(1 + tint) * d.u(0.96, 1.04), (1 + green) * d.u(0.96, 1.04), (1 - tint) * d.u(0.96, 1.04)], 1)
    cast = _tidy(cast / cast.mean(1, keepdim=True)).view(b, 3, 1, 1)
    mid_grey = (_loglerp(0.22, 0.03, s) * d.u(0.8, 1.25)).clamp(0.02, 0.3)
    gamma = (_lerp(1.3, 2.5, s) + d.u(-0.3, 0.3)).clamp(1, 3)
    brightness = _tidy(mid_grey / 0.5 ** gamma)
    gamma = _tidy(gamma)
    uneven = _tidy(torch.where(d.chance(0.5), d.u(0, 0.5), torch.zeros_like(s)))
    cell = _tidy(d.u(150, 500))
    read = _tidy(_loglerp(0.003, 0.015, s) * d.u(0.6, 1.5))
    shot = _tidy(_loglerp(0.0008, 0.006, s) * d.u(0.5, 1.8))
    rho = _tidy(d.u(0, 0.5))
    grain = _tidy(torch.where(d.chance(0.5), torch.zeros_like(s), d.u(0.4, 1.0)))
    quantise = d.chance(0.6)
    gain = cast * _col(brightness)
    field = _smooth_field(b, h, w, cell, 150.0, d)
    gain = gain * (1 + (field - 0.5) * 2 * _col(uneven))
    dark = x.clamp(0, 1).pow(_col(gamma)) * gain
    noisy = _sensor_noise(dark, read, shot, rho, grain, d).clamp(0, 1)
    out = torch.where(_col(quantise), torch.round(noisy * 255) / 255, noisy)
    return out.clamp(0, 1)


# ----------------------------------------------------------------------------------------------------------
# Blur (blur.ts, kernels.ts trajectoryKernel / diskKernel)
# ----------------------------------------------------------------------------------------------------------


def _trajectory_kernels(size: torch.Tensor, curvature: torch.Tensor, shake: torch.Tensor, d: _Draw) -> torch.Tensor:
    """TS trajectoryKernel per sample ([B,K,K], common K, each centred on its path's centre of mass): a 96-step
    random walk with inertia, random jerks and pace, scaled to span size - 2 px, splatted bilinearly."""
    dev = size.device
    b = size.shape[0]
    steps = 96
    normal = d.randn(b, steps)
    jerk_on = d.rand(b, steps) < shake.view(-1, 1)
    jerk = d.u(0, 2 * math.pi, b, steps)
    pace = d.u(0.5, 1.5, b, steps)
    angle = d.u(0, 2 * math.pi)
    vx, vy = torch.cos(angle), torch.sin(angle)
    px = torch.zeros(b, device=dev)
    py = torch.zeros(b, device=dev)
    xs, ys = [], []
    jx = torch.where(jerk_on, 1.5 * torch.cos(jerk), torch.zeros_like(jerk))
    jy = torch.where(jerk_on, 1.5 * torch.sin(jerk), torch.zeros_like(jerk))
    curl = normal * 0.35 * curvature.view(-1, 1)
    for i in range(steps):
        xs.append(px)
        ys.append(py)
        angle = angle + curl[:, i]
        ax = torch.cos(angle) - vx + jx[:, i]
        ay = torch.sin(angle) - vy + jy[:, i]
        vx = vx + 0.3 * ax
        vy = vy + 0.3 * ay
        speed = torch.hypot(vx, vy)
        speed = torch.where(speed > 0, speed, torch.ones_like(speed))
        px = px + vx / speed * pace[:, i]
        py = py + vy / speed * pace[:, i]
    xs_t = torch.stack(xs, 1)
    ys_t = torch.stack(ys, 1)
    extent = torch.maximum(xs_t.amax(1) - xs_t.amin(1), ys_t.amax(1) - ys_t.amin(1)).clamp(min=1e-6)
    scale = (size.float() - 2) / extent
    mx = xs_t.mean(1)
    my = ys_t.mean(1)
    reach = torch.maximum((xs_t - mx.view(-1, 1)).abs().amax(1), (ys_t - my.view(-1, 1)).abs().amax(1)) * scale
    half = int(torch.ceil(reach).max()) + 1
    kdim = 2 * half + 1
    t = torch.arange(4, device=dev, dtype=torch.float32).view(1, 1, 4) / 4
    qx = xs_t[:, :-1, None] + (xs_t[:, 1:, None] - xs_t[:, :-1, None]) * t
    qy = ys_t[:, :-1, None] + (ys_t[:, 1:, None] - ys_t[:, :-1, None]) * t
    qx = ((qx - mx.view(-1, 1, 1)) * scale.view(-1, 1, 1)).reshape(b, -1)
    qy = ((qy - my.view(-1, 1, 1)) * scale.view(-1, 1, 1)).reshape(b, -1)
    k = torch.zeros(b, kdim, kdim, device=dev)
    _splat(k, qx, qy, torch.ones_like(qx), float(half), float(half))
    return k / k.sum((1, 2), keepdim=True)


def blur(x: torch.Tensor, strength: Strength, gen: Optional[torch.Generator] = None, info: Optional[dict] = None) -> torch.Tensor:
    """Blur as blur.ts: 55 % camera shake (trajectory of 5..31 px), 30 % defocus (disk radius 1.5..8 px), 15 %
    both (smaller), then light sensor noise for half the samples. Returns [B,3,H,W] in [0,1]."""
    x = _prep(x)
    b, _, h, w = x.shape
    dev = x.device
    s = _strength(strength, b, dev)
    d = _Draw(gen, dev, b)
    roll = d.rand()
    has_motion = (roll < 0.55) | (roll >= 0.85)
    has_disk = roll >= 0.55
    both = roll >= 0.85
    motion = _lerp(5, 31, s) * d.u(0.8, 1.2) * torch.where(both, 0.7, 1.0)
    radius = _lerp(1.5, 8, s) * d.u(0.8, 1.2) * torch.where(both, 0.6, 1.0)
    noisy = d.chance(0.5)
    size = torch.floor(motion.clamp(3, 63) + 0.5).long() | 1
    curvature = _tidy(torch.where(d.chance(0.3), d.u(0, 0.15), d.u(0.15, 1)))
    shake = _tidy(d.u(0, 0.12))
    defocus = _tidy(radius.clamp(0.8, 16))
    read = _tidy(_loglerp(0.002, 0.012, d.rand())) * noisy.float()
    shot = _tidy(_loglerp(0.0002, 0.002, d.rand())) * noisy.float()
    rho = _tidy(d.u(0, 0.5))
    kernels = []
    if bool(has_motion.any()):
        traj = _trajectory_kernels(size, curvature, shake, d)
        delta = torch.zeros_like(traj)
        delta[:, traj.shape[1] // 2, traj.shape[2] // 2] = 1
        kernels.append(torch.where(has_motion.view(-1, 1, 1), traj, delta))
    if bool(has_disk.any()):
        disk = _disk_kernels(torch.where(has_disk, defocus, torch.full_like(defocus, 0.5)))
        delta = torch.zeros_like(disk)
        delta[:, disk.shape[1] // 2, disk.shape[2] // 2] = 1
        kernels.append(torch.where(has_disk.view(-1, 1, 1), disk, delta))
    if info is not None:  # sampled parameters, for checks
        info.update(type=torch.where(both, 2, torch.where(has_disk, 1, 0)), motion_size=torch.where(has_motion, size, 0),
                    defocus=torch.where(has_disk, defocus, 0.0), noisy=noisy, kernels=kernels)
    out = _filter_fft(x, kernels) if kernels else x
    if bool(noisy.any()):
        out = _sensor_noise(out, read, shot, rho, torch.zeros_like(s), d)
    return out.clamp(0, 1)


# ----------------------------------------------------------------------------------------------------------
# Extras: noise (noise.ts) and haze (haze.ts)
# ----------------------------------------------------------------------------------------------------------


def noise(x: torch.Tensor, strength: Strength, gen: Optional[torch.Generator] = None) -> torch.Tensor:
    """Sensor noise as noise.ts: read 0.008..0.07, shot noise for 70 %, grey or chroma, grain for 40 %."""
    x = _prep(x)
    b = x.shape[0]
    s = _strength(strength, b, x.device)
    d = _Draw(gen, x.device, b)
    shot_on = d.chance(0.7)
    read = _tidy(_loglerp(0.008, 0.07, s) * d.u(0.75, 1.3))
    shot = _tidy(torch.where(shot_on, _loglerp(0.0004, 0.012, s) * d.u(0.6, 1.6), torch.zeros_like(s)))
    rho = _tidy(torch.where(d.chance(0.3), d.u(0.7, 1), d.u(0, 0.4)))
    grain = _tidy(torch.where(d.chance(0.6), torch.zeros_like(s), d.u(0.4, 1.0)))
    return _sensor_noise(x, read, shot, rho, grain, d).clamp(0, 1)


def haze(x: torch.Tensor, strength: Strength, gen: Optional[torch.Generator] = None) -> torch.Tensor:
    """Haze as haze.ts: J t + A (1 - t), t = exp(-beta depth), smooth random depth with a vertical slope."""
    x = _prep(x)
    b, _, h, w = x.shape
    dev = x.device
    s = _strength(strength, b, dev)
    d = _Draw(gen, dev, b)
    mean_t = (_lerp(0.85, 0.35, s) * d.u(0.9, 1.1)).clamp(0.2, 0.95)
    depth = d.u(0.5, 0.8)
    grey = d.u(0.7, 1.0)
    warm = d.u(-0.05, 0.05)
    beta = _tidy(-torch.log(mean_t) / depth)
    depth = _tidy(depth)
    variation = _tidy(d.u(0.1, 0.5))
    cell = _tidy(d.u(100, 400))
    slope = _tidy(d.u(0, 0.4))
    air = _tidy(_rgb(grey * (1 + warm) * d.u(0.98, 1.02), grey * d.u(0.98, 1.02), grey * (1 - warm) * d.u(0.98, 1.02)).clamp(0, 1))
    field = _smooth_field(b, h, w, cell, 100.0, d)
    rows = torch.linspace((h - 1) / 2, -(h - 1) / 2, h, device=dev).view(1, 1, h, 1)
    dep = (_col(depth) + (field - 0.5) * 2 * _col(variation) + rows * _col(slope) / 1000).clamp(0, 1.5)
    t = torch.exp(-dep * _col(beta))
    return (x * t + air * (1 - t)).clamp(0, 1)


def _hsv(hue: torch.Tensor, sat: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
    """[B] hue in [0, 1), saturation, value -> [B, 3] RGB."""
    k = torch.stack([(5 + hue * 6) % 6, (3 + hue * 6) % 6, (1 + hue * 6) % 6], 1)
    return val.view(-1, 1) - val.view(-1, 1) * sat.view(-1, 1) * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def storm_rain(x: torch.Tensor, strength: Strength, gen: Optional[torch.Generator] = None) -> torch.Tensor:
    """The online experiment's new rain style (scripts/experiment-online.ts `stormRain`): wind-driven streaks
    at 40..65 degrees either side of vertical (training: -30..30) in a saturated colour (street lights, neon;
    training: near grey), otherwise rain.ts."""
    b = _prep(x).shape[0]
    d = _Draw(gen, x.device, b)
    sign = torch.where(d.chance(0.5), torch.ones(b, device=x.device), -torch.ones(b, device=x.device))
    angle = _tidy(sign * d.u(40, 65))
    tint = _tidy(_hsv(d.rand(), d.u(0.45, 0.85), d.u(0.85, 1.0)))
    return rain(x, strength, gen, angle=angle, tint=tint)


def identity(x: torch.Tensor, strength: Strength, gen: Optional[torch.Generator] = None) -> torch.Tensor:
    """No degradation: the clean input is its own target (identity samples: clean frames must come out unchanged)."""
    return _prep(x).clamp(0, 1)


def highpass(x: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    """The high-pass band of [B,3,H,W]: the image minus its gaussian blur at `sigma` (TS gaussianBlur: radius
    ceil(3 sigma), symmetric padding). Streaks, flakes and sensor noise live in this band."""
    x = _prep(x)
    return x - _gaussian_blur(x, torch.full((x.shape[0],), float(sigma), device=x.device))


DEGRADATIONS: Dict[str, Callable[..., torch.Tensor]] = {
    'identity': identity,
    'storm': storm_rain,
    'rain': rain, 'snow': snow, 'lowlight': lowlight, 'blur': blur, 'haze': haze, 'noise': noise,
}


def degrade(task: str, x: torch.Tensor, strength: Strength, gen: Optional[torch.Generator] = None) -> torch.Tensor:
    """The generator of `task` applied to `x`."""
    if task not in DEGRADATIONS:
        raise ValueError(f"unknown degradation '{task}'; expected one of {', '.join(DEGRADATIONS)}")
    return DEGRADATIONS[task](x, strength, gen)


# ----------------------------------------------------------------------------------------------------------
# Photos (photos.ts, train-data.ts decodePhoto) and the pool (train-data.ts PhotoPairSource)
# ----------------------------------------------------------------------------------------------------------

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.webp')


def _list_images(folder: str) -> List[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [x for x in dirs if not x.startswith('.')]
        for f in files:
            if not f.startswith('.') and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS:
                found.append(os.path.join(root, f))
    return sorted(found)


def photo_files(folder: str, split: str = 'train') -> List[str]:
    """The photo set's files of `split` (from manifest.json, sorted by path, as loadPhotoSet); a folder without a
    manifest gives all its images (any split)."""
    folder = os.path.abspath(folder)
    manifest = os.path.join(folder, 'manifest.json')
    if not os.path.exists(manifest):
        return _list_images(folder)
    with open(manifest, 'r', encoding='utf8') as fh:
        entries = json.load(fh)['photos']
    return sorted(os.path.abspath(os.path.join(folder, e['file'])) for e in entries if e['split'] == split)


def decode_photo(file: str, max_side: int = 1920) -> torch.Tensor:
    """RGB uint8 [3,H,W], EXIF-rotated, shrunk (never enlarged, Lanczos) to fit `max_side` like decodePhoto."""
    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(file) as im:
        im = ImageOps.exif_transpose(im)
        icc = im.info.get('icc_profile')
        if icc and im.mode in ('RGB', 'RGBA', 'L', 'CMYK'):
            # sharp's toColourspace('srgb') converts through the embedded profile (e.g. Adobe RGB: skimage rocket).
            try:
                from PIL import ImageCms

                src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                im = ImageCms.profileToProfile(im.convert('RGB') if im.mode != 'CMYK' else im, src,
                                               ImageCms.createProfile('sRGB'), renderingIntent=1, outputMode='RGB')
            except Exception:  # unusable profile: keep the pixel values
                pass
        im = im.convert('RGB')
        w, h = im.size
        if max(w, h) > max_side:
            scale = max_side / max(w, h)
            nw, nh = max(1, int(math.floor(w * scale + 0.5))), max(1, int(math.floor(h * scale + 0.5)))
            im = im.resize((nw, nh), Image.LANCZOS)
        arr = np.asarray(im, dtype=np.uint8).copy()
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def load_photos(folder: str, split: str = 'train', max_side: int = 1920) -> List[torch.Tensor]:
    """Decoded photos of the split (train/val as in photos.ts), each uint8 [3,H,W] on the CPU."""
    files = photo_files(folder, split)
    if not files:
        raise FileNotFoundError(f"no {split} photos in {folder} (run `npm run fetch-photos`)")
    return [decode_photo(f, max_side) for f in files]


class Mulberry32:
    """The SDK's Random (src/core/random.ts), bit for bit, so that pool recipes equal PhotoPairSource's."""

    M = 0xFFFFFFFF

    def __init__(self, seed: int):
        self.state = (int(seed) ^ 0x9E3779B9) & self.M
        for _ in range(4):
            self.next()

    def next(self) -> float:
        M = self.M
        self.state = (self.state + 0x6D2B79F5) & M
        t = self.state
        t = ((t ^ (t >> 15)) * (t | 1)) & M
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & M)) & M
        return ((t ^ (t >> 14)) & M) / 4294967296

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.next()

    def int(self, lo: int, hi: int) -> int:
        return lo + int(math.floor(self.next() * (hi - lo + 1)))


def _int32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= (1 << 31) else v


TASK_SALT = {'rain': 11, 'snow': 23, 'lowlight': 37, 'blur': 53, 'haze': 71, 'noise': 89, 'identity': 101}


def recipe(sizes: Sequence[Tuple[int, int]], task: str, index: int, crop: int = 128, seed: int = 1,
           zoom_range: Tuple[float, float] = (1, 1.6), strength_range: Tuple[float, float] = (0, 1),
           clean_fraction: float = 0.1) -> dict:
    """PhotoPairSource.recipe, identical for the same photo list (sizes = (width, height)) and seed."""
    salt = TASK_SALT.get(task, 97)
    rng = Mulberry32(_int32(seed * 1_000_033 + salt * 7_919_993 + index))
    zlo, zhi = zoom_range
    photo = rng.int(0, len(sizes) - 1)
    pw, ph = sizes[photo]
    tries = 0
    while min(pw, ph) < crop * zhi and tries < 32:
        photo = rng.int(0, len(sizes) - 1)
        pw, ph = sizes[photo]
        tries += 1
    side = min(int(math.floor(crop * rng.uniform(zlo, zhi) + 0.5)), pw, ph)
    slo, shi = strength_range
    r = {'photo': photo, 'side': side}
    r['x'] = rng.int(0, pw - side)
    r['y'] = rng.int(0, ph - side)
    r['flip'] = rng.next() < 0.5
    r['seed'] = rng.int(0, 0x7FFFFFFF)
    r['strength'] = rng.uniform(slo, shi)
    r['clean'] = rng.next() < clean_fraction
    return r


RESAMPLERS = ('bilinear', 'area', 'bicubic')


def clean_crop(photo: torch.Tensor, r: dict, crop: int, resample: str = 'bilinear') -> torch.Tensor:
    """The clean crop of a recipe, float32 [3,crop,crop] on the photo's device, flipped left-right when the
    recipe says so. `resample` shrinks the square to `crop`: 'bilinear' (align corners, no antialiasing, as
    tf.image.resizeBilinear(..., true): aliased, like a camera's line skipping), 'area' (antialiased bilinear:
    smooth, like a video scaler) or 'bicubic' (antialiased bicubic: sharpened, with the ringing of the Lanczos
    and Catmull-Rom kernels that image tools and browsers use)."""
    s = r['side']
    t = (photo[:, r['y']:r['y'] + s, r['x']:r['x'] + s].float() / 255).unsqueeze(0)
    if s != crop:
        if resample == 'bilinear':
            t = F.interpolate(t, size=(crop, crop), mode='bilinear', align_corners=True)
        elif resample in ('area', 'bicubic'):
            mode = 'bilinear' if resample == 'area' else 'bicubic'
            t = F.interpolate(t, size=(crop, crop), mode=mode, align_corners=False, antialias=True).clamp(0, 1)
        else:
            raise ValueError(f"resample '{resample}' is not one of {', '.join(RESAMPLERS)}")
    if r['flip']:
        t = t.flip(-1)
    return t[0]


def make_pool(photos: Sequence[torch.Tensor], task: str, n: int, crop: int = 128, seed: int = 1,
              device: Union[str, torch.device] = 'cpu', clean_fraction: float = 0.1,
              strength_range: Tuple[float, float] = (0, 1), zoom_range: Tuple[float, float] = (1, 1.6),
              chunk: int = 256, return_clean_mask: bool = False, max_mean: Optional[float] = None,
              resample: str = 'bilinear'):
    """`n` deterministic training pairs of `task` as PhotoPairSource makes them: recipe i picks a photo, a square
    of crop * U(zoom) px, resized to `crop`, maybe flipped, a strength uniform in `strength_range`, and with
    probability `clean_fraction` no degradation (input = target). The crops and strengths equal the TS pool's for
    the same photos and seed; the degradation's randomness comes from a torch.Generator seeded by (seed, task).
    Degrades at the crop's resolution (after the resize), as the TS pipeline does.

    With `max_mean`, only crops whose mean BT.601 luminance is at most `max_mean` are kept (dark crops: recipes
    are drawn on, index after index, until `n` are found; at most 64 n recipes), so a pool of naturally dark
    crops can be made from any photos; without it the pool is the TS pool, recipe i for sample i.

    Returns (degraded, clean, strengths), all on `device`: float16 [n,3,crop,crop] twice and float32 [n] (the
    drawn strength, also for undegraded samples); with `return_clean_mask` also a bool [n] mask of the
    undegraded samples.

    `resample` is how each square is shrunk to `crop` (see `clean_crop`); 'mix' takes 'bilinear', 'area' and
    'bicubic' in turn by recipe index, so the network meets the textures of aliased, smooth and sharpened
    frames alike (the TS pool is 'bilinear' only)."""
    device = torch.device(device)
    if resample != 'mix' and resample not in RESAMPLERS:
        raise ValueError(f"resample '{resample}' is not 'mix' or one of {', '.join(RESAMPLERS)}")
    if task not in DEGRADATIONS:
        raise ValueError(f"unknown task '{task}'")
    sizes = [(int(p.shape[2]), int(p.shape[1])) for p in photos]
    on_device: Dict[int, torch.Tensor] = {}
    gen = torch.Generator(device=device)
    gen.manual_seed((seed * 1_000_003 + TASK_SALT.get(task, 97) * 7_919) & 0x7FFFFFFFFFFF)
    deg_out = torch.empty(n, 3, crop, crop, dtype=torch.float16, device=device)
    clean_out = torch.empty(n, 3, crop, crop, dtype=torch.float16, device=device)
    strengths = torch.empty(n, dtype=torch.float32, device=device)
    clean_mask = torch.empty(n, dtype=torch.bool, device=device)
    luma = torch.tensor([0.299, 0.587, 0.114], device=device).view(1, 3, 1, 1)
    filled, next_index = 0, 0
    while filled < n:
        if max_mean is not None and next_index >= 64 * n:
            raise ValueError(f"only {filled} of {n} crops of {len(photos)} photos have a mean level <= {max_mean} "
                             f"after {next_index} recipes: raise max_mean or add darker photos")
        size = min(n - filled, chunk) if max_mean is None else chunk
        idx = range(next_index, next_index + size)
        next_index += size
        recs = [recipe(sizes, task, i, crop, seed, zoom_range, strength_range, clean_fraction) for i in idx]
        crops = []
        for i, r in zip(idx, recs):
            if r['photo'] not in on_device:
                on_device[r['photo']] = photos[r['photo']].to(device)
            crops.append(clean_crop(on_device[r['photo']], r, crop, RESAMPLERS[i % 3] if resample == 'mix' else resample))
        clean = torch.stack(crops)
        if max_mean is not None:
            dark = ((clean * luma).sum(1).mean((1, 2)) <= max_mean).tolist()
            recs = [r for r, k in zip(recs, dark) if k][: n - filled]
            clean = clean[torch.tensor(dark, device=device)][: n - filled]
            if not recs:
                continue
        st = torch.tensor([r['strength'] for r in recs], dtype=torch.float32)
        keep = torch.tensor([r['clean'] for r in recs], dtype=torch.bool)
        with torch.no_grad():
            deg = DEGRADATIONS[task](clean, st.to(device), gen)
        deg = torch.where(keep.to(device).view(-1, 1, 1, 1), clean, deg)
        sl = slice(filled, filled + len(recs))
        deg_out[sl] = deg.half()
        clean_out[sl] = clean.half()
        strengths[sl] = st.to(device)
        clean_mask[sl] = keep.to(device)
        filled += len(recs)
    if return_clean_mask:
        return deg_out, clean_out, strengths, clean_mask
    return deg_out, clean_out, strengths


# ----------------------------------------------------------------------------------------------------------
# Self-check
# ----------------------------------------------------------------------------------------------------------


def psnr_per_image(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    mse = ((a.float() - b.float()) ** 2).mean((1, 2, 3))
    return 10 * torch.log10(1 / mse.clamp(min=1e-12))


def _check(argv: List[str]) -> None:
    import argparse

    import numpy as np
    from PIL import Image

    ap = argparse.ArgumentParser()
    ap.add_argument('--check', action='store_true')
    ap.add_argument('--photos', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '.cache', 'photos'))
    ap.add_argument('--n', type=int, default=120, help='crops per kind and strength')
    ap.add_argument('--seed', type=int, default=5, help='pool seed (the TS reference uses 5)')
    ap.add_argument('--ts', default='/tmp/ts-psnr.json', help='TS reference table (optional)')
    ap.add_argument('--grid', default='/tmp/degrade_grid.png')
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = ap.parse_args(argv)
    dev = torch.device(args.device)
    if dev.type == 'cpu':
        torch.set_num_threads(1)
    t0 = time.time()
    photos = load_photos(args.photos, 'train')
    print(f"decoded {len(photos)} train photos in {time.time() - t0:.1f}s")
    sizes = [(int(p.shape[2]), int(p.shape[1])) for p in photos]
    kinds = ['rain', 'snow', 'lowlight', 'blur']
    strengths = [0.0, 0.5, 1.0]
    ts = None
    if os.path.exists(args.ts):
        with open(args.ts) as fh:
            ts = json.load(fh)
    print(f"\nmean PSNR(degraded, clean) dB over {args.n} crops of 128 px (same crops as the TS pool, seed {args.seed})")
    print(f"{'kind':9s} " + ' '.join(f"{'s=' + str(s):>22s}" for s in strengths))
    grid_rows = []
    for ki, kind in enumerate(kinds):
        clean = torch.stack([clean_crop(photos[r['photo']], r, 128) for r in
                             (recipe(sizes, kind, i, 128, args.seed) for i in range(args.n))]).to(dev)
        cells = []
        for s in strengths:
            gen = torch.Generator(device=dev)
            gen.manual_seed(1000 + ki * 10 + int(s * 2))
            vals = []
            for a in range(0, args.n, 64):
                y = degrade(kind, clean[a:a + 64], s, gen)
                vals.append(psnr_per_image(y, clean[a:a + 64]).cpu())
                if s == 1.0 and a == 0:
                    grid_rows.append((kind, clean[:4].cpu(), y[:4].cpu()))
            m = float(torch.cat(vals).mean())
            if ts is not None and kind in ts:
                tv = ts[kind][str(s) if s != 0 and s != 1 else str(int(s))][:args.n]  # the same crops
                tm = sum(tv) / len(tv)
                cells.append(f"{m:6.2f} (TS {tm:6.2f} {m - tm:+5.2f})")
            else:
                cells.append(f"{m:22.2f}")
        print(f"{kind:9s} " + ' '.join(f"{c:>22s}" for c in cells))
    print("\ntime to make a pool of 256 crops (recipes, crops, degradation) on", dev)
    for kind in kinds:
        make_pool(photos, kind, 16, device=dev)  # warm-up
        if dev.type == 'cuda':
            torch.cuda.synchronize()
        t = time.time()
        deg, cl, st = make_pool(photos, kind, 256, device=dev)
        if dev.type == 'cuda':
            torch.cuda.synchronize()
        dt = time.time() - t
        t = time.time()
        with torch.no_grad():
            degrade(kind, cl.float(), st.to(dev), torch.Generator(device=dev).manual_seed(0))
        if dev.type == 'cuda':
            torch.cuda.synchronize()
        print(f"  {kind:9s} pool {dt:6.2f}s   degradation alone {time.time() - t:6.2f}s   pool PSNR {float(psnr_per_image(deg, cl).clamp(max=60).mean()):.2f}")
    # Grid: per kind, 4 crops: clean | torch strength 1 | TS strength 1 (when /tmp/tsref has them).
    tiles = []
    for kind, c, y in grid_rows:
        row = []
        for i in range(4):
            parts = [c[i], y[i]]
            ref = f"/tmp/tsref/{kind}_{i}.rgb"
            if os.path.exists(ref):
                raw = np.fromfile(ref, dtype=np.uint8).reshape(128, 256, 3)
                parts.append(torch.from_numpy(raw[:, 128:].astype(np.float32) / 255).permute(2, 0, 1))
            row.append(torch.cat(parts + [torch.ones(3, 128, 4)], 2))
        tiles.append(torch.cat(row, 2))
    grid = torch.cat([torch.cat([t, torch.ones(3, 4, t.shape[2])], 1) for t in tiles], 1)
    img = (grid.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    Image.fromarray(img).save(args.grid)
    print(f"\nwrote {args.grid}: rows {', '.join(k for k, _, _ in grid_rows)}; per crop: clean | torch s=1 | TS s=1")


if __name__ == '__main__':
    if '--check' in sys.argv[1:]:
        _check(sys.argv[1:])
    else:
        print(__doc__)
