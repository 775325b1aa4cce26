"""The home-suggestions panel: monitors (exactly the numbers of the app's ``summarize``),
the federated curve (held-out hit-rate@10 per round against the most-popular baseline),
and per member the latest suggestions with why (context, taste) and hit/miss over days.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from simulator.apps.home_suggestions.metrics import summarize
from simulator.apps.home_suggestions.records import Suggestion, SuggestionPlan
from simulator.federated.records import FederatedRound
from ui import theme

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HIT, MISS, CURVE, BASELINE = "#009988", "#CC3311", "#0077BB", "#BBBBBB"
ROWS = 20  # the latest suggestions shown; the table scrolls
PLOT_MIN_H = 130
TABLE_MIN_ROWS = 3
COLUMNS = (
    ("when", "The homes' clock when the suggestion was served"),
    ("context · device", "The context the device inferred (location blurred) and the device that served it"),
    ("why", "Why the top suggestion: the context's share or the member's taste"),
    (
        "used",
        "What the member really used next: ✓ in the top ten, with its rank; "
        "not in slice: the device's profile slice does not hold it",
    ),
)


def day_clock(clock_s: float) -> str:
    """A time of the homes' data week, seconds since its Monday 00:00, as ``Wed 12:20``."""
    return f"{DAYS[int(clock_s // 86400) % 7]} {int(clock_s % 86400 // 3600):02d}:{int(clock_s % 3600 // 60):02d}"


def _monitor(title: str, tooltip: str) -> tuple[QLabel, QLabel]:
    caption = QLabel(title)
    caption.setStyleSheet(f"color: {theme.MUTED_TEXT}")
    value = QLabel("–")
    value.setFont(theme.font(1.5, bold=True))
    for label in (caption, value):
        label.setToolTip(tooltip)
    return caption, value


