"""Player controls: play, pause, speed, step to the next event, seek, keyboard shortcuts."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tiny_scenario):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    assert w.open_path(str(tiny_scenario))
    return w


def test_play_advances_and_pause_stops(window, qtbot):
    window.player.set_speed(600)
    window.player.play()
    qtbot.waitUntil(lambda: window.player.t > 60, timeout=5000)
    window.player.pause()
    t = window.player.t
    qtbot.wait(200)
    assert window.player.t == t
    assert window.act_play.text() == "Play"


def test_speed_steps_through_the_range(window):
    window.player.set_speed(1)
    window.player.faster()
    assert window.player.speed == 2
    window.player.slower()
    window.player.slower()
    assert window.player.speed == 0.5
    window.player.set_speed(1e9)
    assert window.player.speed == 10000
    window.player.set_speed(0.0)
    assert window.player.speed == 0.1
    assert window.speed_box.currentData() == 0.1


def test_step_goes_from_event_to_event(window, qtbot):
    window.player.step()
    qtbot.waitUntil(lambda: window.player.t == pytest.approx(600.0), timeout=5000)
    window.player.step()
    qtbot.waitUntil(lambda: window.player.t == pytest.approx(3600.0), timeout=5000)
    assert not window.player.playing
    window.player.step_back()
    assert window.player.t == pytest.approx(600.0)


def test_seek_far_ahead_shows_state_there(window, qtbot):
    window.seek(3 * 3600 + 300)  # phone switched off at 3 h until 3.5 h
    qtbot.waitUntil(lambda: window.player.t == pytest.approx(3 * 3600 + 300), timeout=10000)
    qtbot.waitUntil(lambda: not window.topology.devices["phone"].on, timeout=2000)
    window.seek(1.5 * 3600)  # back: link down
    qtbot.waitUntil(lambda: not window.topology.links["watch-phone"].up, timeout=2000)
    assert window.topology.devices["phone"].on


def test_seek_slider_moves_the_playhead(window, qtbot):
    window.slider.sliderMoved.emit(5000)  # half of the 6 h run
    qtbot.waitUntil(lambda: window.player.t == pytest.approx(3 * 3600, abs=5), timeout=10000)


def test_keyboard_shortcuts(window, qtbot):
    window.activateWindow()
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.player.playing
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.player.playing
    speed = window.player.speed
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    assert window.player.speed > speed
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.player.t == pytest.approx(600.0), timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.player.t == 0.0
    qtbot.keyClick(window, Qt.Key.Key_T)
    assert window.player.teaching


def test_seek_far_ahead_while_playing_is_kept(window, qtbot):
    window.player.set_speed(1)
    window.player.play()
    window.seek(5 * 3600)
    qtbot.waitUntil(lambda: window.player.t >= 5 * 3600, timeout=10000)
    assert window.player.playing
