"""Photo search: vector-index libraries side by side, and the phone's cost of a query.

    python bench/photo_search.py [--sizes 10000 100000 1000000] [--queries 200] [--ef 64 256]
                                 [--threads 2] [--all-at-1m] [--calibrate] [--json]

The 10 k vectors are real: our image encoder's embeddings of 10 k rendered photos (held-out
scenes). Larger sizes are synthetic with the real ones' statistics: k-means centres of the
real embeddings plus residuals drawn from the real residuals' covariance, re-normalised
(the table prints real vs synthetic nearest-neighbour similarity so the match can be
checked). Queries are the text encoder's embeddings of held-out phrasings.

Every library gets the same build parameters (M = 16, ef_construction = 100, inner product on
unit vectors, ``--threads`` to build, one thread to search) and is searched at each
``--ef`` (64 is the app's default); exact search (numpy) is the reference for the
index's recall@10. Host query time and memory are measured here; the phone's latency comes
from ``simulator.compute`` on the phone profile from the distances each query computed
(usearch's and faiss's own counters) × dimension × the measured graph-walk cost factor.
``--calibrate`` measures that factor (host seconds per HNSW distance·dim ÷ host seconds per
MAC of the exact scan, interleaved, at 100 k) and writes ``index_costs.yaml``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# one BLAS thread, as every library here runs on one: a threaded matrix-vector product on a
# shared box measured 12 ms for 10 k vectors instead of under 1
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from simulator import compute  # noqa: E402
from simulator.apps.photo_search import costs  # noqa: E402
from simulator.apps.photo_search.index import IndexSettings, PhotoIndex  # noqa: E402
from simulator.profiles import load_profile  # noqa: E402

SETTINGS = IndexSettings()
BIG = ("exact (numpy)", "usearch f32", "faiss HNSWFlat")
CACHE = ROOT / "models" / "data" / "cache"
K = 10


# ---------------------------------------------------------------- data
def real_embeddings(n: int, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Our encoders' embeddings of ``n`` held-out photos and ``n_queries`` held-out queries (cached)."""
    from models import runtime
    from models.data import photos

    path = CACHE / f"photo-bench-{n}-{n_queries}-{photos.VERSION}.npz"
    if path.exists():
        with np.load(path) as data:
            return data["gallery"], data["queries"]
    x, _ = photos.make_photos("test", n, seed=7)
    gallery = runtime.load("photo_image_encoder", "fp32").outputs(x)
    texts = [text for text, _ in photos.make_queries(n_queries, seed=7)]
    queries = runtime.load("photo_text_encoder", "fp32").outputs(photos.tokenize_many(texts))
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, gallery=gallery, queries=queries)
    return gallery, queries


def _kmeans(
    x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 15
) -> tuple[np.ndarray, np.ndarray]:
    centres = x[rng.choice(len(x), k, replace=False)].copy()
    for _ in range(iters):
        assign = np.argmax(x @ centres.T, axis=1)
        for c in range(k):
            members = x[assign == c]
            if len(members):
                centres[c] = members.mean(0)
    return centres, np.argmax(x @ centres.T, axis=1)


def synthetic_embeddings(real: np.ndarray, n: int, seed: int = 0, clusters: int = 128) -> np.ndarray:
    """``n`` unit vectors drawn like ``real``: a real cluster's centre plus a real-like residual."""
    rng = np.random.default_rng(seed)
    centres, assign = _kmeans(real, clusters, rng)
    residuals = real - centres[assign]
    chol = np.linalg.cholesky(np.cov(residuals.T) + 1e-6 * np.eye(real.shape[1]))
    weights = np.bincount(assign, minlength=clusters) / len(real)
    out = np.empty((n, real.shape[1]), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        picks = rng.choice(clusters, m, p=weights)
        block = centres[picks] + rng.standard_normal((m, real.shape[1])) @ chol.T
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def nearest_similarity(x: np.ndarray, sample: int = 500) -> float:
    """Mean cosine of a vector to its nearest other vector (a sample of ``sample``)."""
    idx = np.arange(min(sample, len(x)))
    sims = x[idx] @ x.T
    sims[idx, idx] = -np.inf
    return float(sims.max(1).mean())


# ---------------------------------------------------------------- libraries
def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


BUILD_THREADS = 2  # set by --threads; searches always run on one


class Exact:
    name = "exact (numpy)"
    efs: tuple[int, ...] = ()

    def build(self, x):
        self.x = x

    def search(self, q):
        scores = self.x @ q
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])], len(self.x)

    def memory(self):
        return self.x.nbytes


