"""View of the health escalation app (``simulator/apps/health_escalation/``): its records in the log,
timeline and topology, its panel, the wearer's activity beside the clock, what-if numbers.
"""

from __future__ import annotations

from typing import Any

from simulator.apps.health_escalation import Activity, Episode, Escalation
from ui import theme
from ui.apps import Metric, RecordView
from ui.apps.health_escalation.panel import EPISODE_COLOR, HealthPanel, health_metrics_at, stage_color


def _stage(r: Escalation) -> str:
    return r.stage.replace("_", " ")


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
