"""Health panel: the escalation funnel, episodes (truth) against detections, cascade vs baseline.

One panel per health app (``ui/apps/health_escalation.py`` registers it). Monitors in the
NetLogo sense: big numbers with units and tooltips. The numbers at the playhead come from
``simulator.apps.health_escalation.health_metrics(trace, until_s, app=…)``; they are recomputed only
when a new escalation or episode of this app has been reached, never per frame.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from simulator.apps.health_escalation import Episode, Escalation, health_metrics
from simulator.apps.health_escalation.encrypted import encrypted_metrics
from simulator.apps.health_escalation.records import HeRisk
from ui import theme
from ui.session import Session

# Colours of the escalation stages (watch → phone → doctor: warmer as it escalates) and of
# the episodes (the truth); one meaning each across the panel, timeline, log and topology.
STAGE_COLORS: dict[str, str] = {
    "watch_flag": "#DDAA33",
    "phone_confirm": "#EE7733",
    "doctor_alert": "#CC3311",
}
OTHER_STAGE_COLOR = "#882255"
EPISODE_COLOR = "#332288"


def stage_color(stage: str) -> str:
    return STAGE_COLORS.get(stage, OTHER_STAGE_COLOR)


STAGES = [
    ("watch_flag", "watch flags"),
    ("phone_confirm", "phone confirms"),
    ("doctor_alert", "doctor alerts"),
]
METRIC_ROWS = [
    ("episodes", "episodes (truth)", "{:.0f}"),
    ("detected", "detected", "{:.0f}"),
    ("sensitivity", "sensitivity", "pct"),
    ("false_alarms", "false alarms", "{:.0f}"),
    ("median_time_to_alert_s", "median time to alert", "dur"),
]


class _HealthRecords:
    """The slice of a trace the health metrics read (one app's episodes and escalations),
    from the index: handing ``health_metrics`` this view instead of the whole trace keeps a
    refresh at O(escalations) rather than O(records)."""

    def __init__(self, session: Session, app: str) -> None:
        self.index = session.index
        self.app = app
        self.end_time = session.duration_s

    def until(self, t: float) -> list:
        index = self.index
        return index.column(Episode, self.app).until(t) + index.column(Escalation, self.app).until(t)


def health_metrics_at(session: Session, app: str, t: float) -> dict[str, Any]:
    """Health app ``app``'s metrics counting what happened by ``t`` (the app's own rule)."""
    metrics = health_metrics(_HealthRecords(session, app), until_s=t, app=app)
    params = session.app_entry(app).get("params") or {}
    if params.get("cloud_risk") == "encrypted":
        metrics["encrypted_risk"] = encrypted_metrics(session.trace, t, app, params["phone"], params["cloud"])
    return metrics


def _fmt(value: Any, how: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if how == "pct":
        return f"{100 * float(value):.0f} %"
    if how == "dur":
        return theme.format_duration(float(value))
    try:
        return how.format(float(value))
    except (TypeError, ValueError):
        return str(value)


class FunnelWidget(QWidget):
    """Three bars narrowing from watch flags to doctor alerts, with counts."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.counts: dict[str, int] = {}
        self.setMinimumHeight(84)
        self.setToolTip(
            "Escalation funnel: how many watch flags were confirmed by the phone and sent to a doctor"
        )

    def set_counts(self, counts: dict[str, int]) -> None:
        if counts != self.counts:
            self.counts = dict(counts)
            self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        n = len(STAGES)
        row_h = h / n
        top = max([self.counts.get(s, 0) for s, _ in STAGES] + [1])
        f = theme.font(1.0, bold=True)
        p.setFont(f)
        for k, (stage, label) in enumerate(STAGES):
            c = self.counts.get(stage, 0)
            frac = 0.45 + 0.55 * (c / top)
            bw = (w - 10) * frac
            y = k * row_h + 3
            rect = QRectF((w - bw) / 2, y, bw, row_h - 6)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(stage_color(stage)))
            p.drawRoundedRect(rect, 4, 4)
            p.setPen(QColor("#000000"))
            p.drawText(QRectF(0, y, w, row_h - 6), Qt.AlignmentFlag.AlignCenter, f"{c}  {label}")
            if k:
                p.setPen(QPen(QColor(theme.MUTED_TEXT), 1.5))
                p.drawLine(QPointF(w / 2, y - 5), QPointF(w / 2, y))


