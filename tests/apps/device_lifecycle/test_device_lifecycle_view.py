"""The device-lifecycle view: the lifeline's phases, the panel's numbers (the app's own
summarize), a record view per record class, and the window playing the story."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from simulator.apps.device_lifecycle import App  # noqa: E402
from simulator.apps.device_lifecycle.records import (  # noqa: E402
    LifeAdaptation,
    LifeEvent,
    LifeFault,
)
from ui.apps.device_lifecycle.lifeline import DAY_S, drift_onsets, phase_at, phases  # noqa: E402

APP = "device_lifecycle"


def _event(day: float, event: str, device: str = "watch", version: str = "v1", detail: str = "") -> LifeEvent:
    return LifeEvent(day * DAY_S, APP, device, event, version, detail)


def test_phases_follow_the_lifeline_from_birth_to_the_new_watch():
    events = [
        _event(0, "deployed"),
        _event(1.3, "drift_detected"),
        _event(1.9, "fine_tuned"),
        _event(1.9, "redeployed", version="v2"),
        _event(2.4, "fault", version="v2", detail="targeted_flips: 20 bits in 3 tensors"),
        _event(2.45, "detected", version="v2"),
        _event(2.46, "healed", version="v2"),
        _event(4.0, "retired", version="v2"),
        _event(4.001, "migrated", device="watch2", version="v3"),
    ]
    onsets = drift_onsets({"drifts": [{"device": "watch", "kind": "other_wrist", "day": 1.0}]})
    life = phases(events, onsets, 5 * DAY_S)
    assert [(p.kind, p.device, p.version) for p in life] == [
        ("born", "watch", "v1"),
        ("drift", "watch", "v1"),
        ("detected", "watch", "v1"),
        ("adapted", "watch", "v2"),
        ("damaged", "watch", "v2"),
        ("adapted", "watch", "v2"),  # healed: back to the adapted version
        ("migrating", "watch", "v2"),
        ("new_device", "watch2", "v3"),
    ]
    assert life[1].note == "other wrist" and life[4].note == "targeted flips"
    assert life[0].t0 == 0 and life[-1].t1 == 5 * DAY_S
    assert all(a.t1 == b.t0 for a, b in zip(life, life[1:], strict=False))  # no gap, no overlap
    assert phase_at(events, onsets, 1.1 * DAY_S).kind == "drift"  # before the detector fires
    assert phase_at(events, onsets, 2.42 * DAY_S).kind == "damaged"


def test_a_rollback_returns_to_the_version_served_before():
    events = [_event(0, "deployed"), _event(1.5, "drift_detected"), _event(1.9, "rolled_back")]
    life = phases(events, [], 3 * DAY_S)
    assert [p.kind for p in life] == ["born", "detected", "born"]


@pytest.fixture(scope="module")
def session(lifecycle_run):
    from ui.session import Session

    session = Session.from_trace(lifecycle_run.trace)
    while not session.index.update():
        pass
    return session


def test_every_record_class_has_a_view_that_describes_a_real_record(session):
    from ui.apps import view_for

    view = view_for(App.TYPE)
    assert set(view.RECORD_VIEWS) == set(App.RECORDS.values())
    for cls, record_view in view.RECORD_VIEWS.items():
        records = session.index.column(cls, APP).records
        assert records, f"the short run writes {cls.__name__}"
        text = record_view.describe(records[-1])
        assert isinstance(text, str) and text, cls.__name__
    marks = [r for r in session.index.column(LifeEvent, APP).records if view.RECORD_VIEWS[LifeEvent].badge(r)]
    assert {r.event for r in marks} >= {"drift_detected", "fault", "healed", "migrated"}


def test_panel_shows_the_summary_numbers_at_the_end_and_mid_run(qtbot, session, lifecycle_run):
    from ui import theme
    from ui.apps import view_for
    from ui.apps.device_lifecycle.chart import pct

    view = view_for(App.TYPE)
    panel = view.PANEL()
    qtbot.addWidget(panel)
    panel.set_session(session, APP)
    end = session.duration_s
    panel.refresh(end)
    summary = App.summarize(lifecycle_run.trace, lifecycle_run.trace.meta["apps"][0], end)
    assert panel.summary == summary
    monitors = panel.monitors
    assert monitors["accuracy_before_drift"].text() == pct(summary["accuracy_before_drift"])
    assert monitors["accuracy_drift_unadapted"].text() == pct(summary["accuracy_drift_unadapted"])
    assert monitors["accuracy_adapted"].text() == pct(summary["accuracy_adapted"])
    assert (
        monitors["faults_detected"].text() == f"{summary['faults_detected']} / {summary['faults_injected']}"
    )
    assert monitors["migration_s"].text() == theme.format_duration(summary["migration_s"])
    assert summary["faults_injected"] == 3 and summary["migrated"]
    # the chart: both watches' lanes, every phase the short life goes through
    assert panel.chart.lanes == ["watch", "watch2"]
    kinds = {p.kind for p in panel.chart.phases}
    assert {"born", "detected", "damaged", "new_device"} <= kinds
    assert len(panel.budget.rows) == len(summary["adaptations"]) == len(session.trace.of(LifeAdaptation))
    assert panel.faults.text().count("◆") == len(session.trace.of(LifeFault))
    assert "equal" in panel.migration.text()
    assert view.whatif_metrics(session, APP, end)["faults_detected"] == summary["faults_detected"]
    assert "watch2" in view.clock_label(session, APP, end)

    # mid-run, before the first fault: fewer numbers, no migration yet
    first_fault = session.trace.of(LifeFault)[0].t
    panel.refresh(first_fault - 1.0)
    assert monitors["migration_s"].text() == "–"
    assert monitors["faults_detected"].text() == "0 / 0"
    assert "damaged" not in {p.kind for p in panel.chart.phases}
    assert "still worn" in panel.migration.text()
    # the hover text names what is under the pointer
    chart = panel.chart
    chart.resize(600, chart.height())
    top, h = chart.rows()["accuracy"]
    assert "held-out" in chart.describe_at(chart.x_of(0.5 * DAY_S), top + h / 2)


def test_the_window_plays_the_story_slowly_without_error(qtbot, session):
    from ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    window.set_session(session)
    assert APP in window.app_panels
    migration = [r for r in session.trace.of(LifeEvent) if r.event == "retired"][0].t
    window.seek(migration - 2.0)
    window.player.set_speed(1)
    window.player.play()
    qtbot.waitUntil(lambda: window.player.t >= migration + 0.5, timeout=20000)
    window.player.pause()
    window._refresh_slow(force=True)
    assert "watch" in window.app_panels[APP].now.text()
