"""Retrieval measures and the tag-search baseline, in numpy (no torch: the simulator uses them).

``recall@k`` of one query: the share of its top ``k`` that answer it, out of as many as could
(``min(k, relevant)``): 1.0 when the first ``k`` are all right or all the right ones are in
them. Queries with no right answer in the gallery are left out of the mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.data import photos

DETECTOR_TAGS: tuple[str, ...] = ("empty", "person", "package", "pet")  # camera_detector's classes


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first; ties go to the lower index (stable)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))].astype(np.int64)


def recall_at_k(ranked: Sequence[int], relevant: np.ndarray, k: int = 10) -> float | None:
    """Recall@k of one ranked list given the gallery's relevance mask; None when nothing is relevant."""
    n_relevant = int(relevant.sum())
    if n_relevant == 0:
        return None
    hits = int(relevant[np.asarray(ranked[:k], np.int64)].sum()) if len(ranked) else 0
    return hits / min(k, n_relevant)


def relevance(scenes: Sequence[photos.Scene], attributes: dict[str, str]) -> np.ndarray:
    """Which photos of the gallery answer a query for ``attributes``."""
    return np.fromiter((photos.matches(s, attributes) for s in scenes), bool, len(scenes))


def query_tag(text: str) -> str | None:
    """The detector tag a typed query names, if any (tag search understands subjects only)."""
    words = set(photos.TOKEN.findall(text.lower()))
    for subject, phrases in photos.WORDS["subject"].items():
        if words & set(phrases):
            return subject
    return None


def tag_scores(text: str, detector_proba: np.ndarray) -> np.ndarray:
    """Tag search: photos tagged with the query's subject first (most confident first), then the rest.

    ``detector_proba`` is the camera detector's (N, 4) output on the gallery. A query naming no
    subject matches no tag: every photo scores 0 and the gallery order decides.
    """
    tag = query_tag(text)
    if tag is None:
        return np.zeros(len(detector_proba), np.float32)
    column = DETECTOR_TAGS.index(tag)
    tagged = detector_proba.argmax(1) == column
    return np.where(tagged, 1.0 + detector_proba[:, column], 0.0).astype(np.float32)


def mean_recall(rankings: Sequence[Sequence[int]], masks: Sequence[np.ndarray], k: int = 10) -> float:
    """Mean recall@k over the queries that have a right answer (NaN when none has)."""
    values = [
        r
        for r in (recall_at_k(rank, mask, k) for rank, mask in zip(rankings, masks, strict=True))
        if r is not None
    ]
    return float(np.mean(values)) if values else float("nan")
