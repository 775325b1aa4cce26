"""Before → after: the FP32 reference of a fresh variant, measured beside it.

Shared by ``python main.py compress`` and the GUI lab's recipe process, so both show the
same numbers: host latencies timed in alternation (``lab.paired_latency_ms``) and the
held-out predictions of both models (the lab's confusion matrices).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from models import runtime
from models.cards import ModelCard, card_path
from models.compress import lab
from models.compress.loaders import load_predictor


class SideBySide(NamedTuple):
    card: ModelCard  # the FP32 card (measured now when there is none yet)
    accuracy: float  # FP32 held-out accuracy, measured now
    latency: dict[str, list[float]]  # {"b1": [fp32_ms, variant_ms], "b64": [...]}
    before: lab.Predict
    after: lab.Predict


def side_by_side(bench: lab.Workbench, variant: str, root: Path) -> SideBySide:
    """FP32 card, FP32 accuracy, and host latencies of FP32 and the variant timed in alternation."""
    runtime.clear_cache()  # the variant was just (re)written
    after = load_predictor(bench.name, variant, root).predict_proba
    if card_path(bench.name, "fp32", root).exists():
        card = ModelCard.load(card_path(bench.name, "fp32", root))
        before = load_predictor(bench.name, "fp32", root).predict_proba
    else:  # no fp32 card yet: the torch weights, measured now
        before = lab.torch_predict(bench.fp32)
        card = lab.make_card(
            bench,
            variant="fp32",
            float_module=bench.fp32,
            artifact=bench.artifact_dir / "fp32.pt",
            runtime="torch",
            evaluation=lab.evaluate(before, bench, latency=False),
            recipe="fp32 (no card yet: measured now)",
            precision_per_layer={},
        )
    x = bench.splits.x_test
    latency = {
        "b1": lab.paired_latency_ms([before, after], x, 1, 1.5),
        "b64": lab.paired_latency_ms([before, after], x, 64),
    }
    accuracy = lab.evaluate(before, bench, latency=False).accuracy
    return SideBySide(card, accuracy, latency, before, after)


def confusion_matrix(predict: lab.Predict, bench: lab.Workbench) -> np.ndarray:
    """``counts[true, predicted]`` on the held-out split."""
    splits = bench.splits
    predicted = predict(splits.x_test).argmax(1)
    n = len(bench.classes)
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (splits.y_test, predicted), 1)
    return counts
