"""App views: panels per app instance, log rows through display hooks, old and unknown traces."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import NamedTuple

import pytest

from simulator.apps.health_escalation import Escalation
from simulator.trace import Trace
from ui import theme
from ui.apps import view_for
from ui.main_window import MainWindow
from ui.record_views import CORE_VIEWS, VIEWS
from ui.session import Session

DATA = Path(__file__).resolve().parent / "data"


class Ping(NamedTuple):
    """A record kind no app view describes."""

    t: float
    device: str
    value: int


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


def _two_wearers(synthetic) -> Trace:
    """The synthetic health trace with a second health app, ``wearer2``, and a Ping."""
    trace = Trace(dict(synthetic.meta))
    trace.meta["apps"] = [
        {"type": "health_escalation", "name": "health"},
        {"type": "health_escalation", "name": "wearer2"},
    ]
    extra = [
        Escalation(100.0, "wearer2", "watch0", "watch_flag", 1, "suspicious", ""),
        Escalation(200.0, "wearer2", "watch0", "watch_flag", 2, "suspicious", ""),
        Ping(300.0, "phone", 42),
    ]
    for r in sorted([*synthetic.records, *extra], key=lambda r: r.t):
        trace.append(r)
    return trace


def test_view_for_finds_app_views_lazily():
    health = view_for("health_escalation")
    assert health is not None and health.PANEL.__name__ == "HealthPanel"
    assert Escalation in health.RECORD_VIEWS
    assert view_for("no_such_app") is None and view_for("../etc") is None
    assert theme.message_color("ecg").name().lower() == health.MESSAGE_COLORS["ecg"].lower()


def test_one_panel_per_health_app_titled_by_name(window, qtbot, synthetic_trace):
    window.set_session(Session.from_trace(_two_wearers(synthetic_trace)))
    assert list(window.app_panels) == ["health", "wearer2"]
    assert [window.app_tabs.tabText(i) for i in range(window.app_tabs.count())] == ["health", "wearer2"]
    assert not window.app_tabs.isHidden()
    _go(window, qtbot, 6 * 3600)
    flags_health = sum(
        1 for r in synthetic_trace.records if type(r) is Escalation and r.stage == "watch_flag"
    )
    assert window.app_panels["health"].funnel.counts["watch_flag"] == flags_health > 2
    assert window.app_panels["wearer2"].funnel.counts["watch_flag"] == 2  # its own records only
    assert "wearer2" in window.app_panels["wearer2"].title.text()
    assert "health: wearer: sleep" in window.state_label.text()  # two apps: labels carry names


def test_no_health_app_no_health_panel(window, tiny_scenario):
    assert window.open_path(str(tiny_scenario))
    assert window.app_panels == {} and window.app_tabs.isHidden()


def test_event_log_rows_come_from_display_hooks(window, qtbot, synthetic_trace):
    window.set_session(Session.from_trace(_two_wearers(synthetic_trace)))
    _go(window, qtbot, 6 * 3600)
    model = window.log.model
    rows = {}
    for i in range(model.rowCount()):
        record = model.record(i)
        rows.setdefault(type(record), (record, [model.index(i, c).data() for c in range(4)]))
    esc, cells = rows[Escalation]
    assert cells[1:] == ["escalation", esc.device, VIEWS[Escalation].describe(esc)]
    assert cells[3] == "watch flag: suspicious"  # the health view's words
    ping, cells = rows[Ping]  # no view knows it: shown generically
    assert cells[1:] == ["ping", "phone", "device=phone, value=42"]
    message = next(r for r in rows if r.__name__ == "Message")
    assert rows[message][1][3] == CORE_VIEWS[message].describe(rows[message][0])
    labels = [window.log.kind_box.itemText(i) for i in range(window.log.kind_box.count())]
    assert {"escalation", "episode (truth)", "device joined", "model deployed"} <= set(labels)


def test_old_format_trace_opens_with_its_health_panel(window, qtbot):
    path = DATA / "health_reference_trace.jsonl.gz"  # written as hometwin-trace/1
    assert window.open_path(str(path))
    _go(window, qtbot, 86400.0)
    qtbot.waitUntil(lambda: window.session.finished, timeout=20000)
    window._refresh_slow()
    assert list(window.app_panels) == ["health"]
    summary = json.loads((DATA / "health_reference_summary.json").read_text())["health"]
    metrics = window.app_panels["health"].last_metrics
    for key in ("episodes", "detected", "alerts", "false_alarms"):
        assert metrics[key] == summary[key]
    assert window.app_panels["health"].funnel.counts["doctor_alert"] == summary["alerts"]


def test_unknown_trace_format_is_a_clear_error(window, tmp_path):
    path = tmp_path / "future.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write(json.dumps({"format": "hometwin-trace/9", "meta": {}}) + "\n")
    assert not window.open_path(str(path))
    text = window.error_dialog.text()
    assert "format 'hometwin-trace/9'" in text and "expected hometwin-trace/2" in text
