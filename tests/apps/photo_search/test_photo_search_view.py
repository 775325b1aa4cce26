"""The photo-search panel, record views and CLI table on a real small run."""

from __future__ import annotations

import pytest

from simulator.apps.photo_search import IndexBatch, PhotoQuery
from simulator.apps.photo_search.table import table


@pytest.fixture(scope="module")
def session(small):
    from ui.session import Session

    session = Session.from_trace(small.trace)
    while not session.index.update():
        pass
    return session


def test_panel_shows_the_last_query_with_hits_in_green_and_the_summary(qtbot, session):
    from ui.apps.photo_search import PANEL, RECORD_VIEWS, clock_label, whatif_metrics
    from ui.apps.photo_search.panel import HIT_COLOR, MISS_COLOR

    panel = PANEL()
    qtbot.addWidget(panel)
    panel.set_session(session, "photos")
    first = session.trace.of(PhotoQuery)[0]
    panel.refresh(first.t)
    assert "no photo is indexed yet" in panel.results.message and not panel.results.items
    query = [q for q in session.trace.of(PhotoQuery) if q.index_size > 0][-1]
    panel.refresh(query.t)
    assert query.text in panel.query.text()
    assert [hit for _, _, hit, _ in panel.results.items] == [f == "1" for f in query.hit_flags[:10]]
    summary = session.summary_at("photos", query.t)
    assert panel.monitors["recall_at_10"].text() == f"{summary['recall_at_10']:.2f}"
    assert panel.monitors["bytes_off_device"].text() == "0 B"
    assert panel.nights.rowCount() == len(summary["nights"])
    assert HIT_COLOR != MISS_COLOR
    assert whatif_metrics(session, "photos", query.t)["photos_indexed"] == summary["photos_indexed"]
    assert clock_label(session, "photos", query.t).startswith("index: ")
    view = RECORD_VIEWS[PhotoQuery]
    assert "answer it" in view.describe(query) and "empty result" in view.describe(first)
    assert "indexed" in RECORD_VIEWS[IndexBatch].describe(session.trace.of(IndexBatch)[0])
    assert not panel.grab().isNull()


def test_cli_table_has_the_headline_and_one_row_per_night(session):

    metrics = session.summary_at("photos", session.duration_s)
    lines = table("photos", metrics)
    assert lines[0].startswith("  photos:")
    assert any("bytes off the phone" in line and "0 B" in line for line in lines)
    assert sum(line.split()[0].isdigit() for line in lines[-len(metrics["nights"]) :]) == len(
        metrics["nights"]
    )


def test_the_library_lists_the_shipped_scenario_and_a_smaller_copy_plays(qtbot, tmp_path, monkeypatch):
    from pathlib import Path

    from simulator.validate import read_yaml
    from ui.main_window import MainWindow

    monkeypatch.setenv("HOMETWIN_CACHE", str(tmp_path))  # no cache: as from a fresh clone
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    library = window.library
    rows = [i for i, path in enumerate(library.paths()) if Path(path).name == "photo_search.yaml"]
    assert rows and library.list.item(rows[0]).text() == "Photo search on the phone"
    library.list.setCurrentRow(rows[0])
    assert "never leave the phone" in library.description.text()
    # the shipped file with fewer photos (the full one from no cache is a ~40 s job:
    # python main.py run scenarios/photo_search.yaml, run by hand, not in CI)
    raw = read_yaml(Path(library.paths()[rows[0]]))
    raw["duration"] = "11h"
    params = raw["apps"][0]["params"]
    params["library"]["photos"] = 150
    for source in params["sources"]:
        source["photos_per_day"] = 20
    assert window.open_scenario_dict(raw)
    assert "photos" in window.app_panels
    target = 10.5 * 3600  # after the first night's indexing and the first morning queries
    window.seek(target)
    qtbot.waitUntil(lambda: window.session.frontier() >= target, timeout=60000)
    records = window.session.trace.records
    assert any(type(r) is IndexBatch for r in records)
    assert any(type(r) is PhotoQuery and r.t <= target for r in records)
    window.app_panels["photos"].refresh(window.player.t)  # draws the last query without error
