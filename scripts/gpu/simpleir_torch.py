"""SimpleIR in PyTorch: a training mirror of src/core/model (forward.ts, config.ts) for GPU runs.

The TypeScript network stays the reference and the only one users need. This mirror exists so that a
borrowed GPU can train the shipped weights; `export_weights` writes tensors under the TypeScript
parameter names and layouts ([k, k, cin, cout] convolutions, [k, k, c, 1] depthwise), and
`scripts/import-torch-weights.ts` turns them into a SimpleIR weight file. test/torch-parity.test.ts
checks that the TypeScript network reproduces this module's output on the exported weights.
"""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Config:
    width: int
    scale: int
    blocks: int
    iterations: int
    detailWidth: int


PRESETS = {
    "tiny": Config(width=16, scale=4, blocks=2, iterations=2, detailWidth=4),
    "base": Config(width=32, scale=4, blocks=4, iterations=3, detailWidth=8),
}


def param_specs(cfg: Config) -> list[tuple[str, tuple[int, ...], str, int]]:
    """(name, TypeScript shape, init, fanIn) in the canonical order of config.ts's paramSpecs."""
    c, s, cd = cfg.width, cfg.scale, cfg.detailWidth
    out: list[tuple[str, tuple[int, ...], str, int]] = []

    def conv(name: str, k: int, cin: int, cout: int, init: str = "fan") -> None:
        out.append((f"{name}.w", (k, k, cin, cout), init, k * k * cin))
        out.append((f"{name}.b", (cout,), "zero", 1))

    def dwconv(name: str, k: int, ch: int) -> None:
        out.append((f"{name}.w", (k, k, ch, 1), "fan", k * k))
        out.append((f"{name}.b", (ch,), "zero", 1))

    def norm(name: str, ch: int) -> None:
        out.append((f"{name}.g", (ch,), "one", 1))
        out.append((f"{name}.b", (ch,), "zero", 1))

    def hab(p: str) -> None:
        norm(f"{p}.ln1", c)
        conv(f"{p}.pw1", 1, c, 2 * c)
        dwconv(f"{p}.dw", 3, 2 * c)
        conv(f"{p}.ca", 1, c, c)
        conv(f"{p}.sa", 7, 2, 1)
        conv(f"{p}.pw2", 1, c, c)
        out.append((f"{p}.beta", (c,), "zero", 1))
        norm(f"{p}.ln2", c)
        conv(f"{p}.ffn1", 1, c, 2 * c)
        conv(f"{p}.ffn2", 1, c, c)
        out.append((f"{p}.gamma", (c,), "zero", 1))

    conv("head", 3, 3 * s * s, c)
    for i in range(cfg.blocks):
        hab(f"hab{i}")
    if cfg.iterations > 0:
        hab("fib")
        out.append(("fib.alpha", (cfg.iterations, c), "one", 1))
    conv("tail", 3, c, 3 * s * s, "zero")
    conv("ldam.up", 1, c, cd * s * s)
    conv("ldam.in", 1, 3, cd)
    dwconv("ldam.dw", 3, cd)
    conv("ldam.att", 1, cd, cd)
    conv("ldam.out", 1, cd, 3, "zero")
    return out


def _is_dw(name: str) -> bool:
    return name.endswith("dw.w")


def ts_to_torch(name: str, a: np.ndarray) -> np.ndarray:
    """TypeScript layout -> torch layout ([k,k,cin,cout] -> [cout,cin,k,k]; [k,k,c,1] -> [c,1,k,k])."""
    if a.ndim == 4:
        return np.ascontiguousarray(a.transpose(2, 3, 0, 1) if _is_dw(name) else a.transpose(3, 2, 0, 1))
    return a


def torch_to_ts(name: str, a: np.ndarray) -> np.ndarray:
    """Inverse of ts_to_torch."""
    if a.ndim == 4:
        return np.ascontiguousarray(a.transpose(2, 3, 0, 1) if _is_dw(name) else a.transpose(2, 3, 1, 0))
    return a


