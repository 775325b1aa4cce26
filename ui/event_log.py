"""Event log: every record up to the playhead (battery samples aside), filterable, click to seek.

The model is a list of record indices from the trace index; rows are appended as the playhead
moves forward and the list is rebuilt only on a jump back or a filter change. Qt's table view
draws only the visible rows, so 100k events cost nothing per frame.
"""

from __future__ import annotations

import bisect

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.apps import scenario_apps
from ui.record_views import CORE_VIEWS, VIEWS, kind_of, kind_of_type
from ui.session import Session

COLUMNS = ["time", "kind", "device", "what"]


def describe(r) -> tuple[str, str, str]:
    """(kind, device, text) for a record, through its display hooks."""
    view = VIEWS[type(r)]
    return kind_of(r), view.subject(r), view.describe(r)


def record_involves(r, device: str) -> bool:
    return device in (getattr(r, "device", None), getattr(r, "src", None), getattr(r, "dst", None))


class EventModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.session: Session | None = None
        self.rows: list[int] = []  # record indices shown
        self.scanned = 0  # position in index.log_rows consumed so far
        self.device: str | None = None
        self.kinds: set[str] | None = None  # None = all but those hidden by their view

    def rowCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None) -> int:  # noqa: N802
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def record(self, row: int):
        return self.session.trace.records[self.rows[row]]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.session is None:
            return None
        r = self.record(index.row())
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return theme.format_time(r.t)
            kind, device, text = describe(r)
            return (kind, device, text)[col - 1]
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            color = VIEWS[type(r)].color
            return None if color is None else QBrush(theme.qcolor(color(r)).darker(130))
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            cols = self.session.index.devices.get(VIEWS[type(r)].subject(r))
            if cols is not None:
                return QBrush(theme.device_color(cols.kind).darker(130))
        if role == Qt.ItemDataRole.ToolTipRole:
            return "Click to move the playhead here"
        return None

    def _accept(self, r) -> bool:
        if self.kinds is not None:
            if kind_of(r) not in self.kinds:
                return False
        elif VIEWS[type(r)].hidden_in_log:
            return False
        return not (
            self.device and not record_involves(r, self.device) and getattr(r, "link", None) != self.device
        )

    def reset_to(self, t: float) -> None:
        self.beginResetModel()
        self.rows = []
        self.scanned = 0
        self.endResetModel()
        self.advance_to(t)

    def advance_to(self, t: float, limit: int = 20000) -> int:
        """Append rows for records up to ``t``; returns how many were added."""
        s = self.session
        if s is None:
            return 0
        idx = s.index
        end = bisect.bisect_right(idx.log_t, t)
        if end < self.scanned:
            self.reset_to(t)
            return 0
        if end == self.scanned:
            return 0
        start = max(self.scanned, end - limit)
        records = s.trace.records
        new = [i for i in idx.log_rows[start:end] if self._accept(records[i])]
        self.scanned = end
        if new:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self.rows.extend(new)
            self.endInsertRows()
        return len(new)


class EventLog(QWidget):
    """Table + filters; ``seek_requested(t)`` when a row is clicked."""

    seek_requested = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = EventModel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Device:"))
        self.device_box = QComboBox()
        self.device_box.setMinimumContentsLength(12)
        bar.addWidget(self.device_box)
        bar.addWidget(QLabel("Kind:"))
        self.kind_box = QComboBox()
        self._fill_kinds([])
        bar.addWidget(self.kind_box)
        self.follow = QCheckBox("Follow playhead")
        self.follow.setChecked(True)
        bar.addWidget(self.follow)
        bar.addStretch(1)
        self.count_label = QLabel("")
        bar.addWidget(self.count_label)
        layout.addLayout(bar)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, 95)
        self.table.setColumnWidth(1, 85)
        self.table.setColumnWidth(2, 110)
        layout.addWidget(self.table)
        self.table.clicked.connect(self._on_clicked)
        self.device_box.currentIndexChanged.connect(self._on_filter)
        self._devices_version = -1
        self.kind_box.currentIndexChanged.connect(self._on_filter)
        self.t = 0.0

    def _fill_kinds(self, app_types: list[str]) -> None:
        """The kind filter: core kinds, then the kinds of the scenario's apps."""
        current = self.kind_box.currentData()
        self.kind_box.blockSignals(True)
        self.kind_box.clear()
        self.kind_box.addItem("all (no power states)", None)
        views = dict(CORE_VIEWS)
        for app_type in app_types:
            views.update(VIEWS.of_app(app_type))
        for record_type, view in views.items():
            if view.in_log:
                self.kind_box.addItem(view.label, kind_of_type(record_type))
        self.kind_box.setCurrentIndex(max(0, self.kind_box.findData(current)))
        self.kind_box.blockSignals(False)

    def set_session(self, session: Session | None) -> None:
        self.model.session = session
        self._devices_version = -1
        self.device_box.blockSignals(True)
        self.device_box.clear()
        self.device_box.addItem("all devices", None)
        self.device_box.blockSignals(False)
        self._sync_devices()
        apps = scenario_apps(session.trace.meta) if session is not None else []
        self._fill_kinds(sorted({app_type for app_type, _ in apps}))
        self.model.reset_to(0.0)

    def _sync_devices(self) -> None:
        """Add devices (and links) that appeared since the last call to the device filter."""
        session = self.model.session
        if session is None or session.index.devices_version == self._devices_version:
            return
        self._devices_version = session.index.devices_version
        box = self.device_box
        box.blockSignals(True)
        for name in session.index.devices:
            if box.findData(name) < 0:
                box.addItem(name, name)
        for name in session.index.links:
            if box.findData(name) < 0:
                box.addItem(f"link {name}", name)
        box.blockSignals(False)

    def _on_filter(self) -> None:
        self.model.device = self.device_box.currentData()
        kind = self.kind_box.currentData()
        self.model.kinds = None if kind is None else {kind}
        self.model.reset_to(self.t)
        self._scroll()

    def set_device_filter(self, name: str | None) -> None:
        i = self.device_box.findData(name)
        self.device_box.setCurrentIndex(max(0, i))

    def set_kind_filter(self, kind: str | None) -> None:
        i = self.kind_box.findData(kind)
        self.kind_box.setCurrentIndex(max(0, i))

    def _on_clicked(self, index) -> None:
        if index.isValid():
            self.follow.setChecked(False)
            self.seek_requested.emit(float(self.model.record(index.row()).t))

    def jump(self) -> None:
        """The playhead jumped: rebuild rows up to it."""
        self.model.reset_to(self.t)
        self._scroll()

    def show_time(self, t: float) -> None:
        self._sync_devices()
        if t < self.t:
            self.t = t
            self.jump()
            return
        self.t = t
        if self.model.advance_to(t):
            self._scroll()
        self.count_label.setText(f"{len(self.model.rows):,} events")

    def _scroll(self) -> None:
        if self.follow.isChecked() and self.model.rows:
            self.table.scrollToBottom()
