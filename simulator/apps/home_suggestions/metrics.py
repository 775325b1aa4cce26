"""The suggestion app's metrics: a pure function of the trace (records and meta).

Hit-rate@10 and NDCG@10 of the suggestions the devices served in the held-out week (the
used item's rank in the slice), the most-popular baseline on the same moments and
slices, latency per serving device kind (request to result, queueing included), energy
per suggestion from the devices' own ``Inference`` records, the slices' bytes from the
links' ``Message`` records, and the federated protocol's summary (rounds, bytes per round,
the hit-rate curve).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from simulator.apps.home_suggestions.records import SliceSync, Suggestion, SuggestionPlan
from simulator.federated.metrics import summarize as federated_summary
from simulator.federated.records import FederatedRound
from simulator.trace import Inference, Message, Trace

TOP_K = 10
RANKER_MODEL = "home_ranker"


def ndcg(ranks: np.ndarray, k: int = TOP_K) -> float:
    if len(ranks) == 0:
        return 0.0
    hit = (ranks >= 0) & (ranks < k)
    return float(np.where(hit, 1.0 / np.log2(np.maximum(ranks, 0) + 2.0), 0.0).mean())


def hit_rate(ranks: np.ndarray, k: int = TOP_K) -> float:
    return float(((ranks >= 0) & (ranks < k)).mean()) if len(ranks) else 0.0


def suggestions_of(trace: Trace, app: str, end_s: float) -> list[Suggestion]:
    return [r for r in trace.until(end_s) if type(r) is Suggestion and r.app == app]


def summarize(trace: Trace, app: str, end_s: float | None = None) -> dict[str, Any]:
    """Headline metrics of suggestion app ``app`` counting what happened by ``end_s``."""
    end_s = trace.end_time if end_s is None else end_s
    records = trace.until(end_s)
    plan = next((r for r in records if type(r) is SuggestionPlan and r.app == app), None)
    if plan is None:
        return {"suggestions": 0}
    served = [r for r in records if type(r) is Suggestion and r.app == app and r.served]
    ranks = np.array([r.rank for r in served], int)
    popular = np.array([r.popular_rank for r in served], int)
    kinds = {name: d.get("kind", "") for name, d in trace.meta.get("devices", {}).items()}
    latency: dict[str, list] = defaultdict(list)
    for r in served:
        latency[kinds.get(r.device, "")].append(r.latency_s)
    ranker_devices = {r.device for r in served}
    energy: dict[str, list] = defaultdict(list)
    for r in records:
        if type(r) is Inference and r.model == RANKER_MODEL and r.device in ranker_devices:
            energy[kinds.get(r.device, "")].append(r.energy_j)
    slice_bytes = sum(r.size_bytes for r in records if type(r) is Message and r.msg_kind == "profile_slice")
    syncs = [r for r in records if type(r) is SliceSync and r.app == app]
    by_context = defaultdict(list)
    for r in served:
        by_context[r.context].append(r.rank)
    rounds = [r for r in records if type(r) is FederatedRound and r.app == app]
    fed = federated_summary(trace, app, end_s)
    days = defaultdict(list)
    for r in served:
        days[int(r.t // 86400)].append(r.rank)
    return {
        "suggestions": len(served),
        "unserved": sum(1 for r in records if type(r) is Suggestion and r.app == app and not r.served),
        "hit_rate_at_10": round(hit_rate(ranks), 4),
        "ndcg_at_10": round(ndcg(ranks), 4),
        "baseline_popular_hit_rate": round(hit_rate(popular), 4),
        "baseline_popular_ndcg": round(ndcg(popular), 4),
        "not_in_slice": round(float((ranks < 0).mean()), 4) if len(ranks) else 0.0,
        "context_accuracy": plan.context_accuracy,
        "blur_m": plan.blur_m,
        "hit_rate_by_context": {c: round(hit_rate(np.array(v)), 4) for c, v in sorted(by_context.items())},
        "hit_rate_by_day": [round(hit_rate(np.array(days[d])), 4) for d in sorted(days)],
        "latency_p95_ms": {
            k: round(1000 * float(np.percentile(v, 95)), 4) for k, v in sorted(latency.items())
        },
        "latency_max_ms": {k: round(1000 * float(np.max(v)), 4) for k, v in sorted(latency.items())},
        "energy_per_suggestion_uj": {k: round(1e6 * float(np.mean(v)), 4) for k, v in sorted(energy.items())},
        "slice_syncs": len(syncs),
        "slice_bytes": int(slice_bytes),
        "rounds": len(rounds),
        "federated_hit_rate": [r.accuracy for r in rounds],
        "bytes_per_round": round(float(np.mean([r.bytes_up + r.bytes_down for r in rounds])), 1)
        if rounds
        else 0.0,
        "federated": fed,
    }
