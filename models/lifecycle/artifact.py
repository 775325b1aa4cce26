"""The watch's stored model: re-compression to fit, serving with a range guard, checksums.

A personalized model is re-compressed with the model lab's own path (``models.quantize``:
BatchNorm folded, ONNX export, static INT8 QDQ with per-channel weights, calibrated on the
wearer's recent windows). :func:`compress_to_fit` tries FP32 then INT8 and keeps the most
faithful candidate whose file fits the size target ("compress to fit").

A :class:`StoredModel` is the artifact's bytes as the device keeps them. It is served on
ONNX Runtime with two extra graph outputs, the pooled features and the logits, so a
Ranger-style guard (Chen et al., DSN 2021: bound each activation by the range seen on clean
data) can check every window at no extra MACs. Its per-tensor SHA-256 checksums detect
changed weights at rest and at load.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

from models import quantize
from models.data import imu
from models.zoo import fold_batchnorm
from models.zoo.gesture import GestureIMU

torch.set_num_threads(1)

# Bounds widened by 25 % of the clean range: measured on a held-out wearer (256 profiling
# windows, 600 test windows), 10 % flagged 2.7 % of clean windows and 4.5-8 % of drifted ones,
# 25 % flagged 0.2 % and 0.5-1 %, while still flagging 66 % after a 20-bit targeted attack.
GUARD_MARGIN = 0.25
COMPUTE_OPS = ("Conv", "Gemm", "MatMul")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class RangeGuard:
    """Per-feature and per-logit bounds profiled on clean windows."""

    low: np.ndarray
    high: np.ndarray

    @classmethod
    def profile(cls, activations: np.ndarray) -> RangeGuard:
        low, high = activations.min(axis=0), activations.max(axis=0)
        margin = GUARD_MARGIN * np.maximum(high - low, 1e-6)
        return cls(low - margin, high + margin)

    def out_of_range(self, activations: np.ndarray) -> np.ndarray:
        """True for each window with any activation outside its bounds (or not finite)."""
        bad = (activations < self.low) | (activations > self.high) | ~np.isfinite(activations)
        return bad.any(axis=1)

    def to_dict(self) -> dict:
        return {"low": self.low.round(6).tolist(), "high": self.high.round(6).tolist()}


class StoredModel:
    """An ONNX artifact as stored on a device (see the module docstring)."""

    def __init__(self, data: bytes, variant: str, precision: str):
        self.data = bytes(data)
        self.variant = variant
        self.precision = precision
        self._session: ort.InferenceSession | None = None

    @property
    def bytes(self) -> int:
        return len(self.data)

    def parse(self) -> onnx.ModelProto:
        """The ONNX graph; ``onnx.DecodeError``/``ValueError`` if the bytes are not a model."""
        model = onnx.load_from_string(self.data)
        onnx.checker.check_model(model)
        return model

    def tensor_checksums(self) -> dict[str, str]:
        """SHA-256 of each stored tensor and of the graph without them."""
        model = onnx.load_from_string(self.data)
        sums = {t.name: _sha(t.raw_data or t.SerializeToString()) for t in model.graph.initializer}
        graph = onnx.ModelProto()
        graph.CopyFrom(model)
        del graph.graph.initializer[:]
        sums["<graph>"] = _sha(graph.SerializeToString())
        return sums

    def damaged_tensors(self, reference: dict[str, str]) -> list[str]:
        """Names whose checksum differs from ``reference`` (all of them if unreadable)."""
        try:
            now = self.tensor_checksums()
        except Exception:  # noqa: BLE001 - any parse failure means the bytes are damaged
            return sorted(reference)
        return sorted(name for name in reference if now.get(name) != reference[name])

    def tensor_bytes(self, names: list[str]) -> int:
        """Bytes of the named tensors (what a partial restore sends)."""
        model = onnx.load_from_string(self.data)
        sizes = {t.name: len(t.raw_data or t.SerializeToString()) for t in model.graph.initializer}
        graph_bytes = self.bytes - sum(sizes.values())
        return int(sum(sizes.get(n, graph_bytes) for n in names))

    def _guarded_session(self) -> ort.InferenceSession:
        if self._session is None:
            model = onnx.load_from_string(self.data)
            compute = [n for n in model.graph.node if n.op_type in COMPUTE_OPS]
            features = compute[-1].input[0]
            model.graph.output.append(
                onnx.helper.make_tensor_value_info(features, onnx.TensorProto.FLOAT, None)
            )
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._session = ort.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
        return self._session

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (N, classes), guard activations (N, features + classes))."""
        if len(x) == 0:
            n_classes = len(imu.CLASSES)
            return np.zeros((0, n_classes), np.float32), np.zeros((0, n_classes), np.float32)
        session = self._guarded_session()
        logits, features = [], []
        for start in range(0, len(x), 256):
            out_logits, out_features = session.run(
                None, {quantize.INPUT_NAME: np.ascontiguousarray(x[start : start + 256], np.float32)}
            )
            logits.append(out_logits)
            features.append(out_features.reshape(len(out_logits), -1))
        logits_all = np.concatenate(logits).astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            z = logits_all - logits_all.max(axis=1, keepdims=True)
            e = np.exp(z)
            proba = e / e.sum(axis=1, keepdims=True)
        proba = np.nan_to_num(proba, nan=1.0 / logits_all.shape[1]).astype(np.float32)
        return proba, np.concatenate([np.concatenate(features), logits_all], axis=1).astype(np.float32)

    def with_data(self, data: bytes) -> StoredModel:
        return StoredModel(data, self.variant, self.precision)

    def to_module(self) -> nn.Module:
        """The stored weights as a folded torch module (int8 weights dequantized)."""
        model = onnx.load_from_string(self.data)
        init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        produced = {n.output[0]: n for n in model.graph.node}

        def value(name: str) -> np.ndarray:
            if name in init:
                return init[name].astype(np.float32)
            node = produced[name]
            assert node.op_type == "DequantizeLinear", node.op_type
            q, scale = init[node.input[0]].astype(np.float32), init[node.input[1]]
            zero = init[node.input[2]].astype(np.float32) if len(node.input) > 2 else 0.0
            shape = [-1 if i == 0 else 1 for i in range(q.ndim)] if np.ndim(scale) else []
            return ((q - np.reshape(zero, shape)) * np.reshape(scale, shape)).astype(np.float32)

        module = generic_folded()
        layers = [m for m in module.modules() if isinstance(m, nn.Conv1d | nn.Linear)]
        compute = [n for n in model.graph.node if n.op_type in COMPUTE_OPS]
        with torch.no_grad():
            for layer, node in zip(layers, compute, strict=True):
                layer.weight.copy_(torch.from_numpy(value(node.input[1]).reshape(layer.weight.shape)))
                layer.bias.copy_(torch.from_numpy(value(node.input[2]).reshape(layer.bias.shape)))
        return module.eval()


