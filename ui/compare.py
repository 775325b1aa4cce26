"""Runs compared on the same axes, as TensorBoard compares runs.

``python main.py compare DIR_A DIR_B … --gui`` opens this window on run folders and sweep
folders. Left: the runs, each with its colour and a check box (a sweep shows one group per
grid point; its first seed is checked). Right: the chosen device's battery, power and
inference latency, one curve per checked run, with the values under the mouse; below, the
checked runs' metrics side by side with each run's difference from the first.

Traces load when a run is first checked: from its folder, or simulated again from the
sweep's scenario, overrides and seed when the sweep kept no traces (same seed, same trace).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from simulator.sweep.compare import (
    Column,
    DeviceSeries,
    RunEntry,
    compared_metrics,
    device_series,
    format_delta,
    format_value,
    run_entries,
)
from simulator.trace import Trace, TraceError
from simulator.validate import SpecError
from ui import export, theme
from ui.plots import TimeAxis

# A colour per run folder or per grid point of a sweep (its seeds share it, so their spread
# reads as the point's): Paul Tol's "muted" set (colour-blind safe), dark ones first since
# they are read on white; device-kind colours are not reused, since here a colour means a run.
RUN_COLORS = (
    "#332288",
    "#CC6677",
    "#117733",
    "#882255",
    "#44AA99",
    "#999933",
    "#AA4499",
    "#88CCEE",
    "#DDCC77",
)
MAX_FIRST_CHECKED = 6
LINE_ALPHA = 210  # overlapping curves stay visible under one another
CLOCK_STEPS_S = (60, 300, 600, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400)
PX_PER_TICK = 90


class ClockAxis(TimeAxis):
    """Simulated time with ticks on whole clock steps (every 3 h, every 10 min…)."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph API)
        span = max(maxVal - minVal, 1.0)
        wanted = span / max(2.0, size / PX_PER_TICK)
        major = next((s for s in CLOCK_STEPS_S if s >= wanted), CLOCK_STEPS_S[-1])
        minor = next((s for s in reversed(CLOCK_STEPS_S) if s < major), major)
        return [(float(major), 0.0), (float(minor), 0.0)]