class EpisodeStrip(QWidget):
    """Whole run at a glance: episodes (truth) as bands, doctor alerts as ticks, the playhead."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.app = ""
        self.t = 0.0
        self.setMinimumHeight(34)
        self.setToolTip("Purple bands: anomaly episodes (truth). Red ticks: doctor alerts. Orange: playhead.")

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.PANEL_BACKGROUND))
        s = self.session
        if s is None:
            return
        dur = max(1.0, s.duration_s)
        w, h = self.width(), self.height()
        idx = s.index
        c = QColor(EPISODE_COLOR)
        c.setAlpha(110)
        for ep in idx.column(Episode, self.app).until(self.t):
            x0 = ep.t / dur * w
            x1 = min(ep.end_t, self.t) / dur * w
            p.fillRect(QRectF(x0, 2, max(2.0, x1 - x0), h - 4), c)
        pen = QPen(QColor(stage_color("doctor_alert")), 2.0)
        p.setPen(pen)
        for e in idx.column(Escalation, self.app).until(self.t):
            if e.stage == "doctor_alert":
                x = e.t / dur * w
                p.drawLine(QPointF(x, 0), QPointF(x, h))
        p.setPen(QPen(QColor(theme.PLAYHEAD_COLOR), 2.0))
        x = self.t / dur * w
        p.drawLine(QPointF(x, 0), QPointF(x, h))


class HealthPanel(QWidget):
    """See module docstring."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.app = ""
        self._key: tuple | None = None
        layout = QVBoxLayout(self)
        self.title = QLabel("Health escalation")
        self.title.setFont(theme.font(1.3, bold=True))
        layout.addWidget(self.title)
        self.funnel = FunnelWidget()
        layout.addWidget(self.funnel)
        grid = QGridLayout()
        self.monitors: dict[str, QLabel] = {}
        for k, (key, label, tip) in enumerate(
            [
                ("episodes", "episodes", "anomaly episodes so far (ground truth from the wearer model)"),
                ("detected", "detected", "episodes that led to a doctor alert"),
                ("false_alarms", "false alarms", "doctor alerts with no episode behind them"),
                (
                    "median_time_to_alert_s",
                    "time to alert",
                    "median delay from episode start to doctor alert",
                ),
            ]
        ):
            box = QVBoxLayout()
            value = QLabel("–")
            value.setFont(theme.font(2.0, bold=True))
            value.setAlignment(Qt.AlignmentFlag.AlignCenter)
            value.setToolTip(tip)
            caption = QLabel(label)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setStyleSheet(f"color: {theme.MUTED_TEXT}")
            box.addWidget(value)
            box.addWidget(caption)
            grid.addLayout(box, 0, k)
            self.monitors[key] = value
        layout.addLayout(grid)
        self.strip = EpisodeStrip()
        layout.addWidget(self.strip)
        self.encrypted = QLabel()
        self.encrypted.setWordWrap(True)
        self.encrypted.setToolTip(
            "cloud_risk: encrypted — the phone encrypts the confirmed capture's rhythm features (CKKS), "
            "the cloud scores the ciphertext without seeing them, only the phone decrypts the risk"
        )
        self.encrypted.hide()
        layout.addWidget(self.encrypted)
        self.table = QTableWidget(len(METRIC_ROWS), 2)
        self.table.setHorizontalHeaderLabels(["model cascade", "threshold baseline"])
        self.table.setVerticalHeaderLabels([label for _, label, _ in METRIC_ROWS])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setToolTip(
            "The cascade (watch model → phone ECG model → doctor) beside a heart-rate threshold rule "
            "(alert when HR stays high for 10 min), on the same wearer"
        )
        self.table.setMinimumHeight(120)
        self.table.verticalHeader().setDefaultSectionSize(22)
        layout.addWidget(self.table)
        layout.addStretch(1)
        self.last_metrics: dict[str, Any] = {}

    def set_session(self, session: Session | None, app_name: str = "") -> None:
        """Show health app ``app_name`` of ``session`` (``None``: nothing)."""
        self.session = session
        self.app = self.strip.app = app_name
        self.title.setText(f"Health escalation · {app_name}" if app_name else "Health escalation")
        self.strip.session = session
        self._key = None
        self.refresh(0.0)

    def refresh(self, t: float) -> None:
        s = self.session
        self.strip.t = t
        self.strip.update()
        if s is None:
            return
        idx = s.index
        escalations = idx.column(Escalation, self.app)
        episodes = idx.column(Episode, self.app).until(t)
        n_ep_ended = sum(1 for e in episodes if e.end_t <= t)
        he_steps = idx.column(HeRisk, self.app).count_at(t)
        key = (id(idx), escalations.count_at(t), len(episodes), n_ep_ended, he_steps, s.finished)
        if key == self._key:
            return
        self._key = key
        m = health_metrics_at(s, self.app, t)
        self.last_metrics = m
        self.funnel.set_counts(dict(m.get("escalations") or {}))
        for key_name, label in self.monitors.items():
            how = "dur" if key_name.endswith("_s") else "{:.0f}"
            label.setText(_fmt(m.get(key_name), how))
        baseline = m.get("baseline") or {}
        for row, (key_name, _, how) in enumerate(METRIC_ROWS):
            self.table.setItem(row, 0, QTableWidgetItem(_fmt(m.get(key_name), how)))
            self.table.setItem(row, 1, QTableWidgetItem(_fmt(baseline.get(key_name), how)))
        self._show_encrypted(m.get("encrypted_risk"))

    def _show_encrypted(self, he: dict[str, Any] | None) -> None:
        if not he or not he["queries"]:
            self.encrypted.hide()
            return
        n = max(he["answers_decrypted"], 1)
        agree = "–" if he["decisions_agree"] is None else f"{he['decisions_agree']:.0%}"
        self.encrypted.setText(
            f"<b>Encrypted cloud risk (CKKS)</b>: {he['answers_decrypted']}/{he['queries']} decrypted on the phone, "
            f"{he['answers_within_tolerance']} within {he['risk_tolerance']:.0e} of the plaintext model, "
            f"decisions agree {agree}<br>"
            f"keys {he['key_bytes'] / 1e6:.1f} MB once · per query {he['ciphertext_bytes_up'] / n / 1e3:.0f} kB up, "
            f"{he['ciphertext_bytes_down'] / n / 1e3:.0f} kB down · phone {he['phone_compute_ms'] / n:.1f} ms "
            f"{he['phone_compute_mj'] / n:.1f} mJ · cloud {he['cloud_compute_ms'] / n:.1f} ms "
            f"{he['cloud_compute_mj'] / n:.0f} mJ"
        )
        self.encrypted.show()
