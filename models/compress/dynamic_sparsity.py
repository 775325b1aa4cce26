"""Dynamic (activation) sparsity: how much of a model's compute is multiplications by zero.

After a ReLU many activations are exactly zero; an engine that skips zero operands at run
time (zero-skipping NPUs) saves those multiply-accumulates without changing any output. We
measure it on held-out inputs with forward pre-hooks on every Conv/Linear layer: for each
layer, the MACs that touch a non-zero input are counted exactly (the layer's receptive
fields convolved over the non-zero mask of its input: padding and strides included), so

    skippable fraction = 1 − Σ_layers non-zero MACs / Σ_layers dense MACs

is the share of the executed MACs an ideal zero-skipping engine would not perform. A skipped
MAC is a product with an exact zero, so no output changes: this is the skippable fraction at
zero accuracy change (thresholding small non-zero activations would skip more, at a cost in
accuracy; no engine we model does it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

torch.set_num_threads(1)

CONV_FUNCTIONS = {nn.Conv1d: F.conv1d, nn.Conv2d: F.conv2d}


@dataclass
class DynamicSparsity:
    """Zero-operand MACs of a model on held-out inputs (see the module docstring)."""

    macs_skippable: float  # fraction of executed MACs whose input activation is exactly zero
    per_layer: dict[str, float]  # layer -> fraction of its MACs skippable
    per_layer_macs: dict[str, int]  # layer -> dense MACs per sample (as executed)
    samples: int

    def to_dict(self) -> dict:
        return {
            "macs_skippable": round(self.macs_skippable, 4),
            "per_layer": {k: round(v, 4) for k, v in self.per_layer.items()},
            "samples": self.samples,
            "how": "exact-zero inputs of Conv/Linear layers after ReLU, MACs counted per receptive field",
        }


def _nonzero_macs(layer: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """(dense MACs, MACs touching a non-zero input) of ``layer`` on the batch ``x``."""
    mask = (x != 0).to(torch.float32)
    if isinstance(layer, nn.Linear):
        rows = mask.reshape(-1, mask.shape[-1])
        return float(rows.shape[0] * layer.in_features * layer.out_features), float(
            rows.sum() * layer.out_features
        )
    groups = layer.groups
    ones = torch.ones(groups, layer.in_channels // groups, *layer.kernel_size)
    padding = layer.padding if isinstance(layer.padding, str) else layer.padding
    counts = CONV_FUNCTIONS[type(layer)](
        mask, ones, stride=layer.stride, padding=padding, dilation=layer.dilation, groups=groups
    )  # per output position and group: how many non-zero inputs it reads
    per_output = layer.out_channels // groups
    kernel = int(np.prod(layer.kernel_size)) * layer.in_channels // groups
    dense = float(counts[:, :1].numel() * per_output * groups * kernel)
    return dense, float(counts.sum() * per_output)


def measure(module: nn.Module, x: np.ndarray, batch_size: int = 256) -> DynamicSparsity:
    """Dynamic sparsity of ``module`` (eval mode) on inputs ``x`` ``(N, *input_shape)``."""
    module.eval()
    dense: dict[str, float] = {}
    nonzero: dict[str, float] = {}
    handles = []
    for name, layer in module.named_modules():
        if isinstance(layer, tuple(CONV_FUNCTIONS) + (nn.Linear,)):

            def count(mod, inputs, name=name):
                d, n = _nonzero_macs(mod, inputs[0])
                dense[name] = dense.get(name, 0.0) + d
                nonzero[name] = nonzero.get(name, 0.0) + n

            handles.append(layer.register_forward_pre_hook(count))
    try:
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                module(
                    torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size], dtype=np.float32))
                )
    finally:
        for handle in handles:
            handle.remove()
    total = sum(dense.values()) or 1.0
    return DynamicSparsity(
        macs_skippable=1.0 - sum(nonzero.values()) / total,
        per_layer={k: 1.0 - nonzero[k] / dense[k] if dense[k] else 0.0 for k in dense},
        per_layer_macs={k: int(round(dense[k] / len(x))) for k in dense},
        samples=len(x),
    )
