"""A trace that grows: devices and models appear and disappear as the run plays and when
seeking backwards; the inspector's manifest; a what-if added device; deploy dots."""

from __future__ import annotations

import pytest

from simulator.trace import (
    BatterySample,
    DeviceJoined,
    DeviceLeft,
    Message,
    ModelDeployed,
    ModelRemoved,
    PowerState,
    Trace,
)
from ui import theme
from ui.main_window import MainWindow
from ui.session import Session
from ui.trace_index import TraceIndex

GROWING = {
    "name": "Growing house",
    "description": "A speaker joins at 1 h and leaves at 3 h.",
    "duration": "4h",
    "seed": 5,
    "devices": [
        {"name": "watch", "profile": "smartwatch", "position": [-1, 0], "models": {"hr_screener": "fp32"}},
        {"name": "phone", "profile": "phone", "position": [0, 0]},
        {"name": "cloud", "profile": "cloud", "position": [1, 0]},
        {
            "name": "speaker",
            "profile": "speaker",
            "position": [0, 1],
            "models": {"keyword_spotter": "ptq-entropy"},
        },
    ],
    "links": [
        {"name": "watch-phone", "type": "ble", "a": "watch", "b": "phone"},
        {"name": "phone-cloud", "type": "wan", "a": "phone", "b": "cloud"},
        {"name": "speaker-phone", "type": "wifi", "a": "speaker", "b": "phone"},
    ],
    "events": [
        {"at": "1h", "type": "device_join", "device": "speaker", "reason": "a guest arrives"},
        {"at": "3h", "type": "device_leave", "device": "speaker", "reason": "the guest leaves"},
    ],
}
H = 3600.0


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    return w


def _go(window, qtbot, t):
    window.seek(t)
    qtbot.waitUntil(lambda: window.player.t == pytest.approx(t), timeout=10000)
    window._refresh_slow()


def _drawn(window, name: str) -> bool:
    item = window.topology.devices.get(name)
    return item is not None and item.isVisible()


def _lanes(window) -> list[str]:
    window.timeline.grab()  # paints: the lanes follow the window of time shown
    return window.timeline.lanes


def test_a_device_is_drawn_only_while_in_the_home_also_after_seeking_back(window, qtbot):
    assert window.open_scenario_dict(GROWING)
    _go(window, qtbot, 0.5 * H)
    assert not _drawn(window, "speaker") and "speaker" not in _lanes(window)
    _go(window, qtbot, 2 * H)
    assert _drawn(window, "speaker") and window.topology.links["speaker-phone"].isVisible()
    assert "speaker" in _lanes(window)
    model = window.log.model
    texts = [model.index(i, 3).data() for i in range(model.rowCount())]
    assert any(t.startswith("JOINED the home") for t in texts)
    assert window.log.device_box.findData("speaker") >= 0  # the filter learned the new device
    _go(window, qtbot, 3.5 * H)
    assert not _drawn(window, "speaker") and not window.topology.links["speaker-phone"].isVisible()
    assert window.topology.devices["phone"].isVisible()
    _go(window, qtbot, 0.5 * H)  # seek back before the join: not drawn, no lane
    assert not _drawn(window, "speaker") and not window.topology.links["speaker-phone"].isVisible()
    assert "speaker" not in _lanes(window)
    assert _lanes(window) == ["watch", "phone", "cloud"]
    _go(window, qtbot, 1 * H + 10)
    assert _drawn(window, "speaker")
    item = window.topology.devices["speaker"]
    assert item.badge is not None and "keyword_spotter" in item.badge[0]  # the deploy badge
    window.player.set_speed(1)
    _go(window, qtbot, 2 * H)
    assert window.topology.devices["speaker"].badge is None  # badges last a moment only


def test_the_inspector_shows_the_manifest_at_the_playhead(window, qtbot):
    assert window.open_scenario_dict(GROWING)
    _go(window, qtbot, 2 * H)
    window.inspect_device("speaker")
    rows = window.inspector.manifest_rows()
    assert [(r["model"], r["variant"]) for r in rows] == [("keyword_spotter", "ptq-entropy")]
    row = rows[0]
    assert row["why"] == "brought by the device" and row["since"] == "01:00:00"
    assert row["privacy"] != "–" and row["size"].endswith("KB") and row["version"] != "–"
    assert window.inspector.fields["presence"].text().startswith("yes: joined at 01:00:00")
    window.inspect_device("watch")
    rows = window.inspector.manifest_rows()
    assert [(r["model"], r["variant"], r["why"]) for r in rows] == [
        ("hr_screener", "fp32", "in the scenario")
    ]
    assert rows[0]["version"] != "–"  # read from the ModelCard
    window.inspect_device("speaker")
    _go(window, qtbot, 0.5 * H)
    assert window.inspector.manifest_rows() == []
    assert "not yet" in window.inspector.fields["presence"].text()
    assert "not in the home" in window.inspector.title.text()


