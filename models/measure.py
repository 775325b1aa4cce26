"""Measurements that fill a ModelCard: every number comes from the real model or artifact.

MACs are counted on the fp32 torch graph (no FLOP counter sees quantized ops); latency is
host wall time of the real predictor, one thread, median after warm-up.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from models.cards import ModelCard
from models.quantize import quantized_nodes

BYTES_PER_ELEMENT = {"fp32": 4, "fp16": 2, "int8": 1, "mixed": 4}


def count_macs(torch_model: torch.nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulates for one sample (FLOPs / 2 of convolutions and matmuls)."""
    torch.set_num_threads(1)
    model = torch_model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, *input_shape))
    return int(counter.get_total_flops() // 2)


def count_params(torch_model: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in torch_model.parameters()))


def file_bytes(*paths: str | Path) -> int:
    return int(sum(Path(p).stat().st_size for p in paths))


def peak_activation_bytes(
    torch_model: torch.nn.Module, input_shape: Sequence[int], bytes_per_element: int = 4
) -> int:
    """Largest single tensor (the input or any leaf module's output) for one sample."""
    largest = [int(np.prod(input_shape))]

    def record(_module, _inputs, output):
        if isinstance(output, torch.Tensor):
            largest[0] = max(largest[0], output[0].numel())

    leaves = [m for m in torch_model.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(record) for m in leaves]
    try:
        with torch.no_grad():
            torch_model.eval()(torch.zeros(1, *input_shape))
    finally:
        for hook in hooks:
            hook.remove()
    return largest[0] * bytes_per_element


def host_latency_ms(
    predictor, input_shape: Sequence[int], batch: int, repeats: int = 50, warmup: int = 5, seed: int = 0
) -> float:
    """Median wall time (ms) of one ``predict_proba`` call on a batch of ``batch`` samples."""
    x = np.random.default_rng(seed).normal(size=(batch, *input_shape)).astype(np.float32)
    for _ in range(warmup):
        predictor.predict_proba(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.predict_proba(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def accuracy(predictor, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, float]]:
    """Overall accuracy and recall per class (``predictor.classes`` names the classes)."""
    predicted = predictor.predict_proba(x).argmax(axis=1)
    per_class = {
        name: float((predicted[y == i] == i).mean())
        for i, name in enumerate(predictor.classes)
        if (y == i).any()
    }
    return float((predicted == y).mean()), per_class


def precision_per_layer(artifact: str | Path, torch_model: torch.nn.Module | None = None) -> dict[str, str]:
    """Per compute layer: read from the graph for ONNX files, fp32 for a torch module."""
    artifact = Path(artifact)
    if artifact.suffix == ".onnx":
        return quantized_nodes(artifact)
    assert torch_model is not None, "a torch artifact needs its module"
    return {
        name: "fp32"
        for name, m in torch_model.named_modules()
        if isinstance(m, torch.nn.Conv1d | torch.nn.Conv2d | torch.nn.Linear)
    }


def make_card(
    *,
    model: str,
    variant: str,
    task: str,
    torch_model: torch.nn.Module,
    predictor,
    artifact: str | Path,
    x_test: np.ndarray,
    y_test: np.ndarray,
    recipe: str,
    runtime: str,
    extra: dict | None = None,
    version: str = "1",
) -> ModelCard:
    """Measure everything on the real artifact and return its card (devices_fit left empty)."""
    artifact = Path(artifact)
    input_shape = list(predictor.input_shape)
    layers = precision_per_layer(artifact, torch_model)
    kinds = set(layers.values())
    precision = kinds.pop() if len(kinds) == 1 else "mixed"
    acc, per_class = accuracy(predictor, x_test, y_test)
    return ModelCard(
        model=model,
        variant=variant,
        task=task,
        classes=list(predictor.classes),
        input_shape=input_shape,
        precision=precision,
        params=count_params(torch_model),
        macs=count_macs(torch_model, input_shape),
        bytes=file_bytes(artifact),
        peak_activation_bytes=peak_activation_bytes(torch_model, input_shape, BYTES_PER_ELEMENT[precision]),
        accuracy=round(acc, 5),
        per_class_accuracy={k: round(v, 5) for k, v in per_class.items()},
        latency_ms_b1=round(host_latency_ms(predictor, input_shape, 1, repeats=200), 4),
        latency_ms_b64=round(host_latency_ms(predictor, input_shape, 64), 4),
        recipe=recipe,
        artifact=artifact.name,
        runtime=runtime,
        precision_per_layer=layers,
        date=dt.date.today().isoformat(),
        extra={"n_test": int(len(y_test)), **(extra or {})},
        version=version,
    )
