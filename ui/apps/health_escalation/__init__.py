"""View of the health escalation app (``simulator/apps/health_escalation/``): its records in the log,
timeline and topology, its panel, the wearer's activity beside the clock, what-if numbers.
"""

from __future__ import annotations

from typing import Any

from simulator.apps.health_escalation import Activity, Episode, Escalation
from simulator.apps.health_escalation.records import HeRisk
from ui import theme
from ui.apps import Metric, RecordView
from ui.apps.health_escalation.panel import EPISODE_COLOR, HealthPanel, health_metrics_at, stage_color


def _stage(r: Escalation) -> str:
    return r.stage.replace("_", " ")


HE_COLOR = "#999933"  # olive: encrypted cloud risk (CKKS); deploy has the green


def _he_step(r: HeRisk) -> str:
    if r.step == "decrypt":
        return f"CKKS decrypt: risk {r.decrypted:.4f} (plaintext model {r.plain:.4f})"
    if r.step == "encrypt":
        return f"CKKS encrypt: rhythm features → {r.size_bytes:,} B ciphertext"
    return f"CKKS evaluate on ciphertext (no key to read it) → {r.size_bytes:,} B encrypted logit"


RECORD_VIEWS = {
    Escalation: RecordView(
        label="escalation",
        describe=lambda r: f"{_stage(r)}: {r.label} {r.detail}".strip(),
        color=lambda r: stage_color(r.stage),
        timeline="mark",
        mark_label=_stage,
        badge=_stage,
    ),
    Episode: RecordView(
        label="episode (truth)",
        describe=lambda r: f"episode #{r.episode} {r.kind} until {theme.format_time(r.end_t)}",
        subject=lambda r: "",
        color=lambda r: EPISODE_COLOR,
        timeline="span",
        mark_label=lambda r: f"episode {r.kind}",
    ),
    HeRisk: RecordView(
        label="encrypted risk",
        describe=_he_step,
        color=lambda r: HE_COLOR,
        timeline="mark",
        mark_label=lambda r: f"HE {r.step}",
        badge=lambda r: f"HE {r.step}",
    ),
    Activity: RecordView(
        label="activity",
        describe=lambda r: f"wearer: {r.activity}",
        subject=lambda r: "",
        step=False,
    ),
}

PANEL = HealthPanel

MESSAGE_COLORS = {
    "hr": "#66CCEE",  # cyan: heart-rate samples
    "ecg": "#AA3377",  # purple: an ECG strip, watch → phone
    "alert": "#EE6677",  # red: an alert to the doctor
    "he_key": "#117733",  # dark green: the phone's public CKKS keys, once
    "he_query": HE_COLOR,  # olive: encrypted features, phone → cloud
    "he_answer": "#88CCAA",  # light green: the encrypted logit, cloud → phone
}

WHATIF_METRICS = (
    Metric("alerts", "doctor alerts", "", higher_is_better=None),
    Metric("detected", "episodes detected", "", higher_is_better=True),
    Metric("false_alarms", "false alarms", "", higher_is_better=False),
    Metric("median_time_to_alert_s", "median time to alert", "s", higher_is_better=False),
)


def whatif_metrics(session: Any, app_name: str, t: float) -> dict[str, float | None]:
    metrics = health_metrics_at(session, app_name, t)
    return {m.key: metrics.get(m.key) for m in WHATIF_METRICS}


def clock_label(session: Any, app_name: str, t: float) -> str | None:
    last = session.index.column(Activity, app_name).last_at(t)
    return None if last is None else f"wearer: {last.activity}"
