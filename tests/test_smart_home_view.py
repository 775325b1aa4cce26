"""The smart home in the GUI: the scenario library lists it, teaching mode pauses at its
narration steps, and the chain view shows every chain and the deploy without scrolling
in the default window."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.apps.smart_home import DeployPlan
from simulator.validate import read_yaml
from ui.main_window import MainWindow

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "smart_home.yaml"


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("HOMETWIN_CACHE", str(tmp_path))
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    raw = read_yaml(SCENARIO)
    raw["duration"] = "25min"  # the evening's first 25 minutes; the doorbell joins at 18:05
    raw["events"] = [{"at": "5min", "type": "device_join", "device": "doorbell", "reason": "installed"}]
    assert w.open_scenario_dict(raw)
    return w


def test_the_library_lists_the_smart_home_night(window):
    library = window.library
    rows = [i for i, path in enumerate(library.paths()) if Path(path).name == "smart_home.yaml"]
    assert rows
    library.list.setCurrentRow(rows[0])
    assert library.list.item(rows[0]).text() == "Smart home night"
    assert "doorbell" in library.description.text()


def test_teaching_mode_pauses_at_the_smart_home_narration(window, qtbot):
    window.set_teaching(True)
    window.player.set_speed(600)
    window.player.play()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=30000)
    assert not window.player.playing
    assert window.player.t == pytest.approx(1.0)
    assert window.banner.text.text().startswith("18:00. The home")
    window.banner.button.click()
    assert window.player.playing
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=30000)
    assert window.player.t > 1.0 and not window.player.playing


def test_chain_view_shows_every_chain_and_the_deploy_without_scrolling(window, qtbot):
    session = window.session
    window.seek(5 * 60 + 0.01)
    qtbot.waitUntil(lambda: session.frontier() >= 5 * 60 + 0.01, timeout=30000)
    assert any(type(r) is DeployPlan for r in session.trace.records)
    panel = window.app_panels["home"]
    panel.refresh(window.player.t)
    qtbot.wait(50)
    view = panel.view
    assert view._deploys_shown() == 1
    assert view.height() >= view.needed_height()  # every stage row drawn inside the panel
    assert not panel.scroll.verticalScrollBar().isVisible()
    assert view.box_height() >= 32


def test_the_clock_follows_the_scenarios_start_clock(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from simulator.engine import Simulation
    from ui.apps.smart_home import clock_label

    monkeypatch.setenv("HOMETWIN_CACHE", str(tmp_path))
    overrides = {"apps.home.params.start_clock": "07:30", "duration": "10min", "events": []}
    sim = Simulation.from_file(SCENARIO, overrides=overrides)
    session = SimpleNamespace(trace=sim.trace)
    assert clock_label(session, "home", 0.0) == "07:30:00"
    assert clock_label(session, "home", 5400.0) == "09:00:00"
