"""The core plots at fleet size: per device kind a median and a 10–90 % band above
``FLEET_DEVICES`` devices, one line per device at or below it; the selected device is drawn
alone either way. Hand-built traces, no simulator; and the aggregates' arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.trace import BatterySample, Inference, PowerState, Trace
from ui import fleet
from ui.plots import PlotsPanel
from ui.trace_index import TraceIndex

HOURS = 6.0


def _fleet_trace(n_phones: int, n_speakers: int) -> Trace:
    """Phones draining from different charges (phone k at 0.5 + k / (2 n)) and running a
    model every 10 min, speakers on mains idling at 1.5 W with a burst each hour."""
    devices = {f"phone{k:02d}": "phone" for k in range(n_phones)}
    devices |= {f"speaker{k:02d}": "speaker" for k in range(n_speakers)}
    meta = {
        name: {
            "kind": kind,
            "capacity_wh": 10.0 if kind == "phone" else None,
            "position": [k, 0.0],
            "models": [],
        }
        for k, (name, kind) in enumerate(devices.items())
    }
    trace = Trace({"scenario": "fleet", "sim_time_s": HOURS * 3600, "devices": meta, "links": {}})
    for k in range(n_phones):
        name, start = f"phone{k:02d}", 0.5 + k / (2 * n_phones)
        trace.append(PowerState(0.0, name, "idle", 0.1))
        for hour in range(int(HOURS) + 1):
            trace.append(BatterySample(hour * 3600.0, name, start - 0.04 * hour, 0.0))
        for minute in range(0, int(HOURS * 60), 10):
            t = minute * 60.0 + k
            trace.append(Inference(t, name, "m", "int8", 1, t + 0.002 * (1 + k % 5), 0.01, "x", 0.9))
    for k in range(n_speakers):
        name = f"speaker{k:02d}"
        trace.append(PowerState(0.0, name, "idle", 1.5))
        for hour in range(int(HOURS)):
            trace.append(PowerState(hour * 3600.0 + 600.0, name, "busy", 4.0))
            trace.append(PowerState(hour * 3600.0 + 660.0, name, "idle", 1.5))
    trace.records.sort(key=lambda r: r.t)
    return trace


def _plots(qtbot, trace: Trace, t: float, selected: str | None = None) -> PlotsPanel:
    index = TraceIndex(trace)
    index.update()
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(480, 420)
    panel.show()
    panel.set_index(index)
    panel.select(selected)
    panel.show_time(t)
    return panel


def test_above_the_threshold_each_kind_is_a_median_and_a_band(qtbot):
    n_phones, n_speakers = 20, 10
    assert n_phones + n_speakers > fleet.FLEET_DEVICES
    plots = _plots(qtbot, _fleet_trace(n_phones, n_speakers), t=HOURS * 3600)
    assert plots.fleet and plots.legend.isVisible()
    assert "phone&nbsp;×20" in plots.legend.text() and "speaker&nbsp;×10" in plots.legend.text()
    assert not any(curve.isVisible() for curve in plots._curves.values())
    bars, median = plots._bands[("soc", "phone")]
    assert bars.isVisible() and median.isVisible()
    # the phones start at 50..97.5 % and drain alike: at the first bin the band spans most
    # of that spread and the median sits in its middle
    low, high = bars.opts["y0"][0], bars.opts["y1"][0]
    assert 50 < low < 60 < 85 < high < 97.5
    assert np.nanmedian(median.yData[:1]) == pytest.approx((low + high) / 2, abs=3)
    assert ("soc", "speaker") in plots._bands and len(plots._bands[("soc", "speaker")][0].opts["x0"]) == 0
    # speakers: 1.5 W with one 60-s 4 W burst an hour; their mean power per bin holds the burst
    _bars, speaker_power = plots._bands[("power", "speaker")]
    assert 1.5 < np.nanmax(speaker_power.yData) < 4.0
    _bars, latency = plots._bands[("lat", "phone")]
    assert len(latency.yData) > 0 and np.all((latency.yData >= 2.0) & (latency.yData <= 10.0))


def test_the_selected_device_is_drawn_alone_on_the_aggregates(qtbot):
    plots = _plots(qtbot, _fleet_trace(20, 10), t=3 * 3600, selected="phone03")
    soc = plots._highlight["soc"]
    assert soc.isVisible() and soc.xData[-1] == pytest.approx(3 * 3600)
    assert plots._highlight["lat"].xData is not None and len(plots._highlight["lat"].xData) == 18
    plots.select(None)
    plots.show_time(3 * 3600)
    assert plots._highlight["lat"].xData is None or len(plots._highlight["lat"].xData) == 0


def test_at_or_below_the_threshold_one_line_per_device(qtbot):
    plots = _plots(qtbot, _fleet_trace(4, 2), t=HOURS * 3600)
    assert not plots.fleet and not plots.legend.isVisible() and not plots._bands
    curve = plots._curves[("soc", "phone")]
    assert curve.isVisible()
    # four phones: four segments joined by NaN separators, as before the aggregates existed
    assert np.isnan(curve.yData).sum() == 4
    assert [plot.titleLabel.text for plot in plots.plots] == ["Battery", "Power", "Inference latency"]


def test_mean_power_per_bin_conserves_energy():
    change_t = np.array([0.0, 10.0, 12.0, 100.0])
    power_w = np.array([1.0, 5.0, 1.0, 0.5])
    edges = np.array([0.0, 7.0, 11.0, 50.0, 150.0])
    mean = fleet.mean_power_w(edges, change_t, power_w)
    energy_j = 10 * 1.0 + 2 * 5.0 + 88 * 1.0 + 50 * 0.5
    assert float(np.sum(mean * np.diff(edges))) == pytest.approx(energy_j)
    assert mean[1] == pytest.approx((3 * 1.0 + 1 * 5.0) / 4)
    assert np.isnan(fleet.mean_power_w(np.array([-5.0, 5.0]), change_t, power_w)[0])  # before it started


def test_band_is_numpys_percentiles_per_bin():
    rng = np.random.default_rng(3)
    bin_of = rng.integers(0, 5, size=400)
    values = rng.lognormal(size=400)
    values[::37] = np.nan
    low, median, high = fleet.band(bin_of, values, 6)
    for b in range(5):
        mine = values[(bin_of == b) & np.isfinite(values)]
        assert low[b] == pytest.approx(np.percentile(mine, 10))
        assert median[b] == pytest.approx(np.percentile(mine, 50))
        assert high[b] == pytest.approx(np.percentile(mine, 90))
    assert np.isnan(median[5])  # an empty bin
