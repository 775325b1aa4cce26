"""The device-lifecycle summary: a pure function of the trace (records and meta).

Accuracy comes from the app's daily held-out evaluation (``LifeAccuracy``: the serving model
and the lab's generic model, unadapted, on the same fresh windows of the wearer) and from
the windows the watch served (``LifeWindow``); detection from ``LifeDrift`` and
``LifeFaultDetected``. Time, energy and memory of an adaptation come from the device's own
``Inference`` records between the adaptation's start and end (fine-tune, calibrate,
validate, checksum: each charged by the cost model); bytes from ``Message`` records, priced
with the links' energy per bit (``LifeLink``) as ``Link.attempt`` draws it at both ends.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.apps.device_lifecycle.records import (
    LifeAccuracy,
    LifeAdaptation,
    LifeDrift,
    LifeFault,
    LifeFaultDetected,
    LifeFaultHealed,
    LifeLink,
    LifeMigration,
    LifeWindow,
)
from simulator.trace import Inference, Message

DAY_S = 86_400.0
WORK_LABELS = ("fine-tune", "calibrate", "validate", "checksum", "guard-profile")
# every message kind the app sends (its own and the deploy service's)
MESSAGE_KINDS = ("model_backup", "model_restore", "model_download", "checksum_compare", "twin", "deploy")
# the messages each repair sends (a fine-tune repair sends none)
REPAIR_KINDS = {"restore": ("model_restore", "checksum_compare"), "re-download": ("model_download", "deploy")}
AFTER_REPAIR_S = DAY_S  # accuracy after a repair: the windows served in the day after it


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _accuracy(windows: list[LifeWindow]) -> float | None:
    return round(sum(w.truth == w.predicted for w in windows) / len(windows), 4) if windows else None


def _mine(trace, record_type: type, name: str, end_s: float) -> list:
    return [r for r in trace.of(record_type) if r.app == name and r.t <= end_s]


class Wire:
    """The app's ``Message`` records, priced per attempt with the links' energy per bit."""

    def __init__(self, trace, name: str, end_s: float) -> None:
        self.j_per_bit = {
            r.link: (r.tx_j_per_bit, r.rx_j_per_bit) for r in _mine(trace, LifeLink, name, end_s)
        }
        self.messages = [
            m
            for m in trace.of(Message)
            if m.t <= end_s and m.msg_kind in MESSAGE_KINDS and m.link in self.j_per_bit
        ]

    def between(self, start_s: float, end_s: float, kinds: tuple[str, ...] = MESSAGE_KINDS) -> dict[str, Any]:
        """Bytes (delivered attempts) and radio energy (every attempt, both ends) of the
        messages of ``kinds`` sent from ``start_s`` to ``end_s``."""
        sent = [m for m in self.messages if start_s <= m.t <= end_s and m.msg_kind in kinds]
        energy_j = sum(m.size_bytes * 8.0 * sum(self.j_per_bit[m.link]) for m in sent)
        delivered = sum(m.size_bytes for m in sent if m.status == "delivered")
        return {"bytes": int(delivered), "energy_j": round(energy_j, 6), "messages": len(sent)}


def _work(trace, device: str, start_s: float, end_s: float) -> tuple[float, float]:
    """Device time (s) and energy (J) of the app's background work on ``device``."""
    runs = [
        r
        for r in trace.of(Inference)
        if r.device == device and r.label in WORK_LABELS and start_s <= r.t and r.end_t <= end_s + 1e-9
    ]
    return sum(r.end_t - r.t for r in runs), sum(r.energy_j for r in runs)


def drift_metrics(params: dict[str, Any], detections: list[LifeDrift], end_s: float) -> list[dict[str, Any]]:
    """Per scenario drift: the first detection after it starts (before the next drift)."""
    drifts = sorted(params.get("drifts") or [], key=lambda d: d["day"])
    out = []
    for i, drift in enumerate(drifts):
        start_s = drift["day"] * DAY_S
        until_s = drifts[i + 1]["day"] * DAY_S if i + 1 < len(drifts) else end_s
        hit = next((d for d in detections if start_s <= d.t < until_s), None)
        out.append(
            {
                "device": drift["device"],
                "kind": drift["kind"],
                "day": drift["day"],
                "detected_day": round(hit.t / DAY_S, 4) if hit else None,
                "delay_h": round((hit.t - start_s) / 3600.0, 3) if hit else None,
            }
        )
    return out


