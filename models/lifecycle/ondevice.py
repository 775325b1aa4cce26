"""The watch's model as the device holds it, and the learning steps it runs.

:class:`OnDeviceModel` keeps the personalized FP32 weights (the twin's), the stored
artifact that serves (INT8 or FP32 ONNX, see :mod:`models.lifecycle.artifact`), its
manifest of per-tensor checksums, the range guard and the clean range of each weight
tensor. The simulator decides *when* each step runs and charges its cost; this module does
the real work: serve a batch, fine-tune and re-compress a candidate, validate it, repair a
damaged artifact without a copy.

:class:`ConfidenceDrift` is the drift detector: river's ADWIN on the prediction confidence
of every window, firing when the mean it keeps drops by ``min_drop`` below the reference
measured at deploy.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass

import numpy as np
import torch
from river import drift as river_drift
from torch import nn

from models import runtime
from models.cards import ARTIFACTS_DIR, ModelCard, find_card
from models.lifecycle.artifact import Compressed, RangeGuard, StoredModel, compress_to_fit, generic_folded
from models.lifecycle.finetune import FineTuneResult, fine_tune
from models.lifecycle.twin import Twin

torch.set_num_threads(1)

CALIBRATION_WINDOWS = "calibration.windows"  # the twin's own key for its calibration windows


class ConfidenceDrift:
    """ADWIN (Bifet & Gavaldà 2007, river's implementation) on prediction confidence.

    The reference is the wearer's own mean confidence over the first ``reference_windows``
    windows after a reset (a deploy). The detector fires once ADWIN has seen a change and
    the mean it keeps is ``min_drop`` below that reference: ADWIN alone also reports rises
    and small shifts, and right after a cut its window still holds pre-change windows."""

    def __init__(self, delta: float, min_drop: float, reference_windows: int = 50):
        self.delta = delta
        self.min_drop = min_drop
        self.reference_windows = reference_windows
        self.reset()

    def update(self, confidence: float) -> bool:
        """Feed one window's confidence; True when a drop in its mean is detected."""
        self.adwin.update(float(confidence))
        self.seen += 1
        if self.reference is None:
            if self.seen >= self.reference_windows:
                self.reference = float(self.adwin.estimation)
            return False
        self.changed = self.changed or bool(self.adwin.drift_detected)
        return self.changed and self.adwin.estimation < self.reference - self.min_drop

    @property
    def mean(self) -> float:
        return float(self.adwin.estimation)

    def reset(self) -> None:
        self.adwin = river_drift.ADWIN(delta=self.delta)
        self.reference: float | None = None
        self.changed = False
        self.seen = 0

    def state(self) -> bytes:
        fields = (self.delta, self.min_drop, self.reference_windows, self.reference, self.changed, self.seen)
        return pickle.dumps((fields, self.adwin), protocol=4)

    @classmethod
    def from_state(cls, data: bytes) -> ConfidenceDrift:
        fields, adwin = pickle.loads(data)  # noqa: S301 - the twin's own bytes, digest-checked
        delta, min_drop, reference_windows, reference, changed, seen = fields
        detector = cls(delta, min_drop, reference_windows)
        detector.adwin, detector.reference, detector.changed, detector.seen = adwin, reference, changed, seen
        return detector


@dataclass
class Candidate:
    """A fine-tuned, re-compressed model waiting for validation."""

    module: nn.Module
    compressed: Compressed
    training: FineTuneResult
    guard: RangeGuard


def weight_ranges(stored: StoredModel) -> list[tuple[float, float]]:
    """(min, max) of each Conv/Linear weight of the stored model, in graph order."""
    module = stored.to_module()
    return [
        (float(m.weight.detach().min()), float(m.weight.detach().max()))
        for m in module.modules()
        if isinstance(m, nn.Conv1d | nn.Linear)
    ]


class OnDeviceModel:
    """The personalized model on one device (see the module docstring)."""

    def __init__(self, module: nn.Module, stored: StoredModel, guard: RangeGuard, size_target_bytes: int):
        self.module = module.eval()
        self.stored = stored
        self.guard = guard
        self.size_target_bytes = size_target_bytes
        self.manifest = stored.tensor_checksums()
        self.ranges = weight_ranges(stored)

    @classmethod
    def factory(cls, model: str, variant: str, clean_x: np.ndarray, size_target_bytes: int) -> OnDeviceModel:
        """The model as shipped: the lab's artifact of ``variant``, guard profiled on clean
        windows of other wearers (the lab's validation split)."""
        card = find_card(model, variant)
        data = (ARTIFACTS_DIR / model / card.artifact).read_bytes()
        stored = StoredModel(data, variant, card.precision)
        _, activations = stored.run(clean_x)
        return cls(runtime.load_torch(model), stored, RangeGuard.profile(activations), size_target_bytes)

    # -- serving ------------------------------------------------------------------------
    def serve(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(predicted class, confidence, guard flag) of each window, one batch."""
        proba, activations = self.stored.run(x)
        return proba.argmax(axis=1), proba.max(axis=1), self.guard.out_of_range(activations)

    def accuracy(self, x: np.ndarray, y: np.ndarray, stored: StoredModel | None = None) -> float:
        proba, _ = (stored or self.stored).run(x)
        return float((proba.argmax(axis=1) == y).mean()) if len(y) else 0.0

    def reprofile_guard(self, x: np.ndarray) -> None:
        """New guard bounds from recent windows (after a verified-intact alarm)."""
        _, activations = self.stored.run(x)
        self.guard = RangeGuard.profile(activations)

    # -- adaptation ---------------------------------------------------------------------
    def candidate(
        self,
        x: np.ndarray,
        y: np.ndarray,
        calibration: np.ndarray,
        mode: str,
        epochs: int,
        lr: float,
        batch: int,
        seed: int,
    ) -> Candidate:
        """Fine-tune the personalized weights on ``(x, y)``, then compress to fit."""
        module, result = fine_tune(
            self.module, x, y, mode=mode, epochs=epochs, lr=lr, batch_size=batch, seed=seed
        )
        compressed = compress_to_fit(module, calibration, self.size_target_bytes)
        _, activations = compressed.model.run(calibration)
        return Candidate(module, compressed, result, RangeGuard.profile(activations))

    def adopt(self, candidate: Candidate) -> None:
        self.module = candidate.module
        self.install(candidate.compressed.model, candidate.guard)

    def install(self, stored: StoredModel, guard: RangeGuard | None = None) -> None:
        """Serve ``stored`` from now on; its checksums become the manifest."""
        self.stored = stored
        self.manifest = stored.tensor_checksums()
        self.ranges = weight_ranges(stored)
        if guard is not None:
            self.guard = guard

    # -- faults and repair ------------------------------------------------------------
    def damaged_tensors(self) -> list[str]:
        return self.stored.damaged_tensors(self.manifest)

    def repair_without_copy(
        self,
        x: np.ndarray,
        y: np.ndarray,
        calibration: np.ndarray,
        epochs: int,
        lr: float,
        batch: int,
        seed: int,
    ) -> Candidate:
        """No copy to restore from: clamp every weight to its tensor's clean range (as Ranger
        clamps activations), fine-tune the biases on the labelled windows, re-compress."""
        module = self.stored.to_module()
        layers = [m for m in module.modules() if isinstance(m, nn.Conv1d | nn.Linear)]
        with torch.no_grad():
            for layer, (low, high) in zip(layers, self.ranges, strict=True):
                weight = torch.nan_to_num(layer.weight, nan=0.0, posinf=high, neginf=low)
                layer.weight.copy_(weight.clamp(low, high))
        tuned, result = fine_tune(
            module, x, y, mode="bias", epochs=epochs, lr=lr, batch_size=batch, seed=seed
        )
        compressed = compress_to_fit(tuned, calibration, self.size_target_bytes)
        _, activations = compressed.model.run(calibration)
        return Candidate(tuned, compressed, result, RangeGuard.profile(activations))

    # -- the twin ---------------------------------------------------------------------
    def twin(
        self,
        detector: ConfidenceDrift,
        thresholds: dict[str, float],
        history: list[dict],
        windows: np.ndarray,
    ) -> Twin:
        """The twin: personalized weights, detector, calibration (with ``windows``, the
        recent windows a new device calibrates its re-compression on), thresholds, history."""
        weights = {k: v.detach().cpu().numpy().copy() for k, v in self.module.state_dict().items()}
        weights[CALIBRATION_WINDOWS] = np.ascontiguousarray(windows, np.float32)
        calibration = {
            "guard": self.guard.to_dict(),
            "weight_ranges": [list(r) for r in self.ranges],
            "manifest": self.manifest,
            "variant": self.stored.variant,
        }
        return Twin(weights, detector.state(), calibration, dict(thresholds), list(history))

    @classmethod
    def from_twin(cls, twin: Twin, model: str, stored: StoredModel, size_target_bytes: int) -> OnDeviceModel:
        weights = {
            k: torch.from_numpy(np.array(v)) for k, v in twin.weights.items() if k != CALIBRATION_WINDOWS
        }
        module = runtime.load_torch(model)
        if set(weights) != set(module.state_dict()):  # a model repaired without a copy is BatchNorm-folded
            module = generic_folded()
        module.load_state_dict(weights)
        guard = RangeGuard(
            np.array(twin.calibration["guard"]["low"], np.float32),
            np.array(twin.calibration["guard"]["high"], np.float32),
        )
        return cls(module, stored, guard, size_target_bytes)


def personal_card(base: ModelCard, stored: StoredModel, version: int, accuracy: float) -> ModelCard:
    """The passport of a personalized artifact: measured bytes and accuracy, the base's MACs."""
    card = copy.deepcopy(base)
    card.variant = stored.variant
    card.version = str(version)
    card.bytes = stored.bytes
    card.precision = stored.precision
    card.accuracy = accuracy
    card.recipe = "fine-tuned on the wearer's windows, " + (
        "static INT8 PTQ min/max per-channel (ORT QDQ)" if stored.precision == "int8" else "FP32 ONNX"
    )
    card.privacy_level = "on-device (personal)"
    card.runtime = "onnxruntime"
    return card


def training_card(base: ModelCard, result: FineTuneResult) -> ModelCard:
    """A card for one epoch-sample of training: the counted training MACs per sample, the
    weights, gradients and optimizer state as the bytes moved, the saved activations per
    sample as activation bytes. ``Device.run(card, samples)`` charges it through the one
    cost function (``simulator.compute.estimate_card``)."""
    card = copy.deepcopy(base)
    card.variant = f"train-{result.mode}"
    card.precision = "fp32"
    card.macs = result.train_macs_per_sample
    per_sample = result.memory_breakdown["saved_activations"] // max(
        result.samples_seen // max(result.steps, 1), 1
    )
    card.bytes = sum(result.memory_breakdown[k] for k in ("weights", "gradients", "optimizer_state"))
    card.peak_activation_bytes = int(per_sample)
    card.task = f"on-device fine-tuning ({result.mode})"
    card.runtime = "torch"
    return card
