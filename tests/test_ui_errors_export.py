"""Bad input shows a dialog and the window stays usable; exports write PNG and CSV files."""

from __future__ import annotations

import csv
import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.engine import Simulation
from ui.main_window import MainWindow
from ui.session import Session

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    return w


def test_invalid_scenario_shows_the_field_and_window_stays_usable(window, tmp_path, tiny_scenario):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        tiny_scenario.read_text().replace(
            "position: [-1, 0]", "position: [-1, 0], battery: {capacity_wh: -5}"
        )
    )
    assert not window.open_path(str(bad))
    assert window.error_dialog is not None and window.error_dialog.isVisible()
    assert "capacity_wh" in window.error_dialog.text() and "bad.yaml" in window.error_dialog.text()
    window.error_dialog.close()
    assert window.open_path(str(tiny_scenario))
    assert window.session is not None and "watch" in window.session.index.devices


def test_corrupted_trace_shows_a_dialog(window, qtbot, tmp_path, tiny_scenario):
    sim = Simulation.from_file(tiny_scenario)
    sim.run()
    good = sim.trace.save(tmp_path / "trace.jsonl.gz")
    lines = gzip.open(good, "rt").read().splitlines()
    broken = tmp_path / "broken.jsonl.gz"
    with gzip.open(broken, "wt") as f:
        f.write("\n".join(lines[:5] + ['["message", 1, 2]'] + lines[5:]) + "\n")
    assert window.open_path(str(broken))  # header fine: the damage shows while reading
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=5000)
    assert "line 6" in window.last_error
    garbage = tmp_path / "garbage.jsonl.gz"
    garbage.write_bytes(b"not gzip at all")
    assert not window.open_path(str(garbage))
    assert "cannot read trace" in window.error_dialog.text()
    assert window.open_path(str(good))  # still usable
    window.seek(6 * 3600)
    qtbot.waitUntil(lambda: window.player.t == pytest.approx(6 * 3600), timeout=5000)
    assert window.session.index.n == len(sim.trace)


def test_saved_trace_replays_like_the_live_run(window, qtbot, tmp_path, tiny_scenario):
    sim = Simulation.from_file(tiny_scenario)
    sim.run()
    path = sim.trace.save(tmp_path / "trace.jsonl.gz")
    window.open_path(str(path))
    window.seek(3.2 * 3600)
    qtbot.waitUntil(lambda: window.player.t == pytest.approx(3.2 * 3600), timeout=5000)
    window._refresh_slow()
    assert not window.topology.devices["phone"].on
    assert not window.whatif.rerun.isEnabled()


def test_exports(window, qtbot, tmp_path, tiny_scenario):
    window.open_path(str(tiny_scenario))
    window.seek(2 * 3600)
    qtbot.waitUntil(lambda: window.player.t == pytest.approx(2 * 3600), timeout=10000)
    png = window.export_screenshot(str(tmp_path / "shot.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    window.export_summary(str(tmp_path / "summary.csv"))
    rows = dict(csv.reader(open(tmp_path / "summary.csv")))
    assert rows["scenario"] == "Tiny house" and "devices.watch.energy_j" in rows
    from ui.export import export_trace_csv

    export_trace_csv(window.session.trace, tmp_path / "trace.csv")
    with open(tmp_path / "trace.csv") as f:
        trace_rows = list(csv.DictReader(f))
    assert {"link", "narration", "power"} <= {r["record"] for r in trace_rows}


def test_background_run_matches_the_live_run(qtbot, tiny_scenario):
    from ui.session import RunSpec

    session = Session.from_spec(RunSpec(scenario_file=str(tiny_scenario)))
    session.start_background()
    assert session.background_running

    def done():
        session.pump(10.0, 0.01)
        return session.finished

    qtbot.waitUntil(done, timeout=60000)
    direct = Simulation.from_file(tiny_scenario)
    direct.run()
    assert session.trace.records == direct.trace.records
    assert session.summary()["scenario"] == "Tiny house"
    session.close()


def test_cli_plays_and_saves_a_screenshot(tmp_path, tiny_scenario):
    shot = tmp_path / "gui.png"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "gui",
            "--scenario",
            str(tiny_scenario),
            "--play",
            "1.5",
            "--speed",
            "3000",
            "--screenshot",
            str(shot),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 10_000


def test_cli_with_a_bad_scenario_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "gui", "--scenario", str(bad), "--play", "0.2"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 2
    assert "bad.yaml" in result.stderr
