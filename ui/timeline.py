"""Timeline: one lane per device; inferences and transfers as bars, app records as marks.

A window of simulated time follows the playhead (mouse wheel zooms). Transfers are drawn as
a bar in the sender's lane and a thin line to the receiver's lane at arrival, so a chain
watch → phone → cloud reads left to right like a sequence diagram. Other records are drawn
through their display hooks (:mod:`ui.record_views`): a ``mark`` is a diamond in its
device's lane (an escalation stage, a join, a deploy), a ``span`` a band over all lanes (an
anomaly episode). A device has a lane only while it is in the home somewhere in the window,
so lanes appear and disappear as devices join and leave. Only the records inside the window
are fetched (bisect), so a repaint costs what is visible.

When the lanes would be thinner than a readable label (fifty homes), devices are grouped:
one row per device kind ("watch ×50", with how many were active in the window), all their
bars and marks drawn in it, and the selected device keeps a row of its own.
"""

from __future__ import annotations

import bisect
import re
from typing import NamedTuple

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from ui import theme
from ui.record_views import VIEWS
from ui.trace_index import TraceIndex
from ui.views import IndexView

KIND_ORDER = ["watch", "phone", "camera", "speaker", "hub", "cloud"]
MAX_ITEMS = 4000
GROUP_ALPHA = 150  # bars of many devices in one row: overlaps show as darker


class Row(NamedTuple):
    """A lane: one device, or a group of devices of one kind (``members``)."""

    label: str
    kind: str
    members: tuple[str, ...]

    @property
    def grouped(self) -> bool:
        return len(self.members) > 1 or self.label != self.members[0]


def group_rows(lanes: list[str], kinds: dict[str, str], keep: str | None) -> list[Row]:
    """Rows for ``lanes`` (already in kind order) grouped by kind; ``keep`` (the selected
    device) keeps a row of its own right after its kind's row."""
    rows: list[Row] = []
    for name in lanes:
        kind = kinds[name]
        if name == keep:
            continue
        if rows and rows[-1].kind == kind and rows[-1].grouped:
            members = (*rows[-1].members, name)
            rows[-1] = Row(f"{kind} ×{len(members)}", kind, members)
        else:
            rows.append(Row(f"{kind} ×1", kind, (name,)))
    rows = [Row(r.members[0], r.kind, r.members) if len(r.members) == 1 else r for r in rows]
    if keep in lanes:
        at = max((k + 1 for k, r in enumerate(rows) if r.kind == kinds[keep]), default=len(rows))
        rows.insert(at, Row(keep, kinds[keep], (keep,)))
    return rows


