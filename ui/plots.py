"""Plots over simulated time: battery state of charge, power per device, inference latency.

Uses the measured fast pyqtgraph pattern (shared REFERENCE.md): one curve item per device
kind (its colour) with NaN separators between devices and ``connect="finite"``, 1-px pens,
fixed x range, ``skipFiniteCheck``, clip-to-view and peak downsampling; refreshed at about
10 Hz by the window, with the playhead cursor. The selected device gets one thicker curve.
Above :data:`ui.fleet.FLEET_DEVICES` devices each plot draws, per device kind, its median
and 10–90 % band instead (:mod:`ui.fleet`), with a legend by kind; the selected device is
still drawn alone on top.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from ui import fleet, theme
from ui.timeline import CLOCK_STEPS_S, clock_step
from ui.trace_index import TraceIndex
from ui.views import IndexView

pg.setConfigOptions(antialias=False, background=theme.BACKGROUND, foreground=theme.TEXT)
TICK_SPACING_PX = 90  # about one labelled tick per this many pixels (labels like "d2 18:00" fit)
MIN_POWER_W = 1e-4
MIN_LATENCY_MS = 1e-3
BAND_ALPHA = 70  # of 255: the bands of two kinds stay readable where they overlap
TITLES = ("Battery", "Power", "Inference latency")
FLEET_TITLES = ("Battery", "Power (each device's mean per bin)", "Inference latency")


class TimeAxis(pg.AxisItem):
    """Simulated seconds shown as clock time (hh:mm, with the day after 24 h), ticked at
    round instants: whole hours, 10 minutes… (pyqtgraph's own spacing gave 05:33, 11:06)."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph API)
        span = maxVal - minVal
        if span <= 0 or size <= 0:
            return super().tickSpacing(minVal, maxVal, size)
        major = clock_step(span * TICK_SPACING_PX / size)
        minor = next((s for s in reversed(CLOCK_STEPS_S) if s < major and major % s == 0), major)
        return [(major, 0.0), (float(minor), 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        out = []
        for v in values:
            v = max(0.0, float(v))
            day, rem = divmod(int(round(v)), 86400)
            h, rem = divmod(rem, 3600)
            m, s = divmod(rem, 60)
            clock = f"{h:02d}:{m:02d}" if spacing >= 60 else f"{h:02d}:{m:02d}:{s:02d}"
            out.append(f"d{day + 1} {clock}" if day else clock)
        return out


def _kind_pen(kind: str, width: float = 1.0) -> pg.mkPen:
    return pg.mkPen(theme.device_color(kind), width=width)


class _Cache:
    """numpy copies of growing per-device lists, rebuilt only when they grew."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], tuple[int, np.ndarray, np.ndarray]] = {}

    def get(self, key: tuple[str, str], xs: list[float], ys: list[float]) -> tuple[np.ndarray, np.ndarray]:
        n = len(xs)
        hit = self._data.get(key)
        if hit is not None and hit[0] == n:
            return hit[1], hit[2]
        x = np.asarray(xs[:n], dtype=float)
        y = np.asarray(ys[:n], dtype=float)
        self._data[key] = (n, x, y)
        return x, y


def _join(parts_x: list[np.ndarray], parts_y: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if not parts_x:
        return np.zeros(0), np.zeros(0)
    nan = np.array([np.nan])
    xs, ys = [], []
    for x, y in zip(parts_x, parts_y, strict=True):
        xs += [x, nan]
        ys += [y, nan]
    return np.concatenate(xs), np.concatenate(ys)


class PlotsPanel(IndexView, QWidget):
    """Three stacked plots sharing the time axis; ``seek_requested(t)`` on a click.

    Each plot is its own widget so the window can refresh them on different frames: a
    repaint then costs one plot, not three.
    """

    seek_requested = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.widgets: list[pg.PlotWidget] = []
        self.index: TraceIndex | None = None
        self.selected: str | None = None
        self._cache = _Cache()
        self._curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._highlight: dict[str, pg.PlotDataItem] = {}
        self._bands: dict[tuple[str, str], tuple[pg.BarGraphItem, pg.PlotDataItem]] = {}
        self.fleet = False  # per kind aggregates instead of one line per device
        # the kinds' legend, shown with the aggregates: a strip above the plots, not over them
        self.legend = QLabel("")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend.setContentsMargins(6, 2, 6, 2)
        self.legend.setToolTip(
            f"More than {fleet.FLEET_DEVICES} devices: per device kind (× how many), the median over its devices "
            f"(line) and {fleet.BAND_PERCENT[0]:g}–{fleet.BAND_PERCENT[1]:g} % of them (band), in "
            f"{fleet.BINS} bins over the run. Select a device (topology or inspector) to draw it alone, in black."
        )
        self.legend.hide()
        layout.addWidget(self.legend)
        self.cursors: list[pg.InfiniteLine] = []
        self.plot_soc = self._make_plot(0, TITLES[0], "%")
        self.plot_power = self._make_plot(1, TITLES[1], "W")
        self.plot_latency = self._make_plot(2, TITLES[2], "ms")
        self.plot_power.setLogMode(y=True)
        self.plot_latency.setLogMode(y=True)
        # fixed ranges: the axes never re-layout while playing (log10 units on log plots)
        self.plot_soc.setYRange(0, 100, padding=0.02)
        self.plot_power.setYRange(-4, 2.3, padding=0.0)
        self.plot_latency.setYRange(-2, 4, padding=0.0)
        for p in (self.plot_soc, self.plot_power, self.plot_latency):
            p.enableAutoRange(y=False)
        for p in (self.plot_power, self.plot_latency):
            p.setXLink(self.plot_soc)
        self.plot_soc.setToolTip("Battery state of charge (%), from the trace's battery samples")
        self.plot_power.setToolTip(
            "Power drawn per device (W, log scale): the profile's watts per power state"
        )
        self.plot_latency.setToolTip(
            "Simulated on-device inference latency (ms, log scale), estimated from the ModelCard"
        )
        self._last_key: dict[int, tuple] = {}
        self._kinds_version = -1

    def _make_plot(self, row: int, title: str, unit: str) -> pg.PlotItem:
        widget = pg.PlotWidget(axisItems={"bottom": TimeAxis("bottom")})
        widget.scene().sigMouseClicked.connect(self._on_click)
        self.layout().addWidget(widget)
        self.widgets.append(widget)
        plot = widget.getPlotItem()
        self._set_title(plot, title)
        plot.setLabel("left", unit)
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.getAxis("left").setStyle(maxTextLevel=1)
        for name in ("left", "bottom"):
            # axes change only when a range does: blit them from a cache instead of replaying
            # their drawing at every cursor move (measured: most of a plot repaint)
            plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.PLAYHEAD_COLOR, width=1))
        plot.addItem(cursor, ignoreBounds=True)
        self.cursors.append(cursor)
        return plot

    @staticmethod
    def _set_title(plot: pg.PlotItem, title: str) -> None:
        plot.setTitle(title, size=f"{int(10 * theme.font_settings().scale)}pt")

    @property
    def plots(self) -> tuple[pg.PlotItem, pg.PlotItem, pg.PlotItem]:
        return (self.plot_soc, self.plot_power, self.plot_latency)

    def set_index(self, index: TraceIndex | None) -> None:
        bands = [item for pair in self._bands.values() for item in pair]
        for item in list(self._curves.values()) + list(self._highlight.values()) + bands:
            item.getViewBox().removeItem(item) if item.getViewBox() else None
        self._curves.clear()
        self._highlight.clear()
        self._bands.clear()
        self._set_fleet(False)
        self._cache = _Cache()
        self._last_key = {}
        self.index = index
        if index is None:
            return
        duration = max(1.0, index.duration_s)
        self.plot_soc.setXRange(0, duration, padding=0.0)
        self._kinds_version = -1
        self._ensure_curves()
        for plot_name, plot in (("soc", self.plot_soc), ("power", self.plot_power)):
            curve = pg.PlotDataItem(pen=pg.mkPen("#000000", width=2.5), connect="finite")
            curve.setZValue(10)  # over the bands of kinds that join later
            plot.addItem(curve)
            self._highlight[plot_name] = curve

    def _ensure_curves(self) -> None:
        """One curve per device kind and plot, also for kinds of devices that joined later."""
        index = self.index
        if index.devices_version == self._kinds_version:
            return
        self._kinds_version = index.devices_version
        self._set_fleet(len(index.devices) > fleet.FLEET_DEVICES)
        kinds = sorted({d.kind for d in index.devices.values()})
        for kind in kinds:
            if self.fleet and ("soc", kind) not in self._bands:
                self._add_bands(kind)
        if self.fleet:
            self.legend.setText(self._legend_text(kinds))
        for kind in kinds:
            if ("soc", kind) in self._curves:
                continue
            for plot_name, plot in (
                ("soc", self.plot_soc),
                ("power", self.plot_power),
                ("lat", self.plot_latency),
            ):
                if plot_name == "lat":
                    curve = pg.PlotDataItem(
                        pen=None,
                        symbol="o",
                        symbolSize=4,
                        symbolPen=None,
                        symbolBrush=theme.device_color(kind),
                    )
                else:
                    curve = pg.PlotDataItem(pen=_kind_pen(kind), connect="finite")
                curve.setClipToView(True)
                curve.setDownsampling(auto=True, method="peak")
                curve.setVisible(not self.fleet)
                plot.addItem(curve)
                self._curves[(plot_name, kind)] = curve

    def _set_fleet(self, on: bool) -> None:
        """Switch between one line per device and the per-kind aggregates (a growing trace
        can cross the threshold while it plays)."""
        if on == self.fleet:
            return
        self.fleet = on
        self._last_key = {}
        for curve in self._curves.values():
            curve.setVisible(not on)
        for pair in self._bands.values():
            for item in pair:
                item.setVisible(on)
        for plot, title in zip(self.plots, FLEET_TITLES if on else TITLES, strict=True):
            self._set_title(plot, title)
        self.legend.setVisible(on)
        if on and "lat" not in self._highlight:
            dots = pg.PlotDataItem(pen=None, symbol="o", symbolSize=6, symbolPen=None, symbolBrush="#000000")
            dots.setZValue(10)
            self.plot_latency.addItem(dots)
            self._highlight["lat"] = dots

    def _legend_text(self, kinds: list[str]) -> str:
        entries = []
        for kind in kinds:
            count = sum(1 for d in self.index.devices.values() if d.kind == kind)
            colour = theme.device_color(kind).name()
            entries.append(f'<span style="color:{colour}">■</span>&nbsp;{kind}&nbsp;×{count}')
        low, high = fleet.BAND_PERCENT
        return (
            f'<span style="color:{theme.MUTED_TEXT}">median, {low:g}–{high:g} %:</span> &nbsp;'
            + " &nbsp;".join(entries)
        )

    def _add_bands(self, kind: str) -> None:
        """A kind's band (bars from its low to its high percentile per bin) and median line
        in each plot."""
        fill = theme.device_color(kind)
        fill.setAlpha(BAND_ALPHA)
        for plot_name, plot in zip(("soc", "power", "lat"), self.plots, strict=True):
            bars = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], pen=pg.mkPen(None), brush=fill)
            if plot_name == "lat":
                # a kind's inferences come in bursts: a line would skip its lone bins
                median = pg.PlotDataItem(
                    pen=None, symbol="o", symbolSize=5, symbolPen=None, symbolBrush=theme.device_color(kind)
                )
            else:
                median = pg.PlotDataItem(pen=_kind_pen(kind, 2.0), connect="finite")
            plot.addItem(bars)
            plot.addItem(median)
            self._bands[(plot_name, kind)] = (bars, median)

    def set_duration(self, duration_s: float) -> None:
        self.plot_soc.setXRange(0, max(1.0, duration_s), padding=0.0)

    def select(self, name: str | None) -> None:
        self.selected = name
        self._last_key = {}

    def _on_click(self, event) -> None:
        for plot in (self.plot_soc, self.plot_power, self.plot_latency):
            vb = plot.getViewBox()
            if vb.sceneBoundingRect().contains(event.scenePos()):
                self.seek_requested.emit(float(vb.mapSceneToView(event.scenePos()).x()))
                return

    def _soc_segment(self, name: str, t: float) -> tuple[np.ndarray, np.ndarray] | None:
        cols = self.index.devices[name]
        if cols.capacity_wh is None or not cols.battery_t:
            return None  # mains powered, or not in the home yet
        x, y = self._cache.get((name, "soc"), cols.battery_t, cols.battery_soc)
        cut = int(np.searchsorted(x, t, side="right"))
        soc_now = cols.soc_at(t)
        xs = np.append(x[:cut], t)
        ys = np.append(y[:cut], soc_now if soc_now is not None else np.nan) * 100.0
        return xs, ys

    def _power_segment(self, name: str, t: float) -> tuple[np.ndarray, np.ndarray] | None:
        cols = self.index.devices[name]
        x, y = self._cache.get((name, "power"), cols.power_t, cols.power_w)
        cut = int(np.searchsorted(x, t, side="right"))
        if cut == 0:
            return None
        xs = np.empty(2 * cut)
        ys = np.empty(2 * cut)
        xs[0::2] = x[:cut]
        xs[1:-1:2] = x[1:cut]
        xs[-1] = t
        ys[0::2] = y[:cut]
        ys[1::2] = y[:cut]
        return xs, np.maximum(ys, MIN_POWER_W)

    def _latency_points(self, name: str, t: float, last: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A device's inferences that ended by ``t`` (the ``last`` few): end times, latency ms."""
        cols = self.index.devices[name]
        if not cols.infer_t:
            return np.zeros(0), np.zeros(0)
        start, end = self._cache.get((name, "infer"), cols.infer_t, cols.infer_end)
        cut = int(np.searchsorted(end, t, side="right"))
        lo = 0 if last is None else max(0, cut - last)
        return end[lo:cut], np.maximum(MIN_LATENCY_MS, (end[lo:cut] - start[lo:cut]) * 1000.0)

    def _refresh_fleet(self, plot_name: str, by_kind: dict[str, list[str]], t: float) -> None:
        """Each kind's median and 10–90 % band in one plot, binned up to ``t``."""
        edges = fleet.bin_edges(self.index.duration_s, t)
        bins = max(0, len(edges) - 1)
        mids = fleet.centres(edges) if bins else np.zeros(0)
        log_y = plot_name != "soc"
        for kind, names in by_kind.items():
            pair = self._bands.get((plot_name, kind))
            if pair is None:
                continue
            low, median, high = self._kind_band(plot_name, names, edges, mids, t)
            bars, line = pair
            shown = np.isfinite(low) & np.isfinite(high)
            y0, y1 = (np.log10(low[shown]), np.log10(high[shown])) if log_y else (low[shown], high[shown])
            bars.setOpts(x0=edges[:-1][shown], x1=edges[1:][shown], y0=y0, y1=y1)
            if plot_name == "lat":
                keep = np.isfinite(median)
                line.setData(mids[keep], median[keep], skipFiniteCheck=True)
            else:
                line.setData(mids, median, connect="finite", skipFiniteCheck=True)

    def _kind_band(
        self, plot_name: str, names: list[str], edges: np.ndarray, mids: np.ndarray, t: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        bins = len(mids)
        if bins == 0:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        if plot_name == "lat":
            points = [self._latency_points(n, t) for n in names]
            ends = np.concatenate([p[0] for p in points]) if points else np.zeros(0)
            values = np.concatenate([p[1] for p in points]) if points else np.zeros(0)
            bin_of = np.searchsorted(edges, ends, side="right") - 1
            return fleet.band(np.minimum(bin_of, bins - 1), values, bins)
        per_device = []
        for name in names:
            cols = self.index.devices[name]
            if plot_name == "soc":
                segment = self._soc_segment(name, t)
                if segment is not None:
                    per_device.append(fleet.sample_at(mids, *segment))
            elif cols.power_t:
                x, y = self._cache.get((name, "power"), cols.power_t, cols.power_w)
                cut = int(np.searchsorted(x, t, side="right"))
                mean = fleet.mean_power_w(edges, x[:cut], y[:cut])
                per_device.append(np.maximum(mean, MIN_POWER_W))
        return fleet.band_over_devices(per_device, bins)

    def show_time(self, t: float, which: int | None = None) -> None:
        """Redraw plot ``which`` (0 battery, 1 power, 2 latency; None: all) up to ``t``."""
        for k in (0, 1, 2) if which is None else (which,):
            self._refresh_one(k, t)

    def _refresh_one(self, which: int, t: float) -> None:
        self.cursors[which].setValue(t)
        index = self.index
        if index is None:
            return
        key = (index.version, round(t, 3), self.selected)
        if self._last_key.get(which) == key:
            return
        self._last_key[which] = key
        self._ensure_curves()
        by_kind: dict[str, list[str]] = {}
        for name, cols in index.devices.items():
            by_kind.setdefault(cols.kind, []).append(name)
        plot_name = ("soc", "power", "lat")[which]
        seg = {"soc": self._soc_segment, "power": self._power_segment}.get(plot_name)
        if self.fleet:
            self._refresh_fleet(plot_name, by_kind, t)
        for kind, names in by_kind.items():
            curve = self._curves.get((plot_name, kind))
            if curve is None or self.fleet:
                continue
            if seg is not None:
                parts = [s for s in (seg(n, t) for n in names) if s is not None and len(s[0])]
                xs, ys = _join([p[0] for p in parts], [p[1] for p in parts])
                curve.setData(xs, ys, connect="finite", skipFiniteCheck=True)
                continue
            points = [self._latency_points(n, t, last=3000) for n in names]  # plenty for a scatter
            points = [p for p in points if len(p[0])]
            if points:
                curve.setData(
                    np.concatenate([p[0] for p in points]),
                    np.concatenate([p[1] for p in points]),
                    skipFiniteCheck=True,
                )
            else:
                curve.setData([], [])
        if plot_name == "lat" and self.fleet:
            dots = self._highlight["lat"]
            if self.selected in index.devices:
                dots.setData(*self._latency_points(self.selected, t), skipFiniteCheck=True)
            else:
                dots.setData([], [])
        if seg is not None:
            curve = self._highlight[plot_name]
            s = seg(self.selected, t) if self.selected in index.devices else None
            if s is None:
                curve.setData([], [])
            else:
                curve.setData(s[0], s[1], connect="finite", skipFiniteCheck=True)
