"""The health app's metrics: pure functions of the trace (the summary and the panel alike)."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.data import wearer
from simulator.apps.health_escalation.records import STAGES, Episode, Escalation
from simulator.profiles import load_profile
from simulator.trace import Trace, device_profile


def _score(
    episodes: list[Episode], alerts: list[Escalation], until_s: float, grace_s: float
) -> dict[str, Any]:
    """An alert detects an episode if it came during it (or ``grace_s`` after), or if the
    evidence it rests on was recorded during it (a queued ECG delivered late)."""
    detected = 0
    delays = []
    matched = set()
    for episode in episodes:
        hits = [
            i
            for i, alert in enumerate(alerts)
            if alert.episode == episode.episode or episode.t <= alert.t <= episode.end_t + grace_s
        ]
        if hits:
            detected += 1
            delays.append(alerts[hits[0]].t - episode.t)
            matched.update(hits)
    false_alarms = len(alerts) - len(matched)
    days = max(until_s, 1.0) / 86400.0
    return {
        "episodes": len(episodes),
        "detected": detected,
        "sensitivity": round(detected / len(episodes), 4) if episodes else None,
        "alerts": len(alerts),
        "false_alarms": false_alarms,
        "false_alarms_per_day": round(false_alarms / days, 3),
        "median_time_to_alert_s": round(float(np.median(delays)), 1) if delays else None,
    }


def health_metrics(
    trace: Trace, until_s: float | None = None, grace_s: float = 900.0, app: str | None = None
) -> dict[str, Any]:
    """Cascade and baseline metrics of health app ``app`` (default: every health record)
    from a trace, counting what happened by ``until_s``."""
    until_s = trace.end_time if until_s is None else until_s
    records = trace.until(until_s)
    episodes = [r for r in records if type(r) is Episode and (app is None or r.app == app)]
    escalations = [r for r in records if type(r) is Escalation and (app is None or r.app == app)]
    cascade = _score(episodes, [r for r in escalations if r.stage == "doctor_alert"], until_s, grace_s)
    counts = {stage: 0 for stage in STAGES}
    for r in escalations:
        if r.stage != "baseline_alert":
            counts[r.stage] = counts.get(r.stage, 0) + 1
    cascade["escalations"] = counts
    cascade["episodes_by_kind"] = {k: sum(1 for e in episodes if e.kind == k) for k in wearer.EPISODE_KINDS}
    cascade["baseline"] = _score(
        episodes, [r for r in escalations if r.stage == "baseline_alert"], until_s, grace_s
    )
    return cascade


def capture_energy_j(trace: Trace, until_s: float, app: str, watch: str, ecg_windows: int) -> float:
    """Energy the watch spent recording the ECGs of app ``app`` that it captured by
    ``until_s``: each ``ecg_capture`` step held the profile's ``ecg_capture`` load for
    ``ecg_windows`` × 10 s."""
    profile = device_profile(trace, watch)
    power_w = load_profile(profile).components_w.get("ecg_capture", 0.0) if profile else 0.0
    energy_j = 0.0
    for record in trace.until(until_s):
        if type(record) is Escalation and record.app == app and record.stage == "ecg_capture":
            energy_j += power_w * ecg_windows * 10.0
    return energy_j
