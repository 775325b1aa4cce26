"""Small table helpers for the lab: sortable cells that sort by value, not by text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem


class Cell(QTableWidgetItem):
    """A table cell showing ``text`` and sorting by ``value`` (numbers before text, None last)."""

    def __init__(self, text: str, value: Any = None, tooltip: str = "") -> None:
        super().__init__(text)
        self.value = text if value is None else value
        if tooltip:
            self.setToolTip(tooltip)
        if isinstance(value, int | float):
            self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.value, getattr(other, "value", other.text())
        if isinstance(mine, int | float) and isinstance(theirs, int | float):
            return mine < theirs
        if isinstance(mine, int | float) != isinstance(theirs, int | float):
            return isinstance(mine, int | float)  # numbers first
        return str(mine) < str(theirs)


def make_table(headers: Sequence[str], sortable: bool = False) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.setSortingEnabled(sortable)
    return table


def fill(table: QTableWidget, rows: Sequence[Sequence[Cell | str]]) -> None:
    """Replace the rows (sorting is paused while filling, as Qt requires)."""
    sorting = table.isSortingEnabled()
    table.setSortingEnabled(False)
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            table.setItem(i, j, cell if isinstance(cell, QTableWidgetItem) else Cell(str(cell)))
    table.setSortingEnabled(sorting)


def shade(cell: Cell, fraction: float, color: str = "#0072B2") -> Cell:
    """Tint ``cell`` by ``fraction`` (0..1) of ``color`` (confusion matrices)."""
    base = QColor(color)
    alpha = int(30 + 200 * max(0.0, min(1.0, fraction))) if fraction > 0 else 0
    base.setAlpha(alpha)
    cell.setBackground(base)
    if fraction > 0.6:
        cell.setForeground(QColor("#FFFFFF"))
    return cell
