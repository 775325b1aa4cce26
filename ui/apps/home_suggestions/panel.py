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
ROWS = 8


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
        self.plot.setMinimumHeight(170)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setLabel("left", "held-out hit-rate@10")
        self.plot.setLabel("bottom", "federated round")
        self.plot.addLegend(offset=(-10, 10))
        self.curve = self.plot.plot([], [], pen=pg.mkPen(CURVE, width=2), name="federated (global model)")
        self.baseline = self.plot.plot(
            [],
            [],
            pen=pg.mkPen(BASELINE, width=2, style=Qt.PenStyle.DashLine),
            name="most popular (served moments)",
        )
        self.plot.setYRange(0.0, 0.6)
        layout.addWidget(self.plot)
        self.member = QComboBox()
        self.member.setToolTip("A member of a home: the suggestions their devices showed")
        self.member.currentIndexChanged.connect(lambda _i: self._draw_member(force=True))
        layout.addWidget(self.member)
        self.days = QLabel("")
        self.days.setTextFormat(Qt.TextFormat.RichText)
        self.days.setToolTip("Per day: ● a hit, ○ a miss (the used item was not in the top ten)")
        layout.addWidget(self.days)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["when", "context · device", "top suggestions", "why", "used"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {theme.MUTED_TEXT}")
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
        self.table.setRowCount(len(latest))
        names = plan.item_names
        for row, r in enumerate(latest):
            clock_s = plan.data_offset_s + r.t
            when = f"{DAYS[int(clock_s // 86400) % 7]} {int(clock_s % 86400 // 3600):02d}:{int(clock_s % 3600 // 60):02d}"
            hit = r.served and 0 <= r.rank < 10
            used = f"{'✓' if hit else '✗'} {names[r.used_item]}" + (
                f" (#{r.rank + 1})" if r.rank >= 0 else " (not on this device)"
            )
            cells = [
                when,
                f"{r.context} · {r.device}",
                ", ".join(names[i] for i in r.items[:3]) + " …",
                r.why,
                used,
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 4:
                    item.setForeground(theme.qcolor(HIT if hit else MISS))
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
