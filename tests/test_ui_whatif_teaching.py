"""What-if re-runs change the result deterministically; teaching mode pauses at narration."""

from __future__ import annotations

import pytest

from simulator.trace import LinkState
from ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tiny_scenario):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    assert w.open_path(str(tiny_scenario))
    return w


def _go(window, qtbot, t):
    window.seek(t)
    qtbot.waitUntil(lambda: window.player.t == pytest.approx(t), timeout=10000)


def test_whatif_battery_edit_changes_the_result(window, qtbot):
    _go(window, qtbot, 5 * 3600)
    before = window.session.index.devices["watch"].soc_at(5 * 3600)
    window.whatif.add_override("devices.watch.battery.capacity_wh", 0.4)
    assert window.rerun(window.whatif.overrides, window.whatif.events)
    _go(window, qtbot, 5 * 3600)
    after = window.session.index.devices["watch"].soc_at(5 * 3600)
    assert after < before - 0.2  # a quarter of the capacity drains four times as fast
    qtbot.waitUntil(lambda: "battery" in window.whatif.result.text(), timeout=5000)
    assert window.session.spec.overrides == {"devices.watch.battery.capacity_wh": 0.4}


def test_whatif_intervention_and_rerun_is_deterministic(window, qtbot):
    window.whatif.from_edit.setText("04:00")
    window.whatif.until_edit.setText("05:00")
    window.whatif.kind_box.setCurrentIndex(window.whatif.kind_box.findData("link_down"))
    window.whatif.target_box.setCurrentIndex(window.whatif.target_box.findData("phone-cloud"))
    window.whatif._add_event()
    assert window.whatif.events == [{"at": "4h", "type": "link_down", "link": "phone-cloud", "until": "5h"}]
    window.whatif._emit_rerun()
    _go(window, qtbot, 6 * 3600)
    qtbot.waitUntil(lambda: window.session.finished, timeout=10000)
    downs = [r for r in window.session.trace.records if type(r) is LinkState and r.link == "phone-cloud"]
    assert [(r.t, r.up) for r in downs] == [(4 * 3600, False), (5 * 3600, True)]
    first = list(window.session.trace.records)
    window.whatif._emit_rerun()
    _go(window, qtbot, 6 * 3600)
    qtbot.waitUntil(lambda: window.session.finished, timeout=10000)
    assert list(window.session.trace.records) == first


def test_bad_whatif_time_shows_a_message(window):
    window.whatif.from_edit.setText("soon")
    window.whatif._add_event()
    assert "not a time" in window.last_error
    assert window.whatif.events == []


def test_teaching_mode_pauses_at_narration(window, qtbot):
    window.set_teaching(True)
    window.player.set_speed(3000)
    window.player.play()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10000)
    assert not window.player.playing
    assert window.player.t == pytest.approx(600.0)
    assert "Ten minutes in" in window.banner.text.text()
    window.banner.button.click()  # Continue
    assert window.player.playing
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10000)
    assert window.player.t == pytest.approx(5400.0)
    assert "out of BLE range" in window.banner.text.text()


def test_without_teaching_mode_the_player_does_not_stop(window, qtbot):
    window.player.set_speed(3000)
    window.player.play()
    qtbot.waitUntil(lambda: window.player.t > 700, timeout=10000)
    assert not window.banner.isVisible()


def test_teaching_mode_shows_a_step_at_the_very_start_once(qtbot, tmp_path):
    from tests.conftest import TINY_SCENARIO

    path = tmp_path / "start.yaml"
    path.write_text(TINY_SCENARIO.replace("  - {at: 600,", '  - {at: 0, text: "Midnight."}\n  - {at: 600,'))
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    assert w.open_path(str(path))
    w.set_teaching(True)
    w.player.set_speed(3000)
    w.player.play()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10000)
    assert w.player.t == 0.0 and "Midnight." in w.banner.text.text()
    w.banner.button.click()
    qtbot.waitUntil(lambda: w.banner.isVisible() and w.player.t > 0, timeout=10000)
    assert w.player.t == pytest.approx(600.0)  # the t = 0 step is not shown again
