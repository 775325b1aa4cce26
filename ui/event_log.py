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

from simulator.trace import KIND_OF
from ui import theme
from ui.session import Session

COLUMNS = ["time", "kind", "device", "what"]
DEFAULT_HIDDEN = {"power"}


def describe(r) -> tuple[str, str, str]:
    """(kind, device, text) for a record, in words."""
    kind = KIND_OF[type(r)]
    if kind == "message":
        status = "" if r.status == "delivered" else f" — {r.status.upper()}"
        retry = f" (attempt {r.attempt})" if r.attempt and r.attempt > 1 else ""
        return (
            kind,
            r.src,
            f"{r.msg_kind} {theme.format_bytes(r.size_bytes)} → {r.dst} via {r.link}, "
            f"{theme.format_duration(r.end_t - r.t)}{status}{retry}",
        )
    if kind == "inference":
        return (
            kind,
            r.device,
            f"{r.model}/{r.variant} ×{r.n_windows} → {r.label} ({r.score:.2f}), {theme.format_duration(r.end_t - r.t)}",
        )
    if kind == "escalation":
        return kind, r.device, f"{r.stage.replace('_', ' ')}: {r.label} {r.detail}".strip()
    if kind == "episode":
        return kind, "", f"episode #{r.episode} {r.kind} until {theme.format_time(r.end_t)}"
    if kind == "device":
        return kind, r.device, ("switched ON" if r.on else "switched OFF") + f" ({r.reason})"
    if kind == "link":
        return kind, r.link, ("link UP" if r.up else "link DOWN") + f" ({r.reason})"
    if kind == "power":
        return kind, r.device, f"{r.state} · {theme.format_power(r.power_w)}"
    if kind == "activity":
        return kind, "", f"wearer: {r.activity}"
    if kind == "narration":
        return kind, "", r.text
    if kind == "note":
        return kind, r.device, f"{r.kind}: {r.text}"
    return kind, "", str(r)


def record_device(r) -> str:
    for attr in ("device", "src", "link"):
        v = getattr(r, attr, None)
        if v:
            return v
    return ""


def record_involves(r, device: str) -> bool:
    return device in (getattr(r, "device", None), getattr(r, "src", None), getattr(r, "dst", None))


class EventModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.session: Session | None = None
        self.rows: list[int] = []  # record indices shown
        self.scanned = 0  # position in index.log_rows consumed so far
        self.device: str | None = None
        self.kinds: set[str] | None = None  # None = all but hidden
        self.hidden: set[str] = set(DEFAULT_HIDDEN)

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
            kind = KIND_OF[type(r)]
            if kind == "message":
                return QBrush(theme.message_color(r.msg_kind).darker(130))
            if kind == "escalation":
                return QBrush(theme.stage_color(r.stage))
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            dev = record_device(r)
            cols = self.session.index.devices.get(dev)
            if cols is not None:
                return QBrush(theme.device_color(cols.kind).darker(130))
        if role == Qt.ItemDataRole.ToolTipRole:
            return "Click to move the playhead here"
        return None

    def _accept(self, r) -> bool:
        kind = KIND_OF[type(r)]
        if self.kinds is not None:
            if kind not in self.kinds:
                return False
        elif kind in self.hidden:
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
        self.kind_box.addItem("all (no power states)", None)
        for k, label in theme.RECORD_KIND_LABELS.items():
            if k != "battery":
                self.kind_box.addItem(label, k)
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
        self.kind_box.currentIndexChanged.connect(self._on_filter)
        self.t = 0.0

    def set_session(self, session: Session | None) -> None:
        self.model.session = session
        self.device_box.blockSignals(True)
        self.device_box.clear()
        self.device_box.addItem("all devices", None)
        if session is not None:
            for name in session.index.devices:
                self.device_box.addItem(name, name)
            for name in session.index.links:
                self.device_box.addItem(f"link {name}", name)
        self.device_box.blockSignals(False)
        self.model.reset_to(0.0)

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

    def refresh(self, t: float) -> None:
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
