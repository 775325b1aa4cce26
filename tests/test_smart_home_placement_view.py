"""Placement in the GUI: the chain view draws which layers of a placed stage ran on which
device, and the what-if switches a stage's placement policy, re-runs with the same seed and
compares before → after."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor

from simulator.apps.smart_home import ChainStage, Placed
from simulator.engine import Simulation
from simulator.validate import read_yaml
from ui import theme
from ui.apps.smart_home import SmartHomePanel, split_text
from ui.main_window import MainWindow
from ui.session import Session
from ui.whatif import placeable_stages

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "smart_home.yaml"
SHORT = {
    "duration": "40min",
    "events": [{"at": "5min", "type": "device_join", "device": "doorbell", "reason": "installed"}],
    "apps.home.params.pets_per_hour": 6.0,
}


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HOMETWIN_CACHE", str(tmp_path))


def _runs(rgb: list[tuple[int, int, int]], color: QColor) -> list[tuple[int, int]]:
    """(start, length) of the runs of ``color`` in a row of pixels."""
    target = (color.red(), color.green(), color.blue())
    out, start = [], None
    for x, pixel in enumerate([*rgb, None]):
        if pixel == target and start is None:
            start = x
        elif pixel != target and start is not None:
            out.append((start, x - start))
            start = None
    return out


def test_the_chain_view_draws_which_layers_ran_where(qtbot):
    placement = {"policy": "split", "to": "hub", "split": 4}
    overrides = {**SHORT, "apps.home.params.chains.indoor.stages.0.placement": placement}
    sim = Simulation.from_file(SCENARIO, overrides=overrides).run()
    session = Session.from_trace(sim.trace)
    assert session.index.update()
    panel = SmartHomePanel()
    qtbot.addWidget(panel)
    panel.resize(900, 1100)
    panel.show()
    panel.set_session(session, "home")
    run = next(r for r in sim.trace.of(ChainStage) if r.chain == "indoor" and r.stage == "detect" and r.run)
    panel.refresh(run.t + 0.5)
    placed = panel.view.placed_for(run)
    assert placed is not None and (placed.split, placed.tail_device) == (4, "hub")
    assert split_text(placed) == "L0–4 camera | L4–9 hub"
    image = panel.view.grab().toImage()
    camera, hub = theme.device_color("camera"), theme.device_color("hub")
    found = []
    for y in range(image.height()):
        row = [
            (c.red(), c.green(), c.blue()) for c in (QColor(image.pixel(x, y)) for x in range(image.width()))
        ]
        heads, tails = _runs(row, camera), _runs(row, hub)
        for x0, head_w in heads:
            after = [w for x, w in tails if 0 <= x - (x0 + head_w) <= 4]  # the split tick between
            if after and head_w > 20:
                found.append((head_w, after[0]))
    assert found, "no camera | hub layer bar in the chain view"
    head_w, tail_w = found[0]
    assert head_w / (head_w + tail_w) == pytest.approx(4 / 9, abs=0.05)  # layers 0-4 of 9


def test_split_text_says_where_every_layer_ran():
    base = dict(t=1.0, app="home", request=1, source="doorbell", sink="hub", model="camera_detector")
    rest = dict(variant="int8", policy="p", target="hub", n_layers=9, boundary="int8", sent_bytes=0,
                start_t=0.9, latency_s=0.1, deadline_s=0.2, met=True, status="ok", battery_j=0.0, label="x")  # fmt: skip
    assert split_text(Placed(**base, **rest, split=9, tail_device="doorbell")) == "L0–9 doorbell"
    assert split_text(Placed(**base, **rest, split=0, tail_device="hub")) == "input → hub (L0–9)"


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    raw = read_yaml(SCENARIO)
    raw["duration"] = SHORT["duration"]
    raw["events"] = SHORT["events"]
    assert w.open_scenario_dict(raw)
    return w


def test_whatif_switches_a_stages_policy_and_compares_before_and_after(window, qtbot):
    stages = placeable_stages(window.session.trace.meta)
    assert ("home", "doorbell", 0) in [s[:3] for s in stages]
    assert not [s for s in stages if s[1] == "clip_index"]  # a timer batch is not placed
    t = 30 * 60.0
    window.seek(t)
    qtbot.waitUntil(lambda: window.session.frontier() >= t, timeout=60000)
    window.whatif.app_boxes["home"].set_placement("indoor", 0, "offload", "hub")
    assert window.whatif.overrides == {
        "apps.home.params.chains.indoor.stages.0.placement": {
            "policy": "offload",
            "boundary": "int8",
            "to": "hub",
        }
    }
    window.whatif._emit_rerun()
    qtbot.waitUntil(lambda: bool(getattr(window, "last_comparison", None)), timeout=60000)
    text = window.last_comparison
    assert "placed inferences offloaded: – → 100 %" in text, text
    assert "security model stages' latency p95" in text
    placed = [r for r in window.session.trace.records if type(r) is Placed]
    assert placed and {(r.policy, r.split, r.tail_device) for r in placed} == {("offload", 0, "hub")}
    assert window.session.trace.meta["seed"] == 11  # the scenario's seed, as before the edit
