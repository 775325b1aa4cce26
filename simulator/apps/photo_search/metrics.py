"""The photo-search summary: a pure function of the trace (records and meta).

Energy and time come from the phone's own ``Inference`` records (the image encoder's
batches, the index's insertions and searches, the text encoder); bytes from ``Message``
records. ``bytes_off_device`` is every byte the phone sent in a message carrying a photo,
an embedding or a query (kinds starting ``photo``, ``embedding`` or ``query``): the app
sends none, so it is 0 unless something leaks them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from simulator.apps.photo_search.records import IndexBatch, PhotoQuery, PhotoTaken
from simulator.trace import Inference, Message

DAY_S = 86_400.0
PRIVATE_KINDS = ("photo", "embedding", "query")
IMAGE_MODEL, TEXT_MODEL, INDEX_MODEL = "photo_image_encoder", "photo_text_encoder", "photo_index"
RECALL_K = 10


def night_of(t: float) -> int:
    """Night ``n`` runs from noon of day ``n - 1`` to noon of day ``n`` (a charge at 23:00 and one
    at 02:00 are the same night)."""
    return int(np.floor((t + DAY_S / 2) / DAY_S))


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _ms(values: list[float], q: float) -> float | None:
    return round(1e3 * float(np.percentile(values, q)), 3) if values else None


def summarize(trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
    """Photo-search metrics of app ``app`` (its entry in ``trace.meta["apps"]``) by ``end_s``."""
    name, params = app["name"], app.get("params") or {}
    all_batches = [r for r in trace.of(IndexBatch) if r.app == name]
    phone = params.get("phone") or (all_batches[0].device if all_batches else "phone")
    taken = [r for r in trace.of(PhotoTaken) if r.app == name and r.t <= end_s]
    batches = [r for r in all_batches if r.t <= end_s]
    queries = [r for r in trace.of(PhotoQuery) if r.app == name and r.t <= end_s]
    runs = [r for r in trace.of(Inference) if r.device == phone and r.t <= end_s]
    embeds = [r for r in runs if r.model == IMAGE_MODEL]
    inserts = [r for r in runs if r.model == INDEX_MODEL and r.label == "index"]
    searched = [r for r in runs if (r.model == INDEX_MODEL and r.label == "search") or r.model == TEXT_MODEL]
    messages = [m for m in trace.of(Message) if m.t <= end_s]
    private = [m for m in messages if m.src == phone and m.msg_kind.startswith(PRIVATE_KINDS)]

    nights: dict[int, dict[str, float]] = defaultdict(lambda: {"photos": 0, "embed_j": 0.0, "index_j": 0.0})
    for r in embeds:
        nights[night_of(r.t)]["photos"] += r.n_windows
        nights[night_of(r.t)]["embed_j"] += r.energy_j
    for r in inserts:
        nights[night_of(r.t)]["index_j"] += r.energy_j
    size_after = {night_of(b.start_t): b.index_size for b in batches}
    per_night = [
        {
            "night": n,
            "photos": int(v["photos"]),
            "embed_j": round(v["embed_j"], 4),
            "index_j": round(v["index_j"], 5),
            "index_size": size_after.get(n, 0),
        }
        for n, v in sorted(nights.items())
    ]
    n_embedded = sum(r.n_windows for r in embeds)
    answered = [q for q in queries if q.relevant > 0]
    searchable = [q for q in queries if q.index_size > 0]
    latency_s = [q.t - q.start_t for q in queries]
    variant = embeds[0].variant if embeds else None
    return {
        "photos_taken": len(taken),
        "photos_indexed": batches[-1].index_size if batches else 0,
        "photos_pending": len(taken) - (batches[-1].index_size if batches else 0),
        "index_kind": (params.get("index") or {}).get("kind"),
        "index_memory_mb": round(batches[-1].memory_bytes / 2**20, 3) if batches else 0.0,
        "peak_memory_mb": round(max(b.peak_memory_bytes for b in batches) / 2**20, 3) if batches else 0.0,
        "memory_budget_mb": round(batches[-1].memory_budget_bytes / 2**20, 1) if batches else None,
        "memory_ok": all(b.peak_memory_bytes <= b.memory_budget_bytes for b in batches),
        "embed_variant": variant,
        "embed_ms_per_photo": round(1e3 * sum(r.end_t - r.t for r in embeds) / n_embedded, 5)
        if n_embedded
        else None,
        "embed_mj_per_photo": round(1e3 * sum(r.energy_j for r in embeds) / n_embedded, 5)
        if n_embedded
        else None,
        "index_build_j_per_night": _mean([n["index_j"] for n in per_night]),
        "embed_j_per_night": _mean([n["embed_j"] for n in per_night]),
        "nights": per_night,
        "queries": len(queries),
        "queries_empty": sum(q.index_size == 0 for q in queries),
        "recall_at_10": _mean([q.hits / min(RECALL_K, q.relevant) for q in answered]),
        "tag_recall_at_10": _mean([q.tag_hits / min(RECALL_K, q.relevant) for q in answered]),
        "index_recall_at_10": _mean([q.exact_overlap / min(RECALL_K, q.index_size) for q in searchable]),
        "query_p50_ms": _ms(latency_s, 50),
        "query_p95_ms": _ms(latency_s, 95),
        "query_mj_mean": round(1e3 * sum(r.energy_j for r in searched) / len(queries), 4)
        if queries
        else None,
        "distances_per_query": _mean([q.distances for q in searchable]),
        "photo_bytes_received": sum(
            m.size_bytes
            for m in messages
            if m.dst == phone and m.msg_kind == "photo" and m.status == "delivered"
        ),
        "bytes_off_device": sum(m.size_bytes for m in private),
        "phone_bytes_sent": sum(m.size_bytes for m in messages if m.src == phone),
    }
