"""Soak: animate the full window for 60 s (seeks, speed changes, re-runs) without a crash."""

from __future__ import annotations

import sys
import time

from scenarios.generate import generate_home
from ui.main_window import MainWindow
from ui.session import RunSpec, Session

SOAK_S = 60.0


def test_soak_animates_for_a_minute(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    try:  # the health app needs the trained models; the soak is about the GUI either way
        session = Session.from_spec(RunSpec(scenario=generate_home(20, seed=2, outages=20), seed=2))
    except ValueError:
        session = Session.from_spec(
            RunSpec(scenario=generate_home(20, seed=2, health_app=False, outages=20), seed=2)
        )
    w.set_session(session)
    w.player.set_speed(3000)
    w.player.play()
    none_before = sys.getrefcount(None)
    start = time.perf_counter()
    frames0 = w.frame_count
    k = 0
    while time.perf_counter() - start < SOAK_S:
        qtbot.wait(500)
        k += 1
        if k % 10 == 0:
            w.seek(w.player.duration_s * ((k * 0.13) % 1.0))
            w.player.play()
        if k % 17 == 0:
            w.player.set_speed(10000 if w.player.speed < 5000 else 600)
        if k % 40 == 0:
            w.inspect_device("watch0")
        if k % 55 == 0:
            w.whatif.add_override("devices.watch0.battery.capacity_wh", 0.5)
            w.whatif._emit_rerun()
            w.player.play()
    frames = w.frame_count - frames0
    assert frames > 20 * SOAK_S  # kept animating
    assert sys.getrefcount(None) >= none_before - 100
    assert w.session is not None and w.player.t > 0
