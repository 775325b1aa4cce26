"""The phone's vector index: usearch HNSW (picked by ``bench/photo_search.py``) or exact search.

Both count their real work, the number of distance computations, because that is what the
phone is charged for (``work_card``): a query's computed distances from usearch's own
counter (exact search: one per photo), an insertion's from a search with the build's
expansion before the vector goes in, plus ``connectivity²`` for the neighbour pruning (the
most comparisons HNSW's heuristic makes per insertion). usearch is imported when an index
is built, not when the app is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.cards import ModelCard

INDEX_KINDS = ("hnsw", "exact")
DTYPES = {"f32": 4, "i8": 1}  # usearch's scalar kinds and their bytes per value


@dataclass(frozen=True)
class IndexSettings:
    """Build parameters: the same ones for every library the bench compares."""

    kind: str = "hnsw"
    connectivity: int = 16  # M: neighbours per node
    expansion_add: int = 100  # ef_construction
    expansion_search: int = 64  # ef_search
    dtype: str = "f32"


@dataclass(frozen=True)
class SearchResult:
    keys: np.ndarray  # best first
    scores: np.ndarray  # cosine similarity
    distances_computed: int


class PhotoIndex:
    """Unit vectors under integer keys; cosine (inner product) search."""

    def __init__(self, dim: int, settings: IndexSettings = IndexSettings()):
        if settings.kind not in INDEX_KINDS:
            raise ValueError(
                f"unknown index kind {settings.kind!r}; expected one of {', '.join(INDEX_KINDS)}"
            )
        self.dim = dim
        self.settings = settings
        self._keys: list[np.ndarray] = []
        self._vectors: list[np.ndarray] = []
        self._hnsw = None
        if settings.kind == "hnsw":
            from usearch.index import Index  # deferred: importing the app stays light

            self._hnsw = Index(
                ndim=dim,
                metric="ip",
                dtype=settings.dtype,
                connectivity=settings.connectivity,
                expansion_add=settings.expansion_add,
                expansion_search=settings.expansion_search,
            )

    def __len__(self) -> int:
        return int(sum(len(k) for k in self._keys))

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> int:
        """Insert ``vectors`` (N, dim) under ``keys``; returns the distance computations it took."""
        keys = np.asarray(keys, np.int64)
        vectors = np.ascontiguousarray(vectors, np.float32)
        work = 0
        if self._hnsw is not None:
            if len(self._hnsw) > 0:
                self._hnsw.expansion_search = self.settings.expansion_add
                found = self._hnsw.search(vectors, self.settings.connectivity, threads=1)
                self._hnsw.expansion_search = self.settings.expansion_search
                work += int(found.computed_distances)
            work += len(keys) * self.settings.connectivity**2
            self._hnsw.add(keys, vectors, threads=1)
        self._keys.append(keys)
        self._vectors.append(vectors)
        return work

    def keys(self) -> np.ndarray:
        """The keys held, in insertion order."""
        return self._all()[0]

    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._keys) > 1:
            self._keys, self._vectors = [np.concatenate(self._keys)], [np.concatenate(self._vectors)]
        if not self._keys:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return self._keys[0], self._vectors[0]

    def search(self, query: np.ndarray, k: int, exact: bool = False) -> SearchResult:
        """The ``k`` nearest photos to one unit ``query`` vector (fewer when the index is smaller)."""
        query = np.ascontiguousarray(query, np.float32).reshape(-1)
        if len(self) == 0:
            return SearchResult(np.zeros(0, np.int64), np.zeros(0, np.float32), 0)
        if self._hnsw is None or exact:
            keys, vectors = self._all()
            scores = vectors @ query
            order = np.lexsort((keys, -scores))[:k]
            return SearchResult(keys[order], scores[order].astype(np.float32), len(keys))
        found = self._hnsw.search(query, k, threads=1)
        return SearchResult(
            np.asarray(found.keys, np.int64),
            (1.0 - np.asarray(found.distances, np.float32)),  # usearch's "ip" distance is 1 - dot
            int(found.computed_distances),
        )

    def memory_bytes(self) -> int:
        """Bytes the index holds: usearch's serialized graph and vectors, or the raw vectors."""
        if self._hnsw is not None:
            return int(self._hnsw.serialized_length)
        return len(self) * self.dim * 4


def work_card(kind: str, distances: int, dim: int, dtype: str, cost_factor: float) -> ModelCard:
    """The phone's work for ``distances`` distance computations, as a card for ``Device.run``.

    Each distance is ``dim`` multiply-adds, times ``cost_factor`` (measured by the bench: how
    much more a graph-walk distance costs than one in a streamed scan, on the host side by
    side); its vector is read once (``dim`` × bytes per value). It runs on the CPU's fp32
    engine: nothing here is a neural network for the NPU.
    """
    factor = cost_factor if kind == "hnsw" else 1.0
    return ModelCard(
        model="photo_index",
        variant=kind,
        task=f"vector search: {distances} distance computations of {dim} dimensions",
        classes=[],
        input_shape=[dim],
        precision="fp32",
        params=0,
        macs=int(round(distances * dim * factor)),
        bytes=int(distances * dim * DTYPES[dtype]),
        peak_activation_bytes=0,
        accuracy=float("nan"),
        latency_ms_b1=float("nan"),
        latency_ms_b64=float("nan"),
        recipe=f"{kind} cost model: distances x dim x {factor:.2f}",
        artifact="",
        runtime="none",
    )
