"""Scenario library: the scenarios shipped in ``scenarios/`` with their descriptions."""

from __future__ import annotations

from pathlib import Path

import yaml
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from ui import theme

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"


def shipped_scenarios() -> list[tuple[str, str, str]]:
    """``(path, name, description)`` for each shipped scenario."""
    try:
        from simulator.scenario import list_scenarios

        return [(str(p), str(n), str(d or "")) for p, n, d in list_scenarios()]
    except (ImportError, AttributeError):
        pass
    out = []
    for path in sorted(SCENARIO_DIR.glob("*.y*ml")):
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            data = {}
        out.append((str(path), str(data.get("name", path.stem)), str(data.get("description", ""))))
    return out


class LibraryPanel(QWidget):
    """A list of scenarios; ``open_requested(path)`` on double-click or Open."""

    open_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        title = QLabel("Scenario library")
        title.setFont(theme.font(1.3, bold=True))
        layout.addWidget(title)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.itemDoubleClicked.connect(self._open_item)
        self.list.currentItemChanged.connect(self._show_description)
        layout.addWidget(self.list, 2)
        self.description = QLabel("")
        self.description.setWordWrap(True)
        self.description.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.description.setMinimumHeight(60)
        layout.addWidget(self.description, 1)
        button = QPushButton("Open scenario")
        button.clicked.connect(lambda: self._open_item(self.list.currentItem()))
        layout.addWidget(button)
        hint = QLabel("Or drop a scenario (.yaml) or a saved trace (.jsonl.gz) on the window.")
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {theme.MUTED_TEXT}")
        layout.addWidget(hint)
        self.open_scenario: str | None = None
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        for path, name, description in shipped_scenarios():
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setData(Qt.ItemDataRole.UserRole + 1, description)
            item.setData(Qt.ItemDataRole.UserRole + 2, name)
            item.setToolTip(description or path)
            self.list.addItem(item)
        self.mark_open(self.open_scenario)

    def mark_open(self, path: str | None) -> None:
        """Mark the entry of the scenario that is open (bold, "▶ … (open)"), select it and show
        its description; ``None`` or a scenario not in the library marks none."""
        self.open_scenario = path
        target = Path(path).resolve() if path else None
        current = None
        for i in range(self.list.count()):
            item = self.list.item(i)
            is_open = target is not None and Path(item.data(Qt.ItemDataRole.UserRole)).resolve() == target
            name = item.data(Qt.ItemDataRole.UserRole + 2)
            item.setText(f"▶ {name} (open)" if is_open else name)
            font = item.font()
            font.setBold(is_open)
            item.setFont(font)
            if is_open:
                current = item
        self.list.setCurrentItem(current)
        if current is None:
            self.list.clearSelection()
            self.description.setText("Select a scenario to read what it shows; double-click to open it.")

    def paths(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _show_description(self, item) -> None:
        if item is not None:
            self.description.setText(item.data(Qt.ItemDataRole.UserRole + 1) or "")

    def _open_item(self, item) -> None:
        if item is not None:
            self.open_requested.emit(item.data(Qt.ItemDataRole.UserRole))
