"""View of the device-lifecycle app (``simulator/apps/device_lifecycle/``): its lifeline in
the log, the timeline and the topology's badges, the lifeline panel, the day and phase beside
the clock, what-if numbers, and the colours of what it sends (backups, restores, the twin)."""

from __future__ import annotations

from functools import partial
from typing import Any

from simulator.apps.device_lifecycle.records import (
    LifeAccuracy,
    LifeAdaptation,
    LifeDrift,
    LifeEvent,
    LifeFault,
    LifeFaultDetected,
    LifeFaultHealed,
    LifeLink,
    LifeMigration,
    LifeWindow,
)
from ui import theme
from ui.apps import Metric, RecordView
from ui.apps.device_lifecycle.lifeline import DAY_S, drift_onsets, event_color, event_words, phase_at
from ui.apps.device_lifecycle.panel import LifecyclePanel, pct

BADGES = {
    "drift_detected": "drift!",
    "fine_tuned": "fine-tuning",
    "redeployed": "adapted",
    "rolled_back": "rolled back",
    "fault": "fault!",
    "detected": "fault found",
    "guard_alarm": "guard alarm",
    "healed": "healed",
    "migrated": "twin migrated",
    "retired": "retired",
}


def _event_text(r: LifeEvent) -> str:
    return f"{r.version} {event_words(r.event)}: {r.detail}"


def _adaptation_text(r: LifeAdaptation) -> str:
    verdict = "deployed" if r.deployed else "rolled back"
    return (
        f"{r.version_before}→{r.version_after} {r.mode} fine-tune, {r.trainable_params} params,"
        f" peak {theme.format_bytes(r.peak_memory_bytes)} of {theme.format_bytes(r.memory_budget_bytes)};"
        f" validation {pct(r.val_accuracy_before)} → {pct(r.val_accuracy_after)}, {verdict}"
    )


# One view per record class the app owns. The lifeline's marks (LifeEvent) carry the
# timeline, the badges and the steps; the detailed records say the same moments in numbers,
# so they stay out of the log unless their kind is chosen (no double lines).
# The detailed records: each has its own filter entry in the log, hidden under "all kinds"
# (the LifeEvent marks already say it in words), and no step stop.
_detail = partial(RecordView, step=False, hidden_in_log=True)

RECORD_VIEWS = {
    LifeEvent: RecordView(
        label="lifeline",
        describe=_event_text,
        color=lambda r: event_color(r.event),
        timeline="mark",
        mark_label=lambda r: event_words(r.event),
        badge=lambda r: BADGES.get(r.event),
    ),
    LifeAccuracy: RecordView(
        label="held-out accuracy",
        describe=lambda r: (
            f"day {r.day}: {r.version} {pct(r.accuracy)} on the wearer's held-out windows;"
            f" factory model {pct(r.generic_accuracy)}" + (" (weights damaged)" if r.damaged else "")
        ),
        color=lambda r: "#228833",
        step=False,
    ),
    LifeWindow: _detail(
        label="window classified",
        describe=lambda r: (
            f"{r.version}: class {r.predicted} (truth {r.truth}), confidence {r.confidence:.2f}"
            + (", out of the guard's range" if r.anomalous else "")
            + (", weights damaged" if r.damaged else "")
        ),
    ),
    LifeDrift: _detail(
        label="drift detector",
        describe=lambda r: (
            f"ADWIN fired after {r.windows_seen:,} windows: mean confidence {r.confidence_mean:.3f},"
            f" reference {r.reference_mean:.3f}"
        ),
        color=lambda r: event_color("drift_detected"),
    ),
    LifeAdaptation: _detail(
        label="adaptation",
        describe=_adaptation_text,
        color=lambda r: event_color("redeployed" if r.deployed else "rolled_back"),
    ),
    LifeFault: _detail(
        label="fault injected",
        describe=lambda r: (
            f"fault #{r.fault_id} {r.kind.replace('_', ' ')}: {r.flips} bits, tensors {r.tensors}"
        ),
        color=lambda r: event_color("fault"),
    ),
    LifeFaultDetected: _detail(
        label="fault detected",
        describe=lambda r: f"fault #{r.fault_id} found by {r.by} (tensors {r.tensors})",
        color=lambda r: event_color("detected"),
    ),
    LifeFaultHealed: _detail(
        label="fault healed",
        describe=lambda r: f"fault #{r.fault_id} healed by {r.how}, {theme.format_bytes(r.restore_bytes)}",
        color=lambda r: event_color("healed"),
    ),
    LifeMigration: _detail(
        label="migration",
        describe=lambda r: (
            f"twin {r.source} → {r.via} → {r.target} in {theme.format_duration(r.t - r.start_t)}:"
            f" {theme.format_bytes(r.twin_bytes)} twin, {r.variant}; digest"
            f" {'equal' if r.digest_before == r.digest_after else 'DIFFERENT'}"
        ),
        subject=lambda r: r.target,
        color=lambda r: event_color("migrated"),
    ),
    LifeLink: RecordView(
        label="link energy per bit",
        describe=lambda r: (
            f"{r.link}: {r.tx_j_per_bit * 1e9:.0f} nJ/bit sending, {r.rx_j_per_bit * 1e9:.0f} nJ/bit receiving"
        ),
        step=False,
        in_log=False,
    ),
}


PANEL = LifecyclePanel

# Paul Tol's muted and light schemes, none in ui.theme.MESSAGE_KIND_COLORS
MESSAGE_COLORS = {
    "model_backup": "#77AADD",  # light blue: a new version to the hub, watch → phone → hub
    "model_restore": "#44AA99",  # teal: the hub's copy of the damaged tensors, back to the watch
    "model_download": "#AAAA00",  # olive yellow: the model downloaded again (the corrupted download)
    "checksum_compare": "#FFAABB",  # pink: the watch's tensor checksums compared with the hub's
    "twin": "#CC6677",  # rose: the digital twin migrating to the new watch
}

WHATIF_METRICS = (
    Metric("accuracy_before_drift", "accuracy before drift", "", higher_is_better=True),
    Metric("accuracy_drift_unadapted", "accuracy drifted, unadapted", "", higher_is_better=True),
    Metric("accuracy_adapted", "accuracy adapted", "", higher_is_better=True),
    Metric("faults_detected", "faults detected", "", higher_is_better=True),
    Metric("served_while_damaged", "windows served damaged", "", higher_is_better=False),
    Metric("migration_s", "migration time", "s", higher_is_better=False),
)


def whatif_metrics(session: Any, app_name: str, t: float) -> dict[str, float | None]:
    summary = session.summary_at(app_name, t)
    return {m.key: summary.get(m.key) for m in WHATIF_METRICS}


def clock_label(session: Any, app_name: str, t: float) -> str | None:
    """``7.9 days in · watch v2 adapted on the device``: the life's age and phase at ``t``."""
    events = session.index.column(LifeEvent, app_name).until(t)
    onsets = drift_onsets(session.app_entry(app_name).get("params") or {})
    phase = phase_at(events, onsets, t)
    if phase is None:
        return None
    words = phase.label.split(",")[0].split(" (")[0]
    return f"{t / DAY_S:.1f} days in · {phase.device} {phase.version} {words}"


__all__ = [
    "MESSAGE_COLORS",
    "PANEL",
    "RECORD_VIEWS",
    "WHATIF_METRICS",
    "clock_label",
    "whatif_metrics",
]