class DecadeAxis(pg.AxisItem):
    """A log axis labelled at 1, 2 and 5 × each decade (pyqtgraph labels all of 1…9)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph API)
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        low, high = int(np.floor(minVal)), int(np.ceil(maxVal))
        majors = [float(d) for d in range(low, high + 1) if minVal <= d <= maxVal]
        minors = [
            d + np.log10(m)
            for d in range(low, high + 1)
            for m in (2, 5)
            if minVal <= d + np.log10(m) <= maxVal
        ]
        return [(1.0, majors), (0.5, minors)]


def _decades(values: list[np.ndarray]) -> tuple[float, float] | None:
    """A log10 y range of whole decades around the positive values (at least one decade)."""
    finite = [v[v > 0] for v in values if len(v)]
    finite = [v for v in finite if len(v)]
    if not finite:
        return None
    low = float(np.floor(np.log10(min(v.min() for v in finite))))
    high = float(np.ceil(np.log10(max(v.max() for v in finite))))
    return low, max(high, low + 1.0)


def run_color(i: int) -> QColor:
    return QColor(RUN_COLORS[i % len(RUN_COLORS)])


def _swatch(color: QColor) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(color)
    return QIcon(pixmap)


class CompareWindow(QMainWindow):
    """Battery, power and latency of several runs overlaid, and their metrics side by side."""

    def __init__(self, entries: list[RunEntry], device: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("HomeTwin — runs compared")
        self.entries = entries
        groups = list(dict.fromkeys(e.group for e in entries))
        self.colors = [run_color(groups.index(e.group)) for e in entries]
        self.traces: dict[int, Trace] = {}
        self.series: dict[tuple[int, str], DeviceSeries] = {}
        self.errors: dict[int, str] = {}
        self.device = device
        self.curves: dict[tuple[int, int], pg.PlotDataItem] = {}

        self.runs = QTreeWidget()
        self.runs.setHeaderLabels(["Runs"])
        self.runs.setToolTip("Check runs to overlay them; colours match the curves")
        self.items: list[QTreeWidgetItem] = []
        self._fill_run_list()
        self.runs.itemChanged.connect(self._on_item_changed)

        self.device_box = QComboBox()
        self.device_box.setToolTip("The device whose battery, power and latency are plotted")
        self.device_box.currentTextChanged.connect(self._on_device_changed)
        self.hover = QLabel("Hover a plot to read each run's value")
        self.hover.setTextFormat(Qt.TextFormat.RichText)
        self.only_changed = QCheckBox("only metrics that differ")
        self.only_changed.setChecked(True)
        self.only_changed.toggled.connect(self._refresh_table)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Device:"))
        bar.addWidget(self.device_box)
        bar.addSpacing(12)
        bar.addWidget(self.hover, 1)
        bar.addWidget(self.only_changed)

        self.plot_widgets: list[pg.PlotWidget] = []
        self.plot_battery = self._make_plot("Battery", "%")
        self.plot_power = self._make_plot("Power", "W (log)")
        self.plot_latency = self._make_plot("Inference latency", "ms (log)")
        self.plot_power.setLogMode(y=True)
        self.plot_latency.setLogMode(y=True)
        for plot in (self.plot_power, self.plot_latency):
            plot.setXLink(self.plot_battery)
        self.plot_battery.setToolTip("Battery state of charge (%), from each run's battery samples")
        self.plot_power.setToolTip("Power drawn by the device (W, log scale): profile watts per power state")
        self.plot_latency.setToolTip(
            "Simulated on-device inference latency (ms, log scale), from the ModelCard"
        )
        self.legend = self.plot_battery.addLegend(offset=(-10, 10), labelTextSize="9pt")

        self.table = QTableWidget()
        self.table.setToolTip(
            "Metrics from each run's summary; Δ is the difference from the first checked run"
        )
        self.table.verticalHeader().setVisible(False)

        plots = QWidget()
        plots_layout = QVBoxLayout(plots)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.addLayout(bar)
        for widget in self.plot_widgets:
            plots_layout.addWidget(widget, 1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(plots)
        right.addWidget(self.table)
        right.setSizes([640, 300])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.runs)
        main.addWidget(right)
        main.setStretchFactor(1, 1)
        main.setSizes([300, 1200])
        self.setCentralWidget(main)
        self.statusBar().showMessage(f"{len(entries)} runs")

        self._load_checked()
        self._fill_devices()
        self.redraw()

    # -- building -------------------------------------------------------------------------
    def _make_plot(self, title: str, unit: str) -> pg.PlotItem:
        widget = pg.PlotWidget(axisItems={"bottom": ClockAxis("bottom"), "left": DecadeAxis("left")})
        widget.setBackground(theme.BACKGROUND)
        plot = widget.getPlotItem()
        plot.setTitle(title, size=f"{int(10 * theme.font_settings().scale)}pt")
        plot.setLabel("left", unit)
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        plot.hideButtons()
        widget.scene().sigMouseMoved.connect(lambda pos, p=plot: self._on_hover(p, pos))
        self.plot_widgets.append(widget)
        return plot

    def _fill_run_list(self) -> None:
        groups: dict[str, QTreeWidgetItem] = {}
        first_of_group: set[str] = set()
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.group] = counts.get(entry.group, 0) + 1
        checked = 0
        self.runs.blockSignals(True)
        for i, entry in enumerate(self.entries):
            if counts[entry.group] > 1:
                parent = groups.get(entry.group)
                if parent is None:
                    parent = groups[entry.group] = QTreeWidgetItem([entry.group])
                    self.runs.addTopLevelItem(parent)
                    parent.setExpanded(True)
                item = QTreeWidgetItem(parent, [entry.label])
            else:
                item = QTreeWidgetItem([entry.label])
                self.runs.addTopLevelItem(item)
            item.setIcon(0, _swatch(self.colors[i]))
            item.setData(0, Qt.ItemDataRole.UserRole, i)
            on = entry.group not in first_of_group and checked < MAX_FIRST_CHECKED
            first_of_group.add(entry.group)
            checked += on
            item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            item.setToolTip(0, entry.group)
            self.items.append(item)
        self.runs.blockSignals(False)

    def checked(self) -> list[int]:
        """Indices of the checked runs that have a trace."""
        return [
            i
            for i, item in enumerate(self.items)
            if item.checkState(0) == Qt.CheckState.Checked and i not in self.errors
        ]

    def set_checked(self, indices: list[int]) -> None:
        self.runs.blockSignals(True)
        for i, item in enumerate(self.items):
            item.setCheckState(0, Qt.CheckState.Checked if i in indices else Qt.CheckState.Unchecked)
        self.runs.blockSignals(False)
        self._load_checked()
        self._fill_devices()
        self.redraw()

    def _load_checked(self) -> None:
        wanted = [
            i
            for i, item in enumerate(self.items)
            if item.checkState(0) == Qt.CheckState.Checked and i not in self.traces and i not in self.errors
        ]
        if not wanted:
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            for n, i in enumerate(wanted):
                self.statusBar().showMessage(f"loading {self.entries[i].label} ({n + 1}/{len(wanted)})…")
                QApplication.processEvents()
                try:
                    self.traces[i] = self.entries[i].load_trace()
                except (SpecError, TraceError, OSError) as exc:
                    self.errors[i] = str(exc)
                    self.items[i].setText(0, f"{self.entries[i].label} (no trace)")
                    self.items[i].setToolTip(0, str(exc))
        finally:
            QApplication.restoreOverrideCursor()
        message = f"{len(self.entries)} runs, {len(self.checked())} shown"
        if self.errors:
            message += f"; {len(self.errors)} without a trace (hover for why)"
        self.statusBar().showMessage(message)

    def _fill_devices(self) -> None:
        names: dict[str, None] = {}
        for trace in self.traces.values():
            for name in trace.meta.get("devices", {}):
                names.setdefault(name, None)
        current = self.device or self.device_box.currentText()
        self.device_box.blockSignals(True)
        self.device_box.clear()
        self.device_box.addItems(list(names))
        if current in names:
            self.device_box.setCurrentText(current)
        elif "watch" in names:
            self.device_box.setCurrentText("watch")
        self.device_box.blockSignals(False)
        self.device = self.device_box.currentText() or None

    # -- reacting -------------------------------------------------------------------------
    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        index = item.data(0, Qt.ItemDataRole.UserRole)
        if index is None:  # a group: (un)check all its runs
            self.runs.blockSignals(True)
            for k in range(item.childCount()):
                item.child(k).setCheckState(0, item.checkState(0))
            self.runs.blockSignals(False)
        self._load_checked()
        self._fill_devices()
        self.redraw()

    def _on_device_changed(self, name: str) -> None:
        self.device = name or None
        self.redraw()

    def _series(self, i: int) -> DeviceSeries | None:
        if self.device is None or i not in self.traces:
            return None
        key = (i, self.device)
        if key not in self.series:
            self.series[key] = device_series(self.traces[i], self.device)
        return self.series[key]

    def redraw(self) -> None:
        for curve in self.curves.values():
            curve.getViewBox().removeItem(curve) if curve.getViewBox() else None
        self.curves.clear()
        self.legend.clear()
        end = 1.0
        for i in self.checked():
            s = self._series(i)
            if s is None:
                continue
            end = max(end, self.traces[i].end_time)
            color = QColor(self.colors[i])
            color.setAlpha(LINE_ALPHA)
            pen = pg.mkPen(color, width=2)
            label = self.entries[i].label
            if len(s.battery_t):
                self.curves[(0, i)] = self.plot_battery.plot(s.battery_t, s.battery_pct, pen=pen, name=label)
            if len(s.power_t):
                self.curves[(1, i)] = self.plot_power.plot(s.power_t, s.power_w, pen=pen)
            if len(s.latency_t):
                self.curves[(2, i)] = self.plot_latency.plot(
                    s.latency_t,
                    np.maximum(s.latency_ms, 1e-3),
                    pen=None,
                    symbol="o",
                    symbolSize=5,
                    symbolPen=None,
                    symbolBrush=self.colors[i],
                )
        self.plot_battery.setXRange(0, end, padding=0.01)
        self.plot_battery.enableAutoRange(y=True)
        shown = [self._series(i) for i in self.checked()]
        shown = [s for s in shown if s is not None]
        for plot, values in (
            (self.plot_power, [s.power_w for s in shown]),
            (self.plot_latency, [s.latency_ms for s in shown]),
        ):
            decades = _decades(values)
            if decades is None:
                plot.enableAutoRange(y=True)
            else:
                plot.setYRange(*decades, padding=0.02)
        self._refresh_table()

    def _on_hover(self, plot: pg.PlotItem, pos) -> None:
        box = plot.getViewBox()
        if not box.sceneBoundingRect().contains(pos):
            return
        t = float(box.mapSceneToView(pos).x())
        which = {id(self.plot_battery): 0, id(self.plot_power): 1, id(self.plot_latency): 2}[id(plot)]
        parts = [f"<b>{theme.format_time(t)}</b>"]
        for i in self.checked():
            value = self.value_at(i, which, t)
            if value is not None:
                text = (f"{value:.2f} %", theme.format_power(value), f"{value:.3g} ms")[which]
                parts.append(f"<span style='color:{self.colors[i].name()}'>■</span> {text}")
        self.hover.setText("  ".join(parts))

    def value_at(self, i: int, which: int, t: float) -> float | None:
        """Run ``i``'s plotted value at ``t`` (0 battery %, 1 power W, 2 last latency ms)."""
        s = self._series(i)
        if s is None:
            return None
        x, y = ((s.battery_t, s.battery_pct), (s.power_t, s.power_w), (s.latency_t, s.latency_ms))[which]
        if not len(x) or t < x[0]:
            return None
        if which == 0:
            return float(np.interp(t, x, y))
        return float(y[int(np.searchsorted(x, t, side="right")) - 1])

    def _refresh_table(self) -> None:
        shown = self.checked()
        cols = [Column(self.entries[i].label, self.entries[i].metrics) for i in shown]
        names = compared_metrics(cols, changed=self.only_changed.isChecked()) if cols else []
        headers: list[tuple[str, QColor | None]] = [("metric", None)]
        for n, i in enumerate(shown):
            headers.append((self.entries[i].label, self.colors[i]))
            if n:
                headers.append(("Δ from first", None))
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setRowCount(len(names))
        for col, (text, color) in enumerate(headers):
            item = QTableWidgetItem(text)
            if color is not None:
                item.setForeground(color)
            self.table.setHorizontalHeaderItem(col, item)
        for row, name in enumerate(names):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            first = cols[0].values.get(name)
            col = 1
            for n, c in enumerate(cols):
                value = c.values.get(name)
                self.table.setItem(row, col, self._cell(format_value(value)))
                col += 1
                if n:
                    self.table.setItem(row, col, self._cell(format_delta(first, value)))
                    col += 1
        self.table.resizeColumnsToContents()

    @staticmethod
    def _cell(text: str) -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item


def run_compare_gui(
    paths: list[str],
    device: str | None = None,
    screenshot: str | None = None,
    size: tuple[int, int] = (1500, 950),
) -> int:
    """Open the comparison window on run or sweep folders; with ``screenshot``, save the
    window as PNG and exit. Returns the exit code."""
    from ui.app import _application

    entries = run_entries([Path(p) for p in paths])
    app = _application()
    window = CompareWindow(entries, device)
    window.resize(*size)
    window.show()
    app.processEvents()
    if screenshot:
        export.save_screenshot(window, screenshot)
        print(f"screenshot: {screenshot}")
        window.close()
        return 0
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(run_compare_gui(sys.argv[1:]))
