"""Lifeline panel: a device's life over the days, as a teacher would draw it on the board.

At the top, the phase at the playhead in words and the run's numbers; then one picture on
one day axis (``chart.LifelineChart``): the phases of the life (born compressed → drift →
detection → adaptation on the charger → faults → healing → retirement → migration → the
new watch), a lane per watch with its model versions and the lifeline's marks, the held-out
accuracy per day under it and the watches' batteries. Below, in words: the last marks, the
drifts and their detection, each on-device adaptation (peak training memory against its
budget, time, energy, size before/after re-compression), the faults and the migration.

Every number is the app's own ``App.summarize`` on the trace up to the playhead (recomputed
only when a new lifeline mark or daily accuracy has been reached); the drawing reads the
app's records.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from simulator.apps.device_lifecycle.records import (
    LifeAccuracy,
    LifeEvent,
    LifeMigration,
)
from ui import theme
from ui.apps.device_lifecycle.chart import BudgetBars, LifelineChart, lanes_of, pct
from ui.apps.device_lifecycle.lifeline import (
    DAY_S,
    PHASES,
    Phase,
    drift_onsets,
    event_color,
    event_words,
    phases,
)
from ui.session import Session


def _days(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f} h"


def _count(summary: dict[str, Any], part: str, whole: str) -> str:
    if summary.get(whole) is None:
        return "–"
    return f"{summary.get(part) or 0} / {summary[whole]}"


# (summary key, caption, tooltip, format) in two rows of four
MONITORS = (
    (
        "accuracy_before_drift",
        "before drift",
        "held-out accuracy of the served model before the first drift",
        pct,
    ),
    (
        "accuracy_drift_unadapted",
        "drift, unadapted",
        "the factory model, never adapted, on the drifted days the adapted model served (same windows)",
        pct,
    ),
    (
        "accuracy_adapted",
        "adapted",
        "held-out accuracy of the versions the watch fine-tuned itself (undamaged days on the first watch)",
        pct,
    ),
    (
        "accuracy_new_watch",
        "new watch",
        "held-out accuracy of the migrated, personalized model on the new watch",
        pct,
    ),
    (
        "drift_detection_delay_h",
        "drift → detected",
        "hours from the first drift's start to ADWIN's detection on the watch",
        _days,
    ),
    (
        "faults_detected",
        "faults found",
        "faults detected / injected (checksums at rest and at load, range guard)",
        None,
    ),
    (
        "served_while_damaged",
        "served damaged",
        "windows the watch classified with damaged weights",
        "{:,.0f}".format,
    ),
    ("migration_s", "migration", "from retirement to the new watch serving the twin", theme.format_duration),
)


def _drift_line(drift: dict[str, Any]) -> str:
    kind = drift["kind"].replace("_", " ")
    if drift["detected_day"] is None:
        return (
            f"{_mark('drift_detected')} {drift['device']}, {kind} from day {drift['day']:g}: not detected yet"
        )
    return (
        f"{_mark('drift_detected')} {drift['device']}, {kind} from day {drift['day']:g}: detected"
        f" {drift['delay_h']:.1f} h later (day {drift['detected_day']:.2f})"
    )


def _html_list(lines: list[str]) -> str:
    return "<br>".join(lines)


def _mark(event: str) -> str:
    return f"<span style='color:{event_color(event)}'>◆</span>"


class LifecyclePanel(QWidget):
    """See module docstring."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.app = ""
        self._key: tuple | None = None
        self.summary: dict[str, Any] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # text wraps instead
        scroll.setMinimumHeight(480)  # the numbers and the whole lifeline chart without scrolling
        outer.addWidget(scroll)
        content = QWidget()
        scroll.setWidget(content)
        layout = QVBoxLayout(content)
        self.now = QLabel("A watch's life")
        self.now.setFont(theme.font(1.15, bold=True))
        self.now.setWordWrap(True)
        self.now.setToolTip("The phase of the life at the playhead (the band under the playhead)")
        layout.addWidget(self.now)
        grid = QGridLayout()
        grid.setVerticalSpacing(0)
        self.monitors: dict[str, QLabel] = {}
        for k, (key, label, tip, _) in enumerate(MONITORS):
            row, col = divmod(k, 4)
            value = QLabel("–")
            value.setFont(theme.font(1.3, bold=True))
            value.setAlignment(Qt.AlignmentFlag.AlignCenter)
            value.setToolTip(tip)
            name = QLabel(label)
            name.setAlignment(Qt.AlignmentFlag.AlignCenter)
            name.setToolTip(tip)
            name.setStyleSheet(f"color: {theme.MUTED_TEXT}")
            name.setFont(theme.font(0.9))
            grid.addWidget(value, 2 * row, col)
            grid.addWidget(name, 2 * row + 1, col)
            self.monitors[key] = value
        layout.addLayout(grid)
        self.chart = LifelineChart()
        layout.addWidget(self.chart)
        self.legend = QLabel(self._legend_html())
        self.legend.setWordWrap(True)
        self.legend.setFont(theme.font(0.85))
        layout.addWidget(self.legend)
        self.recent = self._text(layout, "The lifeline's last marks")
        self.drifts = self._text(layout, "Drift and its detection (river ADWIN on the model's confidence)")
        self.budget = BudgetBars()
        self.adaptations = self._text(layout, "Training on the watch: peak memory vs budget", self.budget)
        self.faults = self._text(layout, "Faults and self-healing")
        self.migration = self._text(layout, "Migration to the new watch")
        layout.addStretch(1)

    @staticmethod
    def _text(layout: QVBoxLayout, title: str, above: QWidget | None = None) -> QLabel:
        heading = QLabel(title)
        heading.setFont(theme.font(1.0, bold=True))
        heading.setWordWrap(True)
        layout.addWidget(heading)
        if above is not None:
            layout.addWidget(above)
        label = QLabel("")
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setFont(theme.font(0.95))
        layout.addWidget(label)
        return label

    @staticmethod
    def _legend_html() -> str:
        phases_html = " ".join(
            f"<span style='background:{color}'>&nbsp;{words.replace(' ', '&nbsp;')}&nbsp;</span>"
            for words, color in PHASES.values()
        )
        marks = (
            "deployed",
            "drift_detected",
            "redeployed",
            "guard_alarm",
            "fault",
            "detected",
            "healed",
            "migrated",
        )
        marks_html = " ".join(f"{_mark(m)}&nbsp;{event_words(m).replace(' ', '&nbsp;')}" for m in marks)
        return f"{phases_html}<br>{marks_html} · <span style='color:#AA3377'>┆</span> a drift begins (truth)"

    def set_session(self, session: Session | None, app_name: str = "") -> None:
        """Show lifecycle app ``app_name`` of ``session`` (``None``: nothing)."""
        self.session, self.app, self._key = session, app_name, None
        if session is not None:
            self.refresh(0.0)

    def refresh(self, t: float) -> None:
        session = self.session
        if session is None:
            return
        self.chart.set_time(t)
        index = session.index
        events = index.column(LifeEvent, self.app)
        accuracy = index.column(LifeAccuracy, self.app)
        key = (id(index), events.count_at(t), accuracy.count_at(t), session.finished)
        if key == self._key:
            return
        self._key = key
        self.summary = summary = session.summary_at(self.app, t)
        onsets = drift_onsets(session.app_entry(self.app).get("params") or {})
        event_list, accuracy_list = events.until(t), accuracy.until(t)
        life = phases(event_list, onsets, t)
        lanes = lanes_of(event_list, accuracy_list)
        batteries = {}
        for name in lanes:
            if name in index.devices:
                ts, socs = index.battery_arrays(name)
                device = index.devices[name]
                # only while the watch is in the home (a retired one reads empty)
                kept = [
                    (bt, soc)
                    for bt, soc in zip(ts.tolist(), socs.tolist(), strict=True)
                    if device.present_at(bt)
                ]
                batteries[name] = ([bt for bt, _ in kept], [soc for _, soc in kept])
        self.chart.set_data(
            duration_s=session.duration_s,
            phases=life,
            events=event_list,
            accuracy=accuracy_list,
            lanes=lanes,
            batteries=batteries,
            onsets=onsets,
        )
        self._show_now(life[-1] if life else None, t)
        self._show_monitors(summary)
        self.recent.setText(
            _html_list(
                [
                    f"{_mark(e.event)} <b>{theme.format_time(e.t)}</b> {e.device} {e.version} "
                    f"<b>{event_words(e.event)}</b>: {e.detail}"
                    for e in event_list[-4:][::-1]
                ]
            )
        )
        self.drifts.setText(
            _html_list([_drift_line(d) for d in summary.get("drifts") or [] if d["day"] * DAY_S <= t])
        )
        self.budget.set_rows(summary.get("adaptations") or [])
        self._show_adaptations(summary)
        self._show_faults(summary)
        self._show_migration(summary, index.column(LifeMigration, self.app).last_at(t))

    def _show_now(self, phase: Phase | None, t: float) -> None:
        if phase is None:
            self.now.setText("")
            return
        self.now.setText(f"{t / DAY_S:.1f} days in · {phase.device} {phase.version} · {phase.label}")
        self.now.setStyleSheet(f"background: {PHASES[phase.kind][1]}; padding: 3px")

    def _show_monitors(self, summary: dict[str, Any]) -> None:
        for key, _, _, how in MONITORS:
            if key == "faults_detected":
                text = _count(summary, "faults_detected", "faults_injected")
            else:
                value = summary.get(key)
                text = "–" if value is None else how(value)
            self.monitors[key].setText(text)

    def _show_adaptations(self, summary: dict[str, Any]) -> None:
        lines = []
        for a in summary.get("adaptations") or []:
            verdict = "deployed" if a["deployed"] else "rolled back"
            lines.append(
                f"<b>{a['version_before']}→{a['version_after']}</b> {a['mode']}: {a['trainable_params']} parameters,"
                f" {a['samples']} windows × {a['epochs']} epochs, {theme.format_duration(a['device_busy_s'])} and"
                f" {theme.format_energy(a['energy_j'])} on the watch while charging; validation"
                f" {pct(a['val_accuracy_before'])} → {pct(a['val_accuracy_after'])}, {verdict};"
                f" {a['variant']} {theme.format_bytes(a['size_before_bytes'])} → {theme.format_bytes(a['size_after_bytes'])}"
                f" (fits {theme.format_bytes(a['size_target_bytes'])}; FP32 {theme.format_bytes(a['fp32_bytes'])});"
                f" the watch has {theme.format_bytes(a['profile_memory_bytes'])} of memory"
            )
        self.adaptations.setText(_html_list(lines))

    def _show_faults(self, summary: dict[str, Any]) -> None:
        lines = []
        for f in summary.get("faults") or []:
            what = (
                f"{f['flips']} bit flips in {f['tensors']} tensors"
                if f["flips"]
                else f"{f['tensors']} tensor corrupted"
            )
            if f["detected"]:
                found = f"found by {f['detected_by']} after {theme.format_duration(f['detect_delay_s'])}"
            else:
                found = "<b>not found yet</b>"
            healed = ""
            if f["healed"]:
                healed = (
                    f"; healed by {f['repair']} in {theme.format_duration(f['repair_s'])},"
                    f" {theme.format_bytes(f['restore_bytes'])}, {theme.format_energy(f['restore_energy_j'])} of radio"
                )
            served = ""
            if f["served_damaged"]:
                served = f"; {f['served_damaged']} windows served damaged at {pct(f['accuracy_damaged'])}"
            lines.append(
                f"{_mark('fault')} day {f['day']:.1f} <b>{f['kind'].replace('_', ' ')}</b>: {what}; {found}{healed}{served}"
            )
        self.faults.setText(_html_list(lines) if lines else "no fault yet")

    def _show_migration(self, summary: dict[str, Any], migration: LifeMigration | None) -> None:
        if not summary.get("migrated") or migration is None:
            self.migration.setText("not yet: the watch is still worn")
            return
        equal = "equal ✓" if summary.get("twin_digest_equal") else "<b>DIFFERENT</b>"
        self.migration.setText(
            f"{_mark('migrated')} {migration.source} → {migration.via} → {migration.target} in"
            f" {theme.format_duration(summary['migration_s'])}: {theme.format_bytes(summary['migration_bytes'])} over the"
            f" links, all hops ({theme.format_bytes(summary['twin_bytes'])} twin + {theme.format_bytes(summary['migration_model_bytes'])}"
            f" {summary['migration_variant']}), {theme.format_energy(summary['migration_energy_j'])} of radio;"
            f" twin digest before/after {migration.digest_before[:12]}… {equal}<br>"
            f"new watch: personalized {pct(summary.get('accuracy_new_watch'))} vs a fresh generic model"
            f" {pct(summary.get('accuracy_new_watch_generic'))}"
        )


__all__ = ["LifecyclePanel"]
