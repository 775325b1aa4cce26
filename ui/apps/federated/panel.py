"""The federated app's panel: monitors (exactly the numbers of the app's ``summarize``),
held-out accuracy per round, the participation matrix of clients × rounds, bytes and ε
per round.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from simulator.federated.metrics import summarize
from simulator.federated.records import ClientUpdate, FederatedPlan, FederatedRound
from ui import theme
from ui.federated.style import (
    DOWN_COLOR,
    EPSILON_COLOR,
    ROUND_COLOR,
    STAGE_COLORS,
    STAGE_LABELS,
    UP_COLOR,
    clock,
)


class ParticipationMatrix(QWidget):
    """Clients (rows) × rounds (columns), each cell coloured by the client's outcome in that
    round at the playhead; a column is drawn as soon as its round has started."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.clients: list[str] = []
        self.rounds = 0
        self.cells: dict[tuple[int, int], str] = {}
        self.setMinimumHeight(220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(
            "Each row a client (its watch), each column a round: "
            + ", ".join(f"{STAGE_LABELS[s]}" for s in STAGE_COLORS)
            + " (legend below); blank: not selected"
        )

    def set_state(self, clients: list[str], rounds: int, cells: dict[tuple[int, int], str]) -> None:
        self.clients, self.rounds, self.cells = clients, rounds, cells
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.BACKGROUND))
        if not self.clients or not self.rounds:
            p.setPen(QColor(theme.MUTED_TEXT))
            p.setFont(theme.font())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no round yet")
            return
        metrics = p.fontMetrics()
        p.setFont(theme.font(0.85))
        label_w = metrics.horizontalAdvance("watch000") + 6 if len(self.clients) <= 60 else 0
        top, bottom = metrics.height() + 2, 4
        width = max(self.width() - label_w - 4, 10)
        height = max(self.height() - top - bottom, 10)
        cell_w = width / self.rounds
        cell_h = height / len(self.clients)
        p.setPen(QColor(theme.MUTED_TEXT))
        every = max(1, int(round(self.rounds / max(width / 28, 1))))
        for r in range(0, self.rounds, every):
            p.drawText(
                QRectF(label_w + r * cell_w, 0, max(cell_w * every, 20), top),
                Qt.AlignmentFlag.AlignLeft,
                str(r + 1),
            )
        if label_w and cell_h >= metrics.height() * 0.8:
            for i, name in enumerate(self.clients):
                p.drawText(
                    QRectF(0, top + i * cell_h, label_w - 4, cell_h),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                    name,
                )
        p.setPen(Qt.PenStyle.NoPen)
        gap = 1.0 if cell_w > 4 and cell_h > 4 else 0.0
        for (row, column), stage in self.cells.items():
            p.setBrush(theme.qcolor(STAGE_COLORS.get(stage, theme.DEFAULT_MARK_COLOR)))
            p.drawRect(QRectF(label_w + column * cell_w, top + row * cell_h, cell_w - gap, cell_h - gap))
        p.setPen(QPen(QColor(theme.LINK_COLOR), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(label_w, top, cell_w * self.rounds, cell_h * len(self.clients)))


def _legend() -> QLabel:
    items = " ".join(
        f'<span style="color:{color}">■</span>&nbsp;{STAGE_LABELS[stage]}'
        for stage, color in STAGE_COLORS.items()
    )
    label = QLabel(items)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def _monitor(title: str, tooltip: str) -> tuple[QLabel, QLabel]:
    caption = QLabel(title)
    caption.setStyleSheet(f"color: {theme.MUTED_TEXT}")
    value = QLabel("–")
    value.setFont(theme.font(1.3, bold=True))
    for label in (caption, value):
        label.setToolTip(tooltip)
    return caption, value


class FederatedPanel(QWidget):
    """The federated app's panel: monitors, accuracy per round, the participation matrix,
    bytes per round (and ε per round under differential privacy)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session = None
        self.app = ""
        self._seen = (-1, -1)
        layout = QVBoxLayout(self)
        self.title = QLabel("Federated learning")
        self.title.setFont(theme.font(1.2, bold=True))
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        grid = QGridLayout()
        self.monitors: dict[str, QLabel] = {}
        specs = [
            (
                "accuracy",
                "held-out accuracy",
                "Global model on wearers who never train (measured with real torch)",
            ),
            ("best", "best round", "The best held-out accuracy of any round so far"),
            (
                "rounds",
                "rounds",
                "Aggregates released / planned (a round that failed or was not released does not count)",
            ),
            (
                "reported",
                "updates / round",
                "Updates aggregated per round, on average (of clients_per_round selected)",
            ),
            (
                "bytes",
                "MB up / down",
                "All federated traffic so far, every hop (BLE and Wi-Fi/LTE), real bytes",
            ),
            ("epsilon", "ε (δ)", "Differential privacy spent so far (Opacus RDP accountant)"),
        ]
        for column, (key, title, tooltip) in enumerate(specs):
            caption, value = _monitor(title, tooltip)
            grid.addWidget(caption, 0, column)
            grid.addWidget(value, 1, column)
            self.monitors[key] = value
        layout.addLayout(grid)
        self.accuracy_plot = pg.PlotWidget()
        self.accuracy_plot.setMinimumHeight(150)
        self.accuracy_plot.setLabel("left", "accuracy")
        self.accuracy_plot.setLabel("bottom", "round")
        self.accuracy_plot.setYRange(0.0, 1.0)
        self.accuracy_plot.showGrid(x=False, y=True, alpha=0.3)
        self.accuracy_plot.setMouseEnabled(x=False, y=False)
        self.accuracy_plot.setToolTip(
            "Held-out accuracy of the global model after each round (round 0: initial)"
        )
        self.accuracy_curve = self.accuracy_plot.plot(
            [], [], pen=pg.mkPen(ROUND_COLOR, width=2), symbol="o", symbolSize=5, symbolBrush=ROUND_COLOR
        )
        layout.addWidget(self.accuracy_plot, 2)
        layout.addWidget(QLabel("Participation: clients × rounds"))
        self.matrix = ParticipationMatrix(self)
        layout.addWidget(self.matrix, 3)
        layout.addWidget(_legend())
        self.bytes_plot = pg.PlotWidget()
        self.bytes_plot.setMinimumHeight(120)
        self.bytes_plot.setLabel("left", "MB")
        self.bytes_plot.setLabel("bottom", "round")
        self.bytes_plot.setMouseEnabled(x=False, y=False)
        self.bytes_plot.getAxis("left").enableAutoSIPrefix(False)
        self.bytes_plot.setTitle(
            f'<span style="color:{UP_COLOR}">■</span> MB up &nbsp; <span style="color:{DOWN_COLOR}">■</span> MB down'
            f' &nbsp; <span style="color:{EPSILON_COLOR}">▲</span> ε per round',
            size="9pt",
        )
        self.bytes_plot.setToolTip("Bytes per round on every hop: up (updates, protocol) and down (model)")
        self.bytes_up = pg.BarGraphItem(x=[], height=[], width=0.4, brush=theme.qcolor(UP_COLOR))
        self.bytes_down = pg.BarGraphItem(x=[], height=[], width=0.4, brush=theme.qcolor(DOWN_COLOR))
        self.bytes_plot.addItem(self.bytes_up)
        self.bytes_plot.addItem(self.bytes_down)
        self.epsilon_curve = self.bytes_plot.plot([], [], pen=None)
        self.epsilon_axis: pg.ViewBox | None = None
        layout.addWidget(self.bytes_plot, 2)

    # -- the contract ---------------------------------------------------------------------
    def set_session(self, session: Any, app_name: str = "") -> None:
        self.session = session
        self.app = app_name
        self._seen = (-1, -1)
        self.title.setText(f"Federated learning · {app_name}" if app_name else "Federated learning")
        self.refresh(0.0)

    def refresh(self, t: float) -> None:
        if self.session is None:
            self.matrix.set_state([], 0, {})
            return
        index = self.session.index
        plan = index.column(FederatedPlan, self.app).last_at(t)
        client_col = index.column(ClientUpdate, self.app)
        round_col = index.column(FederatedRound, self.app)
        seen = (client_col.count_at(t), round_col.count_at(t))
        if seen == self._seen:
            return
        self._seen = seen
        if plan is None:
            self.status.setText("waiting for the app to start")
            return
        self._update(plan, client_col.until(t), round_col.until(t), t)

    # -- drawing ----------------------------------------------------------------------
    def _update(self, plan: FederatedPlan, clients: list, rounds: list, t: float) -> None:
        privacy = plan.privacy
        self.title.setText(
            f"Federated learning · {self.app}: {plan.strategy} ({plan.mode}), privacy: {privacy}, "
            f"{len(plan.clients)} clients, {plan.model_params:,}-parameter model"
        )
        row_of = {name: i for i, name in enumerate(plan.clients)}
        cells: dict[tuple[int, int], str] = {}
        latest_round = 0
        for r in clients:
            row = row_of.get(r.device)
            if row is None:
                continue
            latest_round = max(latest_round, r.round)
            key = (row, r.round - 1)
            # A late update's fate (synced / rejected) overrides how the round saw it.
            if r.stage != "selected" or key not in cells:
                cells[key] = r.stage
        columns = max(plan.rounds, latest_round)
        self.matrix.set_state(list(plan.clients), columns, cells)
        last = rounds[-1] if rounds else None
        working = sum(
            1 for (_, column), stage in cells.items() if column == latest_round - 1 and stage == "selected"
        )
        if working and (last is None or last.round < latest_round):
            state = f"round {latest_round} in progress: {working} clients working"
        elif last is not None:
            state = f"round {last.round} done at {clock(plan, last.t)}: {last.detail or plan.strategy + ' aggregate'}"
        else:
            state = "waiting for eligible clients (charging, idle, on Wi-Fi)"
        self.status.setText(f"{clock(plan, t)} · {state}")
        # The monitors and the accuracy curve are the app's summary at t, nothing re-derived.
        metrics = summarize(self.session.trace, self.app, t)
        accuracy = [metrics["accuracy_initial"]] + metrics["accuracy_per_round"]
        self.accuracy_curve.setData(list(range(len(accuracy))), accuracy)
        self.accuracy_plot.setXRange(0, max(columns, 1), padding=0.02)
        xs = [r.round for r in rounds]
        self.bytes_up.setOpts(x=[x - 0.2 for x in xs], height=[r.bytes_up / 1e6 for r in rounds], width=0.4)
        self.bytes_down.setOpts(
            x=[x + 0.2 for x in xs], height=[r.bytes_down / 1e6 for r in rounds], width=0.4
        )
        self.bytes_plot.setXRange(0.5, max(columns, 1) + 0.5, padding=0.0)
        self._draw_epsilon(rounds)
        self.monitors["accuracy"].setText(f"{metrics['accuracy']:.3f}")
        self.monitors["best"].setText(f"{metrics['accuracy_best']:.3f}")
        self.monitors["rounds"].setText(f"{metrics['rounds']} / {metrics['rounds_planned']}")
        self.monitors["reported"].setText(f"{metrics['participants_mean']:.1f}")
        self.monitors["bytes"].setText(f"{metrics['bytes_up'] / 1e6:.2f} / {metrics['bytes_down'] / 1e6:.2f}")
        eps = metrics["epsilon"]
        self.monitors["epsilon"].setText(
            "no DP" if metrics["noise_multiplier"] == 0 else ("0" if eps is None else f"{eps:.2f}")
        )

    def _draw_epsilon(self, rounds: list) -> None:
        points = [(r.round, r.epsilon) for r in rounds if r.epsilon is not None]
        if not points:
            return
        if self.epsilon_axis is None:
            plot = self.bytes_plot.getPlotItem()
            self.epsilon_axis = pg.ViewBox()
            plot.showAxis("right")
            plot.scene().addItem(self.epsilon_axis)
            plot.getAxis("right").linkToView(self.epsilon_axis)
            plot.getAxis("right").setLabel("ε")
            self.epsilon_axis.setXLink(plot)
            self.epsilon_line = pg.PlotDataItem(
                pen=pg.mkPen(EPSILON_COLOR, width=2), symbol="t", symbolSize=6, symbolBrush=EPSILON_COLOR
            )
            self.epsilon_axis.addItem(self.epsilon_line)

            def sync() -> None:
                self.epsilon_axis.setGeometry(plot.vb.sceneBoundingRect())

            plot.vb.sigResized.connect(sync)
            sync()
        self.epsilon_line.setData([p[0] for p in points], [p[1] for p in points])
        self.epsilon_axis.setYRange(0.0, max(p[1] for p in points) * 1.1)