def generic_folded() -> nn.Module:
    """The zoo architecture with BatchNorm folded (the exported graph's structure)."""
    return fold_batchnorm(GestureIMU())


@dataclass
class Candidate:
    variant: str
    precision: str
    bytes: int
    fits: bool


@dataclass
class Compressed:
    """The outcome of :func:`compress_to_fit`: the chosen model and every candidate tried."""

    model: StoredModel
    candidates: list[Candidate] = field(default_factory=list)
    calibration_windows: int = 0


def export_fp32(module: nn.Module, workdir: Path) -> Path:
    folded = (
        fold_batchnorm(module).eval()
        if any(isinstance(m, nn.BatchNorm1d) for m in module.modules())
        else module
    )
    return quantize.export_onnx(folded, imu.INPUT_SHAPE, Path(workdir) / "fp32.onnx")


def compress_to_fit(module: nn.Module, calibration: np.ndarray, size_target_bytes: int) -> Compressed:
    """FP32, else INT8 PTQ (min/max, per-channel): the first whose file fits the target.
    If none fits, the smallest is returned with ``fits=False`` on its candidate."""
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path = export_fp32(module, Path(tmp))
        candidates: list[tuple[Candidate, bytes]] = []
        fp32_bytes = fp32_path.read_bytes()
        candidates.append(
            (
                Candidate("personal-fp32", "fp32", len(fp32_bytes), len(fp32_bytes) <= size_target_bytes),
                fp32_bytes,
            )
        )
        if not candidates[0][0].fits:
            int8_path = quantize.quantize_static(
                fp32_path, calibration, Path(tmp) / "int8.onnx", method="minmax"
            )
            int8_bytes = int8_path.read_bytes()
            candidates.append(
                (
                    Candidate("personal-int8", "int8", len(int8_bytes), len(int8_bytes) <= size_target_bytes),
                    int8_bytes,
                )
            )
    fitting = [c for c in candidates if c[0].fits]
    chosen, data = fitting[0] if fitting else min(candidates, key=lambda c: c[0].bytes)
    return Compressed(
        StoredModel(data, chosen.variant, chosen.precision), [c for c, _ in candidates], len(calibration)
    )
