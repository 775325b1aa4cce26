"""The leaderboard tab: every variant × device profile with the published score
(:mod:`simulator.leaderboard`), sortable, filtered by device and task; devices as columns."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from models.cards import list_cards
from simulator.leaderboard import FORMULA, leaderboard
from ui import theme
from ui.lab.tables import Cell, fill, make_table

ALL = "all"


class LeaderboardView(QWidget):
    def __init__(self, root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = Path(root)
        layout = QVBoxLayout(self)
        formula = QLabel(f"Score: {FORMULA}")
        formula.setWordWrap(True)
        formula.setToolTip(
            "docs/lab.md explains the formula; latency and energy from simulator.compute.estimate_card"
        )
        layout.addWidget(formula)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("device"))
        self.device_box = QComboBox()
        filters.addWidget(self.device_box)
        filters.addWidget(QLabel("task"))
        self.task_box = QComboBox()
        filters.addWidget(self.task_box, 1)
        layout.addLayout(filters)
        top_title = QLabel("Top 3 per device (ranked: fits, and within 99 % of the FP32 accuracy)")
        top_title.setFont(theme.font(1.05, bold=True))
        layout.addWidget(top_title)
        self.top3 = make_table(["device", "1st", "2nd", "3rd"])
        layout.addWidget(self.top3)
        all_title = QLabel("Every variant × device (click a header to sort; * = below 99 % of FP32 accuracy)")
        all_title.setFont(theme.font(1.05, bold=True))
        layout.addWidget(all_title)
        self.table = make_table([], sortable=True)
        layout.addWidget(self.table, 1)
        self.board: dict = {}
        self.device_box.currentIndexChanged.connect(self._refresh)
        self.task_box.currentIndexChanged.connect(self._refresh)

    def reload(self) -> None:
        """Re-read the cards (a recipe just wrote one) and rebuild the board."""
        self.board = leaderboard(list_cards(self.root))
        for box, values in (
            (self.device_box, self.board["devices"]),
            (self.task_box, sorted({r["task"] for r in self.board["rows"]})),
        ):
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems([ALL, *values])
            box.setCurrentText(current if current in values else ALL)
            box.blockSignals(False)
        self._refresh()

    def rows(self) -> list[dict]:
        """The rows the filters let through."""
        device, task = self.device_box.currentText(), self.task_box.currentText()
        return [
            r
            for r in self.board.get("rows", [])
            if (device == ALL or r["device"] == device) and (task == ALL or r["task"] == task)
        ]

    def _refresh(self) -> None:
        rows = self.rows()
        device = self.device_box.currentText()
        shown = {(r["model"], r["variant"]) for r in rows}
        devices = self.board.get("devices", []) if device == ALL else [device]
        tops = []
        for d in devices:
            top = [t for t in self.board.get("top3", {}).get(d, []) if (t["model"], t["variant"]) in shown]
            cells = [Cell(f"{t['model']}:{t['variant']}  {t['score']:.1f}") for t in top]
            tops.append([Cell(d), *cells, *[Cell("-")] * (3 - len(cells))])
        fill(self.top3, tops)
        rows_height = sum(self.top3.rowHeight(i) for i in range(self.top3.rowCount()))
        self.top3.setFixedHeight(self.top3.horizontalHeader().height() + rows_height + 4)
        if device == ALL:
            self._fill_matrix(rows, devices)
        else:
            self._fill_device(rows)

    def _fill_matrix(self, rows: list[dict], devices: list[str]) -> None:
        headers = ["model", "variant", "accuracy", "bytes", *devices]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        by_variant: dict[tuple[str, str], dict] = {}
        for r in rows:
            by_variant.setdefault((r["model"], r["variant"]), {})[r["device"]] = r
        lines = []
        for (model, variant), cells in sorted(by_variant.items()):
            first = next(iter(cells.values()))
            line = [
                Cell(model, tooltip=first["task"]),
                Cell(
                    variant + ("" if first["meets_quality"] else " *"),
                    variant,
                    "" if first["meets_quality"] else "below 99 % of the FP32 accuracy: not ranked",
                ),
                Cell(f"{first['accuracy']:.4f}", first["accuracy"]),
                Cell(theme.format_bytes(first["bytes"]), first["bytes"]),
            ]
            for d in devices:
                r = cells.get(d)
                if r is None or r["score"] is None:
                    line.append(Cell("does not fit" if r else "-", -1.0))
                else:
                    line.append(
                        Cell(
                            f"{r['score']:.1f}",
                            r["score"],
                            f"{d}: {r['latency_ms']:.4f} ms, {r['energy_mj']:.5f} mJ per inference",
                        )
                    )
            lines.append(line)
        fill(self.table, lines)

    def _fill_device(self, rows: list[dict]) -> None:
        headers = ["model", "variant", "accuracy", "bytes", "latency", "energy", "dynamic sparsity", "score"]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        lines = [
            [
                Cell(r["model"], tooltip=r["task"]),
                Cell(r["variant"] + ("" if r["meets_quality"] else " *"), r["variant"]),
                Cell(f"{r['accuracy']:.4f}", r["accuracy"]),
                Cell(theme.format_bytes(r["bytes"]), r["bytes"]),
                Cell(f"{r['latency_ms']:.4f} ms", r["latency_ms"]),
                Cell(f"{r['energy_mj']:.5f} mJ", r["energy_mj"]),
                Cell(f"{r['macs_skippable']:.1%}", r["macs_skippable"]),
                Cell(
                    "does not fit" if r["score"] is None else f"{r['score']:.1f}",
                    -1.0 if r["score"] is None else r["score"],
                ),
            ]
            for r in rows
        ]
        fill(self.table, lines)
        self.table.sortItems(len(headers) - 1, Qt.SortOrder.DescendingOrder)