class Usearch:
    def __init__(self, dtype: str):
        self.dtype = dtype
        self.name = f"usearch {dtype}"

    def build(self, x):
        self.index = PhotoIndex(x.shape[1], IndexSettings(dtype=self.dtype))
        self.index._hnsw.add(np.arange(len(x)), x, threads=BUILD_THREADS)

    def set_ef(self, ef: int) -> None:
        self.index._hnsw.expansion_search = ef

    def search(self, q):
        found = self.index._hnsw.search(q, K, threads=1)
        return np.asarray(found.keys), int(found.computed_distances)

    def memory(self):
        return int(self.index._hnsw.serialized_length)


class Faiss:
    name = "faiss HNSWFlat"

    def build(self, x):
        import faiss

        faiss.omp_set_num_threads(BUILD_THREADS)
        self.faiss = faiss
        self.index = faiss.IndexHNSWFlat(x.shape[1], SETTINGS.connectivity, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = SETTINGS.expansion_add
        self.index.hnsw.efSearch = SETTINGS.expansion_search
        self.index.add(x)
        faiss.omp_set_num_threads(1)

    def set_ef(self, ef: int) -> None:
        self.index.hnsw.efSearch = ef

    def search(self, q):
        stats = self.faiss.cvar.hnsw_stats
        stats.reset()
        _, ids = self.index.search(q[None, :], K)
        return ids[0], int(stats.ndis)

    def memory(self):
        return len(self.faiss.serialize_index(self.index))


class Hnswlib:
    name = "hnswlib (source build)"

    def build(self, x):
        import hnswlib

        self.index = hnswlib.Index("ip", x.shape[1])
        self.index.init_index(len(x), SETTINGS.connectivity, SETTINGS.expansion_add, random_seed=0)
        self.index.set_num_threads(BUILD_THREADS)
        self.index.add_items(x, np.arange(len(x)))
        self.index.set_num_threads(1)
        self.index.set_ef(SETTINGS.expansion_search)

    def set_ef(self, ef: int) -> None:
        self.index.set_ef(ef)

    def search(self, q):
        ids, _ = self.index.knn_query(q[None, :], K)
        return ids[0], None  # hnswlib counts no distances

    def memory(self):
        return int(self.index.index_file_size())


class SqliteVec:
    name = "sqlite-vec vec0 (exact)"
    efs: tuple[int, ...] = ()

    def build(self, x):
        import sqlean
        import sqlite_vec

        self.db = sqlean.connect(":memory:")
        self.db.enable_load_extension(True)
        sqlite_vec.load(self.db)
        self.db.enable_load_extension(False)
        self.db.execute(f"create virtual table v using vec0(e float[{x.shape[1]}] distance_metric=cosine)")
        with self.db:
            self.db.executemany(
                "insert into v(rowid, e) values (?, ?)", ((i, row.tobytes()) for i, row in enumerate(x))
            )
        self.n, self.dim = x.shape

    def search(self, q):
        rows = self.db.execute(
            "select rowid from v where e match ? order by distance limit ?", (q.tobytes(), K)
        ).fetchall()
        return np.array([r[0] for r in rows]), self.n

    def memory(self):
        pages = self.db.execute("pragma page_count").fetchone()[0]
        return pages * self.db.execute("pragma page_size").fetchone()[0]


def available(sizes: list[int]) -> list:
    libraries = [Exact(), Usearch("f32"), Usearch("i8"), Faiss(), Hnswlib(), SqliteVec()]
    usable = []
    for library in libraries:
        try:
            library.build(np.eye(16, 64, dtype=np.float32))
            usable.append(library)
        except ImportError as error:
            print(f"skipped {library.name}: {error}")
    return usable


# ---------------------------------------------------------------- measuring
def _queries(library, queries: np.ndarray, truth: np.ndarray) -> tuple[list[float], list[float], list[int]]:
    times, recalls, distances = [], [], []
    for q, right in zip(queries, truth, strict=True):
        start = time.perf_counter()
        ids, n_dist = library.search(q)
        times.append(time.perf_counter() - start)
        recalls.append(len(set(np.asarray(ids).tolist()) & set(right.tolist())) / K)
        distances.append(n_dist)
    return times, recalls, [d for d in distances if d is not None]


def measure(library, x: np.ndarray, queries: np.ndarray, truth: np.ndarray, efs: list[int]) -> list[dict]:
    """Build once (``BUILD_THREADS``), then one row per ef_search (one row for exact scans)."""
    gc.collect()
    rss0 = _rss_bytes()
    t0 = time.perf_counter()
    library.build(x)
    build_s = time.perf_counter() - t0
    rows = []
    for ef in efs if hasattr(library, "set_ef") else [None]:
        if ef is not None:
            library.set_ef(ef)
        times, recalls, counted = _queries(library, queries, truth)
        rows.append(
            {
                "library": library.name,
                "n": len(x),
                "ef_search": ef,
                "build_s": round(build_s, 2),
                "memory_mb": round(library.memory() / 2**20, 2),
                "rss_growth_mb": round((_rss_bytes() - rss0) / 2**20, 1),
                "query_ms_p50": round(1e3 * statistics.median(times), 4),
                "recall_at_10": round(float(np.mean(recalls)), 4),
                "distances_p50": int(np.median(counted)) if counted else None,
                "distances_p95": int(np.percentile(counted, 95)) if counted else None,
                "distances": counted,
            }
        )
    return rows


def phone_latency_ms(
    distances: list[int], dim: int, factor: float, bytes_per_value: int = 4
) -> tuple[float, float]:
    """p50 and p95 query latency on the phone profile from counted distances (the app's model)."""
    phone = load_profile("phone")
    lat = [
        1e3 * compute.estimate(phone, d * dim * factor, d * dim * bytes_per_value, "fp32").latency_s
        for d in distances
    ]
    return float(np.percentile(lat, 50)), float(np.percentile(lat, 95))


def _timed(library, queries: np.ndarray, repeats: int = 3) -> tuple[float, float]:
    """Median host seconds per query and median distances computed."""
    seconds, counted = [], []
    for _ in range(repeats):
        for q in queries:
            t = time.perf_counter()
            _, d = library.search(q)
            seconds.append(time.perf_counter() - t)
            counted.append(d)
    return statistics.median(seconds), statistics.median(counted)


def calibrate(small: np.ndarray, large: np.ndarray, queries: np.ndarray) -> dict:
    """Host cost of an HNSW distance vs one of the exact scan, from the slopes between two
    sizes (so each call's fixed cost cancels), every library timed on the same queries."""
    slopes = {}
    for library in (Usearch("f32"), Exact()):
        points = []
        for x in (small, large):
            library.build(x)
            points.append(_timed(library, queries))
        (t0, d0), (t1, d1) = points
        slopes[library.name] = (t1 - t0) / max(d1 - d0, 1)
    dim = small.shape[1]
    return {
        "hnsw_distance_cost_factor": round(slopes["usearch f32"] / slopes["exact (numpy)"], 3),
        "source": (
            f"measured by `python bench/photo_search.py --calibrate` on {dt.date.today().isoformat()}:"
            f" usearch HNSW (M={SETTINGS.connectivity}, ef_search={SETTINGS.expansion_search}) and a numpy"
            f" exact scan, {dim}-d, at {len(small)} and {len(large)} vectors, {len(queries)} queries x 3, one"
            " thread; host seconds per extra distance of each, from the slope between the two sizes, as a"
            " ratio (host time never becomes device time)"
        ),
        "host_ns_per_hnsw_distance": round(1e9 * slopes["usearch f32"], 2),
        "host_ns_per_exact_distance": round(1e9 * slopes["exact (numpy)"], 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--ef", type=int, nargs="+", default=[64, 256], help="ef_search values (64: the app's)"
    )
    parser.add_argument("--threads", type=int, default=2, help="threads for building (searches use one)")
    parser.add_argument(
        "--all-at-1m",
        action="store_true",
        help="every library above 100 k (default: exact, usearch f32, faiss)",
    )
    parser.add_argument("--calibrate", action="store_true", help="measure and write index_costs.yaml")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    global BUILD_THREADS
    BUILD_THREADS = args.threads
    real, queries = real_embeddings(10_000, args.queries)
    if args.calibrate:
        calibration = calibrate(real, synthetic_embeddings(real, 200_000, seed=1), queries[:100])
        costs.COSTS_FILE.write_text(
            "# Vector-search cost calibration; see simulator/apps/photo_search/costs.py.\n"
            + yaml.safe_dump(calibration, sort_keys=True)
        )
        print(json.dumps(calibration, indent=2))
    factor = costs.hnsw_distance_cost_factor()
    syn10k = synthetic_embeddings(real, len(real), seed=2)
    print(
        f"nearest-neighbour cosine, real {nearest_similarity(real):.4f} vs synthetic {nearest_similarity(syn10k):.4f};"
        f" mean query top-1 cosine real {np.max(queries @ real.T, 1).mean():.4f}"
        f" vs synthetic {np.max(queries @ syn10k.T, 1).mean():.4f}"
    )
    libraries = available(args.sizes)
    rows = []
    for n in args.sizes:
        x = real[:n] if n <= len(real) else synthetic_embeddings(real, n, seed=3)
        truth = np.stack([Exact.search(type("E", (), {"x": x})(), q)[0] for q in queries])
        for library in libraries:
            if n > 100_000 and not args.all_at_1m and library.name not in BIG:
                continue  # each 1 M HNSW build takes minutes here; these three answer the question
            for row in measure(library, x, queries, truth, args.ef):
                bytes_per_value = 1 if library.name.endswith("i8") else 4
                if row["distances"]:
                    hnsw = library.name.startswith(("usearch", "faiss"))
                    p50, p95 = phone_latency_ms(
                        row["distances"], x.shape[1], factor if hnsw else 1.0, bytes_per_value
                    )
                    row["phone_ms_p50"], row["phone_ms_p95"] = round(p50, 3), round(p95, 3)
                del row["distances"]
                rows.append(row)
                print(_line(row), flush=True)
            library.__dict__.pop("index", None)
            library.__dict__.pop("db", None)
        del x
    if args.json:
        print(json.dumps({"cost_factor": factor, "rows": rows}, indent=2))
    return 0


def _line(row: dict) -> str:
    phone = (
        f"{row['phone_ms_p50']:8.3f} {row['phone_ms_p95']:8.3f}"
        if "phone_ms_p50" in row
        else f"{'-':>8} {'-':>8}"
    )
    dist = f"{row['distances_p50']:>8}" if row["distances_p50"] is not None else f"{'-':>8}"
    ef = "" if row["ef_search"] is None else f"ef={row['ef_search']}"
    return (
        f"{row['n']:>9} {row['library']:<24} {ef:<7} recall@10 {row['recall_at_10']:.4f}  host {row['query_ms_p50']:8.4f} ms"
        f"  mem {row['memory_mb']:8.2f} MB  build {row['build_s']:7.2f} s  dist {dist}  phone p50/p95 {phone} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