def accuracy_metrics(
    params: dict[str, Any], days: list[LifeAccuracy], adaptations: list[LifeAdaptation], retire_s: float
) -> dict[str, Any]:
    """Held-out accuracy before drift, after it without adaptation (the generic model on
    the days the adapted one served), and after adaptation (undamaged days on the first
    watch, after the first deployed adaptation)."""
    drift_days = [d["day"] for d in params.get("drifts") or []]
    first_drift_s = min(drift_days) * DAY_S if drift_days else float("inf")
    worn = [d for d in days if d.t < retire_s]
    before = [d for d in worn if d.t < first_drift_s]
    drifted = [d for d in worn if d.t >= first_drift_s]
    adapted_at = next((a.t for a in adaptations if a.deployed), None)
    served = [d for d in drifted if adapted_at is not None and d.t >= adapted_at and not d.damaged]
    waiting = [d for d in drifted if adapted_at is None or d.t < adapted_at]
    return {
        "accuracy_before_drift": _mean([d.accuracy for d in before]),
        "accuracy_drift_unadapted": _mean([d.generic_accuracy for d in (served or drifted)]),
        "accuracy_drift_before_adaptation": _mean([d.accuracy for d in waiting]),
        "accuracy_adapted": _mean([d.accuracy for d in served]),
        "accuracy_days": [
            {
                "day": d.day,
                "device": d.device,
                "version": d.version,
                "accuracy": d.accuracy,
                "generic_accuracy": d.generic_accuracy,
                "damaged": d.damaged,
            }
            for d in days
        ],
    }


def adaptation_metrics(trace, adaptations: list[LifeAdaptation], wire: Wire) -> list[dict[str, Any]]:
    out = []
    for a in adaptations:
        busy_s, energy_j = _work(trace, a.device, a.start_t, a.t)
        radio = wire.between(a.start_t, a.t, ("model_backup",))
        out.append(
            {
                "t": round(a.t, 3),
                "device": a.device,
                "version_before": a.version_before,
                "version_after": a.version_after,
                "mode": a.mode,
                "samples": a.samples,
                "epochs": a.epochs,
                "trainable_params": a.trainable_params,
                "duration_s": round(a.t - a.start_t, 3),
                "device_busy_s": round(busy_s, 3),
                "energy_j": round(energy_j, 4),
                "peak_memory_bytes": a.peak_memory_bytes,
                "memory_budget_bytes": a.memory_budget_bytes,
                "profile_memory_bytes": a.profile_memory_bytes,
                "val_accuracy_before": a.val_accuracy_before,
                "val_accuracy_after": a.val_accuracy_after,
                "deployed": a.deployed,
                "variant": a.variant,
                "size_before_bytes": a.size_before_bytes,
                "size_after_bytes": a.size_after_bytes,
                "size_target_bytes": a.size_target_bytes,
                "fp32_bytes": a.fp32_bytes,
                "backup_bytes": radio["bytes"],
            }
        )
    return out


def fault_metrics(
    faults: list[LifeFault],
    found: list[LifeFaultDetected],
    healed: list[LifeFaultHealed],
    windows: list[LifeWindow],
    wire: Wire,
) -> list[dict[str, Any]]:
    """Per injected fault: detection (by what, how long after), what was served while
    damaged, the repair and its bytes and radio energy (the repair's message kinds, from
    the injection to the repair: a corrupted download counts its garbled copy), accuracy in
    the day after."""
    out = []
    for f in faults:
        hit = next((d for d in found if d.fault_id == f.fault_id), None)
        fix = next((h for h in healed if h.fault_id == f.fault_id), None)
        until_s = fix.t if fix else float("inf")
        damaged = [w for w in windows if f.t <= w.t < until_s and w.damaged]
        after = [w for w in windows if fix and fix.t < w.t <= fix.t + AFTER_REPAIR_S and not w.damaged]
        kinds = REPAIR_KINDS.get(fix.how, ()) if fix else ()
        start_s = f.t  # a guard alarm compares checksums with the hub before it detects
        radio = (
            wire.between(start_s, fix.t, kinds)
            if fix and kinds
            else {"bytes": 0, "energy_j": 0.0, "messages": 0}
        )
        out.append(
            {
                "fault_id": f.fault_id,
                "kind": f.kind,
                "device": f.device,
                "day": round(f.t / DAY_S, 4),
                "flips": f.flips,
                "tensors": len(f.tensors.split(",")) if f.tensors else 0,
                "detected": hit is not None,
                "detected_by": hit.by if hit else None,
                "detect_delay_s": round(hit.t - f.t, 3) if hit else None,
                "healed": fix is not None,
                "repair": fix.how if fix else None,
                "repair_s": round(fix.t - hit.t, 3) if fix and hit else None,
                "served_damaged": len(damaged),
                "accuracy_damaged": _accuracy(damaged),
                "accuracy_after_repair": _accuracy(after),
                "restore_bytes": radio["bytes"],
                "restore_energy_j": radio["energy_j"],
            }
        )
    return out


