"""Quantization-aware training: fine-tune with the INT8 rounding in the forward pass.

Every Conv/Linear sees its weight fake-quantized per output channel (symmetric int8, the
scheme ONNX Runtime uses for weights) and its input fake-quantized per tensor (asymmetric
uint8 over an exponential moving min/max), with straight-through gradients. Per-channel
symmetric rounding commutes with BatchNorm folding (a positive per-channel factor), so what
is trained is what the INT8 runtime computes after it folds BN into the conv.

After training the wrappers are removed and the FP32 weights, now robust to rounding, are
quantized by the same static INT8 path as post-training quantization.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class FakeQuantLayer(nn.Module):
    """A Conv/Linear whose weight and input pass through int8 rounding in the forward pass."""

    def __init__(self, layer: nn.Module, momentum: float = 0.05):
        super().__init__()
        self.layer = layer
        self.momentum = momentum
        self.register_buffer("input_min", torch.tensor(0.0))
        self.register_buffer("input_max", torch.tensor(0.0))
        self.register_buffer("initialised", torch.tensor(False))

    def _input_qparams(self) -> tuple[float, int]:
        lo = min(float(self.input_min), 0.0)
        hi = max(float(self.input_max), lo + 1e-8)
        scale = (hi - lo) / 255.0
        zero_point = int(round(-lo / scale))
        return scale, max(0, min(255, zero_point))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or not bool(self.initialised):  # first call calibrates, even in eval
            with torch.no_grad():
                lo, hi = x.min(), x.max()
                if not bool(self.initialised):
                    self.input_min.copy_(lo)
                    self.input_max.copy_(hi)
                    self.initialised.fill_(True)
                else:
                    self.input_min.lerp_(lo, self.momentum)
                    self.input_max.lerp_(hi, self.momentum)
        scale, zero_point = self._input_qparams()
        x = torch.fake_quantize_per_tensor_affine(x, scale, zero_point, 0, 255)
        weight = self.layer.weight
        w_scale = weight.detach().abs().flatten(1).amax(1).clamp_min(1e-12) / 127.0
        w_zero = torch.zeros(weight.shape[0], dtype=torch.int32)
        fq_weight = torch.fake_quantize_per_channel_affine(weight, w_scale, w_zero, 0, -127, 127)
        if isinstance(self.layer, nn.Linear):
            return nn.functional.linear(x, fq_weight, self.layer.bias)
        return self.layer._conv_forward(x, fq_weight, self.layer.bias)


def prepare_qat(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every Conv/Linear wrapped in ``FakeQuantLayer``."""
    model = copy.deepcopy(model)
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Linear):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, FakeQuantLayer(module))
    return model


def strip_qat(model: nn.Module) -> nn.Module:
    """The plain FP32 model inside a ``prepare_qat`` model (same module names as the original)."""
    model = copy.deepcopy(model)
    for name, module in list(model.named_modules()):
        if isinstance(module, FakeQuantLayer):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, module.layer)
    return model.eval()