def space_to_depth(x: torch.Tensor, s: int) -> torch.Tensor:
    """NCHW space-to-depth with tf.spaceToDepth's channel order (sy, sx, c), c fastest."""
    if s == 1:
        return x
    b, c, h, w = x.shape
    t = x.reshape(b, c, h // s, s, w // s, s).permute(0, 3, 5, 1, 2, 4)  # b, sy, sx, c, h/s, w/s
    return t.reshape(b, s * s * c, h // s, w // s)


def depth_to_space(x: torch.Tensor, s: int) -> torch.Tensor:
    """Inverse of space_to_depth (tf.depthToSpace channel order)."""
    if s == 1:
        return x
    b, cs, h, w = x.shape
    c = cs // (s * s)
    t = x.reshape(b, s, s, c, h, w).permute(0, 3, 4, 1, 5, 2)  # b, c, h, sy, w, sx
    return t.reshape(b, c, h * s, w * s)


class SimpleIR(nn.Module):
    """The SimpleIR network (docs/architecture.md), NCHW, parameters named as in config.ts."""

    def __init__(self, cfg: Config, seed: int = 1):
        super().__init__()
        self.cfg = cfg
        rng = np.random.default_rng(seed)
        self.names = [n for n, _, _, _ in param_specs(cfg)]
        self.params = nn.ParameterDict()
        for name, shape, init, fan in param_specs(cfg):
            size = int(np.prod(shape))
            if init == "fan":
                bound = math.sqrt(3.0 / fan)
                v = rng.uniform(-bound, bound, size)
            elif init == "one":
                v = np.ones(size)
            else:
                v = np.zeros(size)
            a = ts_to_torch(name, v.reshape(shape).astype(np.float32))
            self.params[self._key(name)] = nn.Parameter(torch.from_numpy(a))

    @staticmethod
    def _key(name: str) -> str:
        return name.replace(".", "__")

    def p(self, name: str) -> torch.Tensor:
        return self.params[self._key(name)]

    # -- layers ---------------------------------------------------------------------------------
    def conv(self, name: str, x: torch.Tensor) -> torch.Tensor:
        w = self.p(f"{name}.w")
        return F.conv2d(x, w, self.p(f"{name}.b"), padding=w.shape[-1] // 2)

    def dwconv(self, name: str, x: torch.Tensor) -> torch.Tensor:
        w = self.p(f"{name}.w")
        return F.conv2d(x, w, self.p(f"{name}.b"), padding=w.shape[-1] // 2, groups=w.shape[0])

    def layer_norm(self, name: str, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)
        normed = (x - mean) * torch.rsqrt(var + 1e-6)
        return normed * self.p(f"{name}.g").view(1, -1, 1, 1) + self.p(f"{name}.b").view(1, -1, 1, 1)

    @staticmethod
    def gate(x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b

    def hab(self, prefix: str, f: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        t = self.layer_norm(f"{prefix}.ln1", f)
        t = self.conv(f"{prefix}.pw1", t)
        t = self.dwconv(f"{prefix}.dw", t)
        t = self.gate(t)
        pooled = t.mean(dim=(2, 3), keepdim=True)
        t = t * self.conv(f"{prefix}.ca", pooled)
        stats = torch.cat([t.mean(dim=1, keepdim=True), t.amax(dim=1, keepdim=True)], dim=1)
        t = t * torch.sigmoid(self.conv(f"{prefix}.sa", stats))
        beta = self.p(f"{prefix}.beta")
        gamma = self.p(f"{prefix}.gamma")
        if scale is not None:
            beta = beta * scale
            gamma = gamma * scale
        out = f + self.conv(f"{prefix}.pw2", t) * beta.view(1, -1, 1, 1)
        u = self.conv(f"{prefix}.ffn1", self.layer_norm(f"{prefix}.ln2", out))
        u = self.conv(f"{prefix}.ffn2", self.gate(u))
        return out + u * gamma.view(1, -1, 1, 1)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        f0 = self.conv("head", space_to_depth(x, cfg.scale))
        f = f0
        for i in range(cfg.blocks):
            f = self.hab(f"hab{i}", f)
        if cfg.iterations > 0:
            alpha = self.p("fib.alpha")
            for k in range(cfg.iterations):
                f = self.hab("fib", f, alpha[k])
        return f + f0

    def full_resolution(self, x: torch.Tensor, f: torch.Tensor, clip: bool) -> torch.Tensor:
        s = self.cfg.scale
        residual = depth_to_space(self.conv("tail", f), s)
        up = depth_to_space(self.conv("ldam.up", f), s)
        d = self.dwconv("ldam.dw", self.conv("ldam.in", x))
        attention = torch.sigmoid(self.conv("ldam.att", up + d))
        detail = self.conv("ldam.out", attention * d + up)
        y = x + residual + detail
        return y.clamp(0, 1) if clip else y

    def forward(self, x: torch.Tensor, clip: bool = False) -> torch.Tensor:
        """x: [B, 3, H, W] in [0, 1], H and W multiples of the scale."""
        return self.full_resolution(x, self.body(x), clip)

    # -- weights in the TypeScript layout --------------------------------------------------------
    def export_weights(self) -> dict[str, dict]:
        """{name: {shape, data: base64 of little-endian float32}} in TypeScript layouts and order."""
        out: dict[str, dict] = {}
        for name, shape, _, _ in param_specs(self.cfg):
            a = torch_to_ts(name, self.p(name).detach().float().cpu().numpy())
            assert tuple(a.shape) == shape, (name, a.shape, shape)
            out[name] = {"shape": list(shape), "data": base64.b64encode(a.astype("<f4").tobytes()).decode()}
        return out

    def load_ts_weights(self, weights: dict[str, dict]) -> None:
        """Weights as `export_weights` writes them ({name: {shape, data: base64 float32}}, TypeScript layouts)."""
        self.load_arrays({name: np.frombuffer(base64.b64decode(weights[name]["data"]), dtype="<f4") for name, _, _, _ in param_specs(self.cfg)})

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Flat float arrays in TypeScript layouts, one per parameter name (each reshaped to its TypeScript shape)."""
        for name, shape, _, _ in param_specs(self.cfg):
            if name not in arrays:
                raise KeyError(f"the weights lack {name}")
            a = np.asarray(arrays[name], dtype=np.float32).reshape(shape)
            with torch.no_grad():
                self.p(name).copy_(torch.from_numpy(ts_to_torch(name, a.copy())))


def parity_fixture(cfg: Config, weights: dict[str, dict]) -> dict:
    """The parity fixture of TypeScript-layout `weights` (as `export_weights` writes them): a fixed input
    (seed 11, [1, 32, 48, 3]) and the network's output on the float16-rounded weights, as the shipped file
    stores them; both NHWC float32, base64. test/torch-parity.test.ts checks the TypeScript network against it."""
    g = torch.Generator(device="cpu").manual_seed(11)
    px = torch.rand(1, 3, 32, 48, generator=g)
    model = SimpleIR(cfg).eval()
    model.load_ts_weights(weights)
    with torch.no_grad():
        for prm in model.parameters():
            prm.copy_(prm.half().float())
        py = model(px, clip=True)

    def enc(t: torch.Tensor) -> dict:
        nhwc = t.permute(0, 2, 3, 1).contiguous()
        return {"shape": list(nhwc.shape), "data": base64.b64encode(nhwc.numpy().astype("<f4").tobytes()).decode()}

    return {"input": enc(px), "output": enc(py)}


def read_weights(path: str) -> tuple[Config, dict[str, np.ndarray]]:
    """The config and flat TypeScript-layout arrays of a weight file: a SimpleIR weight manifest
    (`weights/base.json` with its `.bin`, float16 or float32, as src/core/weights.ts writes it) or a run of
    train_gpu.py (`training/gpu/*.json`)."""
    import json
    import os

    with open(path) as f:
        doc = json.load(f)
    cfg = Config(**{k: int(doc["config"][k]) for k in Config.__dataclass_fields__})
    if doc.get("format") == "simpleir-torch-run":
        w = doc["weights"]
        return cfg, {n: np.frombuffer(base64.b64decode(e["data"]), dtype="<f4") for n, e in w.items()}
    if doc.get("format") != "simpleir-weights":
        raise ValueError(f"{path} is neither a SimpleIR weight manifest nor a train_gpu.py run (format {doc.get('format')!r})")
    with open(os.path.join(os.path.dirname(os.path.abspath(path)), doc["weightsFile"]), "rb") as f:
        data = f.read()
    if len(data) != doc["byteLength"]:
        raise ValueError(f"{doc['weightsFile']} holds {len(data)} bytes, the manifest {path} says {doc['byteLength']}")
    arrays = {}
    for t in doc["tensors"]:
        dtype = {"float16": "<f2", "float32": "<f4"}[t.get("dtype", doc["dtype"])]
        arrays[t["name"]] = np.frombuffer(data, dtype=dtype, count=t["byteLength"] // np.dtype(dtype).itemsize, offset=t["offset"]).astype(np.float32)
    return cfg, arrays


def param_count(cfg: Config) -> int:
    return sum(int(np.prod(s)) for _, s, _, _ in param_specs(cfg))


def per_sample_loss(pred: torch.Tensor, target: torch.Tensor, edge_weight: float = 0.5) -> torch.Tensor:
    """Mirror of src/core/review/loss.ts: per-sample L1 + edge_weight * L1 of image differences."""
    diff = pred - target
    l1 = diff.abs().mean(dim=(1, 2, 3))
    if edge_weight == 0:
        return l1
    dx = (diff[:, :, :, 1:] - diff[:, :, :, :-1]).abs().mean(dim=(1, 2, 3))
    dy = (diff[:, :, 1:, :] - diff[:, :, :-1, :]).abs().mean(dim=(1, 2, 3))
    return l1 + edge_weight * (dx + dy)
