"""View of the photo-search app (``simulator/apps/photo_search/``): its records in the log and
timeline, its search panel, the index size beside the clock, what-if numbers."""

from __future__ import annotations

from typing import Any

from simulator.apps.photo_search.records import IndexBatch, PhotoQuery, PhotoTaken
from ui.apps import Metric, RecordView
from ui.apps.photo_search.panel import HIT_COLOR, INDEXED_COLOR, PhotoSearchPanel

QUERY_COLOR = "#EE7733"  # orange: the user searched


def _query_text(r: PhotoQuery) -> str:
    if r.index_size == 0:
        return f"“{r.text}”: empty result (no photo indexed yet)"
    return f"“{r.text}”: {r.hits}/{min(10, len(r.hit_flags))} answer it, {1e3 * (r.t - r.start_t):.2f} ms on the phone"


RECORD_VIEWS = {
    PhotoQuery: RecordView(
        label="photo search",
        describe=_query_text,
        subject=lambda r: "phone",
        color=lambda r: QUERY_COLOR,
        timeline="mark",
        mark_label=lambda r: f"search {r.hits}/10",
        badge=lambda r: f"search: {r.hits}/10",
    ),
    IndexBatch: RecordView(
        label="photos indexed",
        describe=lambda r: (
            f"embedded and indexed {r.n_photos} photos; index {r.index_size:,} ({r.memory_bytes / 2**20:.1f} MB)"
        ),
        color=lambda r: INDEXED_COLOR,
        timeline=None,
        step=False,
        hidden_in_log=True,
    ),
    PhotoTaken: RecordView(
        label="photo taken",
        describe=lambda r: (
            f"photo {r.photo_id} by {r.source}: {r.subject} {r.colour} in the {r.room} ({r.time_of_day})"
        ),
        subject=lambda r: r.source,
        step=False,
        hidden_in_log=True,
    ),
}

PANEL = PhotoSearchPanel

MESSAGE_COLORS = {"photo": "#AA4499"}  # purple: a camera's snapshot on its way into the phone

WHATIF_METRICS = (
    Metric("photos_indexed", "photos indexed", "", higher_is_better=True),
    Metric("recall_at_10", "recall@10", "", higher_is_better=True),
    Metric("index_recall_at_10", "index recall@10", "", higher_is_better=True),
    Metric("query_p95_ms", "query p95", "ms", higher_is_better=False),
    Metric("bytes_off_device", "bytes off the phone", "B", higher_is_better=False),
)


def whatif_metrics(session: Any, app_name: str, t: float) -> dict[str, float | None]:
    summary = session.summary_at(app_name, t)
    return {m.key: summary.get(m.key) for m in WHATIF_METRICS}


def clock_label(session: Any, app_name: str, t: float) -> str | None:
    last = session.index.column(IndexBatch, app_name).last_at(t)
    return f"index: {0 if last is None else last.index_size:,} photos"


__all__ = [
    "HIT_COLOR",
    "MESSAGE_COLORS",
    "PANEL",
    "RECORD_VIEWS",
    "WHATIF_METRICS",
    "clock_label",
    "whatif_metrics",
]
