"""Lifeline panel: a device's life over the days, as a teacher would draw it on the board.

One picture on one day axis: the phases of the life (born compressed → drift → detection →
adaptation on the charger → faults → healing → retirement → migration → the new watch),
a lane per watch with its model versions and the lifeline's marks, the held-out accuracy
per day under it (the served model against the factory model left unadapted) and the
watches' batteries. Below: the run's numbers, each on-device adaptation's peak training
memory against its budget, the faults and the migration.

Every number is the app's own ``App.summarize`` on the trace up to the playhead (recomputed
only when a new lifeline mark or daily accuracy has been reached); the drawing reads the
app's records.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QScrollArea,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from simulator.apps.device_lifecycle import App
from simulator.apps.device_lifecycle.records import (
    LifeAccuracy,
    LifeAdaptation,
    LifeEvent,
    LifeFault,
    LifeFaultDetected,
    LifeFaultHealed,
    LifeMigration,
)
from ui import theme
from ui.apps.device_lifecycle.lifeline import (
    DAY_S,
    PHASES,
    Phase,
    drift_onsets,
    event_color,
    event_words,
    phases,
)
from ui.session import Session

SERVED_COLOR = "#228833"  # green: the model the watch serves (adapted when it is)
GENERIC_COLOR = "#888888"  # grey: the factory model, never adapted
BATTERY_COLORS = ("#E69F00", "#B37700", "#805500")  # the watch kind's orange, darker per watch
BUDGET_COLOR = "#BBBBBB"
PEAK_COLOR = "#009988"
OVER_COLOR = "#CC3311"
GRID_COLOR = "#DDDDDD"


def app_entry(session: Session, app: str) -> dict[str, Any]:
    """The app's entry in the trace's meta (type, name, params)."""
    for entry in session.trace.meta.get("apps") or []:
        if entry.get("name", entry.get("type")) == app:
            return entry
    return {"type": App.TYPE, "name": app, "params": {}}


def summary_at(session: Session, app: str, t: float) -> dict[str, Any]:
    """The app's summary counting what happened by ``t`` (the app's own ``summarize``)."""
    return App.summarize(session.trace, app_entry(session, app), t)


def pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * float(value):.1f} %"


def lanes_of(events: list[LifeEvent], accuracy: list[LifeAccuracy]) -> list[str]:
    """The watches of the life, in the order they served."""
    seen: list[str] = []
    for r in [*events, *accuracy]:
        if r.device not in seen:
            seen.append(r.device)
    return seen


class LifelineChart(QWidget):
    """Phases, lanes of versions and marks, accuracy per day and batteries on one day axis."""

    LEFT = 46  # room for the y-axis labels and lane names
    RIGHT = 8
    PHASE_H = 22
    LANE_H = 26
    ACC_H = 120
    BATTERY_H = 44
    AXIS_H = 18
    GAP = 8

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.duration_s = 1.0
        self.t = 0.0
        self.phases: list[Phase] = []
        self.events: list[LifeEvent] = []
        self.accuracy: list[LifeAccuracy] = []
        self.lanes: list[str] = []
        self.batteries: dict[str, tuple[list[float], list[float]]] = {}
        self.onsets: list[tuple[float, str, str]] = []
        self.setMouseTracking(True)
        self.setMinimumWidth(380)
        self._fit_height()
        self.setToolTip("")

    def _fit_height(self) -> None:
        lanes = max(1, len(self.lanes))
        h = self.PHASE_H + lanes * self.LANE_H + self.ACC_H + self.BATTERY_H + self.AXIS_H + 4 * self.GAP + 14
        self.setFixedHeight(h)

    def set_data(self, **data: Any) -> None:
        for key, value in data.items():
            setattr(self, key, value)
        self.duration_s = max(float(self.duration_s), 1.0)
        self._fit_height()
        self.update()

    def set_time(self, t: float) -> None:
        if t != self.t:
            self.t = t
            self.update()

    # -- geometry -------------------------------------------------------------------------
    def x_of(self, t: float) -> float:
        w = self.width() - self.LEFT - self.RIGHT
        return self.LEFT + max(0.0, min(t, self.duration_s)) / self.duration_s * w

    def t_of(self, x: float) -> float:
        w = self.width() - self.LEFT - self.RIGHT
        return (x - self.LEFT) / max(w, 1) * self.duration_s

    def rows(self) -> dict[str, tuple[float, float]]:
        """Top and height of each band."""
        y = 2.0
        out = {"phase": (y, self.PHASE_H)}
        y += self.PHASE_H + self.GAP
        for lane in self.lanes or [""]:
            out[f"lane:{lane}"] = (y, self.LANE_H)
            y += self.LANE_H
        y += self.GAP + 12  # the accuracy chart's caption
        out["accuracy"] = (y, self.ACC_H)
        y += self.ACC_H + self.GAP + 12
        out["battery"] = (y, self.BATTERY_H)
        y += self.BATTERY_H + 2
        out["axis"] = (y, self.AXIS_H)
        return out

    # -- painting -------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(theme.PANEL_BACKGROUND))
        rows = self.rows()
        self._paint_days(p, rows)
        self._paint_phases(p, *rows["phase"])
        for lane in self.lanes:
            self._paint_lane(p, lane, *rows[f"lane:{lane}"])
        self._paint_accuracy(p, *rows["accuracy"])
        self._paint_battery(p, *rows["battery"])
        p.setPen(QPen(QColor(theme.PLAYHEAD_COLOR), 2.0))
        x = self.x_of(self.t)
        p.drawLine(QPointF(x, 0), QPointF(x, rows["axis"][0]))

    def _paint_days(self, p: QPainter, rows: dict[str, tuple[float, float]]) -> None:
        top, bottom = rows["phase"][0], rows["axis"][0]
        n_days = int(math.ceil(self.duration_s / DAY_S))
        step = 1 if n_days <= 10 else 5
        p.setFont(theme.font(0.8))
        for day in range(0, n_days + 1):
            x = self.x_of(day * DAY_S)
            major = day % step == 0
            p.setPen(QPen(QColor(GRID_COLOR if major else "#EEEEEE"), 1))
            p.drawLine(QPointF(x, top), QPointF(x, bottom))
            if major:
                p.setPen(QColor(theme.MUTED_TEXT))
                p.drawText(QRectF(x - 30, bottom, 60, self.AXIS_H), Qt.AlignmentFlag.AlignCenter, f"day {day}")
        onset_pen = QPen(QColor("#AA3377"), 1.2, Qt.PenStyle.DashLine)
        for t, _device, _kind in self.onsets:
            if t <= self.t:
                p.setPen(onset_pen)
                p.drawLine(QPointF(self.x_of(t), top), QPointF(self.x_of(t), bottom))

    def _paint_phases(self, p: QPainter, y: float, h: float) -> None:
        p.setFont(theme.font(0.8))
        for phase in self.phases:
            x0, x1 = self.x_of(phase.t0), self.x_of(phase.t1)
            rect = QRectF(x0, y, max(x1 - x0, 3.0), h)
            p.fillRect(rect, QColor(PHASES[phase.kind][1]))
            words = PHASES[phase.kind][0].split(",")[0]
            if p.fontMetrics().horizontalAdvance(words) + 6 <= rect.width():
                p.setPen(QColor(theme.TEXT))
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, words)
        p.setPen(QColor(theme.MUTED_TEXT))
        p.drawText(QRectF(0, y, self.LEFT - 4, h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "phase")

    def _paint_lane(self, p: QPainter, lane: str, y: float, h: float) -> None:
        p.setFont(theme.font(0.8, bold=True))
        p.setPen(QColor(theme.TEXT))
        p.drawText(QRectF(0, y, self.LEFT - 4, h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, lane)
        served = [ph for ph in self.phases if ph.device == lane]
        p.setFont(theme.font(0.75))
        shade = 0
        previous = ""
        for ph in served:
            if ph.version != previous:
                shade, previous = shade + 1, ph.version
            x0, x1 = self.x_of(ph.t0), self.x_of(ph.t1)
            rect = QRectF(x0, y + 3, max(x1 - x0, 2.0), h - 12)
            p.fillRect(rect, QColor("#E8E8E8" if shade % 2 else "#D4D4D4"))
        # a version's name once, where its bands begin
        drawn: set[str] = set()
        for ph in served:
            if ph.version in drawn:
                continue
            drawn.add(ph.version)
            p.setPen(QColor(theme.TEXT))
            p.drawText(QRectF(self.x_of(ph.t0) + 2, y + 3, 40, h - 12), Qt.AlignmentFlag.AlignVCenter, ph.version)
        for e in self.events:
            if e.device != lane:
                continue
            x = self.x_of(e.t)
            c = QColor(event_color(e.event))
            p.setPen(QPen(c.darker(130), 1))
            p.setBrush(c)
            cy = y + h - 5
            p.drawPolygon(QPolygonF([QPointF(x, cy - 5), QPointF(x + 4, cy), QPointF(x, cy + 5), QPointF(x - 4, cy)]))

    def _paint_accuracy(self, p: QPainter, y: float, h: float) -> None:
        p.setFont(theme.font(0.8))
        p.setPen(QColor(theme.TEXT))
        p.drawText(
            QRectF(self.LEFT, y - 14, self.width() - self.LEFT, 14),
            Qt.AlignmentFlag.AlignLeft,
            "held-out accuracy per day:  ■ served model   ■ factory model, unadapted",
        )
        fm = p.fontMetrics()
        # colour the two squares of the caption like their lines
        x_served = self.LEFT + fm.horizontalAdvance("held-out accuracy per day:  ")
        x_generic = self.LEFT + fm.horizontalAdvance("held-out accuracy per day:  ■ served model   ")
        p.setPen(QColor(SERVED_COLOR))
        p.drawText(QRectF(x_served, y - 14, 20, 14), Qt.AlignmentFlag.AlignLeft, "■")
        p.setPen(QColor(GENERIC_COLOR))
        p.drawText(QRectF(x_generic, y - 14, 20, 14), Qt.AlignmentFlag.AlignLeft, "■")

        def y_of(acc: float) -> float:
            return y + h - acc * h

        for level in (0.0, 0.5, 1.0):
            p.setPen(QPen(QColor(GRID_COLOR), 1))
            p.drawLine(QPointF(self.LEFT, y_of(level)), QPointF(self.width() - self.RIGHT, y_of(level)))
            p.setPen(QColor(theme.MUTED_TEXT))
            p.drawText(
                QRectF(0, y_of(level) - 8, self.LEFT - 4, 16),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{100 * level:.0f} %",
            )
        points = [r for r in self.accuracy if r.t <= self.t]
        for attr, color, style in (
            ("generic_accuracy", GENERIC_COLOR, Qt.PenStyle.DashLine),
            ("accuracy", SERVED_COLOR, Qt.PenStyle.SolidLine),
        ):
            p.setPen(QPen(QColor(color), 2.0, style))
            for a, b in zip(points, points[1:], strict=False):
                p.drawLine(QPointF(self.x_of(a.t), y_of(getattr(a, attr))), QPointF(self.x_of(b.t), y_of(getattr(b, attr))))
        for r in points:
            phase = self._phase_at(r.t)
            p.setPen(QPen(QColor(SERVED_COLOR).darker(140), 1))
            p.setBrush(QColor(PHASES[phase.kind][1] if phase else SERVED_COLOR))
            p.drawEllipse(QPointF(self.x_of(r.t), y_of(r.accuracy)), 3.5, 3.5)

    def _paint_battery(self, p: QPainter, y: float, h: float) -> None:
        p.setFont(theme.font(0.8))
        p.setPen(QColor(theme.TEXT))
        names = "   ".join(f"■ {name}" for name in self.batteries)
        p.drawText(QRectF(self.LEFT, y - 14, self.width() - self.LEFT, 14), Qt.AlignmentFlag.AlignLeft, f"battery:  {names}")
        x_text = self.LEFT + p.fontMetrics().horizontalAdvance("battery:  ")
        for k, name in enumerate(self.batteries):
            p.setPen(QColor(BATTERY_COLORS[k % len(BATTERY_COLORS)]))
            p.drawText(QRectF(x_text, y - 14, 20, 14), Qt.AlignmentFlag.AlignLeft, "■")
            x_text += p.fontMetrics().horizontalAdvance(f"■ {name}   ")
        p.setPen(QPen(QColor(GRID_COLOR), 1))
        p.drawRect(QRectF(self.LEFT, y, self.width() - self.LEFT - self.RIGHT, h))
        p.setPen(QColor(theme.MUTED_TEXT))
        p.drawText(QRectF(0, y, self.LEFT - 4, 14), Qt.AlignmentFlag.AlignRight, "100 %")
        p.drawText(QRectF(0, y + h - 14, self.LEFT - 4, 14), Qt.AlignmentFlag.AlignRight, "0 %")
        for k, (_name, (ts, socs)) in enumerate(self.batteries.items()):
            p.setPen(QPen(QColor(BATTERY_COLORS[k % len(BATTERY_COLORS)]), 1.5))
            previous = None
            for t, soc in zip(ts, socs, strict=False):
                if t > self.t:
                    break
                point = QPointF(self.x_of(t), y + h - soc * h)
                if previous is not None:
                    p.drawLine(previous, point)
                previous = point

    def _phase_at(self, t: float) -> Phase | None:
        for phase in self.phases:
            if phase.t0 <= t <= phase.t1:
                return phase
        return None

    # -- hover: what is under the pointer, in words ------------------------------------------
    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        text = self.describe_at(pos.x(), pos.y())
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()

    def describe_at(self, x: float, y: float) -> str:
        """The tooltip at ``(x, y)``: the lifeline mark, accuracy or phase there."""
        if x < self.LEFT or self.t_of(x) > self.t:
            return ""
        t = self.t_of(x)
        rows = self.rows()
        for lane in self.lanes:
            top, h = rows[f"lane:{lane}"]
            if top <= y <= top + h:
                near = [e for e in self.events if e.device == lane and abs(self.x_of(e.t) - x) <= 5 and e.t <= self.t]
                if near:
                    return "\n".join(
                        f"{theme.format_time(e.t)} {lane} {e.version}: {event_words(e.event)} — {e.detail}" for e in near
                    )
        top, h = rows["accuracy"]
        if top <= y <= top + h and self.accuracy:
            r = min(self.accuracy, key=lambda a: abs(a.t - t))
            if r.t <= self.t:
                return (
                    f"day {r.day}: {r.device} {r.version} {pct(r.accuracy)} on the wearer's held-out windows;"
                    f" factory model {pct(r.generic_accuracy)}" + (" (weights damaged)" if r.damaged else "")
                )
        phase = self._phase_at(t)
        if phase is None:
            return ""
        return (
            f"day {phase.t0 / DAY_S:.1f}–{phase.t1 / DAY_S:.1f}: {phase.label}, {phase.device} {phase.version}"
        )


class BudgetBars(QWidget):
    """Each on-device adaptation's peak training memory against the budget it had."""

    ROW_H = 34

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[LifeAdaptation] = []
        self.setToolTip(
            "Peak memory of the real torch fine-tuning step (weights, trainable grads, optimizer state,"
            " activations of one batch), measured, against the app's training budget"
        )
        self.setFixedHeight(self.ROW_H)

    def set_rows(self, rows: list[LifeAdaptation]) -> None:
        self.rows = rows
        self.setFixedHeight(self.ROW_H * max(1, len(rows)))
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.PANEL_BACKGROUND))
        p.setFont(theme.font(0.85))
        if not self.rows:
            p.setPen(QColor(theme.MUTED_TEXT))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no adaptation yet")
            return
        w = self.width()
        label_w = 120
        for k, r in enumerate(self.rows):
            y = k * self.ROW_H
            p.setPen(QColor(theme.TEXT))
            p.drawText(
                QRectF(4, y, label_w - 8, self.ROW_H),
                Qt.AlignmentFlag.AlignVCenter,
                f"day {r.start_t / DAY_S:.0f} {r.device} {r.version_before}→{r.version_after}",
            )
            bar = QRectF(label_w, y + 6, w - label_w - 6, self.ROW_H - 12)
            p.fillRect(bar, QColor(BUDGET_COLOR))
            frac = r.peak_memory_bytes / max(r.memory_budget_bytes, 1)
            fill = QRectF(bar.x(), bar.y(), bar.width() * min(frac, 1.0), bar.height())
            p.fillRect(fill, QColor(PEAK_COLOR if frac <= 1.0 else OVER_COLOR))
            p.setPen(QColor("#000000"))
            p.drawText(
                bar,
                Qt.AlignmentFlag.AlignCenter,
                f"peak {theme.format_bytes(r.peak_memory_bytes)} of {theme.format_bytes(r.memory_budget_bytes)} budget"
                f" · {r.trainable_params} params",
            )