def _synthetic_growing_trace() -> Trace:
    trace = Trace(
        {
            "scenario": "deploys",
            "sim_time_s": 4 * H,
            "devices": {
                "phone": {"kind": "phone", "capacity_wh": 12.0, "position": [0, 0], "models": []},
            },
            "links": {"phone-hub": {"type": "wifi", "a": "phone", "b": "hub"}},
        }
    )
    records = [
        PowerState(0.0, "phone", "idle", 0.1),
        BatterySample(0.0, "phone", 1.0, 0.0),
        DeviceJoined(H, "hub", "hub", "home_hub", None, 1.0, 0.0, "plugged in"),
        PowerState(H, "hub", "idle", 2.0),
        Message(1.5 * H, "phone", "hub", "phone-hub", "deploy", 98_000, 1.5 * H + 20, "delivered", 1, 1),
        ModelDeployed(
            1.5 * H + 20,
            "hub",
            "camera_detector",
            "ptq-entropy",
            "2",
            98_000,
            "on-device",
            "cams",
            "door",
            "fits",
        ),
        ModelRemoved(2.5 * H, "hub", "camera_detector", "ptq-entropy", "switched off by the app"),
        DeviceLeft(3 * H, "hub", "unplugged"),
    ]
    for r in records:
        trace.append(r)
    return trace


def test_index_answers_presence_and_manifest_for_any_time():
    index = TraceIndex(_synthetic_growing_trace())
    index.update()
    hub = index.devices["hub"]
    assert [hub.present_at(t * H) for t in (0.5, 1.0, 2.0, 3.0, 3.5)] == [False, True, True, False, False]
    assert hub.present_between(0.0, 1.2 * H) and not hub.present_between(3.1 * H, 4 * H)
    assert list(hub.manifest_at(1.4 * H)) == []
    assert hub.manifest_at(2 * H)["camera_detector"].serves == "door"
    assert list(hub.manifest_at(2.6 * H)) == []
    assert index.devices["phone"].present_at(0.0)


def test_a_deploy_is_drawn_as_dots_of_its_own_colour(window, qtbot):
    trace = _synthetic_growing_trace()
    window.set_session(Session.from_trace(trace))
    _go(window, qtbot, 1.5 * H + 10)
    dots = window.topology.dots.dots
    assert len(dots) == 1
    assert dots[0][3].name().lower() == theme.MESSAGE_KIND_COLORS["deploy"].lower()
    assert theme.MESSAGE_KIND_COLORS["deploy"] not in {
        c for k, c in theme.MESSAGE_KIND_COLORS.items() if k != "deploy"
    }
    assert list(window.session.index.message_kinds) == ["deploy"]  # the legend lists it
    _go(window, qtbot, 0.5 * H)
    assert window.topology.dots.dots == [] and not _drawn(window, "hub")


def test_whatif_add_a_device_reruns_deterministically(window, qtbot, tiny_scenario):
    assert window.open_path(str(tiny_scenario))
    _go(window, qtbot, 2 * H)
    panel = window.whatif
    panel.add_profile.setCurrentIndex(panel.add_profile.findData("home_hub"))
    panel.add_name.setText("hub")
    panel.add_join.setText("01:00")
    panel.add_leave.setText("04:00")
    panel.add_link_type.setCurrentIndex(panel.add_link_type.findData("wifi"))
    panel.add_link_to.setCurrentIndex(panel.add_link_to.findData("phone"))
    panel._add_device()
    assert [d["name"] for d in panel.added_devices] == ["hub"]
    assert panel.added_links == [{"name": "hub-phone", "type": "wifi", "a": "hub", "b": "phone"}]
    assert [(e["type"], e["at"]) for e in panel.events] == [("device_join", "1h"), ("device_leave", "4h")]
    panel.add_name.setText("phone")
    panel._add_device()
    assert "already a device named 'phone'" in window.last_error
    panel._emit_rerun()
    assert window.session.spec.extra_devices[0]["profile"] == "home_hub"
    qtbot.waitUntil(lambda: "hub: added" in panel.result.text(), timeout=10000)
    _go(window, qtbot, 2 * H)
    assert _drawn(window, "hub") and window.topology.links["hub-phone"].isVisible()
    _go(window, qtbot, 0.5 * H)
    assert not _drawn(window, "hub")
    _go(window, qtbot, 6 * H)
    qtbot.waitUntil(lambda: window.session.finished, timeout=10000)
    first = list(window.session.trace.records)
    panel._emit_rerun()
    _go(window, qtbot, 6 * H)
    qtbot.waitUntil(lambda: window.session.finished, timeout=10000)
    assert list(window.session.trace.records) == first
