"""The home-suggestions panel shows the app's summarize numbers and a member's suggestions."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from simulator.apps.home_suggestions.homes import suggestion_homes  # noqa: E402
from simulator.apps.home_suggestions.metrics import summarize  # noqa: E402
from simulator.engine import Simulation  # noqa: E402


@pytest.fixture(scope="module")
def sim():
    return Simulation.from_dict(
        suggestion_homes(
            4, duration="1d", app_params={"rounds": 3, "clients_per_round": 2, "items": 40, "weeks": 2}
        )
    ).run()


def _session(sim):
    from ui.session import Session

    session = Session.from_trace(sim.trace)
    session.index.update()
    return session


def test_panel_monitors_are_summarize(qtbot, sim):
    from ui.apps import view_for

    session = _session(sim)
    view = view_for("home_suggestions")
    panel = view.PANEL()
    qtbot.addWidget(panel)
    panel.set_session(session, "home_suggestions")
    panel.refresh(sim.duration_s)
    m = summarize(sim.trace, "home_suggestions", sim.duration_s)
    assert panel.values["hit"].text() == f"{m['hit_rate_at_10']:.3f}"
    assert panel.values["popular"].text() == f"{m['baseline_popular_hit_rate']:.3f}"
    assert panel.member.count() > 0
    assert view.whatif_metrics(session, "home_suggestions", sim.duration_s)["hit_rate"] == m["hit_rate_at_10"]


def test_clock_label_names_the_homes_clock_and_the_start(sim):
    from simulator.apps.home_suggestions.records import SuggestionPlan
    from ui.apps import view_for

    session = _session(sim)
    plan = session.index.column(SuggestionPlan, "home_suggestions").last_at(0.0)
    label = view_for("home_suggestions").clock_label
    start_day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[int(plan.data_offset_s // 86400) % 7]
    start = f"{start_day} {int(plan.data_offset_s % 86400 // 3600):02d}:{int(plan.data_offset_s % 3600 // 60):02d}"
    assert label(session, "home_suggestions", 0.0) == f"homes' clock {start} (run began {start})"
    # 18 h 20 min into the run: the homes' clock has moved on by as much, the start has not
    later = label(session, "home_suggestions", 18 * 3600 + 20 * 60)
    clock_s = plan.data_offset_s + 18 * 3600 + 20 * 60
    hhmm = f"{int(clock_s % 86400 // 3600):02d}:{int(clock_s % 3600 // 60):02d}"
    assert later.startswith("homes' clock ") and hhmm in later and later.endswith(f"(run began {start})")


def test_table_fits_the_windows_dock_and_the_detail_lists_ten(qtbot, sim):
    from ui.apps import view_for

    session = _session(sim)
    panel = view_for("home_suggestions").PANEL()
    qtbot.addWidget(panel)
    panel.resize(560, 470)  # the monitors dock of the 1600 x 1000 window
    panel.show()
    panel.set_session(session, "home_suggestions")
    panel.refresh(sim.duration_s)
    member = next(i for i in range(panel.member.count()) if _has_rows(panel, i))
    panel.member.setCurrentIndex(member)
    table = panel.table
    assert table.rowCount() > 0
    widths = sum(table.columnWidth(c) for c in range(table.columnCount()))
    assert widths <= table.viewport().width() + 1  # no horizontal scrolling
    assert not table.horizontalScrollBar().isVisible()
    assert panel.plot.height() >= 130 and table.height() >= 4 * table.rowHeight(0)
    shown = panel.detail.text()
    assert all(f"{k}&nbsp;" in shown for k in range(1, 11))  # the ten suggestions, ranked


def _has_rows(panel, index: int) -> bool:
    panel.member.setCurrentIndex(index)
    return panel.table.rowCount() > 0
