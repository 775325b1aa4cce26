"""The lifeline panel's drawings: the life on one day axis, and training memory vs budget.

``LifelineChart`` paints, over the days, the phases of the life, a lane per watch with its
model versions and the lifeline's marks, the held-out accuracy per day (the served model
against the factory model left unadapted) and the watches' batteries; hovering says what is
under the pointer in words. ``BudgetBars``: each adaptation's measured peak training memory
against its budget (the summary's ``adaptations``).
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QToolTip, QWidget

from simulator.apps.device_lifecycle.records import LifeAccuracy, LifeEvent
from ui import theme
from ui.apps.device_lifecycle.lifeline import DAY_S, PHASES, Phase, event_color, event_words

SERVED_COLOR = "#228833"  # green: the model the watch serves (adapted when it is)
GENERIC_COLOR = "#888888"  # grey: the factory model, never adapted
BATTERY_COLORS = ("#E69F00", "#B37700", "#805500")  # the watch kind's orange, darker per watch
BUDGET_COLOR = "#BBBBBB"
PEAK_COLOR = "#009988"
OVER_COLOR = "#CC3311"
GRID_COLOR = "#DDDDDD"
# the phase's name inside its band, where the band is wide enough
PHASE_SHORT = {
    "born": "born",
    "drift": "drift",
    "detected": "detected",
    "adapted": "adapted",
    "damaged": "damaged",
    "migrating": "migrating",
    "new_device": "new watch",
}


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

    # pixels at font scale 1; every band grows with the projector's font scale
    LEFT = 58  # room for the y-axis labels and lane names
    RIGHT = 8
    PHASE_H = 20
    LANE_H = 24
    ACC_H = 100
    BATTERY_H = 34
    AXIS_H = 18
    CAPTION_H = 16
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
        theme.font_settings().changed.connect(self._refont)
        self.setToolTip("")

    @property
    def scale(self) -> float:
        return theme.font_settings().scale

    @property
    def left(self) -> float:
        return self.LEFT * self.scale

    @property
    def caption_h(self) -> float:
        return self.CAPTION_H * self.scale

    def _fit_height(self) -> None:
        top, h = self.rows()["axis"]
        self.setFixedHeight(int(top + h + 2))

    def _refont(self, _scale: float = 1.0) -> None:
        self._fit_height()
        self.update()

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
        w = self.width() - self.left - self.RIGHT
        return self.left + max(0.0, min(t, self.duration_s)) / self.duration_s * w

    def t_of(self, x: float) -> float:
        w = self.width() - self.left - self.RIGHT
        return (x - self.left) / max(w, 1) * self.duration_s

    def rows(self) -> dict[str, tuple[float, float]]:
        """Top and height of each band."""
        k = self.scale
        y = 2.0
        out = {"phase": (y, self.PHASE_H * k)}
        y += (self.PHASE_H + self.GAP) * k
        for lane in self.lanes or [""]:
            out[f"lane:{lane}"] = (y, self.LANE_H * k)
            y += self.LANE_H * k
        y += self.GAP * k + self.caption_h  # the accuracy chart's caption
        out["accuracy"] = (y, self.ACC_H * k)
        y += (self.ACC_H + self.GAP) * k + self.caption_h
        out["battery"] = (y, self.BATTERY_H * k)
        y += self.BATTERY_H * k + 2
        out["axis"] = (y, self.AXIS_H * k)
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
                half = 30 * self.scale
                left = min(max(x - half, 0.0), self.width() - 2 * half)  # the last day's label stays inside
                p.drawText(
                    QRectF(left, bottom, 2 * half, self.AXIS_H * self.scale),
                    Qt.AlignmentFlag.AlignCenter,
                    f"{day} d",
                )
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
            words = PHASE_SHORT[phase.kind]
            if p.fontMetrics().horizontalAdvance(words) + 6 <= rect.width():
                p.setPen(QColor(theme.TEXT))
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, words)
        p.setPen(QColor(theme.MUTED_TEXT))
        p.drawText(
            QRectF(0, y, self.left - 4, h),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            "phase",
        )

    def _paint_lane(self, p: QPainter, lane: str, y: float, h: float) -> None:
        p.setFont(theme.font(0.8, bold=True))
        p.setPen(QColor(theme.TEXT))
        p.drawText(
            QRectF(0, y, self.left - 4, h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, lane
        )
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
            p.drawText(
                QRectF(self.x_of(ph.t0) + 2, y + 3, 40, h - 12), Qt.AlignmentFlag.AlignVCenter, ph.version
            )
        for e in self.events:
            if e.device != lane:
                continue
            x = self.x_of(e.t)
            c = QColor(event_color(e.event))
            p.setPen(QPen(c.darker(130), 1))
            p.setBrush(c)
            cy = y + h - 5
            p.drawPolygon(
                QPolygonF([QPointF(x, cy - 5), QPointF(x + 4, cy), QPointF(x, cy + 5), QPointF(x - 4, cy)])
            )

    def _paint_accuracy(self, p: QPainter, y: float, h: float) -> None:
        p.setFont(theme.font(0.8))
        p.setPen(QColor(theme.TEXT))
        p.drawText(
            QRectF(self.left, y - self.caption_h, self.width() - self.left, self.caption_h),
            Qt.AlignmentFlag.AlignLeft,
            "held-out accuracy per day:  ■ served   ■ factory model, unadapted",
        )
        fm = p.fontMetrics()
        # colour the two squares of the caption like their lines
        x_served = self.left + fm.horizontalAdvance("held-out accuracy per day:  ")
        x_generic = self.left + fm.horizontalAdvance("held-out accuracy per day:  ■ served   ")
        p.setPen(QColor(SERVED_COLOR))
        p.drawText(QRectF(x_served, y - self.caption_h, 20, self.caption_h), Qt.AlignmentFlag.AlignLeft, "■")
        p.setPen(QColor(GENERIC_COLOR))
        p.drawText(QRectF(x_generic, y - self.caption_h, 20, self.caption_h), Qt.AlignmentFlag.AlignLeft, "■")

        def y_of(acc: float) -> float:
            return y + h - acc * h

        for level in (0.0, 0.5, 1.0):
            p.setPen(QPen(QColor(GRID_COLOR), 1))
            p.drawLine(QPointF(self.left, y_of(level)), QPointF(self.width() - self.RIGHT, y_of(level)))
            p.setPen(QColor(theme.MUTED_TEXT))
            p.drawText(
                QRectF(0, y_of(level) - self.caption_h / 2, self.left - 4, self.caption_h),
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
                p.drawLine(
                    QPointF(self.x_of(a.t), y_of(getattr(a, attr))),
                    QPointF(self.x_of(b.t), y_of(getattr(b, attr))),
                )
        for r in points:
            phase = self._phase_at(r.t)
            p.setPen(QPen(QColor(SERVED_COLOR).darker(140), 1))
            p.setBrush(QColor(PHASES[phase.kind][1] if phase else SERVED_COLOR))
            p.drawEllipse(QPointF(self.x_of(r.t), y_of(r.accuracy)), 3.5, 3.5)

    def _paint_battery(self, p: QPainter, y: float, h: float) -> None:
        p.setFont(theme.font(0.8))
        p.setPen(QColor(theme.TEXT))
        names = "   ".join(f"■ {name}" for name in self.batteries)
        p.drawText(
            QRectF(self.left, y - self.caption_h, self.width() - self.left, self.caption_h),
            Qt.AlignmentFlag.AlignLeft,
            f"battery:  {names}",
        )
        x_text = self.left + p.fontMetrics().horizontalAdvance("battery:  ")
        for k, name in enumerate(self.batteries):
            p.setPen(QColor(BATTERY_COLORS[k % len(BATTERY_COLORS)]))
            p.drawText(
                QRectF(x_text, y - self.caption_h, 20, self.caption_h), Qt.AlignmentFlag.AlignLeft, "■"
            )
            x_text += p.fontMetrics().horizontalAdvance(f"■ {name}   ")
        p.setPen(QPen(QColor(GRID_COLOR), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(self.left, y, self.width() - self.left - self.RIGHT, h))
        p.setPen(QColor(theme.MUTED_TEXT))
        p.drawText(QRectF(0, y, self.left - 4, self.caption_h), Qt.AlignmentFlag.AlignRight, "100 %")
        p.drawText(
            QRectF(0, y + h - self.caption_h, self.left - 4, self.caption_h),
            Qt.AlignmentFlag.AlignRight,
            "0 %",
        )
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
        if x < self.left or self.t_of(x) > self.t:
            return ""
        t = self.t_of(x)
        rows = self.rows()
        for lane in self.lanes:
            top, h = rows[f"lane:{lane}"]
            if top <= y <= top + h:
                near = [
                    e
                    for e in self.events
                    if e.device == lane and abs(self.x_of(e.t) - x) <= 5 and e.t <= self.t
                ]
                if near:
                    return "\n".join(
                        f"{theme.format_time(e.t)} {lane} {e.version}: {event_words(e.event)} — {e.detail}"
                        for e in near
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
        return f"day {phase.t0 / DAY_S:.1f}–{phase.t1 / DAY_S:.1f}: {phase.label}, {phase.device} {phase.version}"


class BudgetBars(QWidget):
    """Each on-device adaptation's peak training memory against the budget it had (the
    summary's ``adaptations``)."""

    ROW_H = 30

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []
        self.setToolTip(
            "Peak memory of the real torch fine-tuning step (weights, trainable gradients, optimizer"
            " state, one batch's activations), measured, against the app's training budget"
        )
        self.setFixedHeight(int(self.row_h))

    @property
    def row_h(self) -> float:
        return self.ROW_H * theme.font_settings().scale

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.rows = list(rows)
        self.setFixedHeight(int(self.row_h * max(1, len(self.rows))))
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.PANEL_BACKGROUND))
        p.setFont(theme.font(0.85))
        if not self.rows:
            p.setPen(QColor(theme.MUTED_TEXT))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no adaptation yet (it waits for a drift)")
            return
        labels = [
            f"day {r['t'] / DAY_S:.0f} · {r['device']} {r['version_before']}→{r['version_after']}"
            for r in self.rows
        ]
        label_w = max(p.fontMetrics().horizontalAdvance(text) for text in labels) + 12
        for k, (row, label) in enumerate(zip(self.rows, labels, strict=True)):
            y = k * self.row_h
            p.setPen(QColor(theme.TEXT))
            p.drawText(QRectF(4, y, label_w - 8, self.row_h), Qt.AlignmentFlag.AlignVCenter, label)
            bar = QRectF(label_w, y + 5, self.width() - label_w - 6, self.row_h - 10)
            p.fillRect(bar, QColor(BUDGET_COLOR))
            frac = row["peak_memory_bytes"] / max(row["memory_budget_bytes"], 1)
            p.fillRect(
                QRectF(bar.x(), bar.y(), bar.width() * min(frac, 1.0), bar.height()),
                QColor(PEAK_COLOR if frac <= 1.0 else OVER_COLOR),
            )
            p.setPen(QColor("#000000"))
            p.drawText(
                bar,
                Qt.AlignmentFlag.AlignCenter,
                f"peak {theme.format_bytes(row['peak_memory_bytes'])} of {theme.format_bytes(row['memory_budget_bytes'])}"
                f" budget ({100 * frac:.0f} %)",
            )


__all__ = ["BudgetBars", "LifelineChart", "lanes_of", "pct"]
