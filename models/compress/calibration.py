"""Which samples calibrate static INT8, and how their activation ranges become scales.

Range methods (done by ONNX Runtime's calibrators behind ``models.quantize.quantize_static``):
``minmax`` (the observed range, outliers included), ``entropy`` (the clipping threshold that
minimises the KL divergence between the FP32 and INT8 histograms), ``percentile`` (clip at the
99.999th percentile of |activation|).

Calibration sets (ours): ``random`` (uniform from the training split), ``balanced`` (the same
number per class) and ``hard`` (half the set drawn from the samples on which the FP32 model
is least sure, the margin between its top two probabilities, so the ranges cover the
activations of the borderline cases where a rounding error flips a decision).
"""

from __future__ import annotations

import numpy as np

RANGE_METHODS = ("minmax", "entropy", "percentile")
CALIBRATION_SETS = ("random", "balanced", "hard")


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(1, keepdims=True))
    return shifted / shifted.sum(1, keepdims=True)


def margins(logits: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 probability per sample: small = the model hesitates."""
    top2 = np.sort(_softmax(logits), axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def select_calibration(
    strategy: str,
    x: np.ndarray,
    y: np.ndarray,
    size: int,
    *,
    fp32_logits: np.ndarray | None = None,
    hard_fraction: float = 0.5,
    seed: int = 0,
) -> np.ndarray:
    """Indices into ``x`` of a calibration set of ``size`` samples chosen by ``strategy``."""
    if strategy not in CALIBRATION_SETS:
        raise ValueError(f"calibration set must be one of {CALIBRATION_SETS}, got {strategy!r}")
    rng = np.random.default_rng(seed)
    size = min(size, len(x))
    if strategy == "random":
        return np.sort(rng.choice(len(x), size, replace=False))
    if strategy == "balanced":
        classes = np.unique(y)
        per_class = max(1, size // len(classes))
        picks = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in classes]
        return np.sort(np.concatenate(picks))
    if fp32_logits is None:
        raise ValueError("the 'hard' calibration set needs the FP32 model's logits")
    n_hard = int(round(size * hard_fraction))
    hardest = np.argsort(margins(fp32_logits))[:n_hard]
    rest = np.setdiff1d(np.arange(len(x)), hardest)
    easy = rng.choice(rest, size - n_hard, replace=False)
    return np.sort(np.concatenate([hardest, easy]))
