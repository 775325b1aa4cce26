"""The model's digital twin: everything the device learned, as one serializable state.

A :class:`Twin` holds the personalized weights (the fine-tuned FP32 state dict), the drift
detector's state (river's ADWIN, pickled), the calibration (range-guard bounds, the clean
range of each weight tensor, the windows they came from), the thresholds and the version
history. :meth:`Twin.to_bytes` is what moves between devices; :meth:`Twin.digest` (SHA-256
of it) shows that nothing was lost on the way.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Twin:
    """The twin's state (see the module docstring)."""

    weights: dict[str, np.ndarray]
    detector: bytes
    calibration: dict[str, Any]
    thresholds: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        """A canonical serialization: same state, same bytes (a JSON header, then the
        detector's pickle, then each weight's raw bytes in name order)."""
        names = sorted(self.weights)
        arrays = [np.ascontiguousarray(self.weights[n]) for n in names]
        header = json.dumps(
            {
                "calibration": self.calibration,
                "thresholds": self.thresholds,
                "history": self.history,
                "weights": [[n, a.dtype.str, list(a.shape)] for n, a in zip(names, arrays, strict=True)],
                "detector_bytes": len(self.detector),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        return b"".join(
            [len(header).to_bytes(8, "big"), header, self.detector, *(a.tobytes() for a in arrays)]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Twin:
        n = int.from_bytes(data[:8], "big")
        header = json.loads(data[8 : 8 + n])
        offset = 8 + n + header["detector_bytes"]
        detector = data[8 + n : offset]
        weights = {}
        for name, dtype, shape in header["weights"]:
            size = int(np.prod(shape)) * np.dtype(dtype).itemsize
            weights[name] = np.frombuffer(data[offset : offset + size], dtype).reshape(shape).copy()
            offset += size
        return cls(weights, detector, header["calibration"], header["thresholds"], header["history"])

    def digest(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()

    def detector_object(self) -> Any:
        """The drift detector, restored (a river ADWIN)."""
        return pickle.loads(self.detector)  # noqa: S301 - our own bytes, checked by digest
