"""Readable at any device count: the topology's level of detail and label layout, the
timeline's grouped lanes, and the clock's "of …" text. Hand-built traces, no simulator."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from PySide6.QtCore import QPointF

from simulator.profiles import load_profile
from simulator.trace import BatterySample, Inference, Message, ModelDeployed, PowerState, Trace
from ui import theme
from ui.main_window import MainWindow
from ui.session import Session
from ui.timeline import TimelineView
from ui.topology import COMPACT_GLYPH, DENSE_BADGE_TEXTS, TopologyView, detail_for
from ui.trace_index import TraceIndex

ROOT = Path(__file__).resolve().parents[1]
VIEW_SIZE = (580, 430)  # the topology's size in the 1600 × 1000 window


def _trace(devices: dict[str, tuple[str, list[float]]], links: list[tuple[str, str, str]], hours=24.0):
    """A trace of ``devices`` (name → (kind, position)) idling, batteries full."""
    battery = {"watch", "phone"}
    meta_devices = {
        name: {"kind": kind, "capacity_wh": 1.0 if kind in battery else None, "position": pos, "models": []}
        for name, (kind, pos) in devices.items()
    }
    meta_links = {f"{a}-{b}": {"type": t, "a": a, "b": b} for a, b, t in links}
    trace = Trace(
        {"scenario": "density", "sim_time_s": hours * 3600, "devices": meta_devices, "links": meta_links}
    )
    for name, (kind, _) in devices.items():
        trace.append(PowerState(0.0, name, "idle", 0.05))
        if kind in battery:
            trace.append(BatterySample(0.0, name, 1.0, 0.0))
    return trace


def _homes(n_homes: int) -> tuple[dict, list]:
    """The federated layout: homes (a phone and its watch) in a sunflower disc round a cloud."""
    devices = {"cloud": ("cloud", [0.0, 0.0])}
    links = []
    golden = math.pi * (3 - math.sqrt(5))
    for k in range(n_homes):
        radius, angle = 2.0 + 0.8 * math.sqrt(k), k * golden
        at = [radius * math.cos(angle), radius * math.sin(angle)]
        out = [(radius + 0.45) * math.cos(angle), (radius + 0.45) * math.sin(angle)]
        devices[f"phone{k:02d}"] = ("phone", at)
        devices[f"watch{k:02d}"] = ("watch", out)
        links += [(f"watch{k:02d}", f"phone{k:02d}", "ble"), (f"phone{k:02d}", "cloud", "wan")]
    return devices, links


def _scenario_devices(path: str) -> tuple[dict, list]:
    spec = yaml.safe_load((ROOT / path).read_text())
    devices = {d["name"]: (load_profile(d["profile"]).kind, d["position"]) for d in spec["devices"]}
    links = [(ln["a"], ln["b"], ln["type"]) for ln in spec.get("links", [])]
    return devices, links


def _topology(qtbot, trace: Trace, t: float = 60.0, speed: float = 1.0) -> TopologyView:
    index = TraceIndex(trace)
    index.update()
    view = TopologyView()
    qtbot.addWidget(view)
    view.resize(*VIEW_SIZE)
    view.show()
    qtbot.waitExposed(view)
    view.set_index(index)
    view.speed = speed  # badges last 1.5 wall seconds at this speed
    view.show_time(t)
    return view


def _text_rects(view: TopologyView) -> list:
    """Every name label and badge text drawn, in view pixels."""
    to_view = view.viewportTransform()
    rects = []
    for item in view.devices.values():
        c = to_view.map(item.pos())
        if item.labelled or item.emphasised:
            rects.append((item.name, item.label_rect().translated(c)))
        if item.badge is not None and (item.badge_shown or item.emphasised):
            rects.append((item.name, item.badge_rect().translated(c)))
    return rects


def test_the_level_of_detail_follows_the_space_per_device(qtbot):
    health = _topology(qtbot, _trace(*_scenario_devices("scenarios/health_escalation.yaml")))
    assert health.detail.level == "full"
    home = _topology(qtbot, _trace(*_scenario_devices("scenarios/smart_home.yaml")))
    assert home.detail.level == "compact"
    # the smart home keeps every name, as it did before levels of detail existed
    assert all(item.labelled for item in home.devices.values())
    crowd = _topology(qtbot, _trace(*_homes(50)))
    assert crowd.detail.level == "dense"
    glyphs = [item.detail.glyph_px for item in crowd.devices.values()]
    assert max(glyphs) <= COMPACT_GLYPH and min(glyphs) < COMPACT_GLYPH / 2
    assert crowd.devices["cloud"].detail.glyph_px > crowd.devices["watch07"].detail.glyph_px  # more room
    labelled = [item.name for item in crowd.devices.values() if item.labelled]
    assert 0 < len(labelled) < len(crowd.devices) / 2  # names only where they fit
    assert all(not link.labelled or link.dense for link in crowd.links.values())
    assert all(link.dense for link in crowd.links.values())  # thin and unlabelled, still drawn
    assert all(link.isVisible() for link in crowd.links.values())


def test_detail_for_spacing_thresholds():
    import numpy as np

    assert detail_for(np.array([200.0, 300.0])).level == "full"
    assert detail_for(np.array([60.0, 90.0, 90.0])).level == "compact"
    small = detail_for(np.array([12.0] * 20))
    assert small.level == "dense" and small.glyph_px < COMPACT_GLYPH


def test_dense_labels_never_overlap_and_the_selected_device_gets_a_card(qtbot):
    devices, links = _homes(50)
    trace = _trace(devices, links)
    for k in range(0, 40, 2):  # twenty devices lit by a badge, newest last
        trace.append(
            ModelDeployed(
                10.0 + k, f"watch{k:02d}", "gesture_imu", "fp32", "1", 1, "on-device", "", "", "test"
            )
        )
    view = _topology(qtbot, trace, speed=100.0)
    rects = _text_rects(view)
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1 :]:
            assert a == b or not ra.intersects(rb), f"{a} and {b} overlap"
    lit = [item for item in view.devices.values() if item.badge is not None]
    assert len(lit) == 20
    with_text = [item.name for item in lit if item.badge_shown]
    assert 0 < len(with_text) <= DENSE_BADGE_TEXTS
    assert "watch38" in with_text  # the newest badge has the first claim on room
    assert view._legend_ring  # the others are rings, and the legend says so
    watch = view.devices["watch07"]
    assert not watch.labelled
    view.select("watch07")
    assert watch.emphasised and watch.zValue() > max(i.zValue() for i in lit if i is not watch)
    assert watch.label_rect().height() > view.devices["cloud"].label_rect().height()  # name, battery, state
    view.select(None)
    assert not watch.emphasised
    view.set_hovered("phone30")
    assert view.devices["phone30"].emphasised
    view.set_hovered(None)
    assert not view.devices["phone30"].emphasised


def test_a_click_near_a_small_glyph_selects_it(qtbot):
    from PySide6.QtCore import Qt

    view = _topology(qtbot, _trace(*_homes(50)))
    hits = []
    view.device_clicked.connect(hits.append)
    c = view.device_center("phone20")
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=c + QPointF(3, 3).toPoint())
    assert hits == ["phone20"] and view.selected == "phone20"


def _timeline(qtbot, trace: Trace, t: float, height: int = 230) -> TimelineView:
    index = TraceIndex(trace)
    index.update()
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(560, height)
    view.set_index(index)
    view.show_time(t)
    view.grab()  # paints: rows are laid out while painting
    return view


def test_the_timeline_groups_lanes_by_kind_when_too_thin_to_read(qtbot):
    devices, links = _homes(50)
    trace = _trace(devices, links)
    t = 3000.0
    trace.append(Inference(t - 60, "watch03", "gesture_imu", "fp32", 1, t - 59.9, 0.001, "still", 0.9))
    trace.append(
        Message(t - 50, "phone03", "cloud", "phone03-cloud", "fl_update", 6800, t - 49, "delivered", 1, 1)
    )
    view = _timeline(qtbot, trace, t)
    assert [r.label for r in view.rows] == ["watch ×50", "phone ×50", "cloud"]
    assert len(view.lanes) == 101
    assert view.active == {"watch03", "phone03", "cloud"}
    view.select("watch07")
    view.grab()
    assert [r.label for r in view.rows] == ["watch ×49", "watch07", "phone ×50", "cloud"]
    assert view.rows[1].members == ("watch07",)
    # a few devices: one readable lane each, as before
    small = _timeline(qtbot, _trace(*_scenario_devices("scenarios/health_escalation.yaml")), t)
    assert [r.label for r in small.rows] == ["watch", "phone", "cloud"]
    # taller: the same hundred lanes are grouped until each lane can hold its label
    tall = _timeline(qtbot, trace, t, height=int(101 * tall_lane_px(view)) + 40)
    assert len(tall.rows) == 101


def tall_lane_px(view: TimelineView) -> float:
    return view.readable_lane_px() + 0.5


@pytest.mark.parametrize(
    ("duration_s", "expected"),
    [
        (14 * 3600, "of 14:00:00"),
        (86400, "of 24:00:00"),
        (3 * 86400, "of 3 days"),
        (2.25 * 86400, "of 2 d 06:00:00"),
    ],
)
def test_the_clock_reads_the_runs_length_naturally(qtbot, duration_s, expected):
    window = MainWindow()
    qtbot.addWidget(window)
    hours = duration_s / 3600
    window.set_session(Session.from_trace(_trace({"phone": ("phone", [0, 0])}, [], hours=hours)))
    window._refresh_clock(duration_s)
    assert window.state_label.text().startswith(expected)
    assert "d2" not in window.state_label.text()
    end = window.clock.text()
    assert end == ("24:00:00" if duration_s == 86400 else theme.format_clock(duration_s, duration_s))
    if duration_s > 86400:
        window._refresh_clock(86400 + 3723)
        assert window.clock.text() == "d2 01:02:03"
    else:
        window._refresh_clock(3723)
        assert window.clock.text() == "01:02:03"
