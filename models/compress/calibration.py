"""Which samples calibrate static INT8, and how their activation ranges become scales.

Range methods (ONNX Runtime's calibrators, through ``models.quantize.quantize_static``):
``minmax`` (the observed range, outliers included), ``entropy`` (the clipping threshold that
minimises the KL divergence between the FP32 and INT8 histograms), ``percentile`` (clip at the
99.999th percentile of |activation|).

Calibration sets (ours): ``random`` (uniform from the training split), ``balanced`` (the same
number per class) and ``hard`` (half the set drawn from the samples on which the FP32 model
is least sure, the margin between its top two probabilities, so the ranges cover the
activations of the borderline cases where a rounding error flips a decision).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

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


def entropy_overrides(
    onnx_fp32_path: str | Path, calib_inputs: np.ndarray, num_bins: int = 2048, num_quantized_bins: int = 128
) -> dict[str, list[dict[str, np.ndarray]]]:
    """KL-optimal activation ranges as ORT ``TensorQuantOverrides``.

    ORT 1.31's ``quantize_static`` cannot pass histogram sizes to its entropy calibrator, whose
    defaults (128 bins, 128 quantized bins) leave a single candidate threshold: the full range,
    i.e. exactly min/max (measured: byte-identical models). So the entropy calibrator is run here
    with 2048 bins, on the same pre-processed graph ``models.quantize.quantize_static`` builds,
    and its ranges are handed over as per-tensor overrides.
    """
    from onnxruntime.quantization import CalibrationMethod
    from onnxruntime.quantization.calibrate import create_calibrator
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from models.quantize import NumpyCalibrationReader

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(onnx_fp32_path), str(prepared), skip_symbolic_shape=True)
        calibrator = create_calibrator(
            prepared,
            None,
            augmented_model_path=str(Path(tmp) / "augmented.onnx"),
            calibrate_method=CalibrationMethod.Entropy,
            extra_options={"num_bins": num_bins, "num_quantized_bins": num_quantized_bins},
        )
        calibrator.collect_data(NumpyCalibrationReader(calib_inputs))
        ranges = calibrator.compute_data()
    return {
        name: [
            {
                "rmin": np.asarray(data.range_value[0], np.float32),
                "rmax": np.asarray(data.range_value[1], np.float32),
            }
        ]
        for name, data in ranges.data.items()
    }
