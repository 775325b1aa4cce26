"""The federated protocol's metrics: a pure function of the trace (its records and meta).

Energy and bytes are the rounds' records, which read them off the links' ``Message`` and
the devices' ``Inference`` records (:mod:`.wire`); nothing comes from a live object.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from simulator.federated.records import ClientUpdate, FederatedPlan, FederatedRound
from simulator.federated.routine import clock_hour
from simulator.trace import Trace


def summarize(trace: Trace, app: str = "federated", until_s: float | None = None) -> dict[str, Any]:
    """Headline metrics of federated app ``app`` from a trace, counting what happened by ``until_s``."""
    until_s = trace.end_time if until_s is None else until_s
    records = trace.until(until_s)
    plan = next((r for r in records if type(r) is FederatedPlan and r.app == app), None)
    rounds = [r for r in records if type(r) is FederatedRound and r.app == app]
    clients = [r for r in records if type(r) is ClientUpdate and r.app == app]
    if plan is None:
        return {"rounds": 0}
    accuracies = [r.accuracy for r in rounds]
    stage_counts = Counter(r.stage for r in clients)
    day_start = plan.day_start_s

    def clock(t_s: float) -> str:
        hour = clock_hour(t_s, day_start)
        return f"{int(hour):02d}:{int(round((hour % 1) * 60)) % 60:02d}"

    hours = Counter(int(r.hour) for r in rounds)
    participated = {r.device for r in clients if r.stage in ("reported", "synced")}
    return {
        "clients": len(plan.clients),
        "strategy": plan.strategy,
        "mode": plan.mode,
        "privacy": plan.privacy,
        "rounds": rounds[-1].version if rounds else 0,  # aggregates released
        "rounds_attempted": len(rounds),
        "rounds_planned": plan.rounds,
        "accuracy_initial": plan.initial_accuracy,
        "accuracy": accuracies[-1] if accuracies else plan.initial_accuracy,
        "accuracy_best": max(accuracies) if accuracies else plan.initial_accuracy,
        "accuracy_per_round": accuracies,
        "participants_mean": round(float(np.mean([r.participants for r in rounds])), 2) if rounds else 0.0,
        "clients_participated": len(participated),
        "selected": stage_counts["selected"],
        "reported": stage_counts["reported"],
        "stragglers": stage_counts["straggled"],
        "dropped": stage_counts["dropped"],
        "offline": stage_counts["offline"],
        "synced_late": stage_counts["synced"],
        "rejected_late": stage_counts["rejected"],
        "masks_recovered": sum(r.recovered for r in rounds),
        "bytes_up": sum(r.bytes_up for r in rounds),
        "bytes_down": sum(r.bytes_down for r in rounds),
        "client_energy_j": round(sum(r.client_energy_j for r in rounds), 3),
        "battery_energy_j": round(sum(r.battery_energy_j for r in rounds), 3),
        "watch_battery_j": round(sum(r.watch_battery_j for r in rounds), 3),
        "privacy_device_s": round(sum(r.privacy_device_s for r in rounds), 3),
        "privacy_energy_j": round(sum(r.privacy_energy_j for r in rounds), 3),
        "privacy_bytes": sum(r.privacy_bytes for r in rounds),
        "aggregate_error_max": max((r.aggregate_error for r in rounds), default=0.0),
        "epsilon": rounds[-1].epsilon if rounds else None,
        "noise_multiplier": plan.noise_multiplier,
        "first_round": clock(rounds[0].started_t) if rounds else None,
        "last_round": clock(rounds[-1].t) if rounds else None,
        "last_round_s": round(rounds[-1].t, 1) if rounds else None,
        "rounds_by_hour": {f"{h:02d}": n for h, n in sorted(hours.items())},
    }
