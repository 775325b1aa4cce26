"""The counter's view: its ticks in the log and on the timeline, and a one-number panel."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget
from simulator.apps.counter import Counter, Tick

from ui.apps import Metric, RecordView

RECORD_VIEWS = {
    Tick: RecordView(
        label="tick",
        describe=lambda r: f"count {r.count}",
        color=lambda r: "#4477AA",
        timeline="mark",
        mark_label=lambda r: str(r.count),
        badge=lambda r: f"#{r.count}",
    )
}
MESSAGE_COLORS = {"count": "#BBBBBB"}
WHATIF_METRICS = (Metric("ticks", "ticks", "", higher_is_better=True),)


def whatif_metrics(session, app_name, t):
    return {"ticks": len(session.index.column(Tick, app_name).until(t))}


def clock_label(session, app_name, t):
    last = session.index.column(Tick, app_name).last_at(t)
    return None if last is None else f"count {last.count}"


class CounterPanel(QWidget):
    """The count so far, as ``Counter.summarize`` gives it at the playhead."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel("no run", self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        self.session = None
        self.app_name = ""

    def set_session(self, session, app_name: str) -> None:
        self.session, self.app_name = session, app_name

    def refresh(self, t: float) -> None:
        if self.session is None:
            self.label.setText("no run")
            return
        entry = next(a for a in self.session.trace.meta["apps"] if a["name"] == self.app_name)
        metrics = Counter.summarize(self.session.trace, entry, t)
        self.label.setText(f"count {metrics['last_count']}, {metrics['delivered']} delivered")


PANEL = CounterPanel
