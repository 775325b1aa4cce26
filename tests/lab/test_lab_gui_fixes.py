"""The scenario library marks the open scenario; the plots' time axis ticks at round instants."""

from __future__ import annotations

from PySide6.QtCore import Qt


def test_library_marks_the_open_scenario_not_the_first(qtbot):
    from ui.library import LibraryPanel

    panel = LibraryPanel()
    qtbot.addWidget(panel)
    paths = panel.paths()
    assert len(paths) >= 2
    assert panel.list.currentItem() is None  # nothing open: nothing marked
    panel.mark_open(paths[1])
    item = panel.list.currentItem()
    assert item is panel.list.item(1)
    assert item.text().startswith("▶ ") and item.font().bold()
    assert panel.description.text() == item.data(Qt.ItemDataRole.UserRole + 1)
    assert not panel.list.item(0).font().bold() and not panel.list.item(0).text().startswith("▶")
    panel.reload()  # a rescan keeps the mark
    assert panel.list.currentItem().data(Qt.ItemDataRole.UserRole) == paths[1]
    panel.mark_open(None)
    assert panel.list.currentItem() is None and not panel.list.item(1).font().bold()


def test_main_window_marks_what_it_opened(qtbot, tiny_scenario):
    from ui.library import shipped_scenarios
    from ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    assert window.open_path(str(tiny_scenario))  # not in the library: nothing marked
    assert window.library.list.currentItem() is None
    health = next(p for p, _, _ in shipped_scenarios() if p.endswith("health_escalation.yaml"))
    assert window.open_path(health)
    assert window.library.list.currentItem().data(Qt.ItemDataRole.UserRole) == health


def test_time_axis_ticks_at_round_clock_instants(qtbot):
    from ui.plots import TimeAxis

    axis = TimeAxis("bottom")
    for span_s, size_px, step_s in ((86400, 900, 3 * 3600), (6 * 3600, 900, 3600), (600, 900, 60)):
        (major, _), (minor, _) = axis.tickSpacing(0.0, span_s, size_px)
        assert major == step_s and major % minor == 0
        values = axis.tickValues(1234.5, 1234.5 + span_s, size_px)[0][1]
        assert values and all(v % step_s == 0 for v in values)
    labels = axis.tickStrings([0, 3 * 3600, 6 * 3600], 1, 3 * 3600)
    assert labels == ["00:00", "03:00", "06:00"]
