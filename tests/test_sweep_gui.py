"""The comparison window: runs overlaid on the same axes, metrics side by side, a sweep
folder grouped by grid point with traces simulated again on demand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from simulator.sweep import run_sweep
from simulator.sweep.compare import device_series, run_entries
from ui.compare import CompareWindow, run_compare_gui

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "health_escalation.yaml"
GRID = {"apps.health.params.ecg_windows": [3, 6], "duration": ["3h"]}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    root = tmp_path_factory.mktemp("gui_compare")
    run_sweep(SCENARIO, GRID, [1], backend="serial", out=root / "traced", traces=True)
    run_sweep(SCENARIO, GRID, [1, 2], backend="serial", out=root / "bare")
    return root


def _window(qtbot, paths, device=None) -> CompareWindow:
    window = CompareWindow(run_entries(paths), device)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    return window


def test_two_runs_are_overlaid_and_their_metrics_compared(qtbot, sweeps):
    a, b = sorted((sweeps / "traced" / "runs").iterdir())
    window = _window(qtbot, [a, b])
    assert window.device_box.currentText() == "watch"
    assert window.checked() == [0, 1]
    plotted = {(plot, run) for plot, run in window.curves}
    assert plotted == {(p, r) for p in (0, 1, 2) for r in (0, 1)}
    headers = [window.table.horizontalHeaderItem(c).text() for c in range(window.table.columnCount())]
    assert headers == [
        "metric",
        "seed1-ecg_windows=3-duration=3h",
        "seed1-ecg_windows=6-duration=3h",
        "Δ from first",
    ]
    metrics = [window.table.item(r, 0).text() for r in range(window.table.rowCount())]
    row = metrics.index("health.escalation_energy_j.watch_ecg_capture")
    assert window.table.item(row, 3).text().endswith("(+100.0 %)")  # twice the ECG, twice its energy
    # what the hover shows is the run's own battery curve
    series = device_series(window.traces[1], "watch")
    t = 0.5 * series.battery_t[-1]
    assert window.value_at(1, 0, t) == pytest.approx(np.interp(t, series.battery_t, series.battery_pct))
    window.items[0].setCheckState(0, Qt.CheckState.Unchecked)
    assert {run for _, run in window.curves} == {1}
    assert window.table.columnCount() == 2
    window.device_box.setCurrentText("phone")
    assert window.device == "phone" and window.curves


def test_a_sweep_folder_groups_its_runs_and_simulates_traces_on_demand(qtbot, sweeps):
    window = _window(qtbot, [sweeps / "bare"])
    assert window.runs.topLevelItemCount() == 2  # one group per grid point
    assert window.checked() == [0, 2]  # the first seed of each
    assert set(window.traces) == {0, 2}
    group = window.runs.topLevelItem(0)
    group.child(1).setCheckState(0, Qt.CheckState.Checked)
    assert set(window.traces) == {0, 1, 2}
    seeds = [device_series(window.traces[i], "watch").battery_pct[-1] for i in (0, 1)]
    assert seeds[0] != seeds[1]  # two seeds, two days
    assert window.entries[1].metrics["devices.watch.battery_end_pct"] == pytest.approx(seeds[1], abs=1e-3)


def test_compare_screenshot_from_the_command(qtbot, sweeps, tmp_path):
    a, b = sorted((sweeps / "traced" / "runs").iterdir())
    png = tmp_path / "compare.png"
    assert run_compare_gui([str(a), str(b)], screenshot=str(png)) == 0
    assert png.stat().st_size > 20_000
