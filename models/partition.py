"""Split a zoo model at a layer boundary: a head that runs on one device, a tail on another.

``python -m models.partition [model ...]`` writes ``models/artifacts/<model>/layers.json``
for every model (default: all of ``models.zoo.ZOO`` but ``NOT_SPLIT``, the photo search
encoders, whose activations must not leave the phone): the
model's sequential view (its layers in order), each layer's MACs and parameters, and the
tensor crossing every split point ``k`` (``0`` = the raw input, ``n_layers`` = the output
logits) with its real size in bytes as fp32 and as int8. The simulator reads these sidecars
as plain JSON (no torch) to cost a placement; cards are left untouched.

A split ``k`` runs ``layers[:k]`` (the head) and then ``layers[k:]`` (the tail) on the
tensor the head produced; the sequential view is built so that head then tail is exactly the
whole model (tested for every model). With an int8 boundary the tensor is quantized to
uint8 (per tensor, affine, min/max of that sample) before it is sent and dequantized after:
the sidecar records what that costs in accuracy, measured on the model's held-out set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from models.cards import ARTIFACTS_DIR

SIDECAR = "layers.json"
SIDECAR_VERSION = 1
# uint8 boundary tensor: one byte per value plus its fp32 scale and int32 zero point.
INT8_HEADER_BYTES = 8
# Held-out samples the int8-boundary error is measured on (per model).
EVAL_SAMPLES = 2000
# Zoo models that are never split across devices, and why: they get no sidecar, so the
# placement planner (which lists models by their sidecars) never offers a split of them.
_PRIVATE = (
    "photo search keeps photos and their embeddings on the phone (issue 17), so no split "
    "point may send its activations off it; its output is an embedding, not class logits, "
    "so an int8 boundary's accuracy is not defined for it either"
)
NOT_SPLIT: dict[str, str] = {"photo_image_encoder": _PRIVATE, "photo_text_encoder": _PRIVATE}


class TimePool(nn.Module):
    """[mean over time, max over time] of a (N, C, T) tensor, flattened: the pooling step of
    the health networks' ``forward`` as one layer of their sequential view."""

    def __init__(self, avg_pool: nn.Module, max_pool: nn.Module):
        super().__init__()
        self.avg_pool, self.max_pool = avg_pool, max_pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.avg_pool(x), self.max_pool(x)], dim=1).flatten(1)


@dataclass(frozen=True)
class Layer:
    """One step of a model's sequential view."""

    name: str  # dotted path of the module in the model, e.g. "features.2"
    op: str  # what it is, e.g. "Conv2d+BatchNorm2d+ReLU"
    module: nn.Module


def _describe(module: nn.Module) -> str:
    leaves = [m for m in module.modules() if not list(m.children())] or [module]
    return "+".join(type(m).__name__ for m in leaves if not isinstance(m, nn.Identity))


def sequential_view(model: nn.Module) -> list[Layer]:
    """The model's layers in execution order; running them one after another is ``model(x)``
    in eval mode. Dropout (the identity in eval) is left out and a Flatten joins the layer
    before it, so every split point changes what crosses the link."""
    pieces: list[tuple[str, nn.Module]] = []
    for name, child in model.features.named_children():
        pieces.append((f"features.{name}", child))
    if hasattr(model, "avg_pool") and hasattr(model, "max_pool"):  # the health networks
        pieces.append(("avg_pool+max_pool", TimePool(model.avg_pool, model.max_pool)))
        pieces.append(("classifier", model.classifier))
    else:
        classifier = model.classifier
        children = (
            classifier.named_children() if isinstance(classifier, nn.Sequential) else [("", classifier)]
        )
        for name, child in children:
            pieces.append((f"classifier.{name}".rstrip("."), child))
    layers: list[Layer] = []
    for name, module in pieces:
        if isinstance(module, nn.Dropout):
            continue
        if isinstance(module, nn.Flatten) and layers:
            previous = layers.pop()
            module = nn.Sequential(previous.module, module)
            name = f"{previous.name}+flatten"
        layers.append(Layer(name, _describe(module), module))
    return layers


class Part(nn.Module):
    """Layers ``start:stop`` of a sequential view, as one module."""

    def __init__(self, layers: list[Layer], start: int, stop: int):
        super().__init__()
        self.start, self.stop = start, stop
        self.steps = nn.ModuleList(layer.module for layer in layers[start:stop])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            x = step(x)
        return x


