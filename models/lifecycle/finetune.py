"""On-device fine-tuning of the watch's ``gesture_imu`` model on the wearer's recent windows.

Only a few parameters train, as on-device training work does within a small memory budget
(TinyTL, NeurIPS 2020: biases only; "On-Device Training Under 256KB Memory", NeurIPS 2022:
a sparse set of layers):

- ``bias``: every bias and BatchNorm affine parameter (TinyTL), BatchNorm statistics
  re-estimated on the wearer's data;
- ``classifier``: the last Linear layer only (features frozen, in eval mode);
- ``last_block``: the last conv block and the classifier.

Peak training memory is *measured* on the real step: the parameters, the gradients of the
trainable ones, Adam's two moment buffers, the input batch and every tensor autograd saves
for the backward pass (counted by ``torch.autograd.graph.saved_tensors_hooks``, one count
per storage, parameters not counted twice). Training MACs per sample are counted on the
graph: the forward pass, plus the backward of what lies after the first trainable layer
(input gradients) and the weight gradients of the trainable layers.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from models.compress.lab import macs_by_layer

torch.set_num_threads(1)

MODES: tuple[str, ...] = ("bias", "classifier", "last_block")
ADAM_STATE_PER_PARAM = 2  # exp_avg and exp_avg_sq


@dataclass(frozen=True)
class FineTuneResult:
    """What one fine-tuning run did and cost (measured)."""

    mode: str
    steps: int
    samples_seen: int
    trainable_params: int
    peak_memory_bytes: int
    memory_breakdown: dict[str, int]
    train_macs_per_sample: int
    final_loss: float


def trainable_parameters(module: nn.Module, mode: str) -> list[tuple[str, nn.Parameter]]:
    """The parameters ``mode`` trains (see the module docstring)."""
    if mode not in MODES:
        raise ValueError(f"fine-tuning mode must be one of {', '.join(MODES)}, got {mode!r}")
    named = list(module.named_parameters())
    if mode == "classifier":
        return [(n, p) for n, p in named if n.startswith("classifier.")]
    if mode == "last_block":
        last = f"features.{_last_block_index(module)}."
        return [(n, p) for n, p in named if n.startswith((last, "classifier."))]
    norm_params = {
        f"{name}.{pname}"
        for name, mod in module.named_modules()
        if isinstance(mod, nn.BatchNorm1d | nn.BatchNorm2d)
        for pname, _ in mod.named_parameters(recurse=False)
    }
    return [(n, p) for n, p in named if n.endswith(".bias") or n in norm_params]


def _last_block_index(module: nn.Module) -> int:
    blocks = [i for i, block in enumerate(module.features) if isinstance(block, nn.Sequential)]
    return blocks[-1]


def training_macs_per_sample(module: nn.Module, mode: str, input_shape: tuple[int, ...]) -> int:
    """Forward MACs + backward MACs of one training sample under ``mode`` (see docstring)."""
    layers = list(macs_by_layer(module, input_shape).items())  # in execution order
    names = [n for n, _ in trainable_parameters(module, mode)]
    blocks = {".".join(n.split(".")[:2]) if n.startswith("features.") else n.split(".")[0] for n in names}

    def block_of(layer: str) -> str:
        return ".".join(layer.split(".")[:2]) if layer.startswith("features.") else layer.split(".")[0]

    first = next((i for i, (name, _) in enumerate(layers) if block_of(name) in blocks), len(layers))
    forward = sum(m for _, m in layers)
    input_grads = sum(m for i, (_, m) in enumerate(layers) if i > first)
    weight_grads = sum(m for name, m in layers if f"{name}.weight" in names)
    return int(forward + input_grads + weight_grads)


class _SavedTensorMeter:
    """Counts the bytes autograd saves for backward (one count per storage)."""

    def __init__(self, exclude: set[int]):
        self.exclude = exclude
        self.seen: set[int] = set()
        self.bytes = 0

    def pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key not in self.exclude and key not in self.seen:
            self.seen.add(key)
            self.bytes += storage.nbytes()
        return tensor

    @staticmethod
    def unpack(tensor: torch.Tensor) -> torch.Tensor:
        return tensor


def fine_tune(
    module: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    mode: str = "bias",
    epochs: int = 30,
    lr: float = 3e-3,
    batch_size: int = 32,
    seed: int = 0,
) -> tuple[nn.Module, FineTuneResult]:
    """A fine-tuned copy of ``module`` (Adam, cross-entropy) and what it cost."""
    model = copy.deepcopy(module)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    trainable = trainable_parameters(model, mode)
    params = [p for _, p in trainable]
    for parameter in params:
        parameter.requires_grad_(True)
    optimizer = torch.optim.Adam(params, lr=lr)
    generator = torch.Generator().manual_seed(seed)
    inputs, labels = torch.from_numpy(np.ascontiguousarray(x, np.float32)), torch.from_numpy(y)
    param_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    buffer_bytes = sum(b.numel() * b.element_size() for b in model.buffers())
    trainable_bytes = sum(p.numel() * p.element_size() for p in params)
    saved_peak = 0
    steps = 0
    loss_value = float("nan")
    for _ in range(epochs):
        model.eval()
        if mode != "classifier":  # BatchNorm statistics follow the wearer's data
            for mod in model.modules():
                if isinstance(mod, nn.BatchNorm1d | nn.BatchNorm2d):
                    mod.train()
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(inputs), batch_size):
            batch = order[start : start + batch_size]
            meter = _SavedTensorMeter(param_storages)
            with torch.autograd.graph.saved_tensors_hooks(meter.pack, meter.unpack):
                loss = F.cross_entropy(model(inputs[batch]), labels[batch])
            optimizer.zero_grad(set_to_none=False)
            loss.backward()
            optimizer.step()
            saved_peak = max(saved_peak, meter.bytes)
            steps += 1
            loss_value = float(loss.detach())
    model.eval()
    batch_bytes = min(batch_size, len(inputs)) * int(np.prod(inputs.shape[1:])) * 4
    breakdown = {
        "weights": int(param_bytes + buffer_bytes),
        "gradients": int(trainable_bytes),
        "optimizer_state": int(ADAM_STATE_PER_PARAM * trainable_bytes),
        "input_batch": int(batch_bytes),
        "saved_activations": int(saved_peak),
    }
    result = FineTuneResult(
        mode=mode,
        steps=steps,
        samples_seen=steps and epochs * len(inputs),
        trainable_params=int(sum(p.numel() for p in params)),
        peak_memory_bytes=int(sum(breakdown.values())),
        memory_breakdown=breakdown,
        train_macs_per_sample=training_macs_per_sample(module, mode, tuple(inputs.shape[1:])),
        final_loss=loss_value,
    )
    return model, result