class SuggestionsPanel(QWidget):
    """Monitors, the federated curve, one member's suggestions and days."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session = None
        self.app = ""
        self._seen = (-1, -1, -1)
        layout = QVBoxLayout(self)
        grid = QGridLayout()
        self.values: dict[str, QLabel] = {}
        monitors = (
            (
                "hit",
                "hit-rate@10",
                "served suggestions whose top ten held the item the member used (summarize)",
            ),
            ("ndcg", "NDCG@10", "rank-discounted hits (summarize)"),
            (
                "popular",
                "most popular",
                "hit-rate@10 of the most-popular list of the same slice, same moments",
            ),
            ("latency", "p95 latency", "request to result on the serving device, cost model + queue (ms)"),
        )
        for column, (key, title, tooltip) in enumerate(monitors):
            caption, value = _monitor(title, tooltip)
            grid.addWidget(caption, 0, column)
            grid.addWidget(value, 1, column)
            self.values[key] = value
        layout.addLayout(grid)
        self.plot = pg.PlotWidget(background=theme.BACKGROUND)
        # small beside the member's table in the window's monitors dock; it grows with the panel
        # (no x label: at this height pyqtgraph clips it; the legend says "after each round")
        self.plot.setMinimumHeight(PLOT_MIN_H)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setLabel("left", "hit-rate@10")
        self.plot.setToolTip("Hit-rate@10 of the global model on the held-out week after each round")
        legend = self.plot.addLegend(offset=(-6, -4))  # one row at the bottom, under the curves
        legend.setColumnCount(2)
        self.curve = self.plot.plot(
            [], [], pen=pg.mkPen(CURVE, width=2), name="global model after each round"
        )
        self.baseline = self.plot.plot(
            [],
            [],
            pen=pg.mkPen(BASELINE, width=2, style=Qt.PenStyle.DashLine),
            name="most popular (served moments)",
        )
        self.plot.setYRange(0.0, 0.6)
        layout.addWidget(self.plot, 1)
        self.member = QComboBox()
        self.member.setToolTip("A member of a home: the suggestions their devices showed")
        self.member.currentIndexChanged.connect(lambda _i: self._draw_member(force=True))
        layout.addWidget(self.member)
        self.days = QLabel("")
        self.days.setTextFormat(Qt.TextFormat.RichText)
        self.days.setToolTip("Per day: ● a hit, ○ a miss (the used item was not in the top ten)")
        layout.addWidget(self.days)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([title for title, _tip in COLUMNS])
        for column, (_title, tip) in enumerate(COLUMNS):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        row_h = self.table.fontMetrics().height() + 8
        self.table.verticalHeader().setDefaultSectionSize(row_h)
        # the panel asks for room for a few rows: the window's splitter gives it that first
        self.table.setMinimumHeight(row_h * (TABLE_MIN_ROWS + 1) + 4)
        self.table.currentCellChanged.connect(lambda row, *_: self._show_detail(row))
        layout.addWidget(self.table, 2)
        # the chosen row's ten suggestions: too long for a column of the window's dock
        self.detail = QLabel("")
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setWordWrap(True)
        self.detail.setMinimumHeight(2 * self.detail.fontMetrics().lineSpacing() + 2)
        self.detail.setToolTip("The ten suggestions of the row chosen above (the latest first), best first")
        layout.addWidget(self.detail)
        self._rows: list[Suggestion] = []
        self._names: tuple[str, ...] = ()
        self._offset_s = 0.0
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {theme.MUTED_TEXT}")
        # it wraps to two lines in the window's dock: ask for them, or the table runs under it
        self.hint.setMinimumHeight(2 * self.hint.fontMetrics().lineSpacing() + 2)
        layout.addWidget(self.hint)
        self._t = 0.0

    def set_session(self, session: Any, app_name: str) -> None:
        self.session, self.app = session, app_name
        self._seen = (-1, -1, -1)
        self.member.blockSignals(True)
        self.member.clear()
        self.member.blockSignals(False)

    def _fill_members(self, plan: SuggestionPlan) -> None:
        """The member list, once the plan (t = 0) has been read into the index."""
        self.member.blockSignals(True)
        for home, member, attributes in plan.members:
            extra = f" ({', '.join(attributes)})" if attributes else ""
            self.member.addItem(f"home {home:02d} · member {member}{extra}", member)
        self.member.blockSignals(False)

    def refresh(self, t: float) -> None:
        if self.session is None:
            return
        self._t = t
        index = self.session.index
        plan = index.column(SuggestionPlan, self.app).last_at(t)
        if plan is not None and self.member.count() == 0:
            self._fill_members(plan)
        seen = (
            index.column(Suggestion, self.app).count_at(t),
            index.column(FederatedRound, self.app).count_at(t),
            self.member.currentIndex(),
        )
        if seen == self._seen:
            return
        self._seen = seen
        m = summarize(self.session.trace, self.app, t)
        if m.get("suggestions"):
            self.values["hit"].setText(f"{m['hit_rate_at_10']:.3f}")
            self.values["ndcg"].setText(f"{m['ndcg_at_10']:.3f}")
            self.values["popular"].setText(f"{m['baseline_popular_hit_rate']:.3f}")
            worst = max(m["latency_p95_ms"].values()) if m["latency_p95_ms"] else 0.0
            self.values["latency"].setText(f"{worst:.2f} ms")
        rounds = m.get("federated_hit_rate", [])
        self.curve.setData(list(range(1, len(rounds) + 1)), rounds)
        if rounds and m.get("suggestions"):
            self.baseline.setData([1, len(rounds)], [m["baseline_popular_hit_rate"]] * 2)
        self.hint.setText(
            f"{m.get('suggestions', 0)} suggestions served, {m.get('rounds', 0)} rounds, "
            f"{m.get('bytes_per_round', 0) / 1e3:.0f} kB per round; context inferred right "
            f"{m.get('context_accuracy', 0):.1%} with location blurred to {m.get('blur_m', 0):g} m"
        )
        self._draw_member()

    def _draw_member(self, force: bool = False) -> None:
        if self.session is None or self.member.currentIndex() < 0:
            return
        member = self.member.currentData()
        plan = self.session.index.column(SuggestionPlan, self.app).last_at(self._t)
        if plan is None:
            return
        mine = [
            r for r in self.session.index.column(Suggestion, self.app).until(self._t) if r.member == member
        ]
        by_day: dict[int, list[str]] = {}
        for r in mine:
            day = int((plan.data_offset_s + r.t) // 86400) % 7
            colour = HIT if r.served and 0 <= r.rank < 10 else MISS
            by_day.setdefault(day, []).append(
                f'<span style="color:{colour}">{"●" if colour == HIT else "○"}</span>'
            )
        self.days.setText(
            "  ".join(f"{DAYS[d]} {''.join(marks)}" for d, marks in sorted(by_day.items()))
            or "no suggestion yet"
        )
        latest = mine[-ROWS:][::-1]
        self._rows, self._names, self._offset_s = latest, plan.item_names, plan.data_offset_s
        self.table.setRowCount(len(latest))
        names = plan.item_names
        for row, r in enumerate(latest):
            hit = r.served and 0 <= r.rank < 10
            used = f"{'✓' if hit else '✗'} {names[r.used_item]}" + (
                f" (#{r.rank + 1})" if r.rank >= 0 else " (not in slice)"
            )
            cells = [day_clock(plan.data_offset_s + r.t), f"{r.context} · {r.device}", r.why, used]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == len(cells) - 1:
                    item.setForeground(theme.qcolor(HIT if hit else MISS))
                self.table.setItem(row, column, item)
        current = self.table.currentRow()
        self._show_detail(current if 0 <= current < len(latest) else 0)

    def _show_detail(self, row: int) -> None:
        if not 0 <= row < len(self._rows):
            self.detail.setText("")
            return
        r, names = self._rows[row], self._names
        marked = []
        for k, i in enumerate(r.items[:10]):
            text = f"{k + 1}&nbsp;{names[i]}"
            marked.append(f'<b style="color:{HIT}">{text}</b>' if i == r.used_item else text)
        missed = (
            "" if r.used_item in r.items[:10] else f' · used <b style="color:{MISS}">{names[r.used_item]}</b>'
        )
        when = day_clock(self._offset_s + r.t)
        self.detail.setText(f"<b>{when}, {r.device}</b> suggested: " + " · ".join(marked) + missed)
