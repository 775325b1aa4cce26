"""Run an imported graph: the data input batched, other inputs zeros, scores turned into logits.

Registered with :mod:`models.runtime` as the ``onnx-import`` runtime, so
``runtime.load(name, variant)`` runs an imported model like a zoo one. The card's
``extra.graph`` says how: the data input's name, the zero-fed inputs, the output, whether it
is a sigmoid, softmax or raw logits, and whether the graph takes a batch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.cards import ModelCard
from models.runtime import OrtPredictor, Predictor, register_runtime

RUNTIME = "onnx-import"
_EPS = 1e-7


def scores_to_logits(scores: np.ndarray, kind: str) -> np.ndarray:
    """Per-sample scores ``(N, K)`` as logits whose softmax is the model's probabilities."""
    scores = scores.astype(np.float64)
    if scores.shape[1] == 1:  # one score: the positive class, against an implicit 0
        if kind == "sigmoid":
            p = np.clip(scores, _EPS, 1 - _EPS)
            scores = np.log(p / (1 - p))
        return np.concatenate([np.zeros_like(scores), scores], axis=1).astype(np.float32)
    if kind in ("softmax", "sigmoid"):
        return np.log(np.clip(scores, _EPS, None)).astype(np.float32)
    return scores.astype(np.float32)


class ImportedPredictor(OrtPredictor):
    """An imported ONNX graph on ONNX Runtime's CPU provider, one thread."""

    def __init__(self, onnx_path: Path, card: ModelCard):
        super().__init__(onnx_path, card.input_shape, card.classes, card)
        graph = card.extra["graph"]
        self.input_name = graph["input"]
        self.output_name = graph["output"]
        self.kind = graph["output_kind"]
        self.per_sample = graph["batch"] == "1"
        self.aux = [(a["name"], a["shape"], a["dtype"]) for a in graph["aux_inputs"]]
        self.recurrent = graph.get("recurrent")  # {"input", "output", "steps"} or None

    def _feeds(self, x: np.ndarray) -> dict[str, np.ndarray]:
        zeros = {
            name: np.zeros([len(x) if d == "batch" else d for d in shape], dtype)
            for name, shape, dtype in self.aux
        }
        return {self.input_name: x, **zeros}

    def _scores(self, x: np.ndarray) -> np.ndarray:
        out = self.session.run([self.output_name], self._feeds(x))[0]
        return np.asarray(out).reshape(len(x), -1)

    def _sequence_scores(self, x: np.ndarray) -> np.ndarray:
        """A recurrent graph over ``x`` ``(N, steps, *step)``: state carried from step to step;
        a sample's score is its highest step score (a detector fires on its best moment)."""
        feeds = self._feeds(x[:, 0])
        state_in, state_out = self.recurrent["input"], self.recurrent["output"]
        best = None
        for t in range(x.shape[1]):
            feeds[self.input_name] = np.ascontiguousarray(x[:, t])
            out, feeds[state_in] = self.session.run([self.output_name, state_out], feeds)
            scores = np.asarray(out).reshape(len(x), -1)
            best = scores if best is None else np.maximum(best, scores)
        return best

    def _logits(self, x: np.ndarray) -> np.ndarray:
        if self.recurrent:
            run = self._sequence_scores
            scores = np.concatenate([run(x[i : i + 1]) for i in range(len(x))]) if self.per_sample else run(x)
        elif self.per_sample:
            scores = np.concatenate([self._scores(x[i : i + 1]) for i in range(len(x))])
        else:
            scores = self._scores(x)
        return scores_to_logits(scores, self.kind)


def load_imported(card: ModelCard, root: Path) -> Predictor:
    return ImportedPredictor(Path(root) / card.model / card.artifact, card)


register_runtime(RUNTIME, load_imported)