def split(model: nn.Module, k: int) -> tuple[Part, Part]:
    """``(head, tail)``: ``tail(head(x)) == model(x)`` (eval mode); ``0 ≤ k ≤ n_layers``."""
    layers = sequential_view(model.eval())
    if not 0 <= k <= len(layers):
        raise ValueError(f"split index must be between 0 and {len(layers)}, got {k}")
    return Part(layers, 0, k).eval(), Part(layers, k, len(layers)).eval()


def quantize_dequantize(h: torch.Tensor) -> torch.Tensor:
    """What arrives when ``h`` is sent as uint8: per sample, affine over its own min/max."""
    flat = h.reshape(len(h), -1)
    low = torch.minimum(flat.min(dim=1, keepdim=True).values, torch.zeros(1))
    high = torch.maximum(flat.max(dim=1, keepdim=True).values, torch.zeros(1))
    scale = torch.clamp((high - low) / 255.0, min=1e-12)
    zero_point = torch.round(-low / scale)
    q = torch.clamp(torch.round(flat / scale) + zero_point, 0, 255)
    return ((q - zero_point) * scale).reshape(h.shape)


def run_split(model: nn.Module, x: torch.Tensor, k: int, boundary: str = "fp32") -> torch.Tensor:
    """Logits of ``x`` with the model split at ``k``; ``boundary="int8"`` sends the crossing
    tensor as uint8 (the input at ``k = 0`` too; nothing crosses at ``k = n_layers``)."""
    head, tail = split(model, k)
    with torch.no_grad():
        h = head(x)
        if boundary == "int8" and k < len(head.steps) + len(tail.steps):
            h = quantize_dequantize(h)
        return tail(h)


# -- the trained models -------------------------------------------------------------------
def known_models() -> list[str]:
    """Every zoo model that may be split (``models.zoo.ZOO`` less ``NOT_SPLIT``)."""
    from models.zoo import ZOO

    return sorted(m for m in ZOO if m not in NOT_SPLIT)


def _source(model: str):
    """(input shape, build, held-out data) of ``model``: the zoo's test split on the stream
    its cards were measured on (seed 0; the health models' held-out stream ``HELDOUT_SEED``)."""
    from models.zoo import ZOO, health

    if model in NOT_SPLIT:
        raise ValueError(f"{model} is not split across devices: {NOT_SPLIT[model]}")
    if model not in ZOO:
        raise ValueError(f"unknown model {model!r}; expected one of: {', '.join(known_models())}")
    spec = ZOO[model]
    seed = health.HELDOUT_SEED if model in {s.name for s in health.SPECS} else 0
    return spec.input_shape, spec.build, lambda n: spec.make_dataset("test", n, seed)


def load_trained(model: str, root: Path = ARTIFACTS_DIR) -> nn.Module:
    """The trained fp32 network of ``model`` (``<root>/<model>/fp32.pt``), eval mode."""
    _, build, _ = _source(model)
    module = build()
    module.load_state_dict(torch.load(Path(root) / model / "fp32.pt", map_location="cpu", weights_only=True))
    return module.eval()


def input_shape(model: str) -> tuple[int, ...]:
    return tuple(_source(model)[0])