MONITORS = (
    ("accuracy_before_drift", "before drift", "held-out accuracy of the served model before the first drift", pct),
    (
        "accuracy_drift_unadapted",
        "drift, unadapted",
        "held-out accuracy after a drift, before the watch adapted (the factory model's days)",
        pct,
    ),
    ("accuracy_adapted", "adapted", "held-out accuracy of the versions the watch fine-tuned itself", pct),
    ("faults", "faults found", "faults detected / injected (checksums at rest and load, the range guard)", None),
    ("migration_s", "migration", "from retirement to the new watch serving the twin", theme.format_duration),
)


class LifecyclePanel(QWidget):
    """See module docstring."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.app = ""
        self._key: tuple | None = None
        self.summary: dict[str, Any] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setMinimumHeight(470)  # the numbers, the phase and the lifeline without scrolling
        outer.addWidget(scroll)
        content = QWidget()
        scroll.setWidget(content)
        layout = QVBoxLayout(content)
        self.title = QLabel("A watch's life")
        self.title.setFont(theme.font(1.3, bold=True))
        layout.addWidget(self.title)
        self.now = QLabel("")
        self.now.setFont(theme.font(1.1, bold=True))
        self.now.setWordWrap(True)
        layout.addWidget(self.now)
        grid = QGridLayout()
        self.monitors: dict[str, QLabel] = {}
        self.sublabels: dict[str, QLabel] = {}
        for col, (key, label, tip, _) in enumerate(MONITORS):
            value = QLabel("–")
            value.setFont(theme.font(1.5, bold=True))
            value.setAlignment(Qt.AlignmentFlag.AlignCenter)
            value.setToolTip(tip)
            name = QLabel(label)
            name.setAlignment(Qt.AlignmentFlag.AlignCenter)
            name.setToolTip(tip)
            name.setStyleSheet(f"color: {theme.MUTED_TEXT}")
            grid.addWidget(value, 0, col)
            grid.addWidget(name, 1, col)
            self.monitors[key] = value
        layout.addLayout(grid)
        self.chart = LifelineChart()
        layout.addWidget(self.chart)
        self.legend = QLabel(self._legend_html())
        self.legend.setWordWrap(True)
        self.legend.setFont(theme.font(0.85))
        layout.addWidget(self.legend)
        self.recent = QLabel("")
        self.recent.setWordWrap(True)
        self.recent.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.recent)
        memory_title = QLabel("Training on the watch: peak memory vs budget")
        memory_title.setFont(theme.font(1.0, bold=True))
        layout.addWidget(memory_title)
        self.budget = BudgetBars()
        layout.addWidget(self.budget)
        self.adaptations = QLabel("")
        self.adaptations.setWordWrap(True)
        self.adaptations.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.adaptations)
        faults_title = QLabel("Self-healing and migration")
        faults_title.setFont(theme.font(1.0, bold=True))
        layout.addWidget(faults_title)
        self.faults = QLabel("")
        self.faults.setWordWrap(True)
        self.faults.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.faults)
        layout.addStretch(1)

    @staticmethod
    def _legend_html() -> str:
        phases_html = " ".join(
            f"<span style='background:{color}'>&nbsp;{words}&nbsp;</span>" for words, color in PHASES.values()
        )
        marks = ("deployed", "drift_detected", "redeployed", "fault", "detected", "healed", "migrated")
        marks_html = " ".join(f"<span style='color:{event_color(m)}'>◆</span>&nbsp;{event_words(m)}" for m in marks)
        return f"{phases_html}<br>{marks_html} · <span style='color:#AA3377'>┆</span> drift begins (truth)"

    def set_session(self, session: Session | None, app_name: str = "") -> None:
        """Show lifecycle app ``app_name`` of ``session`` (``None``: nothing)."""
        self.session, self.app, self._key = session, app_name, None
        self.title.setText(f"A watch's life · {app_name}" if app_name else "A watch's life")
        if session is not None:
            self.refresh(0.0)

    def refresh(self, t: float) -> None:
        session = self.session
        if session is None:
            return
        self.chart.set_time(t)
        index = session.index
        events = index.column(LifeEvent, self.app)
        accuracy = index.column(LifeAccuracy, self.app)
        key = (id(index), events.count_at(t), accuracy.count_at(t), session.finished)
        if key == self._key:
            return
        self._key = key
        self.summary = summary_at(session, self.app, t)
        params = app_entry(session, self.app).get("params") or {}
        onsets = drift_onsets(params)
        event_list = events.until(t)
        accuracy_list = accuracy.until(t)
        life = phases(event_list, onsets, t)
        lanes = lanes_of(event_list, accuracy_list)
        batteries = {}
        for name in lanes:
            if name in index.devices:
                ts, socs = index.battery_arrays(name)
                batteries[name] = (ts.tolist(), socs.tolist())
        self.chart.set_data(
            duration_s=session.duration_s,
            phases=life,
            events=event_list,
            accuracy=accuracy_list,
            lanes=lanes,
            batteries=batteries,
            onsets=onsets,
        )
        self._show_now(life[-1] if life else None, t)
        self._show_monitors(self.summary)
        self._show_recent(event_list)
        self.budget.set_rows(index.column(LifeAdaptation, self.app).until(t))
        self._show_adaptations(self.summary, index.column(LifeAdaptation, self.app).until(t))
        self._show_faults(self.summary, t)

    def _show_now(self, phase: Phase | None, t: float) -> None:
        if phase is None:
            self.now.setText("")
            return
        color = PHASES[phase.kind][1]
        self.now.setText(f"Day {t / DAY_S:.1f} · {phase.device} {phase.version} · {phase.label}")
        self.now.setStyleSheet(f"background: {color}; padding: 3px")

    def _show_monitors(self, summary: dict[str, Any]) -> None:
        for key, _, _, how in MONITORS:
            if key == "faults":
                injected, detected = summary.get("faults_injected"), summary.get("faults_detected")
                text = "–" if injected is None else f"{detected or 0} / {injected}"
            else:
                value = summary.get(key)
                text = "–" if value is None else how(value)
            self.monitors[key].setText(text)

    def _show_recent(self, events: list[LifeEvent]) -> None:
        lines = []
        for e in events[-4:][::-1]:
            lines.append(
                f"<span style='color:{event_color(e.event)}'>◆</span> <b>{theme.format_time(e.t)}</b> "
                f"{e.device} {e.version} <b>{event_words(e.event)}</b>: {e.detail}"
            )
        self.recent.setText("<br>".join(lines))

    def _show_adaptations(self, summary: dict[str, Any], rows: list[LifeAdaptation]) -> None:
        lines = []
        for r in rows:
            verdict = "deployed" if r.deployed else "rolled back"
            lines.append(
                f"<b>{r.version_before}→{r.version_after}</b> ({r.mode}, {r.samples} windows × {r.epochs} epochs): "
                f"validation {pct(r.val_accuracy_before)} → {pct(r.val_accuracy_after)}, {verdict}; "
                f"{r.variant} {theme.format_bytes(r.size_before_bytes)} → {theme.format_bytes(r.size_after_bytes)}"
                f" (target {theme.format_bytes(r.size_target_bytes)}, FP32 {theme.format_bytes(r.fp32_bytes)})"
            )
        self.adaptations.setText("<br>".join(lines))

    def _show_faults(self, summary: dict[str, Any], t: float) -> None:
        session = self.session
        if session is None:
            return
        index = session.index
        detected = {r.fault_id: r for r in index.column(LifeFaultDetected, self.app).until(t)}
        healed = {r.fault_id: r for r in index.column(LifeFaultHealed, self.app).until(t)}
        lines = []
        for f in index.column(LifeFault, self.app).until(t):
            d, h = detected.get(f.fault_id), healed.get(f.fault_id)
            found = f"found by {d.by} after {theme.format_duration(d.t - f.t)}" if d else "<b>not found yet</b>"
            fixed = f", healed by {h.how} ({theme.format_bytes(h.restore_bytes)})" if h else ""
            what = f"{f.flips} bits" if f.flips else "a corrupted span"
            lines.append(f"<span style='color:{event_color('fault')}'>◆</span> #{f.fault_id} {f.kind.replace('_', ' ')}: {what}; {found}{fixed}")
        migration = index.column(LifeMigration, self.app).last_at(t)
        if migration is not None:
            same = "equal" if migration.digest_before == migration.digest_after else "<b>DIFFERENT</b>"
            lines.append(
                f"<span style='color:{event_color('migrated')}'>◆</span> twin {migration.source} → {migration.via} → "
                f"{migration.target}: {theme.format_bytes(migration.twin_bytes)} twin + "
                f"{theme.format_bytes(migration.model_bytes)} {migration.variant}, serving after "
                f"{theme.format_duration(migration.t - migration.start_t)}; digest {migration.digest_before[:12]} {same}"
            )
        self.faults.setText("<br>".join(lines) if lines else "no fault yet")


__all__ = ["LifecyclePanel", "app_entry", "summary_at"]
