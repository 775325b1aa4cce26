"""Teaching mode: narration steps pause the player and show their text over the topology.

A scenario carries narration steps (text anchored to times or events); the simulation writes
them to the trace as ``Narration`` records. In teaching mode the player stops at each one and
this banner shows it in large type until the teacher presses Continue (Space).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ui import theme


class NarrationBanner(QFrame):
    """A card floating over the topology; ``continue_requested`` when dismissed."""

    continue_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("narration")
        self.setStyleSheet(
            "#narration { background: rgba(255, 252, 235, 240); border: 2px solid #E69F00; border-radius: 8px; }"
        )
        layout = QVBoxLayout(self)
        self.heading = QLabel("Teaching step")
        self.heading.setFont(theme.font(0.9, bold=True))
        self.heading.setStyleSheet("color: #8a5a00")
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setFont(theme.font(1.5))
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.heading)
        layout.addWidget(self.text)
        row = QHBoxLayout()
        row.addStretch(1)
        self.button = QPushButton("Continue ▶  (Space)")
        self.button.clicked.connect(self._continue)
        row.addWidget(self.button)
        layout.addLayout(row)
        self.hide()
        theme.font_settings().changed.connect(self._refont)

    def _refont(self) -> None:
        self.heading.setFont(theme.font(0.9, bold=True))
        self.text.setFont(theme.font(1.5))

    def show_narration(self, t: float, text: str) -> None:
        self.heading.setText(f"Teaching step · {theme.format_time(t)}")
        self.text.setText(text)
        self.place()
        self.show()
        self.raise_()

    def place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        w = min(parent.width() - 40, int(720 * theme.font_settings().scale))
        self.setFixedWidth(max(200, w))
        self.adjustSize()
        self.move((parent.width() - self.width()) // 2, parent.height() - self.height() - 20)

    def _continue(self) -> None:
        self.hide()
        self.continue_requested.emit()