# -- the sidecar --------------------------------------------------------------------------
def _macs(module: nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return int(counter.get_total_flops() // 2)


def _tensor_bytes(shape: tuple[int, ...]) -> tuple[int, int]:
    values = int(np.prod(shape))
    return 4 * values, values + INT8_HEADER_BYTES


def layer_stats(module: nn.Module, shape: tuple[int, ...]) -> dict:
    """Per layer MACs, parameters and output tensor; per split point the crossing tensor
    (shape, fp32 bytes, int8 bytes), for one sample. No data needed."""
    torch.set_num_threads(1)
    layers = sequential_view(module.eval())
    h = torch.zeros(1, *shape)
    boundaries = [_boundary(0, tuple(shape))]
    rows = []
    for i, layer in enumerate(layers):
        macs = _macs(layer.module, h)
        with torch.no_grad():
            h = layer.module(h)
        out_shape = tuple(h.shape[1:])
        fp32_bytes, int8_bytes = _tensor_bytes(out_shape)
        rows.append(
            {
                "index": i,
                "name": layer.name,
                "op": layer.op,
                "macs": macs,
                "params": int(sum(p.numel() for p in layer.module.parameters())),
                "output_shape": list(out_shape),
                "output_bytes_fp32": fp32_bytes,
                "output_bytes_int8": int8_bytes,
            }
        )
        boundaries.append(_boundary(i + 1, out_shape))
    return {
        "input_shape": list(shape),
        "n_layers": len(layers),
        "macs_total": sum(r["macs"] for r in rows),
        "params_total": sum(r["params"] for r in rows),
        "layers": rows,
        "boundaries": boundaries,
    }


def _boundary(k: int, shape: tuple[int, ...]) -> dict:
    fp32_bytes, int8_bytes = _tensor_bytes(shape)
    return {"split": k, "shape": list(shape), "bytes_fp32": fp32_bytes, "bytes_int8": int8_bytes}


def int8_boundary_error(module: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, list[dict]]:
    """fp32 accuracy of ``module`` on ``(x, y)`` and, per split point, what an int8 boundary
    does: accuracy, agreement with the fp32 prediction and the largest logit error."""
    torch.set_num_threads(1)
    layers = sequential_view(module.eval())
    xs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    with torch.no_grad():
        whole = torch.cat([module(chunk) for chunk in xs.split(256)])
        activations = [xs]  # the tensor at every split point, computed once
        for layer in layers:
            activations.append(torch.cat([layer.module(chunk) for chunk in activations[-1].split(256)]))
        fp32_pred = whole.argmax(1).numpy()
        rows = []
        for k in range(len(layers)):
            tail = Part(layers, k, len(layers))
            logits = torch.cat([tail(quantize_dequantize(c)) for c in activations[k].split(256)])
            pred = logits.argmax(1).numpy()
            rows.append(
                {
                    "split": k,
                    "accuracy": round(float((pred == y).mean()), 5),
                    "agreement_with_fp32": round(float((pred == fp32_pred).mean()), 5),
                    "max_abs_logit_error": round(float((logits - whole).abs().max()), 6),
                }
            )
    return round(float((fp32_pred == y).mean()), 5), rows


def sidecar(model: str, root: Path = ARTIFACTS_DIR, eval_samples: int = EVAL_SAMPLES) -> dict:
    """The ``layers.json`` content of ``model`` (measures the int8 boundary on held-out data)."""
    shape, _, heldout = _source(model)
    module = load_trained(model, root)
    stats = layer_stats(module, tuple(shape))
    x, y = heldout(eval_samples)
    accuracy, rows = int8_boundary_error(module, x, y)
    weights = Path(root) / model / "fp32.pt"
    return {
        "model": model,
        "version": SIDECAR_VERSION,
        "generated_by": "python -m models.partition",
        "weights": "fp32.pt",
        "weights_sha1": hashlib.sha1(weights.read_bytes()).hexdigest()[:12],
        **stats,
        "int8_boundary": {
            "scheme": "uint8 per sample, affine over the tensor's min/max (0 included)",
            "n_eval": int(len(y)),
            "fp32_accuracy": accuracy,
            "per_split": rows,
        },
    }


def sidecar_path(model: str, root: Path = ARTIFACTS_DIR) -> Path:
    return Path(root) / model / SIDECAR


def write_sidecar(model: str, root: Path = ARTIFACTS_DIR) -> dict:
    data = sidecar(model, root)
    sidecar_path(model, root).write_text(json.dumps(data, indent=1) + "\n")
    return data


def format_table(data: dict) -> str:
    """One model's split points as text: bytes crossing and the int8 boundary's cost."""
    per_split = {r["split"]: r for r in data["int8_boundary"]["per_split"]}
    header = f"{'k':>2} {'after layer':<34} {'head MACs':>10} {'fp32 B':>8} {'int8 B':>7} {'int8 acc':>8} {'agree':>6}"
    lines = [f"{data['model']}: {data['n_layers']} layers, {data['macs_total']:,} MACs", header]
    head_macs = 0
    for b in data["boundaries"]:
        k = b["split"]
        name = "(input)" if k == 0 else data["layers"][k - 1]["name"]
        head_macs += data["layers"][k - 1]["macs"] if k else 0
        row = per_split.get(k)
        acc = f"{row['accuracy']:.4f}" if row else "  -"
        agree = f"{row['agreement_with_fp32']:.4f}" if row else "  -"
        lines.append(
            f"{k:>2} {name:<34} {head_macs:>10,} {b['bytes_fp32']:>8} {b['bytes_int8']:>7} {acc:>8} {agree:>6}"
        )
    lines.append(
        f"   fp32 accuracy {data['int8_boundary']['fp32_accuracy']:.4f} on {data['int8_boundary']['n_eval']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.partition", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help=f"default: all ({', '.join(known_models())})")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for model in args.models or known_models():
        if model in NOT_SPLIT:
            parser.error(f"{model} is not split across devices: {NOT_SPLIT[model]}")
        if model not in known_models():
            parser.error(f"unknown model {model!r}; expected one of: {', '.join(known_models())}")
        started = time.perf_counter()
        data = write_sidecar(model)
        print(format_table(data))
        print(f"   wrote {sidecar_path(model)} ({time.perf_counter() - started:.1f} s)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
