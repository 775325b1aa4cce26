"""Mixed precision from a per-layer sensitivity analysis.

For every weighted layer we quantize the whole model to INT8 except that one layer and
measure how much closer the outputs come to FP32 (mean KL divergence of the softmax on
validation data, a smoother signal than accuracy). The layers whose exclusion helps most
are kept in FP32, most sensitive first, while their weights stay within a byte budget
(a fraction of all weights), so the variant remains much smaller than FP32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class LayerSensitivity:
    node: str  # ONNX node name
    layer: str  # torch module path
    params: int
    kl_recovered: float  # KL(all int8) - KL(all int8 but this layer): > 0 means the layer hurts
    accuracy_without: float  # validation accuracy with only this layer in FP32


def mean_kl(reference_logits: np.ndarray, logits: np.ndarray) -> float:
    """Mean KL(softmax(reference) || softmax(logits)) per sample."""

    def log_softmax(z: np.ndarray) -> np.ndarray:
        z = z - z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))

    p_log = log_softmax(reference_logits)
    return float((np.exp(p_log) * (p_log - log_softmax(logits))).sum(1).mean())


def layer_sensitivity(
    nodes: dict[str, str],
    params: dict[str, int],
    quantize_excluding: Callable[[list[str]], Path],
    val_logits: Callable[[Path], np.ndarray],
    fp32_val_logits: np.ndarray,
    y_val: np.ndarray,
) -> tuple[float, float, list[LayerSensitivity]]:
    """Leave-one-out sensitivity of every node in ``nodes`` (``{onnx node: layer}``).

    ``quantize_excluding(nodes)`` writes an INT8 model with those nodes left FP32 and returns
    its path; ``val_logits(path)`` runs it on the validation inputs. Returns the all-INT8 KL,
    the all-INT8 accuracy and the per-layer results, most sensitive first.
    """
    base = val_logits(quantize_excluding([]))
    base_kl = mean_kl(fp32_val_logits, base)
    base_acc = float((base.argmax(1) == y_val).mean())
    results = []
    for node, layer in nodes.items():
        logits = val_logits(quantize_excluding([node]))
        results.append(
            LayerSensitivity(
                node=node,
                layer=layer,
                params=params.get(layer, 0),
                kl_recovered=base_kl - mean_kl(fp32_val_logits, logits),
                accuracy_without=float((logits.argmax(1) == y_val).mean()),
            )
        )
    results.sort(key=lambda r: r.kl_recovered, reverse=True)
    return base_kl, base_acc, results


def choose_fp32_layers(
    sensitivities: list[LayerSensitivity], max_fp32_weight_fraction: float, max_layers: int = 2
) -> list[LayerSensitivity]:
    """The most sensitive layers that fit the FP32 weight budget (only those that help)."""
    total = sum(s.params for s in sensitivities) or 1
    chosen, used = [], 0
    for s in sensitivities:
        if len(chosen) == max_layers or s.kl_recovered <= 0:
            break
        if (used + s.params) / total <= max_fp32_weight_fraction:
            chosen.append(s)
            used += s.params
    return chosen
