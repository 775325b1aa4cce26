"""The home-suggestions panel shows the app's summarize numbers and a member's suggestions."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from simulator.apps.home_suggestions.homes import suggestion_homes  # noqa: E402
from simulator.apps.home_suggestions.metrics import summarize  # noqa: E402
from simulator.engine import Simulation  # noqa: E402


def test_panel_monitors_are_summarize(qtbot):
    from ui.apps import view_for
    from ui.session import Session

    sim = Simulation.from_dict(
        suggestion_homes(
            4, duration="1d", app_params={"rounds": 3, "clients_per_round": 2, "items": 40, "weeks": 2}
        )
    ).run()
    session = Session.from_trace(sim.trace)
    session.index.update()
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
