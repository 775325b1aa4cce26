"""Views: device click → inspector, log click → seek, topology state, dots, timeline, health."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ui.main_window import MainWindow
from ui.session import Session


@pytest.fixture
def window(qtbot, tiny_scenario):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    assert w.open_path(str(tiny_scenario))
    return w


def test_device_click_opens_the_inspector(window, qtbot):
    qtbot.wait(50)
    pos = window.topology.device_center("phone")
    qtbot.mouseClick(window.topology.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert window.inspector.device == "phone"
    assert window.left_tabs.currentWidget() is window.inspector
    assert "phone" in window.inspector.title.text()
    assert "Wh" in window.inspector.fields["battery"].text()
    assert window.topology.devices["phone"].selected_ring


def test_log_click_seeks_there(window, qtbot):
    window.seek(2.5 * 3600)
    qtbot.waitUntil(lambda: window.player.t == pytest.approx(2.5 * 3600), timeout=10000)
    window.log.show_time(window.player.t)
    model = window.log.model
    row = next(i for i in range(model.rowCount()) if "link DOWN" in model.index(i, 3).data())
    index = model.index(row, 3)
    rect = window.log.table.visualRect(index)
    window.log.table.scrollTo(index)
    rect = window.log.table.visualRect(index)
    qtbot.mouseClick(window.log.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.player.t == pytest.approx(3600.0)


def test_log_filters_by_device_and_kind(window, qtbot):
    window.seek(6 * 3600)
    qtbot.waitUntil(lambda: window.session.finished, timeout=10000)
    window.log.show_time(window.player.t)
    window.log.set_kind_filter("link")
    kinds = {window.log.model.index(i, 1).data() for i in range(window.log.model.rowCount())}
    assert kinds == {"link"}
    window.log.set_kind_filter(None)
    window.log.set_device_filter("phone")
    devices = {window.log.model.index(i, 2).data() for i in range(window.log.model.rowCount())}
    assert devices == {"phone"}


def test_synthetic_trace_draws_dots_timeline_and_funnel(qtbot, synthetic_trace):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    w.set_session(Session.from_trace(synthetic_trace))
    ecg = next(r for r in synthetic_trace.records if type(r).__name__ == "Message" and r.msg_kind == "ecg")
    mid = (ecg.t + ecg.end_t) / 2
    w.seek(mid)
    qtbot.waitUntil(lambda: w.player.t == pytest.approx(mid), timeout=5000)
    w._refresh_slow()
    dots = w.topology.dots.dots
    assert len(dots) == 1 and dots[0][2] > 3
    a, b = w.topology.positions["watch0"], w.topology.positions["phone"]
    assert min(a.x(), b.x()) < dots[0][0] < max(a.x(), b.x())
    w.seek(6 * 3600)
    qtbot.waitUntil(lambda: w.player.t == pytest.approx(6 * 3600), timeout=5000)
    w._refresh_slow()
    counts = w.app_panels["health"].funnel.counts
    assert counts["watch_flag"] == counts["phone_confirm"] == counts["doctor_alert"] > 0
    assert w.app_panels["health"].monitors["episodes"].text() != "–"
    assert not w.topology.devices["phone"].on  # depleted at 4 h
    img = w.timeline.grab().toImage()
    assert not img.isNull()
    w.plots.show_time(w.player.t)
    assert w.plots._curves[("soc", "watch")].xData is not None