class TimelineView(IndexView, QWidget):
    """See module docstring; ``seek_requested(t)`` when the user clicks a time."""

    seek_requested = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.index: TraceIndex | None = None
        self.t = 0.0
        self.window_s = 600.0
        self.lanes: list[str] = []  # devices in the home in the window (kind, then name)
        self.rows: list[Row] = []  # what is drawn: a lane per device, or grouped by kind
        self.active: set[str] = set()  # devices with something drawn in the window (last paint)
        self.selected: str | None = None
        self.setMinimumHeight(140)
        self.setMouseTracking(False)
        self._lanes_key: tuple | None = None
        self.setToolTip(
            "Timeline — top band: spans such as anomaly episodes (truth). Lanes: bars = inferences "
            "(device colour), lower bars = transfers (message colour) with a line to the receiver; "
            "diamonds = events such as escalation stages, joins and deploys; hatched = not in the "
            "home. With many devices, lanes are grouped by kind (select a device for its own lane). "
            "Click to seek, wheel to zoom."
        )

    def set_index(self, index: TraceIndex | None) -> None:
        self.index = index
        self.lanes = []
        self._lanes_key = None
        self.update()

    def _update_lanes(self, t0: float, t1: float) -> None:
        """Lanes of the devices in the home somewhere in ``[t0, t1]`` (by kind, then name)."""
        index = self.index
        present = tuple(n for n, d in index.devices.items() if d.present_between(t0, t1))
        if present == self._lanes_key:
            return
        self._lanes_key = present
        order = {k: i for i, k in enumerate(KIND_ORDER)}
        self.lanes = sorted(present, key=lambda n: (order.get(index.devices[n].kind, 99), _natural(n)))

    def _drawn_kinds(self) -> tuple[list, list]:
        """Record classes drawn as spans and as marks (those with timeline hooks)."""
        spans, marks = [], []
        for key in self.index.columns:
            if isinstance(key, type):
                mode = VIEWS[key].timeline
                if mode == "span":
                    spans.append(key)
                elif mode == "mark":
                    marks.append(key)
        return spans, marks

    def select(self, name: str | None) -> None:
        self.selected = name
        self.update()

    def show_time(self, t: float) -> None:
        self.t = t
        self.update()

    # ---- geometry ------------------------------------------------------------------------

    def _label_w(self) -> float:
        return 90.0 * theme.font_settings().scale

    def _window(self) -> tuple[float, float]:
        t0 = self.t - self.window_s * 0.8
        return t0, t0 + self.window_s

    def _x(self, t: float, t0: float) -> float:
        lw = self._label_w()
        return lw + (t - t0) / self.window_s * (self.width() - lw - 4)

    def _t_at(self, x: float) -> float:
        lw = self._label_w()
        t0, _ = self._window()
        return t0 + (x - lw) / max(1.0, self.width() - lw - 4) * self.window_s

    def _lane_geometry(self) -> tuple[float, float]:
        top = 18.0 + 14.0  # time ruler + episodes band
        n = max(1, len(self.rows))
        return top, max(6.0, (self.height() - top - 2) / n)

    def readable_lane_px(self) -> float:
        """The thinnest lane whose label can still be read."""
        return QFontMetricsF(theme.font(0.8)).height() + 4

    def _update_rows(self) -> None:
        """A lane per device when they all fit readably, else rows grouped by kind."""
        top = 18.0 + 14.0
        if len(self.lanes) * self.readable_lane_px() <= self.height() - top - 2:
            self.rows = [Row(n, self.index.devices[n].kind, (n,)) for n in self.lanes]
        else:
            kinds = {n: self.index.devices[n].kind for n in self.lanes}
            self.rows = group_rows(self.lanes, kinds, self.selected)

    def wheelEvent(self, event) -> None:  # noqa: N802
        factor = 0.8 if event.angleDelta().y() > 0 else 1.25
        self.window_s = min(7 * 86400.0, max(2.0, self.window_s * factor))
        self.update()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.position().x() > self._label_w():
            self.seek_requested.emit(max(0.0, self._t_at(event.position().x())))

    # ---- drawing -------------------------------------------------------------------------

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.BACKGROUND))
        index = self.index
        if index is None:
            return
        t0, t1 = self._window()
        self._update_lanes(t0, min(t1, self.t))
        self._update_rows()
        lw = self._label_w()
        top, lane_h = self._lane_geometry()
        px_s = self.window_s / max(1.0, self.width() - lw)  # seconds per pixel
        lane_y = {name: top + k * lane_h for k, row in enumerate(self.rows) for name in row.members}
        single = [row.members[0] for row in self.rows if not row.grouped]  # a lane of its own
        f = theme.font(0.8 if lane_h >= 14 else 0.65)
        p.setFont(f)
        # lanes (labelled at the end, with how many of a group were active)
        for k, row in enumerate(self.rows):
            y = top + k * lane_h
            if k % 2:
                p.fillRect(QRectF(0, y, self.width(), lane_h), QColor("#F3F3F3"))
            if not row.grouped and row.members[0] == self.selected:
                p.fillRect(QRectF(0, y, self.width(), lane_h), QColor(255, 230, 160, 120))
            p.fillRect(QRectF(2, y + 2, 5, lane_h - 4), theme.device_color(row.kind))
        # not in the home: hatched before a join and after a leave
        hatch = QBrush(QColor(0, 0, 0, 60), Qt.BrushStyle.BDiagPattern)
        for name in single:
            cols = index.devices[name]
            if not cols.presence_t:
                continue
            y = lane_y[name]
            edges = [t0, *[ts for ts in cols.presence_t if t0 < ts < t1], t1]
            for a, b in zip(edges, edges[1:], strict=False):
                if not cols.present_at((a + b) / 2):
                    xa, xb = self._x(max(a, t0), t0), self._x(min(b, t1), t0)
                    p.fillRect(QRectF(xa, y + 1, xb - xa, lane_h - 2), hatch)
        # device off spans
        for name in single:
            cols = index.devices[name]
            if not cols.onoff_t:
                continue
            y = lane_y[name]
            on_spans = list(zip(cols.onoff_t, cols.onoff_on, strict=True))
            for i, (ts, on) in enumerate(on_spans):
                if on:
                    continue
                te = on_spans[i + 1][0] if i + 1 < len(on_spans) else index.duration_s
                if te < t0 or ts > t1:
                    continue
                p.fillRect(
                    QRectF(
                        self._x(max(ts, t0), t0),
                        y + 1,
                        self._x(min(te, t1), t0) - self._x(max(ts, t0), t0),
                        lane_h - 2,
                    ),
                    QColor(0, 0, 0, 35),
                )
        p.setClipRect(QRectF(lw, 0, self.width() - lw, self.height()))
        spans, marks = self._drawn_kinds()
        # spans (e.g. episodes, the truth) in the top band
        for record_type in spans:
            view = VIEWS[record_type]
            for rec in index.column(record_type).window(t0 - 86400, min(t1, self.t)):
                if rec.end_t < t0:
                    continue
                x0, x1 = self._x(rec.t, t0), self._x(min(rec.end_t, self.t), t0)
                c = theme.qcolor(view.color(rec)) if view.color else theme.qcolor(theme.DEFAULT_SPAN_COLOR)
                band = QColor(c)
                band.setAlpha(22)
                p.fillRect(QRectF(x0, 18, max(2.0, x1 - x0), self.height() - 18), band)
                p.fillRect(QRectF(x0, 18, max(2.0, x1 - x0), 12), c)
                if view.mark_label is not None:
                    p.setPen(QColor("#FFFFFF"))
                    p.drawText(
                        QRectF(x0 + 2, 18, max(2.0, x1 - x0), 12),
                        Qt.AlignmentFlag.AlignVCenter,
                        view.mark_label(rec),
                    )
        shown = min(t1, self.t)
        min_w = 2.0
        # inferences
        count = 0
        active: set[str] = set()  # devices with something drawn in the window
        grouped = len(single) < len(lane_y)
        for name in self.lanes:
            cols = index.devices[name]
            if not cols.infer_t:
                continue
            y = lane_y[name]
            color = theme.device_color(cols.kind)
            if grouped and name not in single:
                color.setAlpha(GROUP_ALPHA)
            a = bisect.bisect_left(cols.infer_t, t0 - 600)
            b = bisect.bisect_right(cols.infer_t, shown)
            for k in range(a, b):
                s, e = cols.infer_t[k], min(cols.infer_end[k], self.t)
                if e < t0:
                    continue
                active.add(name)
                x0 = self._x(s, t0)
                p.fillRect(QRectF(x0, y + lane_h * 0.12, max(min_w, (e - s) / px_s), lane_h * 0.38), color)
                count += 1
                if count > MAX_ITEMS:
                    break
        # transfers: bar in the sender's lane, line to the receiver at arrival
        msgs = [m for m in index.messages_overlapping(t0, shown) if m.t <= self.t][-MAX_ITEMS:]
        for m in msgs:
            ys, yd = lane_y.get(m.src), lane_y.get(m.dst)
            if ys is None:
                continue
            active.add(m.src)
            active.add(m.dst)
            color = theme.message_color(m.msg_kind)
            e = min(m.end_t, self.t)
            x0, x1 = self._x(m.t, t0), self._x(e, t0)
            p.fillRect(QRectF(x0, ys + lane_h * 0.55, max(min_w, x1 - x0), lane_h * 0.33), color)
            if yd is not None:
                pen = QPen(
                    color, 1.0, Qt.PenStyle.SolidLine if m.status == "delivered" else Qt.PenStyle.DotLine
                )
                p.setPen(pen)
                tip_t = e
                y_tip = ys + (yd - ys) * (
                    1.0 if m.end_t <= self.t else (tip_t - m.t) / max(1e-9, m.end_t - m.t)
                )
                p.drawLine(QPointF(x0, ys + lane_h * 0.7), QPointF(self._x(tip_t, t0), y_tip + lane_h * 0.5))
        # marks (e.g. escalation stages, joins, deploys) in their device's lane
        r = max(3.0, min(7.0, lane_h * 0.4))
        label_end: dict[float, float] = {}  # per lane: where the last mark label ends
        fm = p.fontMetrics()
        items = []
        for record_type in marks:
            view = VIEWS[record_type]
            items.extend((rec.t, view, rec) for rec in index.column(record_type).window(t0, shown))
        items.sort(key=lambda item: item[0])
        for t_mark, view, rec in items[-MAX_ITEMS:]:
            lane = view.subject(rec)
            y = lane_y.get(lane)
            if y is not None:
                active.add(lane)
                cy, rm = y + lane_h / 2, r
            elif lane == "":  # about the whole run (a federated round): in the top band
                y, cy, rm = -1.0, 24.0, 5.0
            else:
                continue
            x = self._x(t_mark, t0)
            poly = QPolygonF(
                [QPointF(x, cy - rm), QPointF(x + rm, cy), QPointF(x, cy + rm), QPointF(x - rm, cy)]
            )
            p.setPen(QPen(QColor("#000000"), 1.0))
            p.setBrush(
                theme.qcolor(view.color(rec)) if view.color else theme.qcolor(theme.DEFAULT_MARK_COLOR)
            )
            p.drawPolygon(poly)
            text = view.mark_label(rec) if view.mark_label is not None else ""
            if text and x + rm + 2 >= label_end.get(y, -1e9):
                p.setPen(QColor(theme.TEXT))
                p.drawText(QPointF(x + rm + 2, cy + 4), text)
                label_end[y] = x + rm + 6 + fm.horizontalAdvance(text)
        p.setClipping(False)
        self.active = active
        self._draw_row_labels(p, top, lane_h, active)
        # time ruler and playhead
        p.fillRect(QRectF(0, 0, self.width(), 16), QColor(theme.PANEL_BACKGROUND))
        p.setPen(QColor(theme.MUTED_TEXT))
        step = clock_step(self.window_s / 6)
        tick = max(t0 // step + 1, 0) * step  # no ticks before t = 0 (they all read 00:00:00)
        while tick < t1:
            x = self._x(tick, t0)
            p.drawLine(QPointF(x, 12), QPointF(x, 16))
            p.drawText(QPointF(x + 2, 12), theme.format_time(tick, with_day=False))
            tick += step
        p.drawText(QPointF(4, 12), f"window {theme.format_duration(self.window_s)}")
        xp = self._x(self.t, t0)
        p.setPen(QPen(QColor(theme.PLAYHEAD_COLOR), 2.0))
        p.drawLine(QPointF(xp, 0), QPointF(xp, self.height()))

    def _draw_row_labels(self, p: QPainter, top: float, lane_h: float, active: set[str]) -> None:
        """Each row's name; a group's second line says how many of it were active in the window."""
        lw = self._label_w()
        fm = p.fontMetrics()
        two_lines = lane_h >= 2 * fm.height() + 2
        for k, row in enumerate(self.rows):
            y = top + k * lane_h
            label = row.label
            busy = sum(1 for n in row.members if n in active) if row.grouped else 0
            p.setPen(QColor(theme.TEXT))
            if row.grouped and two_lines:
                mid = y + lane_h / 2
                p.drawText(
                    QRectF(10, mid - fm.height(), lw - 12, fm.height()), Qt.AlignmentFlag.AlignVCenter, label
                )
                p.setPen(QColor(theme.MUTED_TEXT))
                p.drawText(
                    QRectF(10, mid, lw - 12, fm.height()), Qt.AlignmentFlag.AlignVCenter, f"{busy} active"
                )
            else:
                p.drawText(QRectF(10, y, lw - 12, lane_h), Qt.AlignmentFlag.AlignVCenter, label)


def _natural(name: str) -> tuple:
    """watch2 before watch10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


# Steps a clock reader expects between ticks: whole seconds, minutes, hours, days.
CLOCK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def clock_step(raw: float) -> float:
    """The smallest clock-friendly step (s) of at least ``raw`` seconds (the timeline's ruler
    and the plots' time axis both tick at multiples of it)."""
    for s in CLOCK_STEPS_S:
        if s >= raw:
            return float(s)
    return 86400.0 * max(1, round(raw / 86400))
