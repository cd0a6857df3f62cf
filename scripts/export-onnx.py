"""Exports a shipped SimpleIR weight file to ONNX through the PyTorch mirror (scripts/gpu/simpleir_torch.py).

Usage: python3 scripts/export-onnx.py weights/tiny.json weights/tiny.onnx   (run by `npm run export-onnx`)

The graph takes and returns float32 [batch, height, width, 3] in [0, 1] (NHWC, as the SDK's tensors),
height and width dynamic multiples of the scale; the output is clipped to [0, 1]. It is the network only:
the frame padding of `predictWith` (src/core/model/simpleir.ts) stays with the caller. Space-to-depth and
depth-to-space become ONNX's own operators (their DCR channel order is tf.spaceToDepth's). The model's
metadata_props record the preset, its config and the SHA-256 of the weight file's bytes, so that a
stale .onnx is detected (test/onnx-export.test.ts, src/adapters/node/onnx-file.ts).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpu"))
import simpleir_torch as st  # noqa: E402

OPSET = 13
# torch 1.13 calls the g.op of custom symbolics deprecated; it is the documented way in that version.
warnings.filterwarnings("ignore", category=FutureWarning, module=__name__)
# The kernel sizes are read as Python ints on purpose (TracedNet): constants of the graph.
warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
_space_to_depth, _depth_to_space = st.space_to_depth, st.depth_to_space


class SpaceToDepth(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, s: int) -> torch.Tensor:  # type: ignore[override]
        return _space_to_depth(x, s)

    @staticmethod
    def symbolic(g, x, s: int):
        return g.op("SpaceToDepth", x, blocksize_i=s)


class DepthToSpace(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, s: int) -> torch.Tensor:  # type: ignore[override]
        return _depth_to_space(x, s)

    @staticmethod
    def symbolic(g, x, s: int):
        return g.op("DepthToSpace", x, blocksize_i=s, mode_s="DCR")


class TracedNet(st.SimpleIR):
    """The mirror with its kernel sizes as Python ints (the tracer would otherwise record them as tensors)."""

    def conv(self, name: str, x: torch.Tensor) -> torch.Tensor:
        w = self.p(f"{name}.w")
        return torch.nn.functional.conv2d(x, w, self.p(f"{name}.b"), padding=int(w.shape[-1]) // 2)

    def dwconv(self, name: str, x: torch.Tensor) -> torch.Tensor:
        w = self.p(f"{name}.w")
        return torch.nn.functional.conv2d(x, w, self.p(f"{name}.b"), padding=int(w.shape[-1]) // 2, groups=int(w.shape[0]))


class Exported(torch.nn.Module):
    """The mirror between NHWC transposes, with native space/depth operators, output clipped."""

    def __init__(self, net: st.SimpleIR):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        st.space_to_depth = lambda t, s: SpaceToDepth.apply(t, s)
        st.depth_to_space = lambda t, s: DepthToSpace.apply(t, s)
        y = self.net(x.permute(0, 3, 1, 2), clip=True)
        return y.permute(0, 2, 3, 1)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def length_delimited(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def metadata_entry(key: str, value: str) -> bytes:
    """One ModelProto.metadata_props entry (field 14, StringStringEntryProto {key = 1, value = 2}).
    Protobuf merges repeated fields across concatenated messages, so appending it to a serialized model is valid."""
    return length_delimited(14, length_delimited(1, key.encode()) + length_delimited(2, value.encode()))


def main(manifest_path: str, out_path: str) -> None:
    cfg, arrays = st.read_weights(manifest_path)
    with open(manifest_path) as f:
        manifest = json.load(f)
    with open(os.path.join(os.path.dirname(os.path.abspath(manifest_path)), manifest["weightsFile"]), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    net = TracedNet(cfg)
    net.load_arrays(arrays)
    net.eval()
    s = cfg.scale
    example = torch.rand(1, 16 * s, 16 * s, 3, generator=torch.Generator().manual_seed(1))
    buf = io.BytesIO()
    try:
        with torch.no_grad():
            torch.onnx.export(
                Exported(net), (example,), buf, opset_version=OPSET, input_names=["input"], output_names=["output"],
                dynamic_axes={"input": {0: "batch", 1: "height", 2: "width"}, "output": {0: "batch", 1: "height", 2: "width"}},
                do_constant_folding=True,
            )
    finally:
        st.space_to_depth, st.depth_to_space = _space_to_depth, _depth_to_space
    preset = os.path.splitext(os.path.basename(manifest_path))[0]
    meta = {
        "simpleir.preset": preset,
        "simpleir.config": json.dumps({k: getattr(cfg, k) for k in st.Config.__dataclass_fields__}, separators=(",", ":")),
        "simpleir.weights_file": manifest["weightsFile"],
        "simpleir.weights_sha256": digest,
        "simpleir.layout": "NHWC float32 in [0, 1], sides multiples of the scale; output clipped to [0, 1]",
    }
    data = buf.getvalue() + b"".join(metadata_entry(k, v) for k, v in meta.items())
    with open(out_path, "wb") as f:
        f.write(data)
    print(f"{out_path}: {len(data)} bytes, {preset}, weights sha256 {digest[:16]}...")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: export-onnx.py WEIGHTS.json OUT.onnx")
    main(sys.argv[1], sys.argv[2])