def migration_metrics(
    migration: LifeMigration | None, days: list[LifeAccuracy], windows: list[LifeWindow], wire: Wire
) -> dict[str, Any]:
    if migration is None:
        return {"migration_s": None, "migrated": False}
    radio = wire.between(migration.start_t, migration.t, ("twin", "deploy"))
    old = [d for d in days if d.device == migration.source and d.t < migration.start_t]
    new = [d for d in days if d.device == migration.target and d.t >= migration.t]
    served = [w for w in windows if w.device == migration.target and w.t >= migration.t]
    return {
        "migrated": True,
        "migration_s": round(migration.t - migration.start_t, 3),
        "migration_bytes": radio["bytes"],
        "migration_energy_j": radio["energy_j"],
        "twin_bytes": migration.twin_bytes,
        "migration_model_bytes": migration.model_bytes,
        "migration_variant": migration.variant,
        "twin_digest_equal": migration.digest_before == migration.digest_after,
        "accuracy_old_watch_last_day": old[-1].accuracy if old else None,
        "accuracy_new_watch": _mean([d.accuracy for d in new]),
        "accuracy_new_watch_generic": _mean([d.generic_accuracy for d in new]),
        "new_watch_windows": len(served),
    }


def summarize(trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
    """Device-lifecycle metrics of app ``app`` (its entry in ``trace.meta["apps"]``) by ``end_s``."""
    name, params = app["name"], app.get("params") or {}
    windows = _mine(trace, LifeWindow, name, end_s)
    days = _mine(trace, LifeAccuracy, name, end_s)
    adaptations = _mine(trace, LifeAdaptation, name, end_s)
    faults = _mine(trace, LifeFault, name, end_s)
    found = _mine(trace, LifeFaultDetected, name, end_s)
    migrations = _mine(trace, LifeMigration, name, end_s)
    migration = migrations[0] if migrations else None
    wire = Wire(trace, name, end_s)
    retire_s = migration.start_t if migration else float("inf")
    drifts = drift_metrics(params, _mine(trace, LifeDrift, name, end_s), end_s)
    faulted = fault_metrics(faults, found, _mine(trace, LifeFaultHealed, name, end_s), windows, wire)
    adapted = adaptation_metrics(trace, adaptations, wire)
    first_drift = drifts[0] if drifts else {}
    deployed = [a for a in adapted if a["deployed"]]
    delays = [f["detect_delay_s"] for f in faulted if f["detect_delay_s"] is not None]
    return {
        "windows_served": len(windows),
        **accuracy_metrics(params, days, adaptations, retire_s),
        "drift_detected_day": first_drift.get("detected_day"),
        "drift_detection_delay_h": first_drift.get("delay_h"),
        "drifts": drifts,
        "adaptations_tried": len(adapted),
        "adaptations_deployed": len(deployed),
        "adaptation_peak_memory_bytes": max((a["peak_memory_bytes"] for a in adapted), default=None),
        "training_memory_budget_bytes": params.get("training_memory_budget_bytes"),
        "adaptation_energy_j": _mean([a["energy_j"] for a in adapted]),
        "adaptation_device_s": _mean([a["device_busy_s"] for a in adapted]),
        "model_bytes_before": adapted[0]["size_before_bytes"] if adapted else None,
        "model_bytes_after": deployed[-1]["size_after_bytes"] if deployed else None,
        "adaptations": adapted,
        "faults_injected": len(faulted),
        "faults_detected": sum(f["detected"] for f in faulted),
        "faults_healed": sum(f["healed"] for f in faulted),
        "fault_detect_delay_s": round(max(delays), 3) if delays else None,
        "served_while_damaged": sum(f["served_damaged"] for f in faulted),
        "faults": faulted,
        **migration_metrics(migration, days, windows, wire),
    }
